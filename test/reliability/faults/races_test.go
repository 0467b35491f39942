package faults

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ecslogfix/ecslogfix/internal/detect"
	"github.com/ecslogfix/ecslogfix/internal/execution"
	"github.com/ecslogfix/ecslogfix/internal/workflow"
	"github.com/ecslogfix/ecslogfix/test/e2e/harness"
	"github.com/ecslogfix/ecslogfix/test/faultproxy"
	"github.com/ecslogfix/ecslogfix/test/reliability"
)

// TestRacesAndLoops: a stale event, two registrations of one family in
// quick succession, duplicate deliveries, events out of order and our own
// registrations' events. Each case asserts the family's final state and
// counts the registrations: no loop, no regression to older content.
func TestRacesAndLoops(t *testing.T) {
	opts := worldOptions{Seed: 2, RegisterRate: 5, Remediators: 2, TimeScale: 0.01}
	w := newWorld(t, opts)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	user := harness.IAMUser("jane.doe")
	newest := map[string]int32{}
	file := "td02-one-of-three-missing.json"

	deliver := func(t *testing.T, td *ecstypes.TaskDefinition, id string, identity map[string]any) execution.Response {
		t.Helper()
		resp, err := w.deliver(ctx, eventFor(td, id, identity))
		if err != nil {
			t.Fatalf("detect %s: %v", aws.ToString(td.TaskDefinitionArn), err)
		}
		return resp
	}
	register := func(t *testing.T, fam string, release int) *ecstypes.TaskDefinition {
		t.Helper()
		td, err := w.userRevision(ctx, file, fam, release)
		if err != nil {
			t.Fatal(err)
		}
		newest[fam] = max(newest[fam], td.Revision)
		return td
	}
	// ours returns the family's remediated revisions.
	ours := func(t *testing.T, fam string) []revision {
		t.Helper()
		revs, err := w.family(ctx, fam)
		if err != nil {
			t.Fatal(err)
		}
		var out []revision
		for _, r := range revs {
			if r.source != 0 {
				out = append(out, r)
			}
		}
		return out
	}
	wantOurs := func(t *testing.T, fam string, sources ...int32) {
		t.Helper()
		w.sfn.settle()
		got := ours(t, fam)
		var gotSources []int32
		for _, r := range got {
			gotSources = append(gotSources, r.source)
		}
		if fmt.Sprint(gotSources) != fmt.Sprint(sources) {
			t.Errorf("%s: remediations of revisions %v, want %v", fam, gotSources, sources)
		}
	}
	cases := 0

	t.Run("stale-event", func(t *testing.T) {
		cases++
		fam := "rel-race-stale"
		r1 := register(t, fam, 1)
		register(t, fam, 2) // newer, its event not yet delivered
		if resp := deliver(t, r1, nextEventID(), user); resp.Status != execution.StatusStarted {
			t.Fatalf("detect on the stale revision: %+v", resp)
		}
		wantOurs(t, fam) // SUPERSEDED: nothing registered
		r2, _ := w.family(ctx, fam)
		deliver(t, r2[1].td, nextEventID(), user)
		wantOurs(t, fam, 2)
	})

	t.Run("quick-succession", func(t *testing.T) {
		cases++
		fam := "rel-race-quick"
		r1 := register(t, fam, 1)
		r2 := register(t, fam, 2)
		var wg sync.WaitGroup
		for _, td := range []*ecstypes.TaskDefinition{r1, r2} {
			wg.Add(1)
			go func() { defer wg.Done(); deliver(t, td, nextEventID(), user) }()
		}
		wg.Wait()
		wantOurs(t, fam, 2)
	})

	t.Run("duplicate-deliveries", func(t *testing.T) {
		cases++
		fam := "rel-race-duplicate"
		r1 := register(t, fam, 1)
		id := nextEventID()
		var wg sync.WaitGroup
		var mu sync.Mutex
		statuses := map[string]int{}
		for range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				resp := deliver(t, r1, id, user)
				mu.Lock()
				statuses[resp.Status]++
				mu.Unlock()
			}()
		}
		wg.Wait()
		if statuses[execution.StatusStarted] != 1 || statuses[execution.StatusDuplicate] != 3 {
			t.Errorf("four deliveries of one event: %v, want 1 started and 3 duplicate", statuses)
		}
		wantOurs(t, fam, 1)
		// A redelivery after the remediation changes nothing either.
		if resp := deliver(t, r1, id, user); resp.Status == execution.StatusStarted {
			t.Errorf("a late redelivery started an execution")
		}
		wantOurs(t, fam, 1)
	})

	t.Run("out-of-order", func(t *testing.T) {
		cases++
		fam := "rel-race-order"
		r1 := register(t, fam, 1)
		r2 := register(t, fam, 2)
		deliver(t, r2, nextEventID(), user)
		wantOurs(t, fam, 2)
		deliver(t, r1, nextEventID(), user) // the older event arrives last
		wantOurs(t, fam, 2)
	})

	t.Run("own-registration-event", func(t *testing.T) {
		cases++
		fam := "rel-race-own"
		r1 := register(t, fam, 1)
		deliver(t, r1, nextEventID(), user)
		wantOurs(t, fam, 1)
		fixed := ours(t, fam)[0]
		before := w.sfn.startCalls()
		// Our registration's event, as CloudTrail records it (the remediate
		// role's session): ignored before any AWS call.
		if resp := deliver(t, fixed.td, nextEventID(), harness.AssumedRole("ecslogfix-remediate", "ecslogfix")); resp.Reason != detect.IgnoreOwnRole {
			t.Errorf("our own registration: %+v, want ignored %s", resp, detect.IgnoreOwnRole)
		}
		// Even if the loop guard missed it, the revision is compliant.
		if resp := deliver(t, fixed.td, nextEventID(), user); resp.Status != execution.StatusCompliant {
			t.Errorf("our registration seen as a user's: %+v, want compliant", resp)
		}
		if n := w.sfn.startCalls() - before; n != 0 {
			t.Errorf("our own registration's events made %d StartExecution calls", n)
		}
		wantOurs(t, fam, 1)
	})

	t.Run("user-revision-after-ours", func(t *testing.T) {
		cases++
		// The user registers again after our remediation: the newest user
		// content is remediated, never our older remediation kept.
		fam := "rel-race-after"
		r1 := register(t, fam, 1)
		deliver(t, r1, nextEventID(), user)
		wantOurs(t, fam, 1)
		r3 := register(t, fam, 3)
		deliver(t, r3, nextEventID(), user)
		deliver(t, r1, nextEventID(), user) // and a stale redelivery of the first
		wantOurs(t, fam, 1, 3)
	})

	s := w.checkSettled(t, ctx, newest)
	w.registerRateOK(t)
	st := w.proxy.Stats()
	reliability.Record(t, reliability.Result{
		ID: "races-and-loops", Scenario: "races and loops: stale event, quick double registration, duplicate delivery, out of order, own event", Runs: cases, Passed: cases,
		Registrations: st.APIs["ecs:RegisterTaskDefinition"].Forwarded, Notifications: len(s.notifications), Faults: st.Total.FaultCount(),
		Note: fmt.Sprintf("%d executions (%s)", len(s.executions), outcomeSummary(s.outcomes)),
	})
}

