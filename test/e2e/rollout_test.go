package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/ecslogfix/ecslogfix/internal/cli"
	"github.com/ecslogfix/ecslogfix/internal/config"
	"github.com/ecslogfix/ecslogfix/internal/config/naming"
	"github.com/ecslogfix/ecslogfix/internal/execution"
	"github.com/ecslogfix/ecslogfix/internal/message"
	"github.com/ecslogfix/ecslogfix/internal/message/notice"
	"github.com/ecslogfix/ecslogfix/internal/taskdef"
	"github.com/ecslogfix/ecslogfix/internal/workflow"
	"github.com/ecslogfix/ecslogfix/test/e2e/harness"
	"github.com/ecslogfix/ecslogfix/test/e2e/synth"
	"github.com/ecslogfix/ecslogfix/test/faultproxy"
	"github.com/ecslogfix/ecslogfix/test/localaws"
)

// rolloutSynth is the single stack with the rollout's settings,
// synthesized once per test binary.
var rolloutSynth = sync.OnceValues(func() (*synth.Stack, error) {
	root, err := localaws.RepoRoot()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "ecslogfix-e2e-rollout-cdk-")
	if err != nil {
		return nil, err
	}
	// The stack moves services; a task definition's tag asks for all.
	// A 1 s poll keeps the watch loop short against the proxy's
	// deployments, which settle at the second look.
	return synth.Synthesize(root, dir, config.ModeSingle, map[string]any{
		"ecslogfix:policy.rollout": "services", "ecslogfix:policy.rolloutPollSeconds": 1,
	})
})

