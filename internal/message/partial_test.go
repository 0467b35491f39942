package message

import (
	"strings"
	"testing"

	"github.com/ecslogfix/ecslogfix/internal/plan"
	"github.com/ecslogfix/ecslogfix/internal/policy/reason"
	"github.com/ecslogfix/ecslogfix/internal/workflow"
)

// TestPartialFixIsNotCalledCompliant: the notice of a revision registered
// with a container left for a human names the new revision and its
// backout, lists that container under NEEDS A HUMAN, and never calls the
// revision compliant.
func TestPartialFixIsNotCalledCompliant(t *testing.T) {
	const src, nw = "arn:aws:ecs:us-east-1:111122223333:task-definition/search-indexer:22", "arn:aws:ecs:us-east-1:111122223333:task-definition/search-indexer:23"
	n, err := Render(workflow.NotifyRequest{Result: &workflow.Result{
		Version: workflow.Version, Outcome: workflow.OutcomePartlyRemediated,
		Target: workflow.Target{Account: "111122223333", Region: "us-east-1"}, Family: "search-indexer",
		SourceARN: src, NewARN: nw,
		Plan: &plan.Plan{Family: "search-indexer", Revision: 22, Containers: []plan.ContainerChange{
			{Name: "indexer", Action: plan.ActionReport, Reasons: []reason.Code{reason.Firelens}},
			{Name: "metrics", Action: plan.ActionAdd, Reasons: []reason.Code{reason.MissingLogConfiguration}},
		}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(n.Text, "compliant revision") || !strings.Contains(n.Text, "search-indexer:23") || !strings.Contains(n.Text, "it is not compliant") {
		t.Errorf("the text does not say search-indexer:23 is registered and not compliant:\n%s", n.Text)
	}
	if i := strings.Index(n.Text, "NEEDS A HUMAN"); i < 0 || !strings.Contains(n.Text[i:], "- indexer:") {
		t.Errorf("no NEEDS A HUMAN section naming indexer:\n%s", n.Text)
	}
	if len(n.Document.Backout) == 0 || !strings.Contains(n.Text, "deregister-task-definition") {
		t.Errorf("no backout steps for the registered revision:\n%s", n.Text)
	}
}
