package remediate

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/scheduler"
	schedtypes "github.com/aws/aws-sdk-go-v2/service/scheduler/types"

	"github.com/ecslogfix/ecslogfix/internal/awsclient"
	"github.com/ecslogfix/ecslogfix/internal/awsfake"
	"github.com/ecslogfix/ecslogfix/internal/policy"
	"github.com/ecslogfix/ecslogfix/internal/taskdef"
	"github.com/ecslogfix/ecslogfix/internal/workflow"
	"github.com/ecslogfix/ecslogfix/test/faultproxy"
)

// consumerWorld is a family with consumers of every kind in moto, behind
// the fault proxy's ECS model (deployments that progress and fail;
// CODE_DEPLOY and EXTERNAL refusals).
type consumerWorld struct {
	t         *testing.T
	region    string
	proxy     *faultproxy.Server
	factory   *awsclient.Factory // through the proxy
	ecs       *ecs.Client        // direct
	events    *eventbridge.Client
	scheduler *scheduler.Client
	family    string
	src       string // the source revision's ARN
	other     string // an older revision of the family
	cluster   string
	roleARN   string
}

const consumerRole = "arn:aws:iam::123456789012:role/ecs-events"

func newConsumerWorld(t *testing.T, region string, cfg faultproxy.ECSConfig) *consumerWorld {
	t.Helper()
	endpoint := motoEndpoint(t)
	proxy, err := faultproxy.Start(faultproxy.Config{Upstream: endpoint, ECS: cfg})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { proxy.Close() })
	direct := motoConfig(endpoint, region)
	w := &consumerWorld{
		t: t, region: region, proxy: proxy, roleARN: consumerRole,
		factory: awsclient.New(motoConfig(proxy.URL, region), awsclient.Options{ReadRate: awsclient.MaxReadRate, RegisterRate: awsclient.MaxRate, RolloutRate: awsclient.MaxRate}),
		ecs:     ecs.NewFromConfig(direct), events: eventbridge.NewFromConfig(direct), scheduler: scheduler.NewFromConfig(direct),
		family: "ro-orders",
	}
	ctx := context.Background()
	td, tags := awsfake.TaskDefinition(t, "td01-fargate-no-logconfig.json")
	td.Family = aws.String(w.family)
	in := registerInput(t, td, tags)
	for i := range 2 {
		out, err := w.ecs.RegisterTaskDefinition(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			w.other = aws.ToString(out.TaskDefinition.TaskDefinitionArn)
		} else {
			w.src = aws.ToString(out.TaskDefinition.TaskDefinitionArn)
		}
	}
	cl, err := w.ecs.CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String("prod")})
	if err != nil {
		t.Fatal(err)
	}
	w.cluster = aws.ToString(cl.Cluster.ClusterArn)
	return w
}

func (w *consumerWorld) service(name string, controller ecstypes.DeploymentControllerType, td string) {
	w.t.Helper()
	if _, err := w.ecs.CreateService(context.Background(), &ecs.CreateServiceInput{Cluster: aws.String("prod"), ServiceName: aws.String(name),
		TaskDefinition: aws.String(td), DesiredCount: aws.Int32(2), DeploymentController: &ecstypes.DeploymentController{Type: controller}}); err != nil {
		w.t.Fatal(err)
	}
}