// TestRollout runs the synthesized stack end to end with the rollout: the
// real detect, remediate and notify bootstraps under the emulator, moto's
// Step Functions running the synthesized definition (Rollout, the Wait and
// Watch loop), remediate's AWS calls going through the fault proxy's ECS
// model (moto accepts UpdateService with a task definition on CODE_DEPLOY
// and EXTERNAL services and never reports a deployment's progress). An
// ECS-controller service ends on the new revision, one whose deployment
// fails is put back and reported ROLLOUT_FAILED, CODE_DEPLOY and EXTERNAL
// services are never sent a task definition, a rule target and a schedule
// move; then `ecslogfix backout --execution` restores every consumer to
// its recorded revision.
func TestRollout(t *testing.T) {
	tools := localaws.RequireTools(t)
	syn, err := rolloutSynth()
	if err != nil {
		t.Fatalf("synthesize: %v", err)
	}
	t.Cleanup(func() {
		if !t.Failed() { // kept for inspection otherwise; TestMain stops jsii
			os.RemoveAll(syn.Dir)
		}
	})
	ctx := testContext(t, 10*time.Minute)
	opts := harness.StackOptions{Tools: tools, Template: syn.Template, Packages: syn.Packages, Dir: t.TempDir(), Log: verbose()}
	s, err := harness.StartStack(ctx, opts)
	if err != nil {
		t.Fatalf("start the stack: %v", err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("process output (tail):\n%s", tail(s.Logs(), 20000))
		}
		if err := s.Close(); err != nil {
			t.Errorf("stop the stack: %v", err)
		}
	})
	p := &pipeline{Stack: s, names: syn.Config.Names(), cfg: syn.Config, ecs: ecs.NewFromConfig(s.Config), root: tools.Root}

	// remediate talks to AWS through the proxy: a second remediate
	// bootstrap, with the synthesized environment, takes the function's
	// name in moto's Lambda map.
	proxy, err := faultproxy.Start(faultproxy.Config{Upstream: s.Moto.Endpoint, ECS: faultproxy.ECSConfig{Polls: 1,
		Fail: map[string]faultproxy.DeploymentFailure{"e2e-failing": {Reason: "tasks failed to start"}}}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { proxy.Close() })
	remediateName := p.names.Function(naming.FunctionRemediate)
	env := functionEnv(t, syn.Template, remediateName, s.Moto.LambdaEnv())
	env["AWS_ENDPOINT_URL"] = proxy.URL
	viaProxy := localaws.NewFunction(t, localaws.FunctionOptions{Name: remediateName, Bootstrap: localaws.Bootstrap(t, "./functions/remediate"), Env: env, Timeout: 120 * time.Second, Log: verbose()})
	if err := s.Moto.MapFunction(ctx, remediateName, viaProxy.URL); err != nil {
		t.Fatal(err)
	}

	// The source, tagged to roll out to everything, and what runs it.
	in, err := harness.LoadTaskDefinition(filepath.Join(p.root, "testdata", "taskdefs", "td01-fargate-no-logconfig.json"), "e2e-rollout")
	if err != nil {
		t.Fatal(err)
	}
	in.Tags = append(in.Tags, ecstypes.Tag{Key: aws.String(taskdef.TagRollout), Value: aws.String("all")})
	out, err := p.ecs.RegisterTaskDefinition(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	src := out.TaskDefinition
	srcARN := aws.ToString(src.TaskDefinitionArn)
	cons, err := harness.NewConsumers(ctx, s.Config)
	if err != nil {
		t.Fatal(err)
	}
	for name, ctrl := range map[string]ecstypes.DeploymentControllerType{"e2e-web": "ECS", "e2e-failing": "ECS", "e2e-blue-green": "CODE_DEPLOY", "e2e-task-sets": "EXTERNAL"} {
		if err := cons.Service(ctx, name, srcARN, ctrl); err != nil {
			t.Fatal(err)
		}
	}
	// The rule lives on a custom bus: ecslogfix lists every bus's rules,
	// and moto's PutEvents on the default bus (the CloudTrail event) cannot
	// route to a rule's ECS target.
	if err := cons.RuleTarget(ctx, "e2e-batch", "e2e-nightly", srcARN); err != nil {
		t.Fatal(err)
	}
	if err := cons.Schedule(ctx, "e2e-report", srcARN); err != nil {
		t.Fatal(err)
	}
	runs := func(kind, name string) string {
		t.Helper()
		td, err := cons.Runs(ctx, kind, "e2e-batch", name)
		if err != nil {
			t.Fatal(err)
		}
		return td
	}

	// The event → detect → the workflow.
	resp := p.deliver(t, ctx, src, "e2e00000-0000-4000-8000-000000000501", harness.IAMUser("jane.doe"))
	if resp.Status != execution.StatusStarted {
		t.Fatalf("detect: %s %s", resp.Status, resp.Reason)
	}
	execs := p.newExecutions(t, ctx, map[string]bool{})
	if len(execs) != 1 || execs[0].Status != sfntypes.ExecutionStatusSucceeded {
		for _, e := range execs {
			t.Logf("execution %s %s\n%s", aws.ToString(e.Name), e.Status, p.history(ctx, aws.ToString(e.ExecutionArn)))
		}
		t.Fatalf("%d executions, want 1 SUCCEEDED", len(execs))
	}
	e := execs[0]
	history := p.history(ctx, aws.ToString(e.ExecutionArn))
	for _, state := range []string{workflow.StateRollout, workflow.StateRolloutWait, workflow.StateWatch} {
		if !strings.Contains(history, state) {
			t.Errorf("the execution never entered %s:\n%s", state, history)
		}
	}
	na, err := taskdef.ParseARN(srcARN)
	if err != nil {
		t.Fatal(err)
	}
	na.Revision++
	newARN := na.String()

	// Where each consumer is now.
	for _, c := range []struct{ kind, name, want string }{
		{harness.RunsService, "e2e-web", newARN}, {harness.RunsService, "e2e-failing", srcARN}, {harness.RunsService, "e2e-blue-green", srcARN}, {harness.RunsService, "e2e-task-sets", srcARN},
		{harness.RunsRuleTarget, "e2e-nightly", newARN}, {harness.RunsSchedule, "e2e-report", newARN},
	} {
		if got := runs(c.kind, c.name); got != c.want {
			t.Errorf("%s %s runs %s, want %s", c.kind, c.name, got, c.want)
		}
	}
	if refused := proxy.Refused(); len(refused) != 0 {
		t.Errorf("ecslogfix sent UpdateService with a task definition to a CODE_DEPLOY or EXTERNAL service (AWS refuses it): %+v", refused)
	}
	for _, u := range proxy.ECSUpdates() {
		if fmt.Sprint(u.Fields) != "[cluster service taskDefinition]" {
			t.Errorf("UpdateService %s sent %v, want only the task definition", u.Service, u.Fields)
		}
	}

	// The notification: the rollout record, ROLLOUT_FAILED with the
	// deployment's reason, the backout steps of exactly the moved consumers.
	subscribed, err := p.Notifications(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(subscribed) != 1 {
		t.Fatalf("%d notifications, want 1", len(subscribed))
	}
	n := subscribed[0]
	if n.MessageAttributes["outcome"].Value != string(workflow.OutcomeRemediated) || n.MessageAttributes[message.AttrRollout].Value != notice.RolloutFailed {
		t.Errorf("attributes %+v", n.MessageAttributes)
	}
	var doc message.Document
	if err := json.Unmarshal([]byte(n.Message), &doc); err != nil || doc.Rollout == nil {
		t.Fatalf("document %v: %s", err, n.Message)
	}
	status := map[string]workflow.ConsumerStatus{}
	for _, c := range doc.Rollout.Consumers {
		status[c.Name] = c.Status
		if c.Name == "e2e-failing" && !strings.Contains(c.Reason, "tasks failed to start") {
			t.Errorf("e2e-failing: reason %q", c.Reason)
		}
	}
	wantStatus := map[string]workflow.ConsumerStatus{"e2e-web": workflow.ConsumerMoved, "e2e-failing": workflow.ConsumerRolloutFailed,
		"e2e-blue-green": workflow.ConsumerNeedsHuman, "e2e-task-sets": workflow.ConsumerNeedsHuman, "e2e-nightly": workflow.ConsumerMoved, "e2e-report": workflow.ConsumerMoved}
	if fmt.Sprint(status) != fmt.Sprint(wantStatus) || doc.Rollout.Mode != "all" {
		t.Errorf("rollout mode %s, statuses %v, want all %v", doc.Rollout.Mode, status, wantStatus)
	}
	var backout string
	for _, st := range doc.Backout {
		backout += st.Command + "\n"
	}
	for _, want := range []string{"--service e2e-web ", "--rule e2e-nightly ", "--name e2e-report ", "deregister-task-definition"} {
		if !strings.Contains(backout, want) {
			t.Errorf("backout lacks %q:\n%s", want, backout)
		}
	}
	for _, not := range []string{"e2e-failing", "e2e-blue-green", "e2e-task-sets", "<CLUSTER>"} {
		if strings.Contains(backout, not) {
			t.Errorf("backout names %q, which the rollout did not move:\n%s", not, backout)
		}
	}

	// ecslogfix backout --execution: every consumer back on its recorded
	// revision, the new revision deregistered.
	var stdout, stderr bytes.Buffer
	app := &cli.App{Stdin: strings.NewReader(""), Stdout: &stdout, Stderr: &stderr, Getenv: func(string) string { return "" },
		IsTerminal: func(io.Writer) bool { return false },
		LoadAWS:    func(context.Context, string, string) (aws.Config, error) { return s.Config, nil }}
	args := []string{"backout", "--task-definition", newARN, "--execution", aws.ToString(e.ExecutionArn), "--apply"}
	if code := app.Run(ctx, args); code != cli.ExitOK {
		t.Fatalf("ecslogfix %s: exit %d\n%s%s", strings.Join(args, " "), code, stdout.String(), stderr.String())
	}
	t.Logf("ecslogfix %s:\n%s", strings.Join(args, " "), stdout.String())
	for _, c := range []struct{ kind, name string }{
		{harness.RunsService, "e2e-web"}, {harness.RunsService, "e2e-failing"}, {harness.RunsService, "e2e-blue-green"}, {harness.RunsService, "e2e-task-sets"},
		{harness.RunsRuleTarget, "e2e-nightly"}, {harness.RunsSchedule, "e2e-report"},
	} {
		got := runs(c.kind, c.name)
		if a, err := taskdef.ParseRef(got); err != nil || a.FamilyRevision() != fmt.Sprintf("e2e-rollout:%d", src.Revision) {
			t.Errorf("after backout %s %s runs %s, want the source %s", c.kind, c.name, got, srcARN)
		}
	}
	d, err := p.ecs.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String(newARN)})
	if err != nil || d.TaskDefinition.Status != ecstypes.TaskDefinitionStatusInactive {
		t.Errorf("the new revision after backout: %v %v", err, d)
	}
}

// functionEnv is the environment StartStack gives a function: base plus
// its synthesized variables.
func functionEnv(t *testing.T, tmpl *harness.Template, name string, base map[string]string) map[string]string {
	t.Helper()
	for _, r := range tmpl.Resources("AWS::Lambda::Function") {
		if tmpl.PhysicalName(r.LogicalID) != name {
			continue
		}
		e, _ := r.Properties["Environment"].(map[string]any)
		vars, err := tmpl.Resolve(e["Variables"])
		if err != nil {
			t.Fatal(err)
		}
		for k, v := range vars.(map[string]any) {
			base[k] = v.(string)
		}
		return base
	}
	t.Fatalf("no function %s in the template", name)
	return nil
}
