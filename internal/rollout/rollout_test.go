package rollout

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ecslogfix/ecslogfix/internal/policy"
	"github.com/ecslogfix/ecslogfix/internal/taskdef"
	"github.com/ecslogfix/ecslogfix/internal/workflow"
)

const (
	acct    = "111122223333"
	srcARN  = "arn:aws:ecs:us-east-1:111122223333:task-definition/orders:3"
	newARN  = "arn:aws:ecs:us-east-1:111122223333:task-definition/orders:4"
	oldARN  = "arn:aws:ecs:us-east-1:111122223333:task-definition/orders:2"
	famARN  = "arn:aws:ecs:us-east-1:111122223333:task-definition/orders"
	cluster = "arn:aws:ecs:us-east-1:111122223333:cluster/prod"
)

func tag(k, v string) types.Tag { return types.Tag{Key: aws.String(k), Value: aws.String(v)} }

func TestMode(t *testing.T) {
	for _, tc := range []struct {
		name          string
		pol, override policy.RolloutMode
		tags          []types.Tag
		want          policy.RolloutMode
		note          string
	}{
		{"unset policy is none", "", "", nil, policy.RolloutNone, ""},
		{"policy", policy.RolloutServices, "", nil, policy.RolloutServices, ""},
		{"tag wins over policy", policy.RolloutNone, "", []types.Tag{tag(taskdef.TagRollout, "all")}, policy.RolloutAll, ""},
		{"tag may turn it off", policy.RolloutAll, "", []types.Tag{tag(taskdef.TagRollout, " none ")}, policy.RolloutNone, ""},
		{"override wins over tag", policy.RolloutNone, policy.RolloutServices, []types.Tag{tag(taskdef.TagRollout, "all")}, policy.RolloutServices, ""},
		{"bad tag moves nothing, says why", policy.RolloutAll, "", []types.Tag{tag(taskdef.TagRollout, "everything")}, policy.RolloutNone, `the tag ecslogfix:rollout: "everything" is not none, services or all: nothing was moved`},
		{"other tags ignored", policy.RolloutServices, "", []types.Tag{tag("team", "all")}, policy.RolloutServices, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, note := Mode(tc.pol, tc.override, tc.tags)
			if got != tc.want || note != tc.note {
				t.Errorf("Mode = %q, %q; want %q, %q", got, note, tc.want, tc.note)
			}
		})
	}
	if _, err := policy.ParseRollout("ALL"); err == nil {
		t.Error("ParseRollout accepts ALL: modes are lower-case")
	}
}

func service(name, controller, td string) workflow.Consumer {
	return workflow.Consumer{Kind: workflow.KindService, ARN: "arn:aws:ecs:us-east-1:" + acct + ":service/prod/" + name, Name: name,
		Cluster: cluster, Controller: controller, TaskDefinition: td}
}

func target(rule, td string) workflow.Consumer {
	return workflow.Consumer{Kind: workflow.KindRuleTarget, ARN: "arn:aws:events:us-east-1:" + acct + ":rule/" + rule, Name: rule,
		EventBus: "default", TargetID: "t1", Cluster: cluster, TaskDefinition: td}
}

func schedule(name, td string) workflow.Consumer {
	return workflow.Consumer{Kind: workflow.KindSchedule, ARN: "arn:aws:scheduler:us-east-1:" + acct + ":schedule/default/" + name, Name: name,
		Group: "default", Cluster: cluster, TaskDefinition: td}
}

