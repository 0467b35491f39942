package faults

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ecslogfix/ecslogfix/internal/remediate"
	"github.com/ecslogfix/ecslogfix/internal/workflow"
	"github.com/ecslogfix/ecslogfix/test/reliability"
)

// gatedClients holds every RegisterTaskDefinition of its remediate
// instance at a gate: reached is signalled, then the call waits for
// release. It stands for the time between the Register step's re-read and
// its RegisterTaskDefinition call (the register limiter's wait, the SDK's
// backoffs), which concurrent executions of the same family can overlap.
type gatedClients struct {
	inner   remediate.ClientsFor
	reached chan struct{}
	release chan struct{}
}

func (g gatedClients) For(t workflow.Target) (remediate.Clients, error) {
	c, err := g.inner(t)
	if err != nil {
		return c, err
	}
	c.ECS = gatedECS{ECS: c.ECS, g: g}
	return c, nil
}

type gatedECS struct {
	remediate.ECS
	g gatedClients
}

func (e gatedECS) RegisterTaskDefinition(ctx context.Context, in *ecs.RegisterTaskDefinitionInput, optFns ...func(*ecs.Options)) (*ecs.RegisterTaskDefinitionOutput, error) {
	e.g.reached <- struct{}{}
	<-e.g.release
	return e.ECS.RegisterTaskDefinition(ctx, in, optFns...)
}

// TestConcurrentExecutionsOfOneFamily interleaves two executions of one
// family deterministically: execution A (source rev 1) re-reads the family
// and is held before it registers; meanwhile the user registers rev 2 and
// execution B remediates it (rev 3 from 2); then A registers. The family's
// latest revision must still carry rev 2's content.
//
// A registers rev 4 from rev 1 after B's rev 3; Register sees that its
// revision is not latest+1, finds B's fix of the newer rev 2 in between
// and withdraws (deregisters) rev 4, so the family's latest ACTIVE
// revision is still B's. (This test found the regression; it failed until
// Register re-checked the revisions registered while it worked.)
func TestConcurrentExecutionsOfOneFamily(t *testing.T) {
	w := newWorld(t, worldOptions{Seed: 9, RegisterRate: 5, TimeScale: 0.01})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	fam := "rel-interleave"
	r1, err := w.userRevision(ctx, "td02-one-of-three-missing.json", fam, 1)
	if err != nil {
		t.Fatal(err)
	}
	a := <-w.remeds // an ordinary instance for B
	defer func() { w.remeds <- a }()
	g := gatedClients{inner: a.Clients, reached: make(chan struct{}), release: make(chan struct{})}
	held := &remediate.Remediator{Policy: a.Policy, Clients: g.For, Logger: a.Logger}
	input := func(td *ecstypes.TaskDefinition) workflow.Input {
		return workflow.Input{Version: workflow.Version, Trigger: workflow.TriggerEvent, TaskDefinitionARN: aws.ToString(td.TaskDefinitionArn),
			Family: fam, Revision: td.Revision, Target: workflow.Target{Account: account, Region: region}, Enforcement: "enforce"}
	}
	type result struct {
		r   workflow.Result
		err error
	}
	done := make(chan result, 1)
	go func() {
		r, err := held.Register(ctx, workflow.State{Input: input(r1)})
		done <- result{r, err}
	}()
	select {
	case <-g.reached: // A has re-read the family (latest = rev 1) and is about to register
	case res := <-done:
		t.Fatalf("execution A ended before registering: %+v %v", res.r, res.err)
	}
	r2, err := w.userRevision(ctx, "td02-one-of-three-missing.json", fam, 2)
	if err != nil {
		t.Fatal(err)
	}
	rb, err := a.Register(ctx, workflow.State{Input: input(r2)})
	if err != nil || rb.Outcome != workflow.OutcomeRemediated {
		t.Fatalf("execution B: %+v %v", rb, err)
	}
	close(g.release)
	ra := <-done
	revs, err := w.family(ctx, fam)
	if err != nil {
		t.Fatal(err)
	}
	latest := revs[len(revs)-1]
	t.Logf("A: %s %s; B: %s %s; latest %d is %s", ra.r.Outcome, ra.r.NewARN, rb.Outcome, rb.NewARN, latest.td.Revision, describeSource(latest))
	ok := latest.source == r2.Revision
	reliability.Record(t, reliability.Result{
		ID: "interleaved", Scenario: "two executions of one family interleaved (stale re-read, then register)", Runs: 1, Passed: map[bool]int{true: 1}[ok],
		Registrations: w.proxy.Stats().APIs["ecs:RegisterTaskDefinition"].Forwarded,
		Note:          fmt.Sprintf("A (rev 1) held between re-read and register while B remediated rev 2: latest is rev %d = %s", latest.td.Revision, describeSource(latest)),
	})
	if !ok {
		t.Fatalf("the family regressed: latest revision %d is %s, want the remediation of rev %d", latest.td.Revision, describeSource(latest), r2.Revision)
	}
	if ra.err != nil || ra.r.Outcome != workflow.OutcomeSuperseded || ra.r.NewARN != "" {
		t.Fatalf("execution A: %s %q %v, want SUPERSEDED with its revision withdrawn", ra.r.Outcome, ra.r.NewARN, ra.err)
	}
}
