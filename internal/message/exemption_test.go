package message

import (
	"strings"
	"testing"

	"github.com/ecslogfix/ecslogfix/internal/plan"
	"github.com/ecslogfix/ecslogfix/internal/policy/exemption"
	"github.com/ecslogfix/ecslogfix/internal/workflow"
)

// An exemption that stopped applying is said in the notification that
// follows: text and structured document.
func TestExpiredExemptionIsSaid(t *testing.T) {
	res := workflow.Result{Outcome: workflow.OutcomeRemediated, Family: "orders-api", Target: workflow.Target{Account: "111122223333", Region: "eu-west-1"},
		SourceARN: "arn:aws:ecs:eu-west-1:111122223333:task-definition/orders-api:3", NewARN: "arn:aws:ecs:eu-west-1:111122223333:task-definition/orders-api:4",
		Plan: &plan.Plan{Family: "orders-api", ExemptionNotes: []exemption.Note{{Source: exemption.SourceRegister, Ticket: "SEC-1", Until: "2026-11-30", Expired: true, Problem: "expired on 2026-11-30"}}}}
	n, err := Render(workflow.NotifyRequest{Result: &res})
	if err != nil {
		t.Fatal(err)
	}
	want := "register entry SEC-1 no longer exempts: expired on 2026-11-30"
	if !strings.Contains(n.Text, "Exemption ended: "+want+"; ecslogfix acts on this revision again.") {
		t.Errorf("text lacks the expired exemption:\n%s", n.Text)
	}
	if len(n.Document.ExemptionNotes) != 1 || n.Document.ExemptionNotes[0] != want {
		t.Errorf("document notes %v", n.Document.ExemptionNotes)
	}
}