// The decision table per consumer kind, deployment controller and mode.
func TestPlan(t *testing.T) {
	src, _ := taskdef.ParseARN(srcARN)
	type row struct {
		name     string
		mode     policy.RolloutMode
		consumer workflow.Consumer
		status   workflow.ConsumerStatus // "" = moved (in Move)
		before   string
		reason   string // a substring
	}
	rows := []row{
		{"ECS service, none", policy.RolloutNone, service("a", "ECS", srcARN), workflow.ConsumerNotMoved, srcARN, `rollout mode "none"`},
		{"ECS service, services", policy.RolloutServices, service("a", "ECS", srcARN), "", srcARN, ""},
		{"ECS service, all", policy.RolloutAll, service("a", "ECS", srcARN), "", srcARN, ""},
		{"CODE_DEPLOY service, all", policy.RolloutAll, service("cd", "CODE_DEPLOY", srcARN), workflow.ConsumerNeedsHuman, srcARN, "CODE_DEPLOY"},
		{"CODE_DEPLOY service, none", policy.RolloutNone, service("cd", "CODE_DEPLOY", srcARN), workflow.ConsumerNeedsHuman, srcARN, "CodeDeploy deployment"},
		{"EXTERNAL service, services", policy.RolloutServices, service("ext", "EXTERNAL", srcARN), workflow.ConsumerNeedsHuman, srcARN, "task set"},
		{"rule target, services", policy.RolloutServices, target("nightly", srcARN), workflow.ConsumerNotMoved, srcARN, "services only"},
		{"rule target, all", policy.RolloutAll, target("nightly", srcARN), "", srcARN, ""},
		{"schedule, none", policy.RolloutNone, schedule("hourly", srcARN), workflow.ConsumerNotMoved, srcARN, "Scheduler schedule"},
		{"schedule, all", policy.RolloutAll, schedule("hourly", srcARN), "", srcARN, ""},
		{"rule target naming the family", policy.RolloutAll, target("fam", famARN), workflow.ConsumerFollowsLatest, famARN, "latest ACTIVE"},
		{"schedule naming the family", policy.RolloutAll, schedule("fam", famARN), workflow.ConsumerFollowsLatest, famARN, "latest ACTIVE"},
		{"service already on the new revision (earlier attempt)", policy.RolloutServices, service("a", "ECS", newARN), workflow.ConsumerDeploying, srcARN, "earlier attempt"},
		{"target already on the new revision", policy.RolloutAll, target("nightly", newARN), workflow.ConsumerMoved, srcARN, "earlier attempt"},
	}
	for _, tc := range rows {
		t.Run(tc.name, func(t *testing.T) {
			r, move := Plan(Observation{Source: src, NewARN: newARN, Mode: tc.mode, Consumers: []workflow.Consumer{tc.consumer}})
			if len(r.Consumers) != 1 {
				t.Fatalf("%d records", len(r.Consumers))
			}
			rec := r.Consumers[0]
			if tc.status == "" {
				if len(move) != 1 || move[0] != 0 || rec.Status != workflow.ConsumerToMove {
					t.Fatalf("not moved: %+v", rec)
				}
			} else if len(move) != 0 || rec.Status != tc.status {
				t.Fatalf("status %q (move %v), want %q", rec.Status, move, tc.status)
			}
			if rec.Before != tc.before || !strings.Contains(rec.Reason, tc.reason) {
				t.Errorf("before %q reason %q; want %q and a reason with %q", rec.Before, rec.Reason, tc.before, tc.reason)
			}
			if rec.After != rec.Before && tc.status != workflow.ConsumerDeploying && tc.status != workflow.ConsumerMoved {
				t.Errorf("a consumer not moved has After %q", rec.After)
			}
		})
	}
}

// Consumers of other revisions and families are not the source's; the
// record is ordered and capped.
func TestPlanFiltersOrdersAndCaps(t *testing.T) {
	src, _ := taskdef.ParseARN(srcARN)
	other := "arn:aws:ecs:us-east-1:111122223333:task-definition/payments:3"
	r, move := Plan(Observation{Source: src, NewARN: newARN, Mode: policy.RolloutAll, Consumers: []workflow.Consumer{
		schedule("s", srcARN), service("b", "ECS", srcARN), service("old", "ECS", oldARN), service("pay", "ECS", other),
		target("bad", "not an arn"), service("a", "ECS", srcARN),
	}})
	var names []string
	for _, c := range r.Consumers {
		names = append(names, c.Name)
	}
	if strings.Join(names, " ") != "s a b" || len(move) != 3 { // by kind (SCHEDULE < SERVICE), then ARN
		t.Fatalf("records %v, move %v; want s a b, all moved", names, move)
	}

	var many []workflow.Consumer
	for i := range workflow.MaxConsumers + 3 {
		many = append(many, service(strings.Repeat("x", 1+i%7)+string(rune('a'+i%26))+string(rune('a'+i/26)), "ECS", srcARN))
	}
	r, move = Plan(Observation{Source: src, NewARN: newARN, Mode: policy.RolloutServices, Consumers: many})
	if len(r.Consumers) != workflow.MaxConsumers || r.Omitted != 3 || len(move) != workflow.MaxConsumers {
		t.Fatalf("%d records, %d omitted, %d moves", len(r.Consumers), r.Omitted, len(move))
	}
}

func deploying() workflow.ConsumerRollout {
	rec := workflow.ConsumerRollout{Consumer: service("a", "ECS", srcARN), Before: srcARN, After: srcARN}
	return Moved(rec, newARN, "ecs-svc/2")
}

