// Package asl renders the state machine definitions (Amazon States
// Language, JSONPath) over the workflow contract: the remediation
// (Definition) and the organization sweep (SweepDefinition), their JSONPaths
// as named constants and the retriers sized for the burst budget. The
// contract tests walk each definition against the workflow types.
package asl

import (
	"bytes"
	"encoding/json"
	"math"

	"github.com/ecslogfix/ecslogfix/internal/policy"
	"github.com/ecslogfix/ecslogfix/internal/workflow"
)

// JSONPaths of the execution's state document (State). Each Task reads
// what it needs from these paths and writes its result at one of them; the
// contract test marshals every request and result through them.
const (
	PathState       = "$"             // the whole State: what EnsureLogGroups and Register receive as "input"
	PathEnforcement = "$.enforcement" // Input.Enforcement: CheckMode's choice
	PathEnsured     = "$.ensured"     // State.Ensured: EnsureLogGroups' result
	PathRegistered  = "$.registered"  // State.Registered: Register's result
	PathResult      = "$.registered.result"
	PathOutcome     = "$.registered.result.outcome" // RolloutChoice: only a registered revision is rolled out
	// PathRolloutSettled and PathRolloutWait are Result.Rollout's Settled
	// and WaitSeconds, which Rollout and Watch return: the watch loop's
	// exit and pace.
	PathRolloutSettled = "$.registered.result.rollout.settled"
	PathRolloutWait    = "$.registered.result.rollout.waitSeconds"
	// PathRolloutError is where the Catch of Rollout and Watch stores the
	// error (Result.RolloutError): the registered result stays, and Notify
	// reports the rollout as unfinished instead of failing the execution.
	PathRolloutError = "$.registered.result.rolloutError"
	PathError        = "$.error" // State.Error: what a Catch caught
	PathErrorName    = "$.error.Error"
	PathErrorCause   = "$.error.Cause"
	PathFailedState  = "$.failedState" // State.FailedState: the Task that failed
	PathExecutionID  = "$$.Execution.Id"
	PathPayload      = "$.Payload" // lambda:invoke's response: the function's result
)

// LambdaServiceErrors are the Lambda service errors the workflow retries on
// every Task (AWS's recommended set for lambda:invoke, less
// TooManyRequestsException, which has its own retrier).
var LambdaServiceErrors = []string{
	"Lambda.ServiceException",
	"Lambda.AWSLambdaException",
	"Lambda.SdkClientException",
}

// LambdaThrottled is what lambda:invoke fails with while a function is at
// its concurrency limit (the account's, or remediate's reserved
// concurrency when one is configured): a burst of executions waits here for
// its turn, as long as for ECS's throttling.
const LambdaThrottled = "Lambda.TooManyRequestsException"

// Retry settings of the workflow. Every retrier uses FULL jitter: Step
// Functions draws each wait uniformly from zero to the backoff delay
// ("Handling errors in Step Functions workflows", JitterStrategy:
// https://docs.aws.amazon.com/step-functions/latest/dg/concepts-error-handling.html),
// so a retrier waits on average half of what its delays add up to.
const (
	RetryIntervalSeconds = 2
	RetryMaxAttempts     = 6 // Lambda's transient service errors
	RetryBackoffRate     = 2.0
	RetryMaxDelaySeconds = 60
)

// The burst the queueing retriers are sized for: BudgetBurst executions
// that arrive together wait for their turn (Lambda.TooManyRequestsException,
// ThrottledError, ConcurrentRevisionError) while registrations drain at
// BudgetRegisterRate per second (the default ecslogfix:registerRate), so
// the last one waits BudgetBurst/BudgetRegisterRate seconds.
const (
	BudgetBurst        = 300
	BudgetRegisterRate = 0.5
)

// RetryWait returns the mean and the standard deviation (seconds) of the
// total wait of a FULL-jitter retrier over attempts retries: the k-th wait
// is uniform on [0, d_k], d_k = min(interval·backoff^k, maxDelay), so the
// mean is Σd_k/2 and the variance Σd_k²/12.
func RetryWait(interval, backoff, maxDelay float64, attempts int) (mean, stddev float64) {
	var sum, sq float64
	for k := range attempts {
		d := math.Min(interval*math.Pow(backoff, float64(k)), maxDelay)
		sum += d
		sq += d * d
	}
	return sum / 2, math.Sqrt(sq / 12)
}

