package faultproxy_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/smithy-go"

	"github.com/ecslogfix/ecslogfix/test/faultproxy"
	"github.com/ecslogfix/ecslogfix/test/localaws"
)

// ecsWorld is moto behind the proxy with a cluster, two revisions of
// "web" and one service per deployment controller on web:1. (An external
// test package: moto comes from test/localaws, which imports this one.)
type ecsWorld struct {
	srv        *faultproxy.Server
	proxied    *ecs.Client
	direct     *ecs.Client
	rev1, rev2 string
	serviceARN map[string]string // by name
}

func newECSWorld(t *testing.T, cfg faultproxy.ECSConfig) *ecsWorld {
	t.Helper()
	env := localaws.Start(t, localaws.Options{Faults: &faultproxy.Config{ECS: cfg}})
	once := func(c aws.Config) aws.Config { c.RetryMaxAttempts = 1; return c }
	ctx := context.Background()
	w := &ecsWorld{srv: env.Proxy, proxied: ecs.NewFromConfig(once(env.Config())), direct: ecs.NewFromConfig(once(env.Direct())), serviceARN: map[string]string{}}
	if _, err := w.direct.CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String("prod")}); err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		out, err := w.direct.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{Family: aws.String("web"),
			ContainerDefinitions: []ecstypes.ContainerDefinition{{Name: aws.String("app"), Image: aws.String(fmt.Sprintf("nginx:%d", i)), Memory: aws.Int32(128)}}})
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			w.rev1 = aws.ToString(out.TaskDefinition.TaskDefinitionArn)
		} else {
			w.rev2 = aws.ToString(out.TaskDefinition.TaskDefinitionArn)
		}
	}
	for _, c := range []ecstypes.DeploymentControllerType{ecstypes.DeploymentControllerTypeEcs, ecstypes.DeploymentControllerTypeCodeDeploy, ecstypes.DeploymentControllerTypeExternal} {
		name := "svc-" + string(c)
		out, err := w.direct.CreateService(ctx, &ecs.CreateServiceInput{Cluster: aws.String("prod"), ServiceName: aws.String(name),
			TaskDefinition: aws.String(w.rev1), DesiredCount: aws.Int32(2), DeploymentController: &ecstypes.DeploymentController{Type: c}})
		if err != nil {
			t.Fatal(err)
		}
		w.serviceARN[name] = aws.ToString(out.Service.ServiceArn)
	}
	return w
}

func (w *ecsWorld) update(ctx context.Context, name, td string) (*ecs.UpdateServiceOutput, error) {
	return w.proxied.UpdateService(ctx, &ecs.UpdateServiceInput{Cluster: aws.String("prod"), Service: aws.String(name), TaskDefinition: aws.String(td)})
}

func (w *ecsWorld) describe(t *testing.T, ctx context.Context, c *ecs.Client, name string) ecstypes.Service {
	t.Helper()
	out, err := c.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String("prod"), Services: []string{name}})
	if err != nil || len(out.Services) != 1 {
		t.Fatalf("describe %s: %v %+v", name, err, out)
	}
	return out.Services[0]
}

func rollout(s ecstypes.Service) string {
	var out string
	for _, d := range s.Deployments {
		out += fmt.Sprintf("[%s %s %s] ", aws.ToString(d.Status), d.RolloutState, aws.ToString(d.TaskDefinition))
	}
	return out
}

// moto accepts UpdateService with a task definition on CODE_DEPLOY and
// EXTERNAL services; through the proxy AWS's InvalidParameterException
// comes back, nothing changes, and the request is recorded.
func TestUpdateServiceRefusedByController(t *testing.T) {
	w := newECSWorld(t, faultproxy.ECSConfig{})
	ctx := context.Background()
	for name, msg := range map[string]string{"svc-CODE_DEPLOY": faultproxy.CodeDeployUpdateMessage, "svc-EXTERNAL": faultproxy.ExternalUpdateMessage} {
		_, err := w.update(ctx, name, w.rev2)
		var ae smithy.APIError
		if !errors.As(err, &ae) || ae.ErrorCode() != "InvalidParameterException" || ae.ErrorMessage() != msg {
			t.Errorf("%s: %v, want InvalidParameterException %q", name, err, msg)
		}
		if got := aws.ToString(w.describe(t, ctx, w.direct, name).TaskDefinition); got != w.rev1 {
			t.Errorf("%s: moto's service moved to %s", name, got)
		}
	}
	// Changing something else of a CODE_DEPLOY service is allowed.
	if _, err := w.proxied.UpdateService(ctx, &ecs.UpdateServiceInput{Cluster: aws.String("prod"), Service: aws.String("svc-CODE_DEPLOY"), DesiredCount: aws.Int32(3)}); err != nil {
		t.Errorf("desired count of a CODE_DEPLOY service: %v", err)
	}
	refused := w.srv.Refused()
	if len(refused) != 2 || refused[0].TaskDefinition != w.rev2 {
		t.Fatalf("refused %+v, want the two task definition updates", refused)
	}
	if all := w.srv.ECSUpdates(); len(all) != 3 || fmt.Sprint(all[2].Fields) != "[cluster desiredCount service]" {
		t.Errorf("updates %+v", all)
	}
}

