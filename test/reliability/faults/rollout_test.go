package faults

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ecslogfix/ecslogfix/internal/policy"
	"github.com/ecslogfix/ecslogfix/internal/workflow"
	"github.com/ecslogfix/ecslogfix/test/e2e/harness"
	"github.com/ecslogfix/ecslogfix/test/faultproxy"
	"github.com/ecslogfix/ecslogfix/test/reliability"
)

// TestRolloutUnderFaults: eight families, each run by two ECS-controller
// services (one of which fails its deployment in two families of three,
// with or without the circuit breaker's rollback), a CODE_DEPLOY service,
// an EventBridge rule target and a Scheduler schedule; rollout mode all;
// 30 % of every AWS call failing. Nothing may be left half-moved without a
// notification: every consumer ends on the source or the new revision,
// and the execution's notification records it there (and, on the new
// revision, gives its backout step); no CODE_DEPLOY service is ever sent a
// task definition; UpdateService carries only the task definition.
func TestRolloutUnderFaults(t *testing.T) {
	start := time.Now()
	const families = 8
	fail := map[string]faultproxy.DeploymentFailure{}
	for i := range families {
		switch i % 3 {
		case 0:
			fail[fmt.Sprintf("rel-rollout-%02d-api", i)] = faultproxy.DeploymentFailure{Reason: "tasks failed to start"}
		case 1:
			fail[fmt.Sprintf("rel-rollout-%02d-api", i)] = faultproxy.DeploymentFailure{Rollback: true}
		}
	}
	pol := testPolicy()
	pol.Rollout = policy.RolloutAll
	opts := worldOptions{Rules: thirtyPercent, Seed: 12, RegisterRate: 2, RolloutRate: 4, Remediators: 3, Notifiers: 2, TimeScale: 0.01, Policy: pol,
		ECS: faultproxy.ECSConfig{Polls: 1, Fail: fail}}
	w := newWorld(t, opts)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	cons, err := harness.NewConsumers(ctx, w.direct)
	if err != nil {
		t.Fatal(err)
	}

	newest := map[string]int32{}
	sources := map[string]string{}
	var events [][]byte
	for i := range families {
		fam := fmt.Sprintf("rel-rollout-%02d", i)
		td, err := w.userRevision(ctx, corpus[i%len(corpus)], fam, 1)
		if err != nil {
			t.Fatal(err)
		}
		src := aws.ToString(td.TaskDefinitionArn)
		newest[fam], sources[fam] = td.Revision, src
		for name, ctrl := range map[string]ecstypes.DeploymentControllerType{"web": "ECS", "api": "ECS", "bg": "CODE_DEPLOY"} {
			if err := cons.Service(ctx, fam+"-"+name, src, ctrl); err != nil {
				t.Fatal(err)
			}
		}
		if err := cons.RuleTarget(ctx, "default", fam+"-nightly", src); err != nil {
			t.Fatal(err)
		}
		if err := cons.Schedule(ctx, fam+"-report", src); err != nil {
			t.Fatal(err)
		}
		events = append(events, eventFor(td, nextEventID(), harness.IAMUser("jane.doe")))
	}
	var wg sync.WaitGroup
	for _, e := range events {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if resp, err := w.deliver(ctx, e); err != nil {
				t.Errorf("detect: %+v %v", resp, err)
			}
		}()
	}
	wg.Wait()
	s := w.checkSettled(t, ctx, newest)

	// What each notification says, by execution ARN.
	type record struct{ status, after string }
	notified := map[string]map[string]record{} // execution → consumer name → record
	backouts := map[string]string{}            // execution → its backout commands
	rolloutErrors := map[string]bool{}
	for _, n := range s.notifications {
		arn, _ := n.document["executionArn"].(string)
		m := map[string]record{}
		if ro, ok := n.document["rollout"].(map[string]any); ok {
			cs, _ := ro["consumers"].([]any)
			for _, c := range cs {
				c := c.(map[string]any)
				m[c["name"].(string)] = record{status: c["status"].(string), after: c["after"].(string)}
			}
			if e, _ := ro["error"].(string); e != "" {
				rolloutErrors[arn] = true
			}
		}
		notified[arn] = m
		steps, _ := n.document["backout"].([]any)
		for _, st := range steps {
			backouts[arn] += st.(map[string]any)["command"].(string) + "\n"
		}
	}
	newOf := map[string]string{} // family → the new revision
	execOf := map[string]string{}
	for _, ex := range s.executions {
		for _, e := range ex.History {
			if e.Type == "TaskSucceeded" && e.State == workflow.StateRegister {
				var r workflow.Result
				if jsonUnmarshal(e.Payload, &r) == nil && r.Outcome == workflow.OutcomeRemediated {
					newOf[r.Family], execOf[r.Family] = r.NewARN, ex.ARN
				}
			}
		}
	}

	runs := func(kind, name string) string {
		td, err := cons.Runs(ctx, kind, "default", name)
		if err != nil {
			t.Fatal(err)
		}
		return td
	}
	counts := map[string]int{}
	for fam, src := range sources {
		nw, exec := newOf[fam], execOf[fam]
		if nw == "" {
			t.Errorf("%s: no execution registered a remediation", fam)
			continue
		}
		recs, ok := notified[exec]
		if !ok {
			t.Errorf("%s: no notification for execution %s", fam, exec)
			continue
		}
		for _, c := range []struct{ kind, name string }{
			{harness.RunsService, fam + "-web"}, {harness.RunsService, fam + "-api"}, {harness.RunsService, fam + "-bg"},
			{harness.RunsRuleTarget, fam + "-nightly"}, {harness.RunsSchedule, fam + "-report"},
		} {
			now := runs(c.kind, c.name)
			rec, recorded := recs[c.name]
			switch {
			case now == nw:
				counts["on the new revision"]++
				if !recorded || rec.after != nw {
					t.Errorf("%s %s runs the new revision, but its notification records %+v (recorded %v): half-moved without a notification", c.kind, c.name, rec, recorded)
				}
				if !strings.Contains(backouts[exec], c.name) {
					t.Errorf("%s %s runs the new revision, but the notification has no backout step for it:\n%s", c.kind, c.name, backouts[exec])
				}
			case now == src:
				counts["on the source"]++
				if recorded && rec.after != src {
					t.Errorf("%s %s runs the source, but its notification records %+v", c.kind, c.name, rec)
				}
				if !recorded && len(recs) > 0 {
					t.Errorf("%s %s is missing from a rollout record %v", c.kind, c.name, recs)
				}
			default:
				t.Errorf("%s %s runs %s: neither the source %s nor the new revision %s", c.kind, c.name, now, src, nw)
			}
			if recorded {
				counts[rec.status]++
			}
		}
		if rolloutErrors[exec] {
			counts["rollout errors"]++
			continue
		}
		if r := recs[fam+"-bg"]; r.status != string(workflow.ConsumerNeedsHuman) {
			t.Errorf("%s-bg (CODE_DEPLOY): %+v, want NEEDS_HUMAN", fam, r)
		}
		if _, failing := fail[fam+"-api"]; failing {
			if r := recs[fam+"-api"]; r.status != string(workflow.ConsumerRolloutFailed) || r.after != src {
				t.Errorf("%s-api (deployment fails): %+v, want ROLLOUT_FAILED on the source", fam, r)
			}
		}
	}
	if refused := w.proxy.Refused(); len(refused) != 0 {
		t.Errorf("UpdateService with a task definition reached CODE_DEPLOY services: %+v", refused)
	}
	for _, u := range w.proxy.ECSUpdates() {
		if fmt.Sprint(u.Fields) != "[cluster service taskDefinition]" {
			t.Errorf("UpdateService %s sent %v", u.Service, u.Fields)
		}
	}

	// The rollout's writes stay within their budget (each API on its own:
	// they share one limiter per remediate instance).
	budget := reliability.Budget{Rate: opts.RolloutRate * float64(opts.Remediators), Burst: opts.Remediators}
	for _, api := range []string{"ecs:UpdateService", "events:PutTargets", "scheduler:UpdateSchedule"} {
		if err := reliability.CheckRate(func(d time.Duration) int { return w.proxy.MaxInWindow(api, d) }, budget, 0.10); err != nil {
			t.Errorf("%s rate over the rollout budget: %v", api, err)
		}
	}

	st := w.proxy.Stats()
	total := st.Total.Requests
	moves := st.APIs["ecs:UpdateService"].Forwarded + st.APIs["events:PutTargets"].Forwarded + st.APIs["scheduler:UpdateSchedule"].Forwarded
	t.Logf("consumers: %v; %d executions (%s); proxy: %d requests, %d faults %v; moves forwarded %d",
		counts, len(s.executions), outcomeSummary(s.outcomes), total, st.Total.FaultCount(), st.Total.Faults, moves)
	reliability.Record(t, reliability.Result{
		ID: "rollout-faults", Scenario: fmt.Sprintf("rollout (mode all) of %d families × 5 consumers, 30 %% of AWS calls failing", families), Runs: 1, Passed: passed(t),
		Registrations: st.APIs["ecs:RegisterTaskDefinition"].Forwarded, Notifications: len(s.notifications), Faults: st.Total.FaultCount(),
		Note: fmt.Sprintf("%.1f %% of %d AWS requests faulted; consumers %s; %d moves and put-backs forwarded; no consumer left off its notification's record; 0 UpdateService with a task definition to CODE_DEPLOY; %.0f s",
			100*float64(st.Total.FaultCount())/float64(max(total, 1)), total, countSummary(counts), moves, time.Since(start).Seconds()),
	})
}

func countSummary(m map[string]int) string { return outcomeSummary(m) }
