package message

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/ecslogfix/ecslogfix/internal/message/chat"
	"github.com/ecslogfix/ecslogfix/internal/message/notice"
	"github.com/ecslogfix/ecslogfix/internal/plan"
	"github.com/ecslogfix/ecslogfix/internal/policy/reason"
	"github.com/ecslogfix/ecslogfix/internal/workflow"
	"github.com/ecslogfix/ecslogfix/test/goldenfile"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

// loadRequest reads testdata/requests/<name>.json.
func loadRequest(t testing.TB, name string) workflow.NotifyRequest {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "requests", name+".json"))
	if err != nil {
		t.Fatal(err)
	}
	var req workflow.NotifyRequest
	if err := workflow.Decode(bytes.NewReader(data), &req); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return req
}

func requestNames(t testing.TB) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", "requests", "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no requests in testdata/requests: %v", err)
	}
	var names []string
	for _, f := range files {
		names = append(names, strings.TrimSuffix(filepath.Base(f), ".json"))
	}
	return names
}

// golden compares got with testdata/golden/<name>, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	goldenfile.Check(t, filepath.Join("testdata", "golden", name), got, *update)
}

func indented(t *testing.T, data []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := json.Indent(&buf, data, "", "  "); err != nil {
		t.Fatalf("invalid JSON: %v\n%s", err, data)
	}
	buf.WriteByte('\n')
	return buf.Bytes()
}

// TestGolden renders every request in testdata/requests in every format.
func TestGolden(t *testing.T) {
	for _, name := range requestNames(t) {
		t.Run(name, func(t *testing.T) {
			n, err := Render(loadRequest(t, name))
			if err != nil {
				t.Fatal(err)
			}
			checkInvariants(t, n)
			meta, _ := json.MarshalIndent(map[string]any{
				"subject": n.Subject, "attributes": n.Attributes, "truncated": n.Truncated, "quiet": Quiet(n.Outcome),
			}, "", "  ")
			golden(t, filepath.Join(name, "meta.json"), append(meta, '\n'))
			golden(t, filepath.Join(name, "email.txt"), []byte(n.Text))
			golden(t, filepath.Join(name, "chatbot.json"), indented(t, n.ChatbotJSON()))
			golden(t, filepath.Join(name, "document.json"), indented(t, n.DocumentJSON()))
			golden(t, filepath.Join(name, "slack.json"), indented(t, n.SlackJSON()))
		})
	}
}

// checkInvariants asserts what every rendering must satisfy, whatever the input.
func checkInvariants(t testing.TB, n Notification) {
	t.Helper()
	if n.Subject == "" || utf8.RuneCountInString(n.Subject) >= 100 || !utf8.ValidString(n.Subject) {
		t.Errorf("subject %q: empty, invalid or >= 100 characters", n.Subject)
	}
	if err := chat.ValidateChatbot(n.ChatbotJSON()); err != nil {
		t.Errorf("%v\n%s", err, n.ChatbotJSON())
	}
	for _, r := range n.Subject {
		if unicode.IsControl(r) {
			t.Errorf("subject %q has a control character", n.Subject)
		}
	}
	if n.Size() > MaxMessageBytes {
		t.Errorf("size %d > %d", n.Size(), MaxMessageBytes)
	}
	for k, v := range n.Attributes {
		if v == "" || !utf8.ValidString(v) {
			t.Errorf("attribute %s = %q", k, v)
		}
	}
	if n.Attributes[AttrOutcome] != string(n.Outcome) {
		t.Errorf("outcome attribute %q, outcome %q", n.Attributes[AttrOutcome], n.Outcome)
	}
	var env map[string]string
	if err := json.Unmarshal([]byte(n.SNSMessage()), &env); err != nil {
		t.Fatalf("SNS message is not a JSON object of strings: %v", err)
	}
	for _, k := range []string{"default", "email", "https", "sqs", "lambda"} {
		if env[k] == "" {
			t.Errorf("SNS message has no %q key", k)
		}
	}
	if env["default"] != n.Text || env["email"] != n.Text {
		t.Error("default/email differ from the text")
	}
	var cb chat.Chatbot
	if err := json.Unmarshal([]byte(env["https"]), &cb); err != nil {
		t.Fatalf("https key is not JSON: %v", err)
	}
	if cb.Version != "1.0" || cb.Source != "custom" || cb.Content.TextType != "client-markdown" || cb.Content.Title == "" || cb.Content.Description == "" {
		t.Errorf("chatbot payload does not match the custom notification schema: %+v", cb)
	}
	for _, k := range []string{"sqs", "lambda"} {
		var doc Document
		if err := json.Unmarshal([]byte(env[k]), &doc); err != nil {
			t.Fatalf("%s key is not JSON: %v", k, err)
		}
		if doc.Schema != Schema || doc.Outcome != n.Outcome {
			t.Errorf("%s: schema %q outcome %q", k, doc.Schema, doc.Outcome)
		}
	}
	var sl map[string]any
	if err := json.Unmarshal(n.SlackJSON(), &sl); err != nil {
		t.Errorf("slack payload is not JSON: %v", err)
	}
}

