// Runs scripted executions of a state machine definition on
// aws-local-stepfunctions (npm, pinned by the Makefile; Node >= 22), an
// interpreter written from the Amazon States Language specification and
// independent of moto's (which is LocalStack's). Every Task is stubbed: a
// stub answers from the scenario's script for that state, in order (the
// last answer repeats), the way lambda:invoke would — {"Payload": result}
// or an error whose name Retry and Catch match. Retry waits and Wait states
// are overridden to 0 ms; the retry waits themselves are checked by the
// workflow's arithmetic tests.
//
// Usage: ECSLOGFIX_NODE_MODULES=DIR node local-sfn-scenarios.cjs SCENARIOS.json
// SCENARIOS is {"definition": "<ASL JSON>", "context": {...}, "scenarios":
// [sfnScenario...]} as localSFN in infra/stacks/checkers_test.go writes it; it
// reads one sfnRun JSON line back per scenario.
'use strict';
const fs = require('fs');
const pinnedRequire = require('./node-modules.cjs');

const { StateMachine } = pinnedRequire('local-sfn-scenarios.cjs SCENARIOS.json', process.argv.length === 3)('aws-local-stepfunctions');
const spec = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
const definition = JSON.parse(spec.definition);
const statesOf = (type) => Object.keys(definition.States).filter((s) => definition.States[s].Type === type);
const tasks = statesOf('Task');
const zero = (states) => Object.fromEntries(states.map((s) => [s, 0]));
// The definition's Resource is a service integration ARN; every Task is
// stubbed, so the interpreter's Lambda-ARN check does not apply.
const machine = new StateMachine(definition, { validationOptions: { checkArn: false } });

async function run(scenario) {
  const calls = [];
  const used = {};
  const handlers = {};
  for (const state of tasks) {
    handlers[state] = async (input) => {
      calls.push({ state, input });
      const script = (scenario.script && scenario.script[state]) || [{ ok: {} }];
      const i = Math.min(used[state] || 0, script.length - 1);
      used[state] = (used[state] || 0) + 1;
      const answer = script[i];
      if (answer.error) {
        const err = new Error(answer.cause || answer.error);
        err.name = answer.error;
        throw err;
      }
      return { Payload: answer.ok, StatusCode: 200 };
    };
  }
  const execution = machine.run(scenario.input, {
    overrides: { taskResourceLocalHandlers: handlers, retryIntervalOverrides: zero(tasks), waitTimeOverrides: zero(statesOf('Wait')) },
    context: spec.context,
  });
  const entered = [];
  const events = (async () => {
    for await (const e of execution.eventLogs) {
      if (e.type === 'StateEntered') entered.push(e.state.name);
    }
  })();
  const out = { name: scenario.name, entered, calls };
  try {
    out.output = await execution.result;
    out.status = 'SUCCEEDED';
  } catch (e) {
    // The interpreter wraps the execution's error (a Fail state's Error, an
    // uncaught Task error, States.Runtime) in an ExecutionError.
    const err = e.name === 'ExecutionError' && e.cause ? e.cause : e;
    out.status = 'FAILED';
    out.error = err.name;
    out.cause = err.message;
  }
  await events;
  return out;
}

(async () => {
  for (const scenario of spec.scenarios) {
    console.log(JSON.stringify(await run(scenario)));
  }
})().catch((e) => {
  console.error(e && e.stack ? e.stack : String(e));
  process.exit(2);
});