// ruleTarget puts a rule on bus (created unless default) with an ECS
// target running td, with an Input carrying a container override.
func (w *consumerWorld) ruleTarget(bus, rule, td string) ebtypes.Target {
	w.t.Helper()
	ctx := context.Background()
	if bus != "default" {
		if _, err := w.events.CreateEventBus(ctx, &eventbridge.CreateEventBusInput{Name: aws.String(bus)}); err != nil {
			w.t.Fatal(err)
		}
	}
	put := &eventbridge.PutRuleInput{Name: aws.String(rule), EventBusName: aws.String(bus), ScheduleExpression: aws.String("rate(1 hour)")}
	if bus != "default" { // schedules are for the default bus only
		put.ScheduleExpression, put.EventPattern = nil, aws.String(`{"source":["orders.app"]}`)
	}
	if _, err := w.events.PutRule(ctx, put); err != nil {
		w.t.Fatal(err)
	}
	target := ebtypes.Target{
		Id: aws.String("run"), Arn: aws.String(w.cluster), RoleArn: aws.String(w.roleARN),
		Input: aws.String(`{"containerOverrides":[{"name":"app","environment":[{"name":"MODE","value":"batch"}]}]}`),
		EcsParameters: &ebtypes.EcsParameters{TaskDefinitionArn: aws.String(td), TaskCount: aws.Int32(1), LaunchType: ebtypes.LaunchTypeFargate,
			NetworkConfiguration: &ebtypes.NetworkConfiguration{AwsvpcConfiguration: &ebtypes.AwsVpcConfiguration{Subnets: []string{"subnet-0123"}, AssignPublicIp: ebtypes.AssignPublicIpDisabled}},
			PlatformVersion:      aws.String("LATEST"), Group: aws.String("batch")},
	}
	if _, err := w.events.PutTargets(ctx, &eventbridge.PutTargetsInput{Rule: aws.String(rule), EventBusName: aws.String(bus), Targets: []ebtypes.Target{target}}); err != nil {
		w.t.Fatal(err)
	}
	return w.target(bus, rule)
}

func (w *consumerWorld) target(bus, rule string) ebtypes.Target {
	w.t.Helper()
	out, err := w.events.ListTargetsByRule(context.Background(), &eventbridge.ListTargetsByRuleInput{Rule: aws.String(rule), EventBusName: aws.String(bus)})
	if err != nil || len(out.Targets) != 1 {
		w.t.Fatalf("targets of %s: %v %+v", rule, err, out)
	}
	return out.Targets[0]
}

func (w *consumerWorld) schedule(name, td string) *scheduler.GetScheduleOutput {
	w.t.Helper()
	ctx := context.Background()
	if _, err := w.scheduler.CreateSchedule(ctx, &scheduler.CreateScheduleInput{
		Name: aws.String(name), ScheduleExpression: aws.String("cron(0 3 * * ? *)"), Description: aws.String("nightly report"),
		FlexibleTimeWindow: &schedtypes.FlexibleTimeWindow{Mode: schedtypes.FlexibleTimeWindowModeFlexible, MaximumWindowInMinutes: aws.Int32(15)},
		Target: &schedtypes.Target{Arn: aws.String(w.cluster), RoleArn: aws.String(w.roleARN), Input: aws.String(`{"containerOverrides":[]}`),
			EcsParameters: &schedtypes.EcsParameters{TaskDefinitionArn: aws.String(td), TaskCount: aws.Int32(1), LaunchType: schedtypes.LaunchTypeFargate}},
	}); err != nil {
		w.t.Fatal(err)
	}
	return w.getSchedule(name)
}

func (w *consumerWorld) getSchedule(name string) *scheduler.GetScheduleOutput {
	w.t.Helper()
	g, err := w.scheduler.GetSchedule(context.Background(), &scheduler.GetScheduleInput{Name: aws.String(name)})
	if err != nil {
		w.t.Fatal(err)
	}
	return g
}

func (w *consumerWorld) serviceTD(name string) string {
	w.t.Helper()
	out, err := w.ecs.DescribeServices(context.Background(), &ecs.DescribeServicesInput{Cluster: aws.String("prod"), Services: []string{name}})
	if err != nil || len(out.Services) != 1 {
		w.t.Fatalf("describe %s: %v", name, err)
	}
	return aws.ToString(out.Services[0].TaskDefinition)
}