// TestBurstOf200: 200 registrations (40 families × 5 revisions) arrive
// within a minute, their events delivered concurrently as they come.
// Every event starts its execution, every family ends remediated at its
// newest content, and the register rate stays within budget.
func TestBurstOf200(t *testing.T) {
	start := time.Now()
	opts := worldOptions{Seed: 200, RegisterRate: 5, Remediators: 4, Notifiers: 2, TimeScale: 0.01}
	w := newWorld(t, opts)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	const families, perFamily = 40, 5
	newest := map[string]int32{}
	var wg sync.WaitGroup
	sem := make(chan struct{}, 16)
	var mu sync.Mutex
	statuses := map[string]int{}
	for round := 1; round <= perFamily; round++ {
		for i := range families {
			fam := fmt.Sprintf("rel-burst-%02d", i)
			td, err := w.userRevision(ctx, corpus[i%len(corpus)], fam, round)
			if err != nil {
				t.Fatal(err)
			}
			newest[fam] = max(newest[fam], td.Revision)
			ev := eventFor(td, nextEventID(), harness.IAMUser("ci-deployer"))
			wg.Add(1)
			sem <- struct{}{}
			go func() {
				defer func() { <-sem; wg.Done() }()
				resp, err := w.deliver(ctx, ev)
				mu.Lock()
				defer mu.Unlock()
				if err != nil {
					t.Errorf("detect %s:%d: %v", fam, td.Revision, err)
					return
				}
				statuses[resp.Status]++
			}()
		}
	}
	registered := time.Since(start)
	wg.Wait()
	if registered > time.Minute {
		t.Errorf("the 200 registrations took %s, want them within a minute", registered)
	}
	if statuses[execution.StatusStarted] != families*perFamily {
		t.Errorf("detect answered %v for %d events, want every one started (none dropped)", statuses, families*perFamily)
	}
	s := w.checkSettled(t, ctx, newest)
	for o := range s.outcomes {
		switch workflow.Outcome(o) {
		case workflow.OutcomeRemediated, workflow.OutcomeSuperseded, workflow.OutcomeAlreadyRemediated:
		default:
			t.Errorf("%d executions ended %s", s.outcomes[o], o)
		}
	}
	w.registerRateOK(t)
	st := w.proxy.Stats()
	reg := st.APIs["ecs:RegisterTaskDefinition"]
	t.Logf("200 registrations in %s; settled in %s; outcomes %v; RegisterTaskDefinition max %d/1s %d/10s", registered.Round(time.Millisecond),
		time.Since(start).Round(time.Millisecond), s.outcomes, reg.MaxPer1s, reg.MaxPer10s)
	reliability.Record(t, reliability.Result{
		ID: "burst", Scenario: "burst of 200 registrations in one minute", Runs: 1, Passed: passed(t),
		Registrations: reg.Forwarded, Notifications: len(s.notifications), Faults: st.Total.FaultCount(),
		Note: fmt.Sprintf("registered in %.0f s, settled in %.0f s; %s; RegisterTaskDefinition max %d/1 s, %d/10 s (budget %g/s, burst %d)",
			registered.Seconds(), time.Since(start).Seconds(), outcomeSummary(s.outcomes), reg.MaxPer1s, reg.MaxPer10s, reliabilityBudget(opts).Rate, reliabilityBudget(opts).Burst),
	})
}

