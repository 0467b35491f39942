package bench

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ecslogfix/ecslogfix/internal/awsclient"
	"github.com/ecslogfix/ecslogfix/internal/policy"
	"github.com/ecslogfix/ecslogfix/internal/remediate"
	"github.com/ecslogfix/ecslogfix/internal/taskdef"
	"github.com/ecslogfix/ecslogfix/internal/workflow"
	"github.com/ecslogfix/ecslogfix/test/faultproxy"
	"github.com/ecslogfix/ecslogfix/test/localaws"
)

// TestBenchRolloutAPICalls counts the AWS calls of the workflow's rollout
// steps (remediate.Remediator's Rollout and Watch, in-process, through the
// fault proxy's ECS deployment model on moto, without faults): with rollout
// none (what every remediation now adds: the consumers are listed for the
// notification) and with rollout services for one ECS service whose
// deployment completes at the first look. Detect, EnsureLogGroups and
// Register are TestBenchAPICalls' row, unchanged.
func TestBenchRolloutAPICalls(t *testing.T) {
	RequireBench(t)
	env := localaws.Start(t, localaws.Options{Faults: &faultproxy.Config{}})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	root := moduleRoot(t)
	setup := ecs.NewFromConfig(env.Direct())
	counter := NewAPICounter()
	factory := awsclient.New(awsConfig(env.Endpoint, counter), awsclient.Options{RolloutRate: awsclient.MaxRate})
	quiet := slog.New(slog.NewJSONHandler(io.Discard, nil))
	if _, err := setup.CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String("prod")}); err != nil {
		t.Fatal(err)
	}

	run := func(mode policy.RolloutMode, family string) (rollout, watch phase, res workflow.Result) {
		t.Helper()
		src, err := registerFixture(ctx, setup, root, "td01-fargate-no-logconfig.json", family)
		if err != nil {
			t.Fatal(err)
		}
		srcARN := aws.ToString(src.TaskDefinitionArn)
		if _, err := setup.CreateService(ctx, &ecs.CreateServiceInput{Cluster: aws.String("prod"), ServiceName: aws.String(family),
			TaskDefinition: aws.String(srcARN), DesiredCount: aws.Int32(1), DeploymentController: &ecstypes.DeploymentController{Type: ecstypes.DeploymentControllerTypeEcs}}); err != nil {
			t.Fatal(err)
		}
		pol := policy.Default()
		pol.Rollout = mode
		r := &remediate.Remediator{Policy: pol, Clients: remediate.ClientsFrom(factory), Logger: quiet}
		a, _ := taskdef.ParseARN(srcARN)
		in := workflow.Input{Version: workflow.Version, TaskDefinitionARN: srcARN, Target: workflow.Target{Account: a.Account, Region: a.Region}, Enforcement: policy.Enforce}
		ens, err := r.EnsureLogGroups(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		st := workflow.State{Input: in, Ensured: &ens}
		if res, err = r.Register(ctx, st); err != nil || res.Outcome != workflow.OutcomeRemediated {
			t.Fatalf("register: %s %v", res.Outcome, err)
		}
		counter.Reset()
		st.Registered = &workflow.Registered{Result: res}
		if res, err = r.Rollout(ctx, st); err != nil {
			t.Fatal(err)
		}
		rollout = phase{name: "Rollout", counts: counter.Counts()}
		counter.Reset()
		for !res.Rollout.Settled {
			st.Registered = &workflow.Registered{Result: res}
			if res, err = r.Watch(ctx, st); err != nil {
				t.Fatal(err)
			}
		}
		watch = phase{name: "Watch", counts: counter.Counts()}
		t.Log(rollout, "; ", watch)
		return rollout, watch, res
	}

	none, _, res := run(policy.RolloutNone, "bench-rollout-none")
	if c := res.Rollout.Consumers; len(c) != 1 || c[0].Status != workflow.ConsumerNotMoved {
		t.Fatalf("rollout none: %+v", res.Rollout)
	}
	calls, _ := none.counts.Total()
	RecordRow(t, Row{
		Measure: "AWS calls the Rollout step adds to a remediation with rollout none (the consumers listed for the notification; one cluster, no rules or schedules), SDK middleware",
		Subject: "pipeline",
		Value:   fmt.Sprintf("%d — %s", calls, none),
	})

	rolled, watch, res := run(policy.RolloutServices, "bench-rollout-one")
	if c := res.Rollout.Consumers; len(c) != 1 || c[0].Status != workflow.ConsumerMoved {
		t.Fatalf("rollout services: %+v", res.Rollout)
	}
	rc, ra := rolled.counts.Total()
	wc, wa := watch.counts.Total()
	var parts []string
	for _, p := range []phase{rolled, watch} {
		parts = append(parts, p.String())
	}
	RecordRow(t, Row{
		Measure: "AWS calls per rollout of one ECS service (rollout services; Rollout + one Watch, the deployment complete at the first look; each further Watch costs one DescribeServices per cluster), SDK middleware, retries excluded",
		Subject: "pipeline",
		Value:   fmt.Sprintf("%d (attempts %d) on top of detect + EnsureLogGroups + Register — %s", rc+wc, ra+wa, strings.Join(parts, "; ")),
		Target:  "1 UpdateService",
		Verdict: Verdict(rolled.count("ECS:UpdateService") == 1),
	})
}

// count is the calls of one API in the phase.
func (p phase) count(api string) int {
	for _, a := range p.counts {
		if a.API == api {
			return a.Calls
		}
	}
	return 0
}