// A rolling deployment shows IN_PROGRESS for Polls answers, then
// COMPLETED and alone.
func TestDeploymentProgresses(t *testing.T) {
	w := newECSWorld(t, faultproxy.ECSConfig{Polls: 2})
	ctx := context.Background()
	out, err := w.update(ctx, "svc-ECS", w.rev2)
	if err != nil {
		t.Fatal(err)
	}
	if p := out.Service.Deployments; len(p) != 2 || aws.ToString(p[0].TaskDefinition) != w.rev2 || p[0].RolloutState != ecstypes.DeploymentRolloutStateInProgress {
		t.Fatalf("UpdateService answered deployments %s", rollout(*out.Service))
	}
	for i := range 2 {
		if s := w.describe(t, ctx, w.proxied, "svc-ECS"); s.Deployments[0].RolloutState != ecstypes.DeploymentRolloutStateInProgress || len(s.Deployments) != 2 {
			t.Fatalf("answer %d: %s, want the new deployment IN_PROGRESS and the old one", i, rollout(s))
		}
	}
	s := w.describe(t, ctx, w.proxied, "svc-ECS")
	if len(s.Deployments) != 1 || s.Deployments[0].RolloutState != ecstypes.DeploymentRolloutStateCompleted ||
		aws.ToString(s.Deployments[0].Id) != aws.ToString(out.Service.Deployments[0].Id) || aws.ToString(s.TaskDefinition) != w.rev2 {
		t.Fatalf("after the polls: %s on %s", rollout(s), aws.ToString(s.TaskDefinition))
	}
}

// A failing deployment: without rollback it stays PRIMARY and FAILED on
// the new revision; with the circuit breaker's rollback the service is
// back on its previous revision (in moto too) and the failure is listed.
func TestDeploymentFails(t *testing.T) {
	ctx := context.Background()
	t.Run("no rollback", func(t *testing.T) {
		w := newECSWorld(t, faultproxy.ECSConfig{Fail: map[string]faultproxy.DeploymentFailure{"svc-ECS": {Reason: "tasks failed to start"}}})
		if _, err := w.update(ctx, "svc-ECS", w.rev2); err != nil {
			t.Fatal(err)
		}
		s := w.describe(t, ctx, w.proxied, "svc-ECS")
		if d := s.Deployments[0]; d.RolloutState != ecstypes.DeploymentRolloutStateFailed || aws.ToString(d.RolloutStateReason) != "tasks failed to start" || aws.ToString(s.TaskDefinition) != w.rev2 {
			t.Fatalf("%s on %s", rollout(s), aws.ToString(s.TaskDefinition))
		}
		// Put back: the next deployment completes.
		if _, err := w.update(ctx, "svc-ECS", w.rev1); err != nil {
			t.Fatal(err)
		}
		if s := w.describe(t, ctx, w.proxied, "svc-ECS"); s.Deployments[0].RolloutState != ecstypes.DeploymentRolloutStateCompleted || aws.ToString(s.TaskDefinition) != w.rev1 {
			t.Fatalf("after the put-back: %s on %s", rollout(s), aws.ToString(s.TaskDefinition))
		}
	})
	t.Run("rollback", func(t *testing.T) {
		w := newECSWorld(t, faultproxy.ECSConfig{Fail: map[string]faultproxy.DeploymentFailure{"svc-ECS": {Rollback: true}}})
		if _, err := w.update(ctx, "svc-ECS", w.rev2); err != nil {
			t.Fatal(err)
		}
		s := w.describe(t, ctx, w.proxied, "svc-ECS")
		if aws.ToString(s.TaskDefinition) != w.rev1 || len(s.Deployments) != 2 ||
			aws.ToString(s.Deployments[0].TaskDefinition) != w.rev1 || s.Deployments[1].RolloutState != ecstypes.DeploymentRolloutStateFailed ||
			aws.ToString(s.Deployments[1].RolloutStateReason) != faultproxy.DefaultFailureReason {
			t.Fatalf("%s on %s", rollout(s), aws.ToString(s.TaskDefinition))
		}
		if got := aws.ToString(w.describe(t, ctx, w.direct, "svc-ECS").TaskDefinition); got != w.rev1 {
			t.Errorf("moto's service is on %s after the rollback", got)
		}
	})
}
