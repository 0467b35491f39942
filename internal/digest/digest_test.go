package digest

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/ecslogfix/ecslogfix/internal/message"
	"github.com/ecslogfix/ecslogfix/internal/message/chat"
	"github.com/ecslogfix/ecslogfix/internal/policy/reason"
	"github.com/ecslogfix/ecslogfix/internal/workflow"
	"github.com/ecslogfix/ecslogfix/test/goldenfile"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

func load(t *testing.T, name string) Input {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "inputs", name+".json"))
	if err != nil {
		t.Fatal(err)
	}
	var f struct {
		Summary      workflow.SweepSummary   `json:"summary"`
		Outcomes     []workflow.SweepOutcome `json:"outcomes"`
		ExecutionARN string                  `json:"executionArn"`
	}
	if err := workflow.Decode(bytes.NewReader(data), &f); err != nil {
		t.Fatal(err)
	}
	return Input{Summary: f.Summary, Outcomes: f.Outcomes, ExecutionARN: f.ExecutionARN}
}

// large is a sweep of many account-regions with many outcomes each: the
// caps apply.
func large(sections, perSection int, detail string) Input {
	in := Input{ExecutionARN: "arn:aws:states:us-east-1:111111111111:execution:ecslogfix-sweep:big-sweep",
		Summary: workflow.SweepSummary{Version: workflow.Version, SweepID: "big-sweep", Bucket: "ecslogfix-sweeps-111111111111",
			ReportKey: "sweeps/big-sweep/report.jsonl", Targets: sections, TargetsWalked: sections, FailedTargets: []workflow.Target{}, Gaps: []workflow.CoverageGap{}}}
	outcomes := []workflow.Outcome{workflow.OutcomeRemediated, workflow.OutcomeBlocked, workflow.OutcomeNeedsHuman, workflow.OutcomeRemediated}
	for s := range sections {
		account := fmt.Sprintf("%012d", 200000000000+s)
		for i := range perSection {
			o := outcomes[i%len(outcomes)]
			family := fmt.Sprintf("service-%04d", i)
			src := fmt.Sprintf("arn:aws:ecs:eu-west-1:%s:task-definition/%s:3", account, family)
			out := workflow.SweepOutcome{Account: account, Region: "eu-west-1", Family: family, Outcome: o, SourceARN: src,
				Reasons: []reason.Code{reason.MissingLogConfiguration}}
			if o == workflow.OutcomeRemediated {
				out.NewARN = strings.TrimSuffix(src, ":3") + ":4"
			} else {
				out.Detail = detail
			}
			in.Outcomes = append(in.Outcomes, out)
		}
		in.Summary.Evaluated += perSection
		in.Summary.Violations += perSection
		in.Summary.Started += perSection
	}
	return in
}