func svc(td string, ds ...Deployment) Service {
	return Service{Found: true, TaskDefinition: td, Deployments: ds}
}

func TestJudge(t *testing.T) {
	primary := func(td, state, reason string) Deployment {
		return Deployment{ID: "ecs-svc/2", Status: "PRIMARY", TaskDefinition: td, RolloutState: state, Reason: reason, Desired: 2, Running: 1}
	}
	old := Deployment{ID: "ecs-svc/1", Status: "ACTIVE", TaskDefinition: srcARN, RolloutState: "COMPLETED", Desired: 2, Running: 2}
	for _, tc := range []struct {
		name    string
		s       Service
		expired bool
		status  workflow.ConsumerStatus
		after   string
		putBack bool
		reason  string
	}{
		{"completed", svc(newARN, primary(newARN, "COMPLETED", "done")), false, workflow.ConsumerMoved, newARN, false, ""},
		{"in progress", svc(newARN, primary(newARN, "IN_PROGRESS", ""), old), false, workflow.ConsumerDeploying, newARN, false, ""},
		{"in progress past the budget", svc(newARN, primary(newARN, "IN_PROGRESS", ""), old), true, workflow.ConsumerTimedOut, newARN, false, "watch budget"},
		{"no deployment of the new revision yet", svc(newARN, old), false, workflow.ConsumerDeploying, newARN, false, ""},
		{"failed, not rolled back: put back", svc(newARN, primary(newARN, "FAILED", "tasks failed to start"), old), false, workflow.ConsumerRolloutFailed, newARN, true, "tasks failed to start; ecslogfix put the service back"},
		{"rolled back by the circuit breaker", svc(srcARN,
			Deployment{ID: "ecs-svc/3", Status: "PRIMARY", TaskDefinition: srcARN, RolloutState: "IN_PROGRESS"},
			Deployment{ID: "ecs-svc/2", Status: "ACTIVE", TaskDefinition: newARN, RolloutState: "FAILED", Reason: "ECS deployment circuit breaker: tasks failed to start."}),
			false, workflow.ConsumerRolloutFailed, srcARN, false, "rolled the service back to the source revision: ECS deployment circuit breaker: tasks failed to start."},
		{"someone deployed another revision", svc(oldARN, primary(oldARN, "IN_PROGRESS", "")), false, workflow.ConsumerSuperseded, oldARN, false, "someone else"},
		{"service deleted", Service{}, false, workflow.ConsumerSuperseded, "", false, "no longer exists"},
		{"classic load balancer: alone at its count", svc(newARN, Deployment{ID: "ecs-svc/2", Status: "PRIMARY", TaskDefinition: newARN, Desired: 2, Running: 2}), false, workflow.ConsumerMoved, newARN, false, ""},
		{"classic load balancer: old tasks still running", svc(newARN, Deployment{ID: "ecs-svc/2", Status: "PRIMARY", TaskDefinition: newARN, Desired: 2, Running: 2}, old), false, workflow.ConsumerDeploying, newARN, false, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := Judge(deploying(), tc.s, tc.expired)
			if v.Record.Status != tc.status || v.Record.After != tc.after || v.PutBack != tc.putBack || !strings.Contains(v.Record.Reason, tc.reason) {
				t.Errorf("Judge = %+v (put back %v); want %s after %q put back %v reason ~%q", v.Record, v.PutBack, tc.status, tc.after, tc.putBack, tc.reason)
			}
			if v.Record.Before != srcARN {
				t.Errorf("Before changed to %q", v.Record.Before)
			}
		})
	}
	final := deploying()
	final.Status = workflow.ConsumerMoved
	if v := Judge(final, Service{}, true); v.Record.Status != workflow.ConsumerMoved || v.PutBack {
		t.Errorf("a settled record was judged again: %+v", v)
	}
	if got := PutBack(Judge(deploying(), svc(newARN, primary(newARN, "FAILED", "")), false).Record); got.After != srcARN || got.Status != workflow.ConsumerRolloutFailed {
		t.Errorf("PutBack = %+v", got)
	}
}

func TestMovedRefusedChanged(t *testing.T) {
	rec := workflow.ConsumerRollout{Consumer: target("nightly", srcARN), Before: srcARN, After: srcARN}
	if m := Moved(rec, newARN, "ignored"); m.Status != workflow.ConsumerMoved || m.After != newARN || m.Deployment != "" {
		t.Errorf("Moved target = %+v", m)
	}
	r := Refused(rec, errors.New("InvalidParameterException: Unable to update\nmore"))
	if r.Status != workflow.ConsumerRolloutFailed || r.After != srcARN || r.Reason != "the update was refused: InvalidParameterException: Unable to update" {
		t.Errorf("Refused = %+v", r)
	}
	if c := Changed(rec, oldARN); c.Status != workflow.ConsumerSuperseded || c.After != oldARN {
		t.Errorf("Changed = %+v", c)
	}
}

