// Package faults holds the reliability scenarios that need many
// executions: 30 % of AWS calls failing, races and loops, a burst of 200,
// and hostile input. The pipeline is detect and remediate in-process
// (internal/detect, internal/remediate), notify's bootstrap under the Lambda emulator, and
// the synthesized state machine's definition run by
// test/reliability/internal/sfnlocal, against moto behind the fault proxy
// (world_test.go). See docs/reliability.md.
package faults