// remediate runs EnsureLogGroups, Register, Rollout and Watch until the
// rollout settles (no waiting: the proxy's deployments advance per
// DescribeServices), as the workflow does.
func (w *consumerWorld) remediate(r *Remediator) workflow.Result {
	w.t.Helper()
	ctx := context.Background()
	a, _ := taskdef.ParseARN(w.src)
	in := workflow.Input{Version: workflow.Version, Trigger: workflow.TriggerEvent, TaskDefinitionARN: w.src, Family: w.family, Revision: a.Revision,
		Target: workflow.Target{Account: a.Account, Region: w.region}, Enforcement: policy.Enforce}
	ens, err := r.EnsureLogGroups(ctx, in)
	if err != nil {
		w.t.Fatal(err)
	}
	st := workflow.State{Input: in, Ensured: &ens}
	res, err := r.Register(ctx, st)
	if err != nil || res.Outcome != workflow.OutcomeRemediated {
		w.t.Fatalf("register: %s %s %v", res.Outcome, res.Detail, err)
	}
	for step := 0; ; step++ {
		st.Registered = &workflow.Registered{Result: res}
		if step == 0 {
			res, err = r.Rollout(ctx, st)
		} else {
			res, err = r.Watch(ctx, st)
		}
		if err != nil {
			w.t.Fatalf("step %d: %v", step, err)
		}
		if res.Rollout.Settled {
			return res
		}
		if step > 5 {
			w.t.Fatalf("not settled after %d watches: %+v", step, res.Rollout)
		}
	}
}

func record(t *testing.T, r *workflow.Rollout, name string) workflow.ConsumerRollout {
	t.Helper()
	for _, c := range r.Consumers {
		if c.Name == name {
			return c
		}
	}
	t.Fatalf("no record of %s in %+v", name, r.Consumers)
	return workflow.ConsumerRollout{}
}

// withARN returns t with its task definition ARN replaced: what a move
// may change, and nothing else.
func withARN(t ebtypes.Target, td string) ebtypes.Target {
	p := *t.EcsParameters
	p.TaskDefinitionArn = aws.String(td)
	t.EcsParameters = &p
	return t
}

