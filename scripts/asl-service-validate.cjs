// Validates Amazon States Language definitions with the AWS Toolkit's
// language service (npm amazon-states-language-service, pinned by the
// Makefile), the second static ASL checker beside asl-validator: it checks
// retrier fields (JitterStrategy, BackoffRate, MaxDelaySeconds) that
// asl-validator does not.
//
// Usage: ECSLOGFIX_NODE_MODULES=.tools/node_modules node scripts/asl-service-validate.cjs FILE...
// Prints one JSON line per file: {"file", "diagnostics": [{"severity","message","line","text"}]};
// exits 1 when any file has an error-severity diagnostic, 2 on bad usage.
'use strict';
const fs = require('fs');
const path = require('path');
const pinnedRequire = require('./node-modules.cjs');

const asl = pinnedRequire('asl-service-validate.cjs FILE...', process.argv.length >= 3)('amazon-states-language-service');
const service = asl.getLanguageService({});

async function validate(file) {
  // Pretty-printed, so a diagnostic's line points at one field.
  const text = JSON.stringify(JSON.parse(fs.readFileSync(file, 'utf8')), null, 2);
  const doc = asl.TextDocument.create('file://' + path.resolve(file), 'json', 0, text);
  const diags = await service.doValidation(doc, service.parseJSONDocument(doc), {});
  const lines = text.split('\n');
  return diags.map((d) => ({
    severity: d.severity === 1 ? 'error' : d.severity === 2 ? 'warning' : 'info',
    message: d.message,
    line: d.range.start.line + 1,
    text: (lines[d.range.start.line] || '').trim(),
  }));
}

(async () => {
  let failed = false;
  for (const file of process.argv.slice(2)) {
    const diagnostics = await validate(file);
    if (diagnostics.some((d) => d.severity === 'error')) failed = true;
    console.log(JSON.stringify({ file, diagnostics }));
  }
  process.exit(failed ? 1 : 0);
})().catch((e) => {
  console.error(e && e.stack ? e.stack : String(e));
  process.exit(2);
});
