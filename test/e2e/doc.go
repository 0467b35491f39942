// Package e2e holds ecslogfix's offline end-to-end tests: the synthesized
// single-account stack's state machine, EventBridge rule and functions run
// on loopback against moto (scripts/moto_server.py) with each function's
// real bootstrap under the Lambda Runtime Interface Emulator, all started by
// test/localaws. The stack's wiring lives in test/e2e/harness; the demo
// command in test/e2e/cmd/demo.
package e2e
