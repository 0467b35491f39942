package asl

import (
	"encoding/json"
	"strconv"

	"github.com/ecslogfix/ecslogfix/internal/workflow"
)

// JSONPaths of the sweep execution's state document (SweepState) and of
// a child execution's (Walk).
const (
	PathSweepInventory  = "$.inventory"
	PathSweepID         = "$.inventory.sweepId"
	PathSweepTargetsKey = "$.inventory.targetsKey"
	PathWalkError       = "$.walkError" // what the Map's Catch caught
	PathSummary         = "$.summary"
	PathDigest          = "$.digest"
	PathWalkDone        = "$.done" // Walk.Done, in a child execution
	PathExecutionName   = "$$.Execution.Name"
	PathMapItemValue    = "$$.Map.Item.Value" // one line of the targets object
)

// SweepMapResultPrefix is where the Map's ResultWriter writes (Step
// Functions adds the map run's ID); the sweep's own objects are under
// "sweeps/<sweep ID>/". Both are under the bucket's "sweeps/" lifecycle.
const SweepMapResultPrefix = "sweeps/map"

// SweepOptions shape the Distributed Map.
type SweepOptions struct {
	MaxConcurrency             int
	ToleratedFailurePercentage float64
}

// percentage renders p with a decimal point: AWS accepts any number, and
// moto 5.2.1's parser refuses an integer here (docs/reliability.md, "moto's
// Distributed Map").
func percentage(p float64) json.Number {
	return json.Number(strconv.FormatFloat(p, 'f', 1, 64))
}

// SweepDefinition renders the sweep state machine (Amazon States Language,
// JSONPath) for the partition, the sweep function's name or ARN and the
// sweep's bucket (each may be a CloudFormation token):
//
//	Inventory → Walk (Distributed Map over the targets object in S3; each
//	child execution loops WalkTarget until its target's walk is done)
//	→ Summarize → NotifyDigest → CheckWalk → SweepDone | SweepFailed
//
// The children are STANDARD executions: one walks a whole account-region at
// that target's read budget and starts an execution per violation at the
// start rate, which for an account of a few thousand families, or its first
// sweep, outlasts the 5 minutes an EXPRESS child may run
// (docs/performance.md, "The organization sweep"). Summarize runs whether or
// not the Map failed, so every sweep has a summary.
func SweepDefinition(partition, sweepFunction, bucket string, opt SweepOptions) string {
	retries := []any{queued(LambdaThrottled), retrier(workflow.ErrThrottled), retrier(LambdaServiceErrors...)}

	inventory := invoke(partition, sweepFunction, map[string]any{"action": string(workflow.SweepActionInventory), "sweepId.$": PathExecutionName})
	inventory["ResultSelector"] = map[string]any{"inventory.$": PathPayload}
	inventory["ResultPath"] = PathState // the execution's input is not kept
	inventory["Retry"] = retries
	inventory["Next"] = workflow.StateWalk

	walkTarget := invoke(partition, sweepFunction, map[string]any{"action": string(workflow.SweepActionWalk), "walk.$": PathState})
	walkTarget["OutputPath"] = PathPayload // the next Walk replaces the child's state
	walkTarget["Retry"] = retries
	walkTarget["Next"] = workflow.StateWalkMore

	walk := map[string]any{
		"Type": "Map",
		"ItemProcessor": map[string]any{
			"ProcessorConfig": map[string]any{"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
			"StartAt":         workflow.StateWalkTarget,
			"States": map[string]any{
				workflow.StateWalkTarget: walkTarget,
				workflow.StateWalkMore: map[string]any{
					"Type":    "Choice",
					"Choices": []any{map[string]any{"Variable": PathWalkDone, "BooleanEquals": true, "Next": workflow.StateTargetDone}},
					"Default": workflow.StateWalkTarget,
				},
				workflow.StateTargetDone: map[string]any{"Type": "Succeed"},
			},
		},
		"ItemReader": map[string]any{
			"Resource":     "arn:" + partition + ":states:::s3:getObject",
			"ReaderConfig": map[string]any{"InputType": "JSONL"},
			"Parameters":   map[string]any{"Bucket": bucket, "Key.$": PathSweepTargetsKey},
		},
		"ItemSelector":               map[string]any{"sweepId.$": PathSweepID, "target.$": PathMapItemValue},
		"MaxConcurrency":             opt.MaxConcurrency,
		"ToleratedFailurePercentage": percentage(opt.ToleratedFailurePercentage),
		// Static: moto 5.2.1 evaluates ResultWriter paths against the Map's
		// output, not its input (docs/reliability.md, "moto's Distributed
		// Map"); nothing here needs them dynamic.
		"ResultWriter": map[string]any{
			"Resource":   "arn:" + partition + ":states:::s3:putObject",
			"Parameters": map[string]any{"Bucket": bucket, "Prefix": SweepMapResultPrefix},
		},
		"ResultPath": nil, // the children's results are in S3 (our own writes; ResultWriter's too)
		"Catch":      []any{map[string]any{"ErrorEquals": []string{"States.ALL"}, "ResultPath": PathWalkError, "Next": workflow.StateSummarize}},
		"Next":       workflow.StateSummarize,
	}

	summarize := invoke(partition, sweepFunction, map[string]any{"action": string(workflow.SweepActionSummarize), "sweep.$": PathState})
	summarize["OutputPath"] = PathPayload // the state with its summary
	summarize["Retry"] = retries
	summarize["Next"] = workflow.StateNotifyDigest

	def := map[string]any{
		"Comment":       "ecslogfix: sweep every covered account-region, start remediations, summarize",
		"QueryLanguage": "JSONPath",
		"StartAt":       workflow.StateInventory,
		"States": map[string]any{
			workflow.StateInventory: inventory,
			workflow.StateWalk:      walk,
			workflow.StateSummarize: summarize,
			workflow.StateNotifyDigest: map[string]any{
				"Type":       "Pass",
				"Comment":    "The digest notification's request (DigestRequest); its Task (notify) replaces this Pass.",
				"Parameters": map[string]any{"summary.$": PathSummary, "executionArn.$": PathExecutionID},
				"ResultPath": PathDigest,
				"Next":       workflow.StateCheckWalk,
			},
			workflow.StateCheckWalk: map[string]any{
				"Type":    "Choice",
				"Choices": []any{map[string]any{"Variable": PathWalkError, "IsPresent": true, "Next": workflow.StateSweepFailed}},
				"Default": workflow.StateSweepDone,
			},
			workflow.StateSweepDone: map[string]any{"Type": "Succeed"},
			workflow.StateSweepFailed: map[string]any{
				"Type": "Fail", "Error": workflow.ErrSweepWalkFailed,
				"Cause": "more targets failed than the Map tolerates; the summary lists them",
			},
		},
	}
	return render(def)
}
