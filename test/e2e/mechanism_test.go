package e2e

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/ecslogfix/ecslogfix/internal/workflow"
	"github.com/ecslogfix/ecslogfix/test/e2e/harness"
	"github.com/ecslogfix/ecslogfix/test/localaws"
)

// mechanismDefinition exercises what the real workflow relies on: a
// lambda:invoke Task answered by a Go bootstrap under the emulator, Retry
// on one of our error type names with full jitter, Catch to a failure
// branch, and sns:publish delivered to an SQS subscriber.
const mechanismDefinition = `{
  "Comment": "harness mechanism check",
  "StartAt": "Echo",
  "States": {
    "Echo": {
      "Type": "Task",
      "Resource": "arn:aws:states:::lambda:invoke",
      "Parameters": {"FunctionName": "%[1]s", "Payload.$": "$"},
      "ResultSelector": {"echo.$": "$.Payload"},
      "ResultPath": "$.echoed",
      "Retry": [{"ErrorEquals": ["ConcurrentRevisionError", "ThrottledError"], "IntervalSeconds": 1, "MaxAttempts": 3, "BackoffRate": 1.5, "JitterStrategy": "FULL"}],
      "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "EchoFailed"}],
      "Next": "Publish"
    },
    "Publish": {
      "Type": "Task",
      "Resource": "arn:aws:states:::sns:publish",
      "Parameters": {"TopicArn": "%[2]s", "Message.$": "States.JsonToString($.echoed.echo)"},
      "ResultPath": null,
      "End": true
    },
    "EchoFailed": {"Type": "Pass", "Result": "Echo", "ResultPath": "$.failedState", "Next": "PublishFailure"},
    "PublishFailure": {
      "Type": "Task",
      "Resource": "arn:aws:states:::sns:publish",
      "Parameters": {"TopicArn": "%[2]s", "Message.$": "States.JsonToString($.error)"},
      "ResultPath": null,
      "Next": "Failed"
    },
    "Failed": {"Type": "Fail", "Error": "EchoFailed"}
  }
}`

