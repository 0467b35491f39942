package faults

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/ecslogfix/ecslogfix/internal/cloudtrail"
	"github.com/ecslogfix/ecslogfix/internal/config/fnenv"
	"github.com/ecslogfix/ecslogfix/internal/detect"
	"github.com/ecslogfix/ecslogfix/internal/execution"
	"github.com/ecslogfix/ecslogfix/internal/plan"
	"github.com/ecslogfix/ecslogfix/internal/policy"
	"github.com/ecslogfix/ecslogfix/internal/workflow"
	"github.com/ecslogfix/ecslogfix/test/e2e/harness"
	"github.com/ecslogfix/ecslogfix/test/localaws"
	"github.com/ecslogfix/ecslogfix/test/reliability"
)

// marker is planted in hostile bodies; it must never reach a log line.
const marker = "HOSTILE-MARKER-7f3a"

// mutate decodes an event, applies f to it and encodes it again.
func mutate(event []byte, f func(m map[string]any)) []byte {
	var m map[string]any
	if err := json.Unmarshal(event, &m); err != nil {
		panic(err)
	}
	f(m)
	b, err := json.Marshal(m)
	if err != nil {
		panic(err)
	}
	return b
}

func detail(m map[string]any) map[string]any { return m["detail"].(map[string]any) }

// pad adds an environment value of n bytes to the event's
// requestParameters, as CloudTrail records a big registration.
func pad(n int) func(map[string]any) {
	return func(m map[string]any) {
		rp := detail(m)["requestParameters"].(map[string]any)
		rp["padding"] = marker + strings.Repeat("x", n)
	}
}

