package report

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/ecslogfix/ecslogfix/internal/history"
	"github.com/ecslogfix/ecslogfix/internal/plan"
	"github.com/ecslogfix/ecslogfix/internal/policy/exemption"
	"github.com/ecslogfix/ecslogfix/internal/policy/reason"
	"github.com/ecslogfix/ecslogfix/internal/workflow"
)

var day = time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)

func arn(f string, rev int) string {
	return "arn:aws:ecs:eu-west-1:111122223333:task-definition/" + f + ":" + string(rune('0'+rev))
}

// Sample is a small history: one family remediated 10 minutes after its
// registration, one blocked, one exempt by the register, one compliant,
// and a sweep.
func Sample() []history.Record {
	reg := day.Add(-10 * time.Minute)
	target := workflow.Target{Account: "111122223333", Region: "eu-west-1"}
	var recs []history.Record
	recs = append(recs, history.FromResult(workflow.Result{Outcome: workflow.OutcomeRemediated, Target: target, Family: "orders-api",
		SourceARN: arn("orders-api", 3), NewARN: arn("orders-api", 4), RegisteredAt: &reg,
		LogGroups: []workflow.LogGroupResult{{Name: "/ecs/orders-api", Region: "eu-west-1", Created: true}}}, "arn:aws:states:x:1:execution:sm:a", day)...)
	recs = append(recs, history.FromResult(workflow.Result{Outcome: workflow.OutcomeBlocked, Target: target, Family: "billing",
		SourceARN: arn("billing", 1), Plan: &plan.Plan{Family: "billing", Containers: []plan.ContainerChange{{Name: "app", Reasons: []reason.Code{reason.MissingLogConfiguration}}}}},
		"arn:aws:states:x:1:execution:sm:b", day.Add(time.Minute))...)
	ex := plan.Plan{Family: "legacy", Revision: 2, SourceARN: arn("legacy", 2), Context: plan.Context{Account: "111122223333", Region: "eu-west-1"}, Exempt: true,
		Exemption:  &exemption.Exemption{Source: exemption.SourceRegister, Until: "2027-01-31", Ticket: "RISK-7", Approver: "ciso@example.com", Reason: "FireLens to the SIEM"},
		Containers: []plan.ContainerChange{{Name: "app", Reasons: []reason.Code{reason.Firelens}}}}
	recs = append(recs, history.FromPlan(ex, history.Meta{Time: day.Add(2 * time.Minute), SweepID: "S1", Trigger: "sweep"}))
	ok := plan.Plan{Family: "web", Revision: 1, SourceARN: arn("web", 1), Context: plan.Context{Account: "111122223333", Region: "eu-west-1"}, Compliant: true}
	recs = append(recs, history.FromPlan(ok, history.Meta{Time: day.Add(3 * time.Minute), SweepID: "S1", Trigger: "sweep"}))
	recs = append(recs, history.SweptTarget("111122223333", "eu-west-1", history.Swept{Evaluated: 3}, history.Meta{Time: day.Add(4 * time.Minute), SweepID: "S1"}))
	recs = append(recs, history.FromPlan(ok, history.Meta{Time: day.Add(5 * time.Minute), EventID: "e2"}))
	return recs
}

func TestBuild(t *testing.T) {
	r := Build(Sample(), history.Period{From: day, To: day}, day.Add(time.Hour))
	if r.Records != 7 || r.Totals[history.StateRemediated] != 1 || r.Totals[history.StateNonCompliant] != 1 || r.Totals[history.StateExempt] != 1 || r.Totals[history.StateCompliant] != 1 {
		t.Fatalf("totals %v (records %d)", r.Totals, r.Records)
	}
	if r.Remediation.Count != 1 || r.Remediation.Measured != 1 || r.Remediation.MeanSeconds != 600 {
		t.Errorf("remediation %+v", r.Remediation)
	}
	if len(r.Scopes) != 1 || r.Scopes[0].SweepID != "S1" || r.Scopes[0].Families != 4 || r.Scopes[0].Coverage != 0.75 || len(r.Notes) != 0 {
		t.Errorf("scopes %+v notes %v", r.Scopes, r.Notes)
	}
	if len(r.Exemptions) != 1 || r.Exemptions[0].Ticket != "RISK-7" || r.Exemptions[0].Until != "2027-01-31" {
		t.Errorf("exemptions %+v", r.Exemptions)
	}
	if len(r.NonCompliant) != 1 || r.NonCompliant[0].Family != "billing" || r.NonCompliant[0].Reasons[0] != reason.MissingLogConfiguration {
		t.Errorf("non-compliant %+v", r.NonCompliant)
	}
	if r.Decisions[history.DecisionLogGroupCreated] != 1 || r.Decisions[history.DecisionCompliant] != 2 {
		t.Errorf("decisions %v", r.Decisions)
	}
	if len(r.Rows()) != 4 || len(r.Rows()[0]) != len(Columns) {
		t.Errorf("rows %v", r.Rows())
	}
	var html bytes.Buffer
	if err := r.HTML(&html); err != nil {
		t.Fatal(err)
	}
	h := html.String()
	for _, want := range []string{`id="total-NON_COMPLIANT">1<`, `id="open-exemptions">1<`, "<svg", "RISK-7", "CIS AWS Foundations Benchmark", "No control of the CIS AWS Foundations Benchmark",
		"mean 10m0s", "Safeguard 8.2", "A 8.15", "Requirement 10.2", "CC7.2", "Article 21", "C5", "ECS.9", "@media print"} {
		if !strings.Contains(h, want) {
			t.Errorf("HTML lacks %q", want)
		}
	}
	for _, bad := range []string{"<script", "http://", "src=", "<link"} {
		if strings.Contains(h, bad) {
			t.Errorf("HTML is not self-contained: %q", bad)
		}
	}
	b, err := json.Marshal(r)
	if err != nil || !strings.Contains(string(b), `"schema":"ecslogfix.report/v1"`) {
		t.Errorf("json %s %v", b, err)
	}
	var txt bytes.Buffer
	_ = r.Text(&txt)
	if !strings.Contains(txt.String(), "NON_COMPLIANT 111122223333/eu-west-1 billing:1 (BLOCKED)") {
		t.Errorf("text:\n%s", txt.String())
	}
}

// Family names and other history text are escaped in the HTML.
func TestHTMLEscapes(t *testing.T) {
	recs := history.FromResult(workflow.Result{Outcome: workflow.OutcomeBlocked, Target: workflow.Target{Account: "111122223333", Region: "eu-west-1"},
		Family: `<script>alert(1)</script>`, SourceARN: "x"}, "e", day)
	var html bytes.Buffer
	if err := Build(recs, history.Period{}, day).HTML(&html); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(html.String(), "<script>") {
		t.Error("a family name was not escaped")
	}
}
