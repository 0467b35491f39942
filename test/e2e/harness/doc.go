// Package harness runs ecslogfix's synthesized stack offline on loopback,
// on the local AWS of test/localaws: the resources of the CloudFormation
// template created in moto with their references resolved (Template), each
// function's real bootstrap under the Lambda Runtime Interface Emulator
// with its synthesized environment, EventBridge rules whose Lambda targets
// are SQS inboxes the harness pumps (Stack), and the CloudTrail events,
// task definitions and queues the tests and the demo share.
package harness