func TestRenderRejectsEmptyAndDoubleRequests(t *testing.T) {
	both := workflow.NotifyRequest{Result: &workflow.Result{}, Failure: &workflow.Failure{}}
	for _, req := range []workflow.NotifyRequest{{}, both} {
		_, want := notice.New(req)
		if _, err := Render(req); want == nil || err != want {
			t.Errorf("%+v: %v, want notice.New's error %v", req, err, want)
		}
	}
}

func TestQuiet(t *testing.T) {
	for o, want := range map[workflow.Outcome]bool{
		workflow.OutcomeRemediated: false, workflow.OutcomeReportOnly: false, workflow.OutcomeBlocked: false,
		workflow.OutcomeNeedsHuman: false, workflow.OutcomeFailed: false,
		workflow.OutcomeAlreadyCompliant: true, workflow.OutcomeAlreadyRemediated: true,
		workflow.OutcomeSuperseded: true, workflow.OutcomeInactive: true, workflow.OutcomeExempt: true,
	} {
		if Quiet(o) != want {
			t.Errorf("Quiet(%s) = %v", o, !want)
		}
	}
}

func TestSubjectIsShortenedForLongFamilies(t *testing.T) {
	req := loadRequest(t, "remediated")
	long := strings.Repeat("very-long-family-name-", 11) // 242 characters
	req.Result.Family = long
	req.Result.SourceARN = "arn:aws:ecs:us-east-1:111122223333:task-definition/" + long + ":14"
	req.Result.NewARN = "arn:aws:ecs:us-east-1:111122223333:task-definition/" + long + ":15"
	n, err := Render(req)
	if err != nil {
		t.Fatal(err)
	}
	checkInvariants(t, n)
	if !strings.HasPrefix(n.Subject, "[ecslogfix] REMEDIATED very-long") || !strings.HasSuffix(n.Subject, ":14 → :15 (us-east-1)") {
		t.Errorf("subject %q lost its outcome or revisions", n.Subject)
	}
}

