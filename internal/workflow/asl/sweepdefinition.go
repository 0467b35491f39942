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
	PathDigestPublished = "$.digestPublished"
	PathDigestPending   = "$.digestPublished.pending"
	PathDigestRetry     = "$.digestPublished.retryAfterSeconds"
	PathDigestError     = "$.digestError" // what PublishDigest's Catch caught
	PathWalkDone        = "$.done"        // Walk.Done, in a child execution
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
// JSONPath) for the partition, the sweep and notify functions' names or
// ARNs and the sweep's bucket (each may be a CloudFormation token):
//
//	Inventory → Walk (Distributed Map over the targets object in S3; each
//	child execution loops WalkTarget until its target's walk is done)
//	→ Summarize → NotifyDigest → PublishDigest (→ DigestPending → DigestWait
//	→ PublishDigest while the started executions' outcomes are missing)
//	→ CheckWalk → SweepDone | SweepFailed; a PublishDigest that fails after
//	its retries → NotifyDigestFailure → DigestFailed
//
// The executions a sweep starts do not publish one message each: notify
// writes their outcomes to the bucket and PublishDigest publishes one
// digest of them all (docs/notifications.md, "Sweep digests").
//
// The children are STANDARD executions: one walks a whole account-region at
// that target's read budget and starts an execution per violation at the
// start rate, which for an account of a few thousand families, or its first
// sweep, outlasts the 5 minutes an EXPRESS child may run
// (docs/performance.md, "The organization sweep"). Summarize runs whether or
// not the Map failed, so every sweep has a summary.
func SweepDefinition(partition, sweepFunction, notifyFunction, bucket string, opt SweepOptions) string {
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

	publish := invoke(partition, notifyFunction, nil)
	params := publish["Parameters"].(map[string]any)
	delete(params, "Payload")
	params["Payload.$"] = PathDigest // decodes as notify's NotifyRequest
	publish["ResultSelector"] = map[string]any{
		"pending.$": "$.Payload.pending", "retryAfterSeconds.$": "$.Payload.retryAfterSeconds", "published.$": "$.Payload.published",
	}
	publish["ResultPath"] = PathDigestPublished
	publish["Retry"] = retries
	// A digest that cannot be published after the retries is still told:
	// a notice of the failure, then the sweep fails (docs/notifications.md,
	// "Sweep digests").
	publish["Catch"] = []any{map[string]any{"ErrorEquals": []string{"States.ALL"}, "ResultPath": PathDigestError, "Next": workflow.StateNotifyDigestFailure}}
	publish["Next"] = workflow.StateDigestPending

	publishFailure := invoke(partition, notifyFunction, map[string]any{
		"summary.$": PathSummary, "executionArn.$": PathExecutionID, "digestError.$": PathDigestError,
	})
	publishFailure["Retry"] = retries
	publishFailure["ResultPath"] = nil
	publishFailure["Next"] = workflow.StateDigestFailed

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
				"Comment":    "The digest notification's request (DigestRequest), which PublishDigest hands to notify.",
				"Parameters": map[string]any{"summary.$": PathSummary, "executionArn.$": PathExecutionID},
				"ResultPath": PathDigest,
				"Next":       workflow.StatePublishDigest,
			},
			workflow.StatePublishDigest: publish,
			workflow.StateDigestPending: map[string]any{
				"Type":    "Choice",
				"Choices": []any{map[string]any{"Variable": PathDigestPending, "BooleanEquals": true, "Next": workflow.StateDigestWait}},
				"Default": workflow.StateCheckWalk,
			},
			workflow.StateDigestWait:          map[string]any{"Type": "Wait", "SecondsPath": PathDigestRetry, "Next": workflow.StatePublishDigest},
			workflow.StateNotifyDigestFailure: publishFailure,
			workflow.StateDigestFailed: map[string]any{
				"Type": "Fail", "Error": workflow.ErrSweepDigestFailed,
				"Cause": "the digest was not published after its retries; see the failure notice",
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
