package sfnlocal

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
)

const def = `{
  "StartAt": "Mode", "QueryLanguage": "JSONPath",
  "States": {
    "Mode": {"Type": "Choice", "Choices": [{"Variable": "$.skip", "StringEquals": "yes", "Next": "Done"}], "Default": "Work"},
    "Work": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
      "Parameters": {"FunctionName": "work", "Payload": {"in.$": "$", "id.$": "$$.Execution.Id"}},
      "ResultSelector": {"out.$": "$.Payload"}, "ResultPath": "$.work",
      "Retry": [{"ErrorEquals": ["Flaky"], "IntervalSeconds": 2, "MaxAttempts": 2, "BackoffRate": 2, "JitterStrategy": "FULL"}],
      "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "Failed"}],
      "Next": "Tell"},
    "Tell": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
      "Parameters": {"FunctionName": "tell", "Payload": {"r.$": "$.work.out"}}, "ResultPath": null, "Next": "Done"},
    "Failed": {"Type": "Pass", "Result": "Work", "ResultPath": "$.failedState", "Next": "Fail"},
    "Fail": {"Type": "Fail", "Error": "X.Failed", "Cause": "see notification"},
    "Done": {"Type": "Succeed"}
  }
}`

func TestRun(t *testing.T) {
	for _, tc := range []struct {
		name      string
		failures  int    // Flaky failures before success
		errType   string // the failure's type
		status    string
		calls     int
		wantInOut string
	}{
		{"succeeds", 0, "Flaky", "SUCCEEDED", 1, `"work":{"out":{"ok":true}}`},
		{"retried then succeeds", 2, "Flaky", "SUCCEEDED", 3, `"work":{"out":{"ok":true}}`},
		{"retries exhausted → Catch", 3, "Flaky", "FAILED", 3, ""},
		{"not retried → Catch", 1, "Fatal", "FAILED", 1, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, err := Parse(def, 1)
			if err != nil {
				t.Fatal(err)
			}
			m.TimeScale = 0.001
			calls, told := 0, ""
			m.Invoke = func(_ context.Context, fn string, payload []byte) ([]byte, string, string, error) {
				if fn == "tell" {
					told = string(payload)
					return []byte(`{"told":1}`), "", "", nil
				}
				calls++
				var p struct {
					In map[string]any `json:"in"`
					ID string         `json:"id"`
				}
				if err := json.Unmarshal(payload, &p); err != nil || p.ID != "arn:x" || p.In["a"] != "b" {
					t.Errorf("payload %s", payload)
				}
				if calls <= tc.failures {
					return nil, tc.errType, "boom", nil
				}
				return []byte(`{"ok":true}`), "", "", nil
			}
			ex := m.Run(context.Background(), "arn:x", "x", `{"a":"b"}`)
			if ex.Status != tc.status || calls != tc.calls {
				t.Errorf("status %s after %d calls, want %s after %d; %+v", ex.Status, calls, tc.status, tc.calls, ex.History)
			}
			if tc.status == "SUCCEEDED" {
				// ResultPath null keeps the input; the Tell payload came from $.work.out.
				if !strings.Contains(ex.Output, tc.wantInOut) || strings.Contains(ex.Output, "told") || told != `{"r":{"ok":true}}` {
					t.Errorf("output %s, told %s", ex.Output, told)
				}
			} else if ex.Error != "X.Failed" {
				t.Errorf("error %s", ex.Error)
			}
		})
	}
}

func TestParseRefusesUnsupported(t *testing.T) {
	for _, bad := range []string{
		strings.Replace(def, `"ResultPath": null`, `"OutputPath": "$.x"`, 1),
		strings.Replace(def, `"Type": "Pass"`, `"Type": "Map"`, 1),
		strings.Replace(def, `arn:aws:states:::lambda:invoke",
      "Parameters": {"FunctionName": "tell"`, `arn:aws:states:::sns:publish",
      "Parameters": {"FunctionName": "tell"`, 1),
		strings.Replace(def, `"StringEquals": "yes"`, `"NumericEquals": 1`, 1),
		strings.Replace(def, `"Result": "Work"`, `"Result": "Work", "Retry": []`, 1),                  // a Task field on a Pass
		strings.Replace(def, `"FunctionName": "tell"`, `"FunctionName": "tell", "Qualifier": "1"`, 1), // a Parameters field
		strings.Replace(def, `"MaxAttempts": 2`, `"MaxAttempts": 2, "MaxAttemptz": 2`, 1),             // a Retry field
		strings.Replace(def, `"JitterStrategy": "FULL"`, `"JitterStrategy": "NONE"`, 1),
		strings.Replace(def, `"ResultPath": null, "Next": "Done"`, `"ResultPath": null, "End": true`, 1),
	} {
		if _, err := Parse(bad, 1); err == nil {
			t.Errorf("accepted:\n%s", bad)
		}
	}
}

// A Wait state waits SecondsPath (scaled), and a missing path fails the
// execution with States.Runtime as in AWS.
func TestWait(t *testing.T) {
	const waitDef = `{"StartAt": "W", "States": {
    "W": {"Type": "Wait", "SecondsPath": "$.wait", "Next": "Done"},
    "Done": {"Type": "Succeed"}}}`
	m, err := Parse(waitDef, 1)
	if err != nil {
		t.Fatal(err)
	}
	m.TimeScale = 0.001
	if ex := m.Run(context.Background(), "arn:x", "x", `{"wait":30}`); ex.Status != "SUCCEEDED" {
		t.Errorf("wait 30 (scaled): %s %s", ex.Status, ex.Cause)
	}
	for _, in := range []string{`{}`, `{"wait":-1}`, `{"wait":"soon"}`} {
		if ex := m.Run(context.Background(), "arn:x", "x", in); ex.Status != "FAILED" || ex.Error != "States.Runtime" {
			t.Errorf("%s: %s %s", in, ex.Status, ex.Error)
		}
	}
	if _, err := Parse(strings.Replace(waitDef, `"SecondsPath": "$.wait"`, `"Timestamp": "2026-12-01T00:00:00Z"`, 1), 1); err == nil {
		t.Error("Timestamp accepted")
	}
}