// hugeRequest is a remediation whose full rendering is far above SNS's limit.
func hugeRequest() workflow.NotifyRequest {
	req := workflow.NotifyRequest{ExecutionARN: "arn:aws:states:us-east-1:111122223333:execution:sm:big"}
	p := &plan.Plan{Family: "big", Context: plan.Context{Partition: "aws", Account: "111122223333", Region: "us-east-1"}}
	var longReasons []reason.Code
	for i := range 30 {
		longReasons = append(longReasons, reason.Code(fmt.Sprintf("R%02d_%s", i, strings.Repeat("X", 400))))
	}
	for i := range 400 {
		opts := map[string]string{}
		for j := range 40 {
			opts[fmt.Sprintf("awslogs-opt-%02d", j)] = strings.Repeat("x", 600)
		}
		opts["awslogs-group"] = "/ecs/big/" + strings.Repeat("g", 400)
		opts["awslogs-multiline-pattern"] = strings.Repeat("^\\[", 300)
		p.Containers = append(p.Containers, plan.ContainerChange{
			Name: fmt.Sprintf("c%03d-%s", i, strings.Repeat("n", 200)), Action: plan.ActionComplete,
			Reasons: append([]reason.Code{reason.MissingStreamPrefix, reason.MissingRegion}, longReasons...),
			Before:  &plan.LogSettings{Driver: "awslogs", Options: opts},
			After:   &plan.LogSettings{Driver: "awslogs", Options: opts},
		})
		p.Blockers = append(p.Blockers, plan.Blocker{Code: "X", Message: strings.Repeat("m", 2000)})
	}
	r := &workflow.Result{
		Version: "1", Outcome: workflow.OutcomeRemediated, Family: "big", Plan: p,
		Target:    workflow.Target{Account: "111122223333", Region: "us-east-1"},
		SourceARN: "arn:aws:ecs:us-east-1:111122223333:task-definition/big:1",
		NewARN:    "arn:aws:ecs:us-east-1:111122223333:task-definition/big:2",
		Detail:    strings.Repeat("d", 100000),
		Principal: &workflow.Principal{Type: strings.Repeat("T", 5000), ARN: strings.Repeat("a", 5000), UserName: strings.Repeat("u", 5000)},
		Origin:    &workflow.Origin{Tool: strings.Repeat("o", 5000), Detail: strings.Repeat("s", 5000)},
	}
	for i := range 500 {
		r.LogGroups = append(r.LogGroups, workflow.LogGroupResult{
			Name: fmt.Sprintf("/ecs/%d/%s", i, strings.Repeat("l", 5000)), Created: true, DeletionProtectionEnabled: true,
			KMSKeyARN: strings.Repeat("k", 5000),
		})
	}
	req.Result = r
	return req
}

func TestHugePlanIsShrunkBelowTheSNSLimit(t *testing.T) {
	n, err := Render(hugeRequest())
	if err != nil {
		t.Fatal(err)
	}
	checkInvariants(t, n)
	if !n.Truncated || !n.Document.Truncated {
		t.Error("a shrunk message must say it is truncated")
	}
	if !strings.Contains(n.Text, "left out to keep this message under the SNS size limit") {
		t.Error("the text does not tell the reader that detail was left out")
	}
	if !strings.Contains(n.Text, "arn:aws:ecs:us-east-1:111122223333:task-definition/big:2") {
		t.Error("the new revision ARN must survive shrinking")
	}
	t.Logf("huge plan: %d bytes after shrinking", n.Size())
}

// secret is planted in every place a secret could sneak in; it must appear
// in no output.
const secret = "s3cr3t-PLANTED"

