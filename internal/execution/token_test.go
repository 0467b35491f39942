package execution_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"testing"

	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/ecslogfix/ecslogfix/internal/awsfake"
	"github.com/ecslogfix/ecslogfix/internal/execution"
	"github.com/ecslogfix/ecslogfix/internal/workflow"
)

// Every attempt of one revision's series carries the first attempt's name
// as its token, so an attempt after a failed one owns what that one
// registered before failing (docs/reliability.md, "lost responses").
func TestEveryAttemptCarriesTheSeriesToken(t *testing.T) {
	sfn := awsfake.NewSFN()
	s := &execution.Starter{SFN: sfn, StateMachineARN: "arn:aws:states:eu-west-1:111122223333:stateMachine:sm"}
	d, tags := td()
	c := execution.Candidate{Target: workflow.Target{Account: "111122223333", Region: "eu-west-1"}, TaskDefinition: d, Tags: tags, Trigger: workflow.TriggerEvent, EventID: "e-1"}
	first := execution.Name("111122223333", "eu-west-1", "orders-api", 3)
	for attempt := 1; attempt <= 2; attempt++ {
		resp, err := s.Consider(context.Background(), slog.New(slog.DiscardHandler), c)
		if err != nil || resp.Status != execution.StatusStarted {
			t.Fatalf("attempt %d: %+v, %v", attempt, resp, err)
		}
		var in workflow.Input
		if err := json.Unmarshal([]byte(sfn.Inputs[resp.ExecutionName]), &in); err != nil {
			t.Fatal(err)
		}
		if in.ExecutionToken != first {
			t.Errorf("attempt %d (%s): token %q, want the series' %q", attempt, resp.ExecutionName, in.ExecutionToken, first)
		}
		sfn.Status[resp.ExecutionName] = sfntypes.ExecutionStatusFailed
	}
}