// TestRolloutAgainstMoto: rollout all moves the ECS services, the rule
// target and the schedule (whole target kept, only the ARN changed),
// leaves CODE_DEPLOY and EXTERNAL services to a human without ever sending
// them a task definition, leaves a family-only target alone, puts a
// service whose deployment failed back on the source, records the
// circuit breaker's rollback, and sends UpdateService with only
// taskDefinition.
func TestRolloutAgainstMoto(t *testing.T) {
	w := newConsumerWorld(t, "ap-south-1", faultproxy.ECSConfig{Polls: 1, Fail: map[string]faultproxy.DeploymentFailure{
		"failing":     {Reason: "tasks failed to start"},
		"rolled-back": {Rollback: true},
	}})
	w.service("web", ecstypes.DeploymentControllerTypeEcs, w.src)
	w.service("failing", ecstypes.DeploymentControllerTypeEcs, w.src)
	w.service("rolled-back", ecstypes.DeploymentControllerTypeEcs, w.src)
	w.service("blue-green", ecstypes.DeploymentControllerTypeCodeDeploy, w.src)
	w.service("task-sets", ecstypes.DeploymentControllerTypeExternal, w.src)
	w.service("older", ecstypes.DeploymentControllerTypeEcs, w.other)
	before := w.ruleTarget("default", "nightly", w.src)
	latest := w.ruleTarget("batch", "follows", "arn:aws:ecs:"+w.region+":123456789012:task-definition/"+w.family)
	sched := w.schedule("report", w.src)

	pol := policy.Default()
	pol.Rollout = policy.RolloutAll
	res := w.remediate(&Remediator{Policy: pol, Clients: ClientsFrom(w.factory), Logger: (&awsfake.LogBuffer{}).Logger()})
	ro := res.Rollout
	newARN := res.NewARN
	t.Logf("rollout: %+v", ro)

	want := map[string]struct {
		status workflow.ConsumerStatus
		after  string
		runs   string
	}{
		"web":         {workflow.ConsumerMoved, newARN, newARN},
		"failing":     {workflow.ConsumerRolloutFailed, w.src, w.src},
		"rolled-back": {workflow.ConsumerRolloutFailed, w.src, w.src},
		"blue-green":  {workflow.ConsumerNeedsHuman, w.src, w.src},
		"task-sets":   {workflow.ConsumerNeedsHuman, w.src, w.src},
	}
	for name, wt := range want {
		rec := record(t, ro, name)
		if rec.Status != wt.status || rec.Before != w.src || rec.After != wt.after {
			t.Errorf("%s: %s %s → %s, want %s %s → %s (%s)", name, rec.Status, rec.Before, rec.After, wt.status, w.src, wt.after, rec.Reason)
		}
		if got := w.serviceTD(name); got != wt.runs {
			t.Errorf("%s runs %s, want %s", name, got, wt.runs)
		}
	}
	if r := record(t, ro, "failing"); !strings.Contains(r.Reason, "tasks failed to start") || !strings.Contains(r.Reason, "put the service back") {
		t.Errorf("failing: reason %q", r.Reason)
	}
	if r := record(t, ro, "rolled-back"); !strings.Contains(r.Reason, "rolled the service back") || !strings.Contains(r.Reason, faultproxy.DefaultFailureReason) {
		t.Errorf("rolled-back: reason %q", r.Reason)
	}
	if slices.ContainsFunc(ro.Consumers, func(c workflow.ConsumerRollout) bool { return c.Name == "older" }) {
		t.Error("a service on another revision of the family was recorded")
	}
	if got := w.serviceTD("older"); got != w.other {
		t.Errorf("older moved to %s", got)
	}

	// The rule target and the schedule: moved, everything else kept.
	if r := record(t, ro, "nightly"); r.Status != workflow.ConsumerMoved || r.After != newARN || r.TargetID != "run" || r.EventBus != "default" {
		t.Errorf("nightly: %+v", r)
	}
	if got, wantT := w.target("default", "nightly"), withARN(before, newARN); !reflect.DeepEqual(got, wantT) {
		t.Errorf("rule target after the move:\n got %+v\nwant %+v", got, wantT)
	}
	if r := record(t, ro, "follows"); r.Status != workflow.ConsumerFollowsLatest {
		t.Errorf("follows: %+v", r)
	}
	if got := w.target("batch", "follows"); !reflect.DeepEqual(got, latest) {
		t.Errorf("a family-only target was changed: %+v", got)
	}
	if r := record(t, ro, "report"); r.Status != workflow.ConsumerMoved || r.After != newARN || r.Group != "default" {
		t.Errorf("report: %+v", r)
	}
	after := w.getSchedule("report")
	if aws.ToString(after.Target.EcsParameters.TaskDefinitionArn) != newARN {
		t.Errorf("schedule runs %s", aws.ToString(after.Target.EcsParameters.TaskDefinitionArn))
	}
	after.Target.EcsParameters.TaskDefinitionArn = sched.Target.EcsParameters.TaskDefinitionArn
	after.LastModificationDate, after.ResultMetadata = sched.LastModificationDate, sched.ResultMetadata
	if !reflect.DeepEqual(after, sched) {
		t.Errorf("the schedule changed beyond its task definition:\n got %+v\nwant %+v", after, sched)
	}

	// What went over the wire.
	if refused := w.proxy.Refused(); len(refused) != 0 {
		t.Errorf("UpdateService with a task definition reached CODE_DEPLOY/EXTERNAL services: %+v", refused)
	}
	for _, u := range w.proxy.ECSUpdates() {
		if fmt.Sprint(u.Fields) != "[cluster service taskDefinition]" {
			t.Errorf("UpdateService %s sent %v, want only cluster, service and taskDefinition", u.Service, u.Fields)
		}
	}
	if !ro.Settled || ro.SourceDeregistered {
		t.Errorf("rollout %+v", ro)
	}
}