func plantedRequests() []workflow.NotifyRequest {
	env := `"environment":[{"name":"DB_PASSWORD","value":"` + secret + `-env"}]`
	escaped, _ := json.Marshal(`{"secrets":[{"name":"X","valueFrom":"` + secret + `-escaped"}],"options":{"splunk-token":"` + secret + `-opt"}}`)
	msg := "invalid container definition {" + env + "} nested " + string(escaped) + " password=" + secret +
		"-kv AKIAIOSFODNN7EXAMPLE https://hooks.slack.com/services/T000/B000/" + secret
	causeDoc, _ := json.Marshal(map[string]any{"errorType": "ClientException", "errorMessage": msg, "stackTrace": []string{secret + "-stack"}})
	cause := string(causeDoc)
	before := &plan.LogSettings{Driver: "splunk",
		Options:       map[string]string{"splunk-token": secret + "-splunk", "splunk-url": "https://" + secret + ".example.com"},
		SecretOptions: []string{"splunk-token"}}
	awsBefore := &plan.LogSettings{Driver: "awslogs",
		Options: map[string]string{"awslogs-group": "/ecs/a", "awslogs-credentials-endpoint": "/" + secret + "-creds", "tag": secret + "-tag"}}
	firelens := &plan.LogSettings{Driver: "awsfirelens", Options: map[string]string{"Name": "http", "Header": "Authorization Bearer " + secret + "-fl"}}
	after := &plan.LogSettings{Driver: "awslogs", Options: map[string]string{"awslogs-group": "/ecs/a", "awslogs-region": "us-east-1", "awslogs-stream-prefix": "ecs", "splunk-token": secret + "-after"}}
	p := &plan.Plan{Family: "a", Context: plan.Context{Region: "us-east-1", Account: "111122223333"},
		Containers: []plan.ContainerChange{
			{Name: "s", Action: plan.ActionReplace, Reasons: []reason.Code{reason.DriverNotAllowed}, Before: before, After: after},
			{Name: "w", Action: plan.ActionComplete, Reasons: []reason.Code{reason.MissingRegion}, Before: awsBefore, After: after},
			{Name: "f", Action: plan.ActionReport, Reasons: []reason.Code{reason.Firelens}, Before: firelens},
		},
		LogGroups: []plan.LogGroup{{Name: "/ecs/a", Tags: map[string]string{"owner": secret + "-tag"}}},
	}
	result := func(o workflow.Outcome) workflow.NotifyRequest {
		return workflow.NotifyRequest{Result: &workflow.Result{Outcome: o, Family: "a", Plan: p,
			Target:    workflow.Target{Account: "111122223333", Region: "us-east-1"},
			SourceARN: "arn:aws:ecs:us-east-1:111122223333:task-definition/a:1",
			NewARN:    "arn:aws:ecs:us-east-1:111122223333:task-definition/a:2"}}
	}
	failure := workflow.NotifyRequest{Failure: &workflow.Failure{
		State: "RegisterFailed", Error: "ClientException", Cause: cause,
		Input: workflow.State{Input: workflow.Input{Family: "a", TaskDefinitionARN: "arn:aws:ecs:us-east-1:111122223333:task-definition/a:1",
			Target:    workflow.Target{Account: "111122223333", Region: "us-east-1"},
			LogGroups: []plan.LogGroup{{Name: "/ecs/a", Tags: map[string]string{"k": secret + "-input-tag"}}}}},
	}}
	return []workflow.NotifyRequest{
		result(workflow.OutcomeRemediated), result(workflow.OutcomeReportOnly), result(workflow.OutcomeBlocked),
		result(workflow.OutcomeNeedsHuman), failure,
	}
}

func TestPrivacyNoPlantedSecretInAnyOutput(t *testing.T) {
	for _, req := range plantedRequests() {
		n, err := Render(req)
		if err != nil {
			t.Fatal(err)
		}
		checkInvariants(t, n)
		outputs := map[string]string{
			"subject": n.Subject, "sns": n.SNSMessage(), "slack": string(n.SlackJSON()), "text": n.Text,
			"attributes": fmt.Sprint(n.Attributes),
		}
		for name, out := range outputs {
			if strings.Contains(out, secret) || strings.Contains(out, "AKIAIOSFODNN7EXAMPLE") {
				t.Errorf("%s: %s output leaks a planted secret:\n%s", n.Outcome, name, out)
			}
		}
		if n.Outcome == workflow.OutcomeFailed && !strings.Contains(n.Text, "ClientException: invalid container definition") {
			t.Errorf("the sanitised cause lost its useful part:\n%s", n.Text)
		}
	}
}

func FuzzRender(f *testing.F) {
	for _, name := range requestNames(f) {
		data, err := os.ReadFile(filepath.Join("testdata", "requests", name+".json"))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var req workflow.NotifyRequest
		if json.Unmarshal(data, &req) != nil {
			return
		}
		n, err := Render(req)
		if err != nil {
			if _, refused := notice.New(req); err != refused {
				t.Fatalf("unexpected error: %v", err)
			}
			return
		}
		checkInvariants(t, n)
	})
}

func BenchmarkRender(b *testing.B) {
	for _, name := range []string{"remediated", "failed"} {
		req := loadRequest(b, name)
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Render(req); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	huge := hugeRequest()
	b.Run("huge", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := Render(huge); err != nil {
				b.Fatal(err)
			}
		}
	})
}
