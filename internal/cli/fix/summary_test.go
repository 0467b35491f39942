package fix

import (
	"errors"
	"strings"
	"testing"

	"github.com/ecslogfix/ecslogfix/internal/cli/command"
	"github.com/ecslogfix/ecslogfix/internal/cli/scan"
	"github.com/ecslogfix/ecslogfix/internal/workflow"
)

// TestFixApplyOfAPartialFixExitsOne: a revision registered with a
// container still needing a human (PARTLY_REMEDIATED) is counted as
// registered and as needing a human, so the summary says so and
// fix --apply exits 1, as for any other violation left.
func TestFixApplyOfAPartialFixExitsOne(t *testing.T) {
	s := Summary{Applied: true}
	s.count(Item{Row: scan.Row{Verdict: "NON_COMPLIANT", Action: "REGISTER"}, Outcome: workflow.OutcomePartlyRemediated,
		NewARN: "arn:aws:ecs:us-east-1:111122223333:task-definition/search-indexer:23"})
	if !strings.Contains(s.String(), "1 registered") || !strings.Contains(s.String(), "1 need a human") {
		t.Errorf("summary %q, want 1 registered and 1 need a human", s)
	}
	var e *command.ExitStatus
	if err := s.Exit(); !errors.As(err, &e) || e.Code != command.ExitViolation {
		t.Errorf("exit = %v, want exit status %d", err, command.ExitViolation)
	}
}
