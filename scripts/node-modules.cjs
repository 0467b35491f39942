// A require from ECSLOGFIX_NODE_MODULES, where the npm packages the Makefile
// pins are, for the scripts infra/stacks runs on node; it prints usage and
// exits 2 when the variable is not set or the arguments are not (argsOK).
'use strict';
const path = require('path');
const { createRequire } = require('module');

module.exports = function pinnedRequire(usage, argsOK) {
  const modules = process.env.ECSLOGFIX_NODE_MODULES;
  if (!modules || !argsOK) {
    console.error(`usage: ECSLOGFIX_NODE_MODULES=DIR node ${usage}`);
    process.exit(2);
  }
  return createRequire(path.join(path.resolve(modules), 'noop.js'));
};