// TestWorkflowRetryRecovers: when the SDK's own retries are spent (five
// ConcurrentRevision answers to RegisterTaskDefinition, five 503s to
// CreateLogGroup), the state machine's Retry takes over and the execution
// still remediates, once; two SNS Throttled answers are retried by the
// notify function itself and its REMEDIATED notification is delivered.
func TestWorkflowRetryRecovers(t *testing.T) {
	five := func(k faultproxy.Kind) []faultproxy.Kind { return []faultproxy.Kind{k, k, k, k, k} }
	opts := worldOptions{Seed: 3, RegisterRate: 5, TimeScale: 0.01, Rules: []faultproxy.Rule{
		{API: "ecs:RegisterTaskDefinition", Script: five(faultproxy.ConcurrentRevision)},
		{API: "logs:CreateLogGroup", Script: five(faultproxy.Unavailable)},
		// SNS's "Throttled" twice: notify's SDK client retries it (the
		// SDK's defaults do not), so Notify needs no state machine retry.
		{API: "sns:Publish", Script: []faultproxy.Kind{faultproxy.Throttle, faultproxy.Throttle}},
	}}
	w := newWorld(t, opts)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	fam := "rel-sfn-retry"
	td, err := w.userRevision(ctx, "td01-fargate-no-logconfig.json", fam, 1)
	if err != nil {
		t.Fatal(err)
	}
	if resp, err := w.deliver(ctx, eventFor(td, nextEventID(), harness.IAMUser("jane.doe"))); err != nil || resp.Status != execution.StatusStarted {
		t.Fatalf("detect: %+v %v", resp, err)
	}
	s := w.checkSettled(t, ctx, map[string]int32{fam: td.Revision})
	if len(s.executions) != 1 {
		t.Fatalf("%d executions", len(s.executions))
	}
	ex := s.executions[0]
	retried := map[string]string{}
	for _, e := range ex.History {
		if e.Type == "TaskRetry" {
			retried[e.State] = e.Error
		}
	}
	if retried[workflow.StateEnsureLogGroups] != workflow.ErrThrottled || retried[workflow.StateRegister] != workflow.ErrConcurrentRevision {
		t.Errorf("state machine retries %v, want EnsureLogGroups on %s and Register on %s", retried, workflow.ErrThrottled, workflow.ErrConcurrentRevision)
	}
	if _, ok := retried[workflow.StateNotify]; ok {
		t.Errorf("Notify was retried by the state machine: notify's SNS client should retry Throttled itself")
	}
	if st := w.proxy.Stats().APIs["sns:Publish"]; st.Faults[faultproxy.Throttle] != 2 || st.Forwarded != 1 {
		t.Errorf("sns:Publish: %+v, want 2 throttled attempts and 1 forwarded", st)
	}
	if o := outcomeOf(ex); ex.Status != "SUCCEEDED" || o != string(workflow.OutcomeRemediated) {
		t.Errorf("execution %s %s, want SUCCEEDED REMEDIATED: %s", ex.Status, o, historyLine(ex))
	}
	st := w.proxy.Stats()
	reliability.Record(t, reliability.Result{
		ID: "retries-spent", Scenario: "SDK retries spent: the state machine's Retry recovers; SNS Throttled retried by notify", Runs: 1, Passed: 1,
		Registrations: st.APIs["ecs:RegisterTaskDefinition"].Forwarded, Notifications: len(s.notifications), Faults: st.Total.FaultCount(),
		Note: fmt.Sprintf("%d state machine retries: %v", ex.Retries, retried),
	})
}