// Mode none (the default) lists the consumers and changes none of them;
// deregisterSource afterRollout deregisters the source only when every
// consumer moved.
func TestRolloutNoneAndDeregisterSource(t *testing.T) {
	t.Run("none", func(t *testing.T) {
		w := newConsumerWorld(t, "ap-southeast-3", faultproxy.ECSConfig{})
		w.service("web", ecstypes.DeploymentControllerTypeEcs, w.src)
		w.ruleTarget("default", "nightly", w.src)
		res := w.remediate(&Remediator{Policy: policy.Default(), Clients: ClientsFrom(w.factory), Logger: (&awsfake.LogBuffer{}).Logger()})
		for _, c := range res.Rollout.Consumers {
			if c.Status != workflow.ConsumerNotMoved || c.After != w.src {
				t.Errorf("%s: %+v", c.Name, c)
			}
		}
		if len(res.Rollout.Consumers) != 2 || w.serviceTD("web") != w.src {
			t.Errorf("rollout %+v", res.Rollout)
		}
		st := w.proxy.Stats().APIs
		if len(w.proxy.ECSUpdates()) != 0 || st["events:PutTargets"].Requests != 0 {
			t.Errorf("mode none wrote: updates %+v, PutTargets %d", w.proxy.ECSUpdates(), st["events:PutTargets"].Requests)
		}
	})
	for _, tc := range []struct {
		name       string
		blueGreen  bool
		deregister bool
	}{{"every consumer moved", false, true}, {"a CODE_DEPLOY service stays", true, false}} {
		t.Run("afterRollout/"+tc.name, func(t *testing.T) {
			region := map[bool]string{false: "ca-central-1", true: "sa-east-1"}[tc.blueGreen]
			w := newConsumerWorld(t, region, faultproxy.ECSConfig{})
			w.service("web", ecstypes.DeploymentControllerTypeEcs, w.src)
			if tc.blueGreen {
				w.service("blue-green", ecstypes.DeploymentControllerTypeCodeDeploy, w.src)
			}
			pol := policy.Default()
			pol.Rollout, pol.DeregisterSource = policy.RolloutServices, policy.DeregisterAfterRollout
			res := w.remediate(&Remediator{Policy: pol, Clients: ClientsFrom(w.factory), Logger: (&awsfake.LogBuffer{}).Logger(), Now: time.Now})
			d, err := w.ecs.DescribeTaskDefinition(context.Background(), &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String(w.src)})
			if err != nil {
				t.Fatal(err)
			}
			if res.Rollout.SourceDeregistered != tc.deregister || (d.TaskDefinition.Status == ecstypes.TaskDefinitionStatusInactive) != tc.deregister {
				t.Errorf("deregistered %v, source %s; want %v", res.Rollout.SourceDeregistered, d.TaskDefinition.Status, tc.deregister)
			}
		})
	}
}

// A Rollout invocation that runs out of time leaves its moves TO_MOVE and
// the next Watch makes them: a mass rollout paced at the rollout rate
// spans invocations instead of outlasting one.
func TestRolloutMovesSpanInvocations(t *testing.T) {
	w := newConsumerWorld(t, "eu-south-1", faultproxy.ECSConfig{})
	w.service("web", ecstypes.DeploymentControllerTypeEcs, w.src)
	pol := policy.Default()
	pol.Rollout = policy.RolloutServices
	r := &Remediator{Policy: pol, Clients: ClientsFrom(w.factory), Logger: (&awsfake.LogBuffer{}).Logger()}
	ctx := context.Background()
	a, _ := taskdef.ParseARN(w.src)
	in := workflow.Input{Version: workflow.Version, TaskDefinitionARN: w.src, Target: workflow.Target{Account: a.Account, Region: w.region}, Enforcement: policy.Enforce}
	ens, err := r.EnsureLogGroups(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	st := workflow.State{Input: in, Ensured: &ens}
	res, err := r.Register(ctx, st)
	if err != nil {
		t.Fatal(err)
	}
	st.Registered = &workflow.Registered{Result: res}
	short, cancel := context.WithTimeout(ctx, moveMargin/2)
	defer cancel()
	res, err = r.Rollout(short, st)
	if err != nil {
		t.Fatal(err)
	}
	if rec := record(t, res.Rollout, "web"); rec.Status != workflow.ConsumerToMove || res.Rollout.Settled || res.Rollout.WaitSeconds != 1 || w.serviceTD("web") != w.src {
		t.Fatalf("out of time: %+v (settled %v, wait %d)", rec, res.Rollout.Settled, res.Rollout.WaitSeconds)
	}
	st.Registered = &workflow.Registered{Result: res}
	if res, err = r.Watch(ctx, st); err != nil {
		t.Fatal(err)
	}
	// Moved, then its deployment judged in the same step (the proxy completes it at the first look).
	if rec := record(t, res.Rollout, "web"); rec.Status != workflow.ConsumerMoved || w.serviceTD("web") != res.NewARN || !res.Rollout.Settled {
		t.Fatalf("the next Watch: %+v on %s", rec, w.serviceTD("web"))
	}
}
