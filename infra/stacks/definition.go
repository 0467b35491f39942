package stacks

import (
	"bytes"
	"encoding/json"

	"github.com/ecslogfix/ecslogfix/internal/workflow"
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
	return []any{map[string]any{"ErrorEquals": []string{"States.ALL"}, "ResultPath": "$.error", "Next": next}}
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
	ensure := invoke(remediateFunction, map[string]any{"action": string(workflow.ActionEnsureLogGroup), "input.$": "$"})
	ensure["ResultSelector"] = map[string]any{"logGroups.$": "$.Payload.logGroups"}
	ensure["ResultPath"] = "$.ensured"
	ensure["Retry"] = []any{retrier(workflow.ErrThrottled), retrierN(RetryMaxAttemptsThrottled, LambdaThrottled), retrier(LambdaServiceErrors...)}
	ensure["Catch"] = catchTo(workflow.StateEnsureLogGroupsFailed)
	ensure["Next"] = workflow.StateRegister

	register := invoke(remediateFunction, map[string]any{"action": string(workflow.ActionRegister), "input.$": "$"})
	register["ResultSelector"] = map[string]any{"result.$": "$.Payload"}
	register["ResultPath"] = "$.registered"
	register["Retry"] = []any{retrier(workflow.ErrThrottled, workflow.ErrConcurrentRevision), retrierN(RetryMaxAttemptsThrottled, LambdaThrottled), retrier(LambdaServiceErrors...)}
	register["Catch"] = catchTo(workflow.StateRegisterFailed)
	register["Next"] = workflow.StateNotify

	notify := invoke(notifyFunction, map[string]any{"result.$": "$.registered.result", "executionArn.$": "$$.Execution.Id"})
	// notify returns ThrottledError when SNS throttles or fails after the
	// SDK's retries: retried here, or the remediation's notice (with its
	// backout steps) would be replaced by a failure notice.
	notify["Retry"] = []any{retrier(workflow.ErrThrottled), retrierN(RetryMaxAttemptsThrottled, LambdaThrottled), retrier(LambdaServiceErrors...)}
	notify["Catch"] = catchTo(workflow.StateNotifyFailed)
	notify["ResultPath"] = nil
	notify["Next"] = workflow.StateDone

	notifyFailure := invoke(notifyFunction, map[string]any{
		"failure": map[string]any{
			"input.$": "$", "state.$": "$.failedState", "error.$": "$.error.Error", "cause.$": "$.error.Cause",
		},
		"executionArn.$": "$$.Execution.Id",
	})
	notifyFailure["Retry"] = []any{retrier(workflow.ErrThrottled), retrierN(RetryMaxAttemptsThrottled, LambdaThrottled), retrier(LambdaServiceErrors...)}
	notifyFailure["ResultPath"] = nil
	notifyFailure["Next"] = workflow.StateFailed

	failed := func(state string) map[string]any {
		// Result is the name of the Task state that failed.
		return map[string]any{"Type": "Pass", "Result": state, "ResultPath": "$.failedState", "Next": workflow.StateNotifyFailure}
	}
	def := map[string]any{
		"Comment":       "ecslogfix: ensure log groups, register a compliant revision, notify",
		"QueryLanguage": "JSONPath",
		"StartAt":       workflow.StateCheckMode,
		"States": map[string]any{
			workflow.StateCheckMode: map[string]any{
				"Type": "Choice",
				"Choices": []any{map[string]any{
					"Variable": "$.enforcement", "StringEquals": "report", "Next": workflow.StateRegister,
				}},
				"Default": workflow.StateEnsureLogGroups,
			},
			workflow.StateEnsureLogGroups:       ensure,
			workflow.StateRegister:              register,
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
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(def); err != nil { // maps of strings and numbers only
		panic(err)
	}
	return string(bytes.TrimSpace(b.Bytes()))
}