func TestSettle(t *testing.T) {
	now := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	b := Budget{Poll: 30 * time.Second, Timeout: 30 * time.Minute}
	moving := workflow.Rollout{Consumers: []workflow.ConsumerRollout{deploying()}}
	r := Settle(moving, b, now)
	if r.Settled || r.WaitSeconds != 30 || r.Deadline != "2026-12-01T10:30:00Z" {
		t.Fatalf("Settle = %+v", r)
	}
	if Expired(r, now.Add(29*time.Minute)) || !Expired(r, now.Add(30*time.Minute)) {
		t.Error("Expired is wrong around the deadline")
	}
	later := Settle(r, b, now.Add(29*time.Minute+50*time.Second))
	if later.Deadline != r.Deadline || later.WaitSeconds != 10 {
		t.Errorf("near the deadline: %+v, want the deadline kept and a 10 s wait", later)
	}
	if past := Settle(r, b, now.Add(time.Hour)); past.WaitSeconds != 1 {
		t.Errorf("past the deadline: wait %d, want 1 (the next Watch times it out)", past.WaitSeconds)
	}
	done := Settle(workflow.Rollout{Consumers: []workflow.ConsumerRollout{{Status: workflow.ConsumerMoved}}}, b, now)
	if !done.Settled || done.WaitSeconds != 0 || done.Deadline != "" {
		t.Errorf("nothing deploying: %+v", done)
	}
	if empty := Settle(workflow.Rollout{}, b, now); !empty.Settled {
		t.Errorf("no consumers: %+v", empty)
	}
	// Moves left for the next step (the invocation ran out of time): the
	// next Watch comes at once, they wait for the rollout budget only.
	left := Settle(workflow.Rollout{Consumers: []workflow.ConsumerRollout{{Status: workflow.ConsumerToMove}, deploying()}}, b, now)
	if left.Settled || left.WaitSeconds != 1 {
		t.Errorf("moves left: %+v", left)
	}
	rec := workflow.ConsumerRollout{Consumer: service("a", "ECS", srcARN), Status: workflow.ConsumerToMove, Before: srcARN, After: srcARN}
	if u := Unmoved(rec); u.Status != workflow.ConsumerNotMoved || u.After != srcARN || !strings.Contains(u.Reason, "watch budget") {
		t.Errorf("Unmoved = %+v", u)
	}
	if u := Unmoved(deploying()); u.Status != workflow.ConsumerDeploying {
		t.Errorf("Unmoved changed a deploying record: %+v", u)
	}
}

func TestDeregisterSource(t *testing.T) {
	rec := func(s workflow.ConsumerStatus) workflow.ConsumerRollout { return workflow.ConsumerRollout{Status: s} }
	settled := func(cs ...workflow.ConsumerRollout) workflow.Rollout {
		return workflow.Rollout{Settled: true, Consumers: cs}
	}
	for _, tc := range []struct {
		name  string
		opt   bool
		r     workflow.Rollout
		wants bool
	}{
		{"not opted in", false, settled(rec(workflow.ConsumerMoved)), false},
		{"every consumer moved", true, settled(rec(workflow.ConsumerMoved), rec(workflow.ConsumerFollowsLatest)), true},
		{"no consumers", true, settled(), true},
		{"still deploying", true, workflow.Rollout{Consumers: []workflow.ConsumerRollout{rec(workflow.ConsumerDeploying)}}, false},
		{"a failed rollout", true, settled(rec(workflow.ConsumerMoved), rec(workflow.ConsumerRolloutFailed)), false},
		{"a consumer a human must move", true, settled(rec(workflow.ConsumerNeedsHuman)), false},
		{"a consumer the mode does not move", true, settled(rec(workflow.ConsumerNotMoved)), false},
		{"timed out", true, settled(rec(workflow.ConsumerTimedOut)), false},
		{"consumers omitted", true, workflow.Rollout{Settled: true, Omitted: 1}, false},
		{"already deregistered", true, workflow.Rollout{Settled: true, SourceDeregistered: true}, false},
	} {
		if got := DeregisterSource(tc.opt, tc.r); got != tc.wants {
			t.Errorf("%s: DeregisterSource = %v, want %v", tc.name, got, tc.wants)
		}
	}
}