func golden(t *testing.T, name string, n Notification) {
	t.Helper()
	indent := func(v any) []byte {
		b, err := json.MarshalIndent(v, "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		return append(b, '\n')
	}
	dir := filepath.Join("testdata", "golden", name)
	goldenfile.Check(t, filepath.Join(dir, "meta.json"), indent(map[string]any{"subject": n.Subject, "attributes": n.Attributes, "truncated": n.Truncated, "bytes": n.Size()}), *update)
	goldenfile.Check(t, filepath.Join(dir, "email.txt"), []byte(n.Text), *update)
	goldenfile.Check(t, filepath.Join(dir, "chatbot.json"), indent(n.Chatbot), *update)
	goldenfile.Check(t, filepath.Join(dir, "slack.json"), indent(n.Slack), *update)
	goldenfile.Check(t, filepath.Join(dir, "document.json"), indent(n.Document), *update)
}

// invariants holds for every digest: it fits SNS, the Chatbot payload is
// a documented custom notification, the subject is short, Slack's limits
// hold, and the counts are whole whatever was left out.
func invariants(t *testing.T, in Input, n Notification) {
	t.Helper()
	if n.Size() > message.Budget {
		t.Errorf("%d bytes, over the budget of %d", n.Size(), message.Budget)
	}
	if err := chat.ValidateChatbot(message.JSON(n.Chatbot)); err != nil {
		t.Errorf("%v\n%s", err, message.JSON(n.Chatbot))
	}
	if utf8.RuneCountInString(n.Subject) >= 100 || n.Subject == "" {
		t.Errorf("subject %q", n.Subject)
	}
	if d := utf8.RuneCountInString(n.Chatbot.Content.Description); d > capChatDescription {
		t.Errorf("chatbot description of %d characters", d)
	}
	if len(n.Slack.Blocks) > 50 {
		t.Errorf("%d Slack blocks", len(n.Slack.Blocks))
	}
	for _, b := range n.Slack.Blocks {
		if b.Text != nil && utf8.RuneCountInString(b.Text.Text) > capSlackSection {
			t.Errorf("a Slack block of %d characters", utf8.RuneCountInString(b.Text.Text))
		}
	}
	if n.Attributes[message.AttrOutcome] != string(Outcome) {
		t.Errorf("attributes %v", n.Attributes)
	}
	// Listed plus omitted is every listable outcome.
	listed := 0
	for _, s := range n.Document.Sections {
		for name, items := range s.Lists {
			listed += len(items) + s.Omitted[name]
		}
	}
	listable, total := 0, 0
	for _, o := range in.Outcomes {
		if _, ok := listOf[o.Outcome]; ok {
			listable++
		}
	}
	for _, c := range n.Document.Outcomes {
		total += c
	}
	if n.Document.SectionsOmitted == 0 && listed != listable {
		t.Errorf("%d families listed or counted as omitted, want %d", listed, listable)
	}
	if total != len(in.Outcomes) {
		t.Errorf("outcome counts add up to %d, want %d", total, len(in.Outcomes))
	}
}

func TestGolden(t *testing.T) {
	for name, in := range map[string]Input{
		"sweep":        load(t, "sweep"),
		"sweep-capped": large(30, 12, "The container uses a log driver the policy does not allow ecslogfix to replace."),
		"sweep-empty":  {Summary: workflow.SweepSummary{Version: workflow.Version, SweepID: "quiet-sweep", Bucket: "b", ReportKey: "sweeps/quiet-sweep/report.jsonl", Targets: 1, TargetsWalked: 1, SweepCounts: workflow.SweepCounts{Evaluated: 40, Compliant: 40}}},
	} {
		t.Run(name, func(t *testing.T) {
			n, err := Render(in)
			if err != nil {
				t.Fatal(err)
			}
			invariants(t, in, n)
			golden(t, name, n)
		})
	}
}

// A digest of thousands of families with long details still fits SNS's
// 256 KiB: the caps go down until it does, and say so.
func TestOversizedSweepFits(t *testing.T) {
	in := large(400, 60, strings.Repeat("a long blocker explanation ", 10))
	n, err := Render(in)
	if err != nil {
		t.Fatal(err)
	}
	invariants(t, in, n)
	t.Logf("%d outcomes in %d account-regions: %d bytes, %d sections shown", len(in.Outcomes), 400, n.Size(), len(n.Document.Sections))
	if !n.Truncated || n.Document.SectionsOmitted == 0 || !strings.Contains(n.Text, "more account-region(s) in the report") {
		t.Errorf("a capped digest does not say so: truncated %v, sections omitted %d", n.Truncated, n.Document.SectionsOmitted)
	}
	if n.Document.Totals.Started != 400*60 || n.Document.Outcomes[workflow.OutcomeRemediated] != 400*30 {
		t.Errorf("totals %+v outcomes %v", n.Document.Totals, n.Document.Outcomes)
	}
}

// Executions still running when the digest is sent are counted, not lost.
func TestPendingExecutionsAreCounted(t *testing.T) {
	in := load(t, "sweep")
	in.Outcomes = in.Outcomes[:4]
	n, err := Render(in)
	if err != nil {
		t.Fatal(err)
	}
	if n.Document.Totals.Pending != 3 || !strings.Contains(n.Text, "Still running when this digest was sent: 3") {
		t.Errorf("pending %d\n%s", n.Document.Totals.Pending, n.Text)
	}
}

// The notice of a digest that was not published names the error, counts
// nothing as pending (the outcomes were not read) and says where they are.
func TestRenderDigestFailure(t *testing.T) {
	in := load(t, "sweep")
	in.Outcomes = nil
	in.DigestError = &workflow.CaughtError{Error: "ecslogfix.ThrottledError", Cause: "sns: Publish: Rate exceeded"}
	n, err := Render(in)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(n.Subject, "[ecslogfix] Sweep digest not published: ") || n.Attributes[message.AttrOutcome] != string(Outcome) {
		t.Errorf("subject %q, attributes %v", n.Subject, n.Attributes)
	}
	want := "The digest of this sweep was not published: ecslogfix.ThrottledError: sns: Publish: Rate exceeded\nThe executions' outcomes are under s3://" +
		in.Summary.Bucket + "/" + workflow.SweepOutcomesPrefix(in.Summary.SweepID) + "."
	if !strings.Contains(n.Text, want) || strings.Contains(n.Text, "Still running") {
		t.Errorf("text:\n%s", n.Text)
	}
	if d := n.Document.DigestError; d == nil || *d != *in.DigestError || n.Document.Totals.Pending != 0 {
		t.Errorf("document %+v", n.Document)
	}
}