// TestMechanism proves the harness's own machinery with a tiny function
// before the real ones are involved: moto executes a state machine whose
// lambda:invoke is forwarded to the emulator, Retry and Catch match the
// error type names our functions return, several executions run in a row
// (moto 5.2.1 defect #4), an unmapped function fails its Task.
func TestMechanism(t *testing.T) {
	ctx := testContext(t, 3*time.Minute)

	env := localaws.Start(t, localaws.Options{StepFunctions: true, Log: verbose()})
	echo := localaws.NewFunction(t, localaws.FunctionOptions{
		Name: "echo", Bootstrap: localaws.Bootstrap(t, "./test/localaws/testdata/echo"), Env: env.LambdaEnv(), Log: verbose(),
	})
	echoARN := fmt.Sprintf("arn:%s:lambda:%s:%s:function:echo", localaws.Partition, localaws.Region, localaws.Account)
	if err := env.Moto.MapFunction(ctx, echoARN, echo.URL); err != nil {
		t.Fatal(err)
	}

	cfg := env.Config()
	snsc, sqsc, sfnc := sns.NewFromConfig(cfg), sqs.NewFromConfig(cfg), sfn.NewFromConfig(cfg)
	topic, err := snsc.CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String("mechanism")})
	if err != nil {
		t.Fatal(err)
	}
	queueURL, err := harness.Subscribe(ctx, snsc, sqsc, aws.ToString(topic.TopicArn), "mechanism-sub")
	if err != nil {
		t.Fatal(err)
	}
	role := fmt.Sprintf("arn:%s:iam::%s:role/mechanism", localaws.Partition, localaws.Account)
	newMachine := func(name, function string) string {
		t.Helper()
		out, err := sfnc.CreateStateMachine(ctx, &sfn.CreateStateMachineInput{
			Name:       aws.String(name),
			RoleArn:    aws.String(role),
			Definition: aws.String(fmt.Sprintf(mechanismDefinition, function, aws.ToString(topic.TopicArn))),
		})
		if err != nil {
			t.Fatalf("create state machine %s: %v", name, err)
		}
		return aws.ToString(out.StateMachineArn)
	}
	machine := newMachine("mechanism", echoARN)

	tests := []struct {
		name        string
		machine     string
		input       string
		wantStatus  sfntypes.ExecutionStatus
		wantAttempt int    // the echo's attempt count on success
		wantError   string // the caught error's name on failure
	}{
		{name: "plain", machine: machine, input: `{"key":"plain","data":{"n":1}}`, wantStatus: sfntypes.ExecutionStatusSucceeded, wantAttempt: 1},
		{name: "second-in-a-row", machine: machine, input: `{"key":"second","data":{"n":2}}`, wantStatus: sfntypes.ExecutionStatusSucceeded, wantAttempt: 1},
		{name: "retried", machine: machine, input: `{"key":"retried","fail":"` + workflow.ErrConcurrentRevision + `","failTimes":2}`, wantStatus: sfntypes.ExecutionStatusSucceeded, wantAttempt: 3},
		{name: "retries-exhausted", machine: machine, input: `{"key":"exhausted","fail":"` + workflow.ErrThrottled + `","failTimes":-1}`, wantStatus: sfntypes.ExecutionStatusFailed, wantError: workflow.ErrThrottled},
		{name: "not-retried", machine: machine, input: `{"key":"invalid","fail":"` + workflow.ErrInvalidInput + `","failTimes":-1}`, wantStatus: sfntypes.ExecutionStatusFailed, wantError: workflow.ErrInvalidInput},
		{name: "unmapped-function", machine: newMachine("mechanism-unmapped", "arn:aws:lambda:us-east-1:123456789012:function:nowhere"), input: `{"key":"x"}`, wantStatus: sfntypes.ExecutionStatusFailed, wantError: "Lambda.ResourceNotFoundException"},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now()
			out, err := sfnc.StartExecution(ctx, &sfn.StartExecutionInput{
				StateMachineArn: aws.String(tc.machine),
				Name:            aws.String(fmt.Sprintf("mechanism-%d", i)),
				Input:           aws.String(tc.input),
			})
			if err != nil {
				t.Fatalf("start execution %d: %v", i, err)
			}
			desc, err := harness.WaitExecution(ctx, sfnc, aws.ToString(out.ExecutionArn))
			if err != nil {
				t.Fatal(err)
			}
			elapsed := time.Since(start)
			t.Logf("execution %s: %s in %s", tc.name, desc.Status, elapsed.Round(time.Millisecond))
			if desc.Status != tc.wantStatus {
				hist, _ := harness.History(ctx, sfnc, aws.ToString(out.ExecutionArn))
				t.Fatalf("status = %s, want %s (error %s: %s)\n%s", desc.Status, tc.wantStatus,
					aws.ToString(desc.Error), aws.ToString(desc.Cause), hist)
			}
			bodies, err := harness.Drain(ctx, sqsc, queueURL)
			if err != nil {
				t.Fatal(err)
			}
			if len(bodies) != 1 {
				t.Fatalf("got %d SNS messages in the subscriber queue, want 1: %q", len(bodies), bodies)
			}
			env, err := harness.ParseSNSEnvelope(bodies[0])
			if err != nil {
				t.Fatal(err)
			}
			if tc.wantStatus == sfntypes.ExecutionStatusSucceeded {
				var got struct {
					Attempt  int    `json:"attempt"`
					Function string `json:"function"`
				}
				if err := json.Unmarshal([]byte(env.Message), &got); err != nil {
					t.Fatalf("message %q: %v", env.Message, err)
				}
				if got.Attempt != tc.wantAttempt || got.Function != "echo" {
					t.Errorf("echo answered attempt %d from %q, want attempt %d from echo", got.Attempt, got.Function, tc.wantAttempt)
				}
				return
			}
			var caught struct{ Error, Cause string }
			if err := json.Unmarshal([]byte(env.Message), &caught); err != nil {
				t.Fatalf("failure message %q: %v", env.Message, err)
			}
			if caught.Error != tc.wantError {
				t.Errorf("caught error %q (cause %q), want %q", caught.Error, caught.Cause, tc.wantError)
			}
			if aws.ToString(desc.Error) != "EchoFailed" {
				t.Errorf("execution error = %q, want EchoFailed", aws.ToString(desc.Error))
			}
		})
	}

	t.Run("duplicate-name", func(t *testing.T) {
		_, err := sfnc.StartExecution(ctx, &sfn.StartExecutionInput{
			StateMachineArn: aws.String(machine), Name: aws.String("mechanism-0"), Input: aws.String(`{"key":"plain","data":{"n":1}}`),
		})
		var exists *sfntypes.ExecutionAlreadyExists
		if !errorsAs(err, &exists) {
			t.Errorf("second start with a closed execution's name: err = %v, want ExecutionAlreadyExists", err)
		}
	})

	t.Run("invalid-name", func(t *testing.T) {
		_, err := sfnc.StartExecution(ctx, &sfn.StartExecutionInput{
			StateMachineArn: aws.String(machine), Name: aws.String("family:1"), Input: aws.String(`{}`),
		})
		var invalid *sfntypes.InvalidName
		if !errorsAs(err, &invalid) {
			t.Errorf("start with name %q: err = %v, want InvalidName", "family:1", err)
		}
	})
}