// AttemptsToCover returns the fewest retries of the workflow's retrier
// settings whose total wait reaches seconds with a three-sigma margin
// (mean − 3σ ≥ seconds; the sum of many uniform waits is close to normal,
// so it falls short about once in 700 bursts).
func AttemptsToCover(seconds float64) int {
	for n := 1; ; n++ {
		mean, sd := RetryWait(RetryIntervalSeconds, RetryBackoffRate, RetryMaxDelaySeconds, n)
		if mean-3*sd >= seconds {
			return n
		}
	}
}

func retrier(errs ...string) map[string]any {
	return retrierN(RetryMaxAttempts, errs...)
}

// QueuedAttempts is the MaxAttempts of the queueing retriers: the fewest
// retries whose total wait covers the budgeted burst's drain time.
func QueuedAttempts() int { return AttemptsToCover(BudgetBurst / BudgetRegisterRate) }

// queued is a retrier for errors that mean "wait for your turn".
func queued(errs ...string) map[string]any {
	return retrierN(QueuedAttempts(), errs...)
}

func retrierN(attempts int, errs ...string) map[string]any {
	return map[string]any{
		"ErrorEquals":     errs,
		"IntervalSeconds": RetryIntervalSeconds,
		"MaxAttempts":     attempts,
		"BackoffRate":     RetryBackoffRate,
		"MaxDelaySeconds": RetryMaxDelaySeconds,
		"JitterStrategy":  "FULL",
	}
}

func catchTo(next string) []any {
	return []any{map[string]any{"ErrorEquals": []string{"States.ALL"}, "ResultPath": PathError, "Next": next}}
}

// invoke is a lambda:invoke Task. The integration's ARN names the
// partition (arn:aws-cn:states:::lambda:invoke in China, arn:aws-us-gov:…
// in GovCloud); partition may be a CloudFormation token.
func invoke(partition, function string, payload map[string]any) map[string]any {
	return map[string]any{
		"Type":     "Task",
		"Resource": "arn:" + partition + ":states:::lambda:invoke",
		"Parameters": map[string]any{
			"FunctionName": function,
			"Payload":      payload,
		},
	}
}