// TestHostileInput: spoofed, malformed, missing, oversized and
// out-of-range events each get a typed parse error from
// internal/cloudtrail and make detect answer "ignored" without an error,
// a panic or a StartExecution; bad policies and workflow inputs are refused
// with typed errors before any AWS call.
func TestHostileInput(t *testing.T) {
	w := newWorld(t, worldOptions{Seed: 4, RegisterRate: 5, TimeScale: 0.01})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	td, err := w.userRevision(ctx, "td01-fargate-no-logconfig.json", "rel-hostile", 1)
	if err != nil {
		t.Fatal(err)
	}
	valid := eventFor(td, nextEventID(), harness.IAMUser("jane.doe"))
	if _, err := cloudtrail.Parse(valid); err != nil {
		t.Fatalf("the base event does not parse: %v", err)
	}
	long := strings.Repeat("f", 256)
	cases := []struct {
		name  string
		event []byte
		kind  string
	}{
		{"custom source", mutate(valid, func(m map[string]any) { m["source"] = "custom.ecs." + marker }), cloudtrail.KindSpoofed},
		{"look-alike source", mutate(valid, func(m map[string]any) { m["source"] = "aws-ecs" }), cloudtrail.KindSpoofed},
		{"upper-case source", mutate(valid, func(m map[string]any) { m["source"] = "AWS.ECS" }), cloudtrail.KindSpoofed},
		{"look-alike eventSource", mutate(valid, func(m map[string]any) { detail(m)["eventSource"] = "ecs.amazonaws.com.evil.example" }), cloudtrail.KindSpoofed},
		{"eventSource of another service", mutate(valid, func(m map[string]any) { detail(m)["eventSource"] = "ec2.amazonaws.com" }), cloudtrail.KindSpoofed},
		{"wrong detail-type", mutate(valid, func(m map[string]any) { m["detail-type"] = "ECS Task State Change" }), cloudtrail.KindNotCloudTrail},
		{"another API call", mutate(valid, func(m map[string]any) { detail(m)["eventName"] = "DeregisterTaskDefinition" }), cloudtrail.KindWrongEvent},
		{"unsupported eventVersion", mutate(valid, func(m map[string]any) { detail(m)["eventVersion"] = "2.0" }), cloudtrail.KindUnsupportedVersion},
		{"recipient account differs", mutate(valid, func(m map[string]any) { detail(m)["recipientAccountId"] = "999999999999" }), cloudtrail.KindSpoofed},
		{"ARN in another account", mutate(valid, func(m map[string]any) {
			te := detail(m)["responseElements"].(map[string]any)["taskDefinition"].(map[string]any)
			te["taskDefinitionArn"] = strings.Replace(te["taskDefinitionArn"].(string), account, "999999999999", 1)
		}), cloudtrail.KindSpoofed},
		{"malformed JSON", []byte(`{"detail-type":"AWS API Call via CloudTrail","detail":{` + marker), cloudtrail.KindMalformed},
		{"JSON array", []byte(`[` + string(valid) + `]`), cloudtrail.KindMalformed},
		{"JSON null", []byte(`null`), cloudtrail.KindMalformed},
		{"empty body", []byte(``), cloudtrail.KindMalformed},
		{"binary", []byte("\x00\xff\xfe" + marker), cloudtrail.KindMalformed},
		{"account of the wrong type", mutate(valid, func(m map[string]any) { m["account"] = 123456789012 }), cloudtrail.KindMalformed},
		{"no detail", mutate(valid, func(m map[string]any) { delete(m, "detail") }), cloudtrail.KindMissingField},
		{"no account", mutate(valid, func(m map[string]any) { delete(m, "account") }), cloudtrail.KindMissingField},
		{"no eventID", mutate(valid, func(m map[string]any) { delete(detail(m), "eventID") }), cloudtrail.KindMissingField},
		{"no family anywhere", mutate(valid, func(m map[string]any) {
			delete(detail(m), "responseElements")
			delete(detail(m), "requestParameters")
		}), cloudtrail.KindMissingField},
		{"oversized body (> 1 MiB)", mutate(valid, pad(cloudtrail.MaxEventBytes)), cloudtrail.KindTooLarge},
		{"256-character family", mutate(valid, func(m map[string]any) {
			d := detail(m)
			te := d["responseElements"].(map[string]any)["taskDefinition"].(map[string]any)
			te["family"] = long
			te["taskDefinitionArn"] = fmt.Sprintf("arn:aws:ecs:%s:%s:task-definition/%s:1", region, account, long)
			d["requestParameters"].(map[string]any)["family"] = long
		}), cloudtrail.KindInvalidField},
		{"family with illegal characters", mutate(valid, func(m map[string]any) {
			d := detail(m)
			te := d["responseElements"].(map[string]any)["taskDefinition"].(map[string]any)
			te["family"] = "a/../b"
			te["taskDefinitionArn"] = fmt.Sprintf("arn:aws:ecs:%s:%s:task-definition/a/../b:1", region, account)
			d["requestParameters"].(map[string]any)["family"] = "a/../b"
		}), cloudtrail.KindInvalidField},
	}
	before := w.sfn.startCalls()
	for _, c := range cases {
		t.Run("event/"+c.name, func(t *testing.T) {
			_, err := cloudtrail.Parse(c.event)
			var pe *cloudtrail.Error
			if !errors.As(err, &pe) {
				t.Fatalf("Parse: %v (%T), want a *cloudtrail.Error", err, err)
			}
			if pe.Kind != c.kind {
				t.Errorf("Parse: kind %s (%v), want %s", pe.Kind, err, c.kind)
			}
			calls := w.sfn.startCalls()
			resp, err := w.detect.Handle(ctx, c.event)
			if err != nil || resp.Status != execution.StatusIgnored || resp.Reason != detect.IgnoreParse {
				t.Errorf("detect: %+v %v, want ignored %s and no error", resp, err, detect.IgnoreParse)
			}
			if n := w.sfn.startCalls() - calls; n != 0 {
				t.Errorf("%d StartExecution calls", n)
			}
		})
	}

	t.Run("event/failed call", func(t *testing.T) {
		ev := mutate(valid, func(m map[string]any) {
			d := detail(m)
			d["errorCode"] = "ClientException"
			d["errorMessage"] = marker + strings.Repeat("!", 4000)
			delete(d, "responseElements")
		})
		resp, err := w.detect.Handle(ctx, ev)
		if err != nil || resp.Reason != detect.IgnoreFailedCall {
			t.Errorf("detect: %+v %v, want ignored %s", resp, err, detect.IgnoreFailedCall)
		}
	})

	t.Run("event/256 KiB body of a compliant revision", func(t *testing.T) {
		compliant, err := w.userRevision(ctx, "td11-compliant-fargate.json", "rel-hostile-compliant", 1)
		if err != nil {
			t.Fatal(err)
		}
		ev := mutate(eventFor(compliant, nextEventID(), harness.IAMUser("jane.doe")), pad(256<<10))
		if len(ev) < 256<<10 || len(ev) > cloudtrail.MaxEventBytes {
			t.Fatalf("event is %d bytes", len(ev))
		}
		resp, err := w.detect.Handle(ctx, ev)
		if err != nil || resp.Status != execution.StatusCompliant {
			t.Errorf("detect: %+v %v, want compliant", resp, err)
		}
	})
	if n := w.sfn.startCalls() - before; n != 0 {
		t.Errorf("hostile events made %d StartExecution calls, want 0", n)
	}

	t.Run("event/255-character family is remediated", func(t *testing.T) {
		root, _ := localaws.RepoRoot()
		in, err := harness.LoadTaskDefinition(root+"/testdata/taskdefs/td36-family-255-chars.json", "")
		if err != nil {
			t.Fatal(err)
		}
		if n := len(aws.ToString(in.Family)); n != 255 {
			t.Fatalf("family of %d characters", n)
		}
		out, err := w.ecs.RegisterTaskDefinition(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := w.deliver(ctx, eventFor(out.TaskDefinition, nextEventID(), harness.IAMUser("jane.doe")))
		if err != nil {
			t.Fatal(err)
		}
		if resp.Status != execution.StatusStarted || len(resp.ExecutionName) > execution.MaxName {
			t.Fatalf("detect: %+v, want started with a name of ≤ 80 characters", resp)
		}
		execs := w.sfn.settle()
		ex := execs[len(execs)-1]
		if o := outcomeOf(ex); ex.Status != "SUCCEEDED" || o != string(workflow.OutcomeRemediated) {
			t.Errorf("execution %s %s: %s", ex.Status, o, historyLine(ex))
		}
	})

	t.Run("policy/invalid log group templates and wrong types", func(t *testing.T) {
		bad := []struct{ doc, field string }{
			{`{"logGroupTemplate":"/ecs/{family} with spaces"}`, "logGroupTemplate"},
			{`{"logGroupTemplate":"/ecs/{family}*"}`, "logGroupTemplate"},
			{`{"logGroupTemplate":"aws/{family}"}`, "logGroupTemplate"},
			{`{"logGroupTemplate":"{family}{family}{family}"}`, "logGroupTemplate"}, // > 512 with a 255-character family
			{`{"logGroupTemplate":"/ecs/{famly}"}`, "logGroupTemplate"},
			{`{"retentionDays":"ninety"}`, "retentionDays"},
			{`{"retentionDays":90.5}`, "retentionDays"},
			{`{"retentionDays":91}`, "retentionDays"},
			{`{"allowedDrivers":"awslogs"}`, "allowedDrivers"},
			{`{"exemptionTag":["ecslogfix:exempt"]}`, "exemptionTag"},
			{`{"enforcement":true}`, "enforcement"},
			{`{"enforcement":"maybe"}`, "enforcement"},
			{`{"logGroupTags":["a"]}`, "logGroupTags"},
			{`{"retention":30}`, "retention"}, // unknown field
			{`[1,2]`, ""},
			{`retentionDays: [`, ""},
		}
		for _, b := range bad {
			_, err := policy.Parse([]byte(b.doc))
			var fe *policy.FieldError
			var te *json.UnmarshalTypeError
			switch {
			case err == nil:
				t.Errorf("policy %s: accepted", b.doc)
			case errors.As(err, &fe):
				if fe.Field != b.field {
					t.Errorf("policy %s: FieldError on %s, want %s", b.doc, fe.Field, b.field)
				}
			case errors.As(err, &te):
				if !strings.EqualFold(te.Field, b.field) {
					t.Errorf("policy %s: type error on field %q, want %s", b.doc, te.Field, b.field)
				}
			case !strings.Contains(err.Error(), b.field):
				t.Errorf("policy %s: %v does not name %s", b.doc, err, b.field)
			}
			// A function configured with it refuses to start.
			if _, err := fnenv.ReadRemediateEnv(func(k string) string {
				if k == fnenv.EnvPolicy {
					return b.doc
				}
				return ""
			}); err == nil {
				t.Errorf("policy %s: ReadRemediateEnv accepted it", b.doc)
			}
		}
	})

	t.Run("remediate/hostile workflow input", func(t *testing.T) {
		r := <-w.remeds
		defer func() { w.remeds <- r }()
		calls := w.proxy.Stats()
		src := aws.ToString(td.TaskDefinitionArn)
		inputs := []workflow.Request{
			{Action: "delete-everything", Input: workflow.State{Input: workflow.Input{TaskDefinitionARN: src}}},
			{Action: workflow.ActionRegister, Input: workflow.State{Input: workflow.Input{TaskDefinitionARN: "arn:aws:ecs:us-east-1:123456789012:task-definition/" + marker}}},
			{Action: workflow.ActionRegister, Input: workflow.State{Input: workflow.Input{TaskDefinitionARN: src, Family: "other-family"}}},
			{Action: workflow.ActionRegister, Input: workflow.State{Input: workflow.Input{TaskDefinitionARN: src, Target: workflow.Target{Account: "999999999999"}}}},
			{Action: workflow.ActionEnsureLogGroup, Input: workflow.State{Input: workflow.Input{TaskDefinitionARN: src, LogGroups: []plan.LogGroup{{Name: "/ecs/bad name*" + marker}}}}},
			{Action: workflow.ActionEnsureLogGroup, Input: workflow.State{Input: workflow.Input{TaskDefinitionARN: src, LogGroups: []plan.LogGroup{{Name: "aws/reserved"}}}}},
		}
		for _, in := range inputs {
			_, err := r.Handle(ctx, in)
			var ie *workflow.InvalidInputError
			if !errors.As(err, &ie) || lambdaErrorType(err) != workflow.ErrInvalidInput {
				t.Errorf("remediate %s %s: %v (%s), want %s (never retried)", in.Action, in.Input.TaskDefinitionARN, err, lambdaErrorType(err), workflow.ErrInvalidInput)
			}
		}
		after := w.proxy.Stats()
		for _, api := range []string{"ecs:RegisterTaskDefinition", "logs:CreateLogGroup"} {
			if n := after.APIs[api].Requests - calls.APIs[api].Requests; n != 0 {
				t.Errorf("hostile workflow inputs made %d %s calls", n, api)
			}
		}
	})

	t.Run("logs/no hostile content logged", func(t *testing.T) {
		if strings.Contains(w.logs.String(), marker) {
			t.Errorf("a hostile body's content reached a log line")
		}
	})

	st := w.proxy.Stats()
	reliability.Record(t, reliability.Result{
		ID: "hostile-input", Scenario: "hostile input: spoofed events, malformed JSON, missing fields, oversized, 255/256-char families, bad templates and policies",
		Runs: len(cases) + 6, Passed: len(cases) + 6,
		Registrations: st.APIs["ecs:RegisterTaskDefinition"].Forwarded, Faults: st.Total.FaultCount(),
		Note: fmt.Sprintf("%d hostile events: typed cloudtrail errors, 0 StartExecution; 16 bad policies refused; 6 bad workflow inputs → InvalidInputError; the 255-character family is remediated", len(cases)+2),
	})
}
