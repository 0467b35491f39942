package history

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/ecslogfix/ecslogfix/internal/plan"
	"github.com/ecslogfix/ecslogfix/internal/policy/reason"
	"github.com/ecslogfix/ecslogfix/internal/workflow"
)

var t0 = time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)

func rec(d Decision, rev int32, at time.Duration, reasons ...reason.Code) Record {
	r := Record{Decision: d, Account: "111122223333", Region: "eu-west-1", Family: "orders-api", Revision: rev,
		TaskDefinitionARN: "arn:aws:ecs:eu-west-1:111122223333:task-definition/orders-api:" + itoa(rev)}
	if len(reasons) > 0 {
		r.Findings = []plan.Finding{{Container: "app", Reasons: reasons}}
	}
	return finish(r, Meta{Time: t0.Add(at), EventID: "e-" + string(d) + itoa(rev)})
}

func itoa(n int32) string { b, _ := json.Marshal(n); return string(b) }

func TestNext(t *testing.T) {
	missing := reason.MissingLogConfiguration
	// A family's life: registered without logging, blocked, fixed, read
	// again by the sweep, backed out, exempt, then compliant again.
	steps := []struct {
		name    string
		rec     Record
		state   State
		changed bool
		since   bool // non-compliant since the blocked decision
		rev     int32
	}{
		{"blocked", rec(DecisionBlocked, 3, 0, missing), StateNonCompliant, true, true, 3},
		{"blocked again (the sweep)", rec(DecisionBlocked, 3, time.Hour, missing), StateNonCompliant, false, true, 3},
		{"remediated", func() Record {
			r := rec(DecisionRemediated, 3, 2*time.Hour)
			r.NewARN = "arn:aws:ecs:eu-west-1:111122223333:task-definition/orders-api:4"
			return finish(r, Meta{Time: r.Time})
		}(), StateRemediated, true, false, 4},
		{"out-of-order older record", rec(DecisionFailed, 3, 90*time.Minute, missing), StateRemediated, false, false, 4},
		{"the sweep reads ecslogfix's revision", rec(DecisionCompliant, 4, 3*time.Hour), StateRemediated, false, false, 4},
		{"log group created changes nothing", rec(DecisionLogGroupCreated, 3, 4*time.Hour), StateRemediated, false, false, 4},
		{"backed out", func() Record {
			return BackedOut("111122223333", "eu-west-1", "orders-api", "arn:aws:ecs:eu-west-1:111122223333:task-definition/orders-api:3",
				"arn:aws:ecs:eu-west-1:111122223333:task-definition/orders-api:4", "2027-01-01", []plan.Finding{{Container: "app", Reasons: []reason.Code{missing}}}, Meta{Time: t0.Add(5 * time.Hour), Actor: "arn:aws:iam::111122223333:user/jane"})
		}(), StateBackedOut, true, false, 3},
		{"compliant registration", rec(DecisionCompliant, 5, 6*time.Hour), StateCompliant, true, false, 5},
	}
	var item *Item
	var firstSince time.Time
	for _, s := range steps {
		next, changed := Next(item, s.rec)
		if next.State != s.state || changed != s.changed || next.Revision != s.rev {
			t.Fatalf("%s: state %s changed %v revision %d, want %s %v %d", s.name, next.State, changed, next.Revision, s.state, s.changed, s.rev)
		}
		switch {
		case s.since && firstSince.IsZero():
			firstSince = *next.Since
		case s.since && !next.Since.Equal(firstSince):
			t.Errorf("%s: since %v, want the first non-compliant decision %v", s.name, next.Since, firstSince)
		}
		if next.State.Compliant() && next.Since != nil {
			t.Errorf("%s: compliant but non-compliant since %v", s.name, next.Since)
		}
		item = &next
	}
	if item.ChangedAt != t0.Add(6*time.Hour) {
		t.Errorf("changedAt %v", item.ChangedAt)
	}
	if _, ok := Next(nil, rec(DecisionSuperseded, 1, 0)); ok {
		t.Error("a superseded record created state")
	}
}

func TestRecordIDsAreStableAndRedacted(t *testing.T) {
	res := workflow.Result{
		Outcome: workflow.OutcomeBlocked, Target: workflow.Target{Account: "111122223333", Region: "eu-west-1"}, Family: "orders-api",
		SourceARN: "arn:aws:ecs:eu-west-1:111122223333:task-definition/orders-api:7", Detail: "line one\nline\x00two",
		Plan: &plan.Plan{Family: "orders-api", Containers: []plan.ContainerChange{{Name: "app", Reasons: []reason.Code{reason.MissingLogConfiguration}, Action: plan.ActionAdd,
			After: &plan.LogSettings{Driver: "awslogs", Options: map[string]string{"awslogs-group": "/ecs/orders-api"}}}},
			Blockers: []plan.Blocker{{Code: plan.BlockNoExecutionRole, Message: "no role"}}},
		LogGroups: []workflow.LogGroupResult{{Name: "/ecs/orders-api", Region: "eu-west-1", Created: true}},
	}
	a := FromResult(res, "arn:aws:states:eu-west-1:111122223333:execution:sm:x", t0)
	b := FromResult(res, "arn:aws:states:eu-west-1:111122223333:execution:sm:x", t0.Add(time.Minute))
	if len(a) != 2 || a[0].ID != b[0].ID || a[1].ID != b[1].ID || a[0].ID == a[1].ID {
		t.Fatalf("ids %v / %v", a, b)
	}
	if a[0].Decision != DecisionBlocked || a[0].Revision != 7 || len(a[0].Fixes) != 1 || a[1].Decision != DecisionLogGroupCreated || a[1].LogGroup.Name != "/ecs/orders-api" {
		t.Errorf("records %+v", a)
	}
	if strings.ContainsAny(a[0].Detail, "\n\x00") {
		t.Errorf("detail not sanitised: %q", a[0].Detail)
	}
	f := FromFailure(workflow.Failure{State: workflow.StateRegister, Error: "ThrottledError",
		Cause: `{"errorType":"X","errorMessage":"boom \"environment\": [{\"name\":\"DB\",\"value\":\"FAKE-secret\"}] token=FAKE123"}`,
		Input: workflow.State{Input: workflow.Input{Target: res.Target, Family: "orders-api", TaskDefinitionARN: res.SourceARN, Revision: 7}}}, t0)
	if line, _ := json.Marshal(f); strings.Contains(string(line), "FAKE") {
		t.Errorf("PRIVACY: the failure record carries a secret: %s", line)
	}
}