// Definition renders the remediation workflow (Amazon States Language,
// JSONPath) for the partition ("aws", "aws-cn", …, or the stack's
// AWS::Partition token) and the given remediate and notify function names
// or ARNs. It is the one definition the stack deploys and the end-to-end
// tests run.
func Definition(partition, remediateFunction, notifyFunction string) string {
	ensure := invoke(partition, remediateFunction, map[string]any{"action": string(workflow.ActionEnsureLogGroup), "input.$": PathState})
	ensure["ResultSelector"] = map[string]any{"logGroups.$": PathPayload + ".logGroups"}
	ensure["ResultPath"] = PathEnsured
	ensure["Retry"] = []any{queued(workflow.ErrThrottled), queued(LambdaThrottled), retrier(LambdaServiceErrors...)}
	ensure["Catch"] = catchTo(workflow.StateEnsureLogGroupsFailed)
	ensure["Next"] = workflow.StateRegister

	register := invoke(partition, remediateFunction, map[string]any{"action": string(workflow.ActionRegister), "input.$": PathState})
	register["ResultSelector"] = map[string]any{"result.$": PathPayload}
	register["ResultPath"] = PathRegistered
	register["Retry"] = []any{queued(workflow.ErrThrottled, workflow.ErrConcurrentRevision), queued(LambdaThrottled), retrier(LambdaServiceErrors...)}
	register["Catch"] = catchTo(workflow.StateRegisterFailed)
	register["Next"] = workflow.StateRolloutChoice

	// Rollout and Watch replace the registered result with the same
	// result plus its rollout record. A failure after their retries is
	// caught into the result and notified: the registered revision never
	// becomes FAILED because its consumers could not be moved.
	rolloutTask := func(action workflow.Action) map[string]any {
		t := invoke(partition, remediateFunction, map[string]any{"action": string(action), "input.$": PathState})
		t["ResultSelector"] = map[string]any{"result.$": PathPayload}
		t["ResultPath"] = PathRegistered
		t["Retry"] = []any{queued(workflow.ErrThrottled), queued(LambdaThrottled), retrier(LambdaServiceErrors...)}
		t["Catch"] = []any{map[string]any{"ErrorEquals": []string{"States.ALL"}, "ResultPath": PathRolloutError, "Next": workflow.StateNotify}}
		t["Next"] = workflow.StateRolloutSettled
		return t
	}

	notify := invoke(partition, notifyFunction, map[string]any{"result.$": PathResult, "executionArn.$": PathExecutionID})
	// notify returns ThrottledError when SNS throttles or fails after the
	// SDK's retries: retried here, or the remediation's notice (with its
	// backout steps) would be replaced by a failure notice.
	notify["Retry"] = []any{queued(workflow.ErrThrottled), queued(LambdaThrottled), retrier(LambdaServiceErrors...)}
	notify["Catch"] = catchTo(workflow.StateNotifyFailed)
	notify["ResultPath"] = nil
	notify["Next"] = workflow.StateDone

	notifyFailure := invoke(partition, notifyFunction, map[string]any{
		"failure": map[string]any{
			"input.$": PathState, "state.$": PathFailedState, "error.$": PathErrorName, "cause.$": PathErrorCause,
		},
		"executionArn.$": PathExecutionID,
	})
	notifyFailure["Retry"] = []any{queued(workflow.ErrThrottled), queued(LambdaThrottled), retrier(LambdaServiceErrors...)}
	notifyFailure["ResultPath"] = nil
	notifyFailure["Next"] = workflow.StateFailed

	failed := func(state string) map[string]any {
		// Result is the name of the Task state that failed.
		return map[string]any{"Type": "Pass", "Result": state, "ResultPath": PathFailedState, "Next": workflow.StateNotifyFailure}
	}
	def := map[string]any{
		"Comment":       "ecslogfix: ensure log groups, register a compliant revision, roll it out to its consumers, notify",
		"QueryLanguage": "JSONPath",
		"StartAt":       workflow.StateCheckMode,
		"States": map[string]any{
			workflow.StateCheckMode: map[string]any{
				"Type": "Choice",
				"Choices": []any{map[string]any{
					"Variable": PathEnforcement, "StringEquals": string(policy.Report), "Next": workflow.StateRegister,
				}},
				"Default": workflow.StateEnsureLogGroups,
			},
			workflow.StateEnsureLogGroups: ensure,
			workflow.StateRegister:        register,
			workflow.StateRolloutChoice: map[string]any{
				"Type": "Choice",
				"Choices": []any{map[string]any{
					"Variable": PathOutcome, "StringEquals": string(workflow.OutcomeRemediated), "Next": workflow.StateRollout,
				}},
				"Default": workflow.StateNotify,
			},
			workflow.StateRollout: rolloutTask(workflow.ActionRollout),
			workflow.StateRolloutSettled: map[string]any{
				"Type": "Choice",
				"Choices": []any{map[string]any{
					"Variable": PathRolloutSettled, "BooleanEquals": true, "Next": workflow.StateNotify,
				}},
				"Default": workflow.StateRolloutWait,
			},
			workflow.StateRolloutWait:           map[string]any{"Type": "Wait", "SecondsPath": PathRolloutWait, "Next": workflow.StateWatch},
			workflow.StateWatch:                 rolloutTask(workflow.ActionWatch),
			workflow.StateNotify:                notify,
			workflow.StateEnsureLogGroupsFailed: failed(workflow.StateEnsureLogGroups),
			workflow.StateRegisterFailed:        failed(workflow.StateRegister),
			workflow.StateNotifyFailed:          failed(workflow.StateNotify),
			workflow.StateNotifyFailure:         notifyFailure,
			workflow.StateDone:                  map[string]any{"Type": "Succeed"},
			workflow.StateFailed: map[string]any{
				"Type": "Fail", "Error": "ecslogfix.Failed", "Cause": "a step failed after its retries; see the failure notification",
			},
		},
	}
	return render(def)
}

// render writes a definition as compact JSON, without HTML escaping.
func render(def map[string]any) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(def); err != nil { // maps of strings and numbers only
		panic(err)
	}
	return string(bytes.TrimSpace(b.Bytes()))
}
