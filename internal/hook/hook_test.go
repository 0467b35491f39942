package hook

// The requests in testdata/ are ecslogfix's own, written in the shapes the
// CloudFormation Hooks User Guide documents for Lambda Hooks ("Create
// Lambda functions to evaluate resources for Lambda Hooks": Request input,
// Response input, resource and Cloud Control evaluation); see
// testdata/README.md.

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ecslogfix/ecslogfix/internal/policy"
	"github.com/ecslogfix/ecslogfix/test/goldenfile"
)

var update = flag.Bool("update", false, "rewrite the golden files")

func request(t *testing.T, name string) Request {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	var req Request
	if err := json.Unmarshal(data, &req); err != nil {
		t.Fatal(err)
	}
	return req
}

func TestDecideDocumentedRequests(t *testing.T) {
	for name, want := range map[string]struct{ status, code string }{
		"create-compliant.json":    {StatusSuccess, ""},
		"update-noncompliant.json": {StatusFailed, CodeNonCompliant},
		"cloudcontrol-create.json": {StatusFailed, CodeNonCompliant},
		"other-type.json":          {StatusSuccess, ""},
		"delete.json":              {StatusSuccess, ""},
		"exempt.json":              {StatusSuccess, ""},
	} {
		t.Run(name, func(t *testing.T) {
			req := request(t, name)
			h := &Handler{Policy: policy.Default()}
			resp, err := h.Handle(context.Background(), req)
			if err != nil {
				t.Fatal(err)
			}
			if resp.HookStatus != want.status || resp.ErrorCode != want.code || resp.ClientRequestToken != req.ClientRequestToken {
				t.Errorf("%+v, want %s %s", resp, want.status, want.code)
			}
			got, err := json.MarshalIndent(resp, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			goldenfile.Check(t, filepath.Join("testdata", "golden", name), append(got, '\n'), *update)
		})
	}
}

// TestResponseShape pins the documented field names and nothing else.
func TestResponseShape(t *testing.T) {
	resp := Decide(request(t, "update-noncompliant.json"), policy.Default())
	data, err := json.Marshal(resp)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	allowed := map[string]bool{"hookStatus": true, "errorCode": true, "message": true, "clientRequestToken": true, "annotations": true}
	for k := range m {
		if !allowed[k] {
			t.Errorf("undocumented response field %q", k)
		}
	}
	var anns []map[string]string
	if err := json.Unmarshal(m["annotations"], &anns); err != nil {
		t.Fatal(err)
	}
	for _, a := range anns {
		for k := range a {
			if !map[string]bool{"annotationName": true, "status": true, "statusMessage": true, "remediationMessage": true, "severityLevel": true}[k] {
				t.Errorf("undocumented annotation field %q", k)
			}
		}
		if s := a["status"]; s != "PASSED" && s != "FAILED" && s != "SKIPPED" {
			t.Errorf("annotation status %q", s)
		}
	}
	if !strings.Contains(resp.Message, "container app: awslogs without an awslogs-stream-prefix (MISSING_AWSLOGS_STREAM_PREFIX)") ||
		!strings.Contains(resp.Message, "container metrics: no logConfiguration at all") {
		t.Errorf("message %q", resp.Message)
	}
}

func TestDecideHostileAndBrokenInput(t *testing.T) {
	req := request(t, "create-compliant.json")
	req.RequestData.TargetModel.ResourceProperties = json.RawMessage(`{"ContainerDefinitions": [{"Name": "a\u001b[2J` + strings.Repeat("x", 5000) + `"}]}`)
	resp := Decide(req, policy.Default())
	if resp.HookStatus != StatusFailed || strings.ContainsRune(resp.Message, 0x1b) || len([]rune(resp.Message)) > maxMessage {
		t.Errorf("hostile: %d runes, %q", len([]rune(resp.Message)), resp.Message[:80])
	}
	req.RequestData.TargetModel.ResourceProperties = json.RawMessage(`{"ContainerDefinitions": {"Name": "a"}}`)
	resp = Decide(req, policy.Default())
	if resp.HookStatus != StatusFailed || resp.ErrorCode != CodeNonCompliant || !strings.Contains(resp.Message, "ContainerDefinitions: expected an array, got an object") {
		t.Errorf("broken: %+v", resp)
	}
	req.RequestData.TargetModel.ResourceProperties = nil
	if resp := Decide(req, policy.Default()); resp.HookStatus != StatusSuccess {
		t.Errorf("no properties (no containers): %+v", resp)
	}
}

func TestHandleLogsNoProperties(t *testing.T) {
	var buf bytes.Buffer
	h := &Handler{Policy: policy.Default(), Logger: newTestLogger(&buf)}
	if _, err := h.Handle(context.Background(), request(t, "update-noncompliant.json")); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(buf.String(), "statsd") || strings.Contains(buf.String(), "/ecs/orders") || !strings.Contains(buf.String(), `"status":"FAILED"`) {
		t.Errorf("log line %s", buf.String())
	}
}
