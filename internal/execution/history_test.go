package execution_test

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ecslogfix/ecslogfix/internal/awsfake"
	"github.com/ecslogfix/ecslogfix/internal/execution"
	"github.com/ecslogfix/ecslogfix/internal/history"
	"github.com/ecslogfix/ecslogfix/internal/workflow"
)

type recorder struct{ recs []history.Record }

func (r *recorder) Record(_ context.Context, recs ...history.Record) error {
	r.recs = append(r.recs, recs...)
	return nil
}

func td(tags ...string) (*types.TaskDefinition, []types.Tag) {
	var ts []types.Tag
	for i := 0; i+1 < len(tags); i += 2 {
		ts = append(ts, types.Tag{Key: aws.String(tags[i]), Value: aws.String(tags[i+1])})
	}
	return &types.TaskDefinition{Family: aws.String("orders-api"), Revision: 3, Status: types.TaskDefinitionStatusActive,
		TaskDefinitionArn:    aws.String("arn:aws:ecs:eu-west-1:111122223333:task-definition/orders-api:3"),
		ContainerDefinitions: []types.ContainerDefinition{{Name: aws.String("app")}}}, ts
}

// Exempt decisions go to the history with the sweep that took them; once
// the end date passed the revision is started under names of their own.
func TestConsiderRecordsAndRestartsAfterAnExemption(t *testing.T) {
	rec := &recorder{}
	sfn := awsfake.NewSFN()
	day := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	s := &execution.Starter{SFN: sfn, StateMachineARN: "arn:aws:states:eu-west-1:111122223333:stateMachine:sm", History: rec, Now: func() time.Time { return day }}
	d, tags := td("ecslogfix:exempt-until", "2026-12-01")
	c := execution.Candidate{Target: workflow.Target{Account: "111122223333", Region: "eu-west-1"}, TaskDefinition: d, Tags: tags, Trigger: workflow.TriggerSweep, SweepID: "S1"}
	resp, err := s.Consider(context.Background(), slog.New(slog.DiscardHandler), c)
	if err != nil || resp.Reason != execution.IgnoreExempt {
		t.Fatalf("%+v, %v", resp, err)
	}
	if len(rec.recs) != 1 || rec.recs[0].Decision != history.DecisionExempt || rec.recs[0].SweepID != "S1" || rec.recs[0].Exemption.Until != "2026-12-01" {
		t.Fatalf("records %+v", rec.recs)
	}
	s.Now = func() time.Time { return day.Add(24 * time.Hour) }
	resp, err = s.Consider(context.Background(), slog.New(slog.DiscardHandler), c)
	if err != nil || resp.Status != execution.StatusStarted {
		t.Fatalf("after the end date: %+v, %v", resp, err)
	}
	if want := execution.NameAfter("111122223333", "eu-west-1", "orders-api", 3, 1, "2026-12-01"); resp.ExecutionName != want || want == execution.Name("111122223333", "eu-west-1", "orders-api", 3) {
		t.Errorf("execution %s, want %s (not %s)", resp.ExecutionName, want, execution.Name("111122223333", "eu-west-1", "orders-api", 3))
	}
	if len(rec.recs) != 1 {
		t.Errorf("a started execution was recorded by the starter: %+v", rec.recs[1:])
	}
}
