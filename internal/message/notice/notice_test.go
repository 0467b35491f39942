package notice

import (
	"errors"
	"testing"

	"github.com/ecslogfix/ecslogfix/internal/workflow"
)

func TestNewRejectsEmptyAndDoubleRequests(t *testing.T) {
	if _, err := New(workflow.NotifyRequest{}); !errors.Is(err, errNoContent) {
		t.Errorf("empty request: %v", err)
	}
	both := workflow.NotifyRequest{Result: &workflow.Result{}, Failure: &workflow.Failure{}}
	if _, err := New(both); !errors.Is(err, errBoth) {
		t.Errorf("both: %v", err)
	}
}
