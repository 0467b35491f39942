package workflow

import (
	"bytes"
	"encoding/json"

	"github.com/ecslogfix/ecslogfix/internal/policy"
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
	PathError       = "$.error" // State.Error: what a Catch caught
	PathErrorName   = "$.error.Error"
	PathErrorCause  = "$.error.Cause"
	PathFailedState = "$.failedState" // State.FailedState: the Task that failed
	PathExecutionID = "$$.Execution.Id"
	PathPayload     = "$.Payload" // lambda:invoke's response: the function's result
)

// LambdaServiceErrors are the Lambda service errors the workflow retries on
// every Task (AWS's recommended set for lambda:invoke, less
// TooManyRequestsException, which has its own retrier).
var LambdaServiceErrors = []string{
	"Lambda.ServiceException",
	"Lambda.AWSLambdaException",
	"Lambda.SdkClientException",
}

// LambdaThrottled is what lambda:invoke fails with while the function is at
// its reserved concurrency: remediate's concurrency is capped to keep
// RegisterTaskDefinition within its budget, so a burst of executions waits
// here, longer than for other errors.
const LambdaThrottled = "Lambda.TooManyRequestsException"

// Retry settings of the workflow.
const (
	RetryIntervalSeconds = 2
	RetryMaxAttempts     = 6
	RetryBackoffRate     = 2.0
	RetryMaxDelaySeconds = 60
	// RetryMaxAttemptsThrottled bounds the wait at reserved concurrency:
	// about 17 minutes at MaxDelaySeconds, enough for a burst of a few
	// hundred executions at 0.5 registrations per second.
	RetryMaxAttemptsThrottled = 20
)

func retrier(errs ...string) map[string]any {
	return retrierN(RetryMaxAttempts, errs...)
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

func invoke(function string, payload map[string]any) map[string]any {
	return map[string]any{
		"Type":     "Task",
		"Resource": "arn:aws:states:::lambda:invoke",
		"Parameters": map[string]any{
			"FunctionName": function,
			"Payload":      payload,
		},
	}
}

// Definition renders the remediation workflow (Amazon States Language,
// JSONPath) for the given remediate and notify function names or ARNs. It
// is the one definition the stack deploys and the end-to-end tests run.
func Definition(remediateFunction, notifyFunction string) string {
	ensure := invoke(remediateFunction, map[string]any{"action": string(ActionEnsureLogGroup), "input.$": PathState})
	ensure["ResultSelector"] = map[string]any{"logGroups.$": PathPayload + ".logGroups"}
	ensure["ResultPath"] = PathEnsured
	ensure["Retry"] = []any{retrier(ErrThrottled), retrierN(RetryMaxAttemptsThrottled, LambdaThrottled), retrier(LambdaServiceErrors...)}
	ensure["Catch"] = catchTo(StateEnsureLogGroupsFailed)
	ensure["Next"] = StateRegister

	register := invoke(remediateFunction, map[string]any{"action": string(ActionRegister), "input.$": PathState})
	register["ResultSelector"] = map[string]any{"result.$": PathPayload}
	register["ResultPath"] = PathRegistered
	register["Retry"] = []any{retrier(ErrThrottled, ErrConcurrentRevision), retrierN(RetryMaxAttemptsThrottled, LambdaThrottled), retrier(LambdaServiceErrors...)}
	register["Catch"] = catchTo(StateRegisterFailed)
	register["Next"] = StateNotify

	notify := invoke(notifyFunction, map[string]any{"result.$": PathResult, "executionArn.$": PathExecutionID})
	// notify returns ThrottledError when SNS throttles or fails after the
	// SDK's retries: retried here, or the remediation's notice (with its
	// backout steps) would be replaced by a failure notice.
	notify["Retry"] = []any{retrier(ErrThrottled), retrierN(RetryMaxAttemptsThrottled, LambdaThrottled), retrier(LambdaServiceErrors...)}
	notify["Catch"] = catchTo(StateNotifyFailed)
	notify["ResultPath"] = nil
	notify["Next"] = StateDone

	notifyFailure := invoke(notifyFunction, map[string]any{
		"failure": map[string]any{
			"input.$": PathState, "state.$": PathFailedState, "error.$": PathErrorName, "cause.$": PathErrorCause,
		},
		"executionArn.$": PathExecutionID,
	})
	notifyFailure["Retry"] = []any{retrier(ErrThrottled), retrierN(RetryMaxAttemptsThrottled, LambdaThrottled), retrier(LambdaServiceErrors...)}
	notifyFailure["ResultPath"] = nil
	notifyFailure["Next"] = StateFailed

	failed := func(state string) map[string]any {
		// Result is the name of the Task state that failed.
		return map[string]any{"Type": "Pass", "Result": state, "ResultPath": PathFailedState, "Next": StateNotifyFailure}
	}
	def := map[string]any{
		"Comment":       "ecslogfix: ensure log groups, register a compliant revision, notify",
		"QueryLanguage": "JSONPath",
		"StartAt":       StateCheckMode,
		"States": map[string]any{
			StateCheckMode: map[string]any{
				"Type": "Choice",
				"Choices": []any{map[string]any{
					"Variable": PathEnforcement, "StringEquals": string(policy.Report), "Next": StateRegister,
				}},
				"Default": StateEnsureLogGroups,
			},
			StateEnsureLogGroups:       ensure,
			StateRegister:              register,
			StateNotify:                notify,
			StateEnsureLogGroupsFailed: failed(StateEnsureLogGroups),
			StateRegisterFailed:        failed(StateRegister),
			StateNotifyFailed:          failed(StateNotify),
			StateNotifyFailure:         notifyFailure,
			StateDone:                  map[string]any{"Type": "Succeed"},
			StateFailed: map[string]any{
				"Type": "Fail", "Error": "ecslogfix.Failed", "Cause": "a step failed after its retries; see the failure notification",
			},
		},
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(def); err != nil { // maps of strings and numbers only
		panic(err)
	}
	return string(bytes.TrimSpace(b.Bytes()))
}
