package message

import (
	"strings"
	"testing"

	"github.com/ecslogfix/ecslogfix/internal/backout"
	"github.com/ecslogfix/ecslogfix/internal/message/notice"
	"github.com/ecslogfix/ecslogfix/internal/workflow"
)

// The rollout attribute sums the record up for SNS subscription filters,
// and the backout steps follow the record: exactly the consumers on the
// new revision, a copy first when the source was deregistered.
func TestRolloutAttributeAndBackout(t *testing.T) {
	base := loadRequest(t, "remediated-rollout")
	src, nw := base.Result.SourceARN, base.Result.NewARN
	moved := func(name string) workflow.ConsumerRollout {
		return workflow.ConsumerRollout{Consumer: workflow.Consumer{Kind: workflow.KindService, Name: name,
			ARN: "arn:aws:ecs:us-east-1:111122223333:service/prod/" + name, Cluster: "arn:aws:ecs:us-east-1:111122223333:cluster/prod", TaskDefinition: src},
			Status: workflow.ConsumerMoved, Before: src, After: nw}
	}
	for _, tc := range []struct {
		name    string
		rollout *workflow.Rollout
		err     *workflow.CaughtError
		attr    string
		kinds   []backout.StepKind
	}{
		{"all moved", &workflow.Rollout{Mode: "services", Settled: true, Consumers: []workflow.ConsumerRollout{moved("a"), moved("b")}},
			nil, notice.RolloutComplete, []backout.StepKind{backout.StepMoveService, backout.StepMoveService, backout.StepDeregister, backout.StepExemptUntil}},
		{"nothing found", &workflow.Rollout{Mode: "all", Settled: true, Consumers: []workflow.ConsumerRollout{}},
			nil, notice.RolloutComplete, []backout.StepKind{backout.StepMoveService, backout.StepDeregister, backout.StepExemptUntil}},
		{"source deregistered", &workflow.Rollout{Mode: "services", Settled: true, SourceDeregistered: true, Consumers: []workflow.ConsumerRollout{moved("a")}},
			nil, notice.RolloutComplete, []backout.StepKind{backout.StepReregisterSource, backout.StepMoveService, backout.StepDeregister, backout.StepExemptUntil}},
		{"step failed before recording", nil, &workflow.CaughtError{Error: "ThrottledError", Cause: "throttled"},
			notice.RolloutFailed, []backout.StepKind{backout.StepMoveService, backout.StepDeregister, backout.StepExemptUntil}},
		{"superseded by someone", &workflow.Rollout{Mode: "services", Settled: true, Consumers: []workflow.ConsumerRollout{
			func() workflow.ConsumerRollout {
				c := moved("a")
				c.Status, c.After = workflow.ConsumerSuperseded, "arn:aws:ecs:us-east-1:111122223333:task-definition/orders-api:16"
				return c
			}()}},
			nil, notice.RolloutComplete, []backout.StepKind{backout.StepMoveService, backout.StepDeregister, backout.StepExemptUntil}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := *base.Result
			r.LogGroups, r.Rollout, r.RolloutError = nil, tc.rollout, tc.err
			n, err := Render(workflow.NotifyRequest{Result: &r, ExecutionARN: base.ExecutionARN})
			if err != nil {
				t.Fatal(err)
			}
			if got := n.Attributes[AttrRollout]; got != tc.attr {
				t.Errorf("attribute %s = %q, want %q", AttrRollout, got, tc.attr)
			}
			steps := BackoutSteps(r)
			var kinds []backout.StepKind
			for _, s := range steps {
				kinds = append(kinds, s.Kind)
			}
			if strings.Join(strs(kinds), " ") != strings.Join(strs(tc.kinds), " ") {
				t.Errorf("backout %v, want %v", kinds, tc.kinds)
			}
			if steps[0].Kind == backout.StepMoveService && tc.rollout != nil && len(tc.rollout.Consumers) > 0 && tc.rollout.Consumers[0].Status == workflow.ConsumerMoved &&
				(steps[0].Conditional || steps[0].Service != "a" || steps[0].Cluster != "prod" || steps[0].From != nw) {
				t.Errorf("first move %+v", steps[0])
			}
		})
	}
	if n, err := Render(workflow.NotifyRequest{Result: func() *workflow.Result { r := *base.Result; r.Rollout = nil; return &r }()}); err != nil || n.Attributes[AttrRollout] != "" {
		t.Errorf("without a rollout: attribute %q, %v", n.Attributes[AttrRollout], err)
	}
}

func strs(ks []backout.StepKind) []string {
	var out []string
	for _, k := range ks {
		out = append(out, string(k))
	}
	return out
}
