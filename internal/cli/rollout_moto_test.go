package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"maps"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"

	backoutsteps "github.com/ecslogfix/ecslogfix/internal/backout"
	"github.com/ecslogfix/ecslogfix/internal/cli/backout"
	"github.com/ecslogfix/ecslogfix/internal/cli/command"
	"github.com/ecslogfix/ecslogfix/internal/cli/fix"
	"github.com/ecslogfix/ecslogfix/internal/workflow"
	"github.com/ecslogfix/ecslogfix/test/e2e/harness"
	"github.com/ecslogfix/ecslogfix/test/faultproxy"
	"github.com/ecslogfix/ecslogfix/test/localaws"
)

// runVia runs the program against endpoint (the fault proxy in front of
// moto) with fix's waits counted instead of waited.
func runVia(t *testing.T, endpoint string, waits *int, args ...string) result {
	t.Helper()
	var out, errb bytes.Buffer
	a := &App{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errb, Getenv: os.Getenv, IsTerminal: func(io.Writer) bool { return false },
		LoadAWS: func(ctx context.Context, profile, region string) (aws.Config, error) {
			cfg, err := command.LoadAWS(ctx, profile, region)
			cfg.BaseEndpoint = aws.String(endpoint)
			return cfg, err
		},
		Wait: func(context.Context, time.Duration) error { *waits++; return nil },
	}
	code := a.Run(context.Background(), args)
	return result{code: code, stdout: out.String(), stderr: errb.String()}
}

// TestMotoFixRollout: fix --rollout previews the rollout in a dry run and
// runs the workflow's Rollout and Watch steps with --apply (through the
// fault proxy's ECS deployments); backout --execution reads the record
// from the execution's output and moves exactly the moved services back.
func TestMotoFixRollout(t *testing.T) {
	c, _ := needMoto(t)
	ctx := context.Background()
	proxy, err := faultproxy.Start(faultproxy.Config{Upstream: localaws.Shared(t).Endpoint,
		ECS: faultproxy.ECSConfig{Polls: 1, Fail: map[string]faultproxy.DeploymentFailure{"failing": {Reason: "tasks failed to start"}}}})
	if err != nil {
		t.Fatal(err)
	}
	defer proxy.Close()
	src, err := c.RegisterTaskDefinition(ctx, seedInput(kindAdd, "ro-web"))
	if err != nil {
		t.Fatal(err)
	}
	srcARN := aws.ToString(src.TaskDefinition.TaskDefinitionArn)
	cl, err := c.CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String("prod")})
	if err != nil {
		t.Fatal(err)
	}
	for name, ctrl := range map[string]types.DeploymentControllerType{"web": "ECS", "failing": "ECS", "blue-green": "CODE_DEPLOY"} {
		if _, err := c.CreateService(ctx, &ecs.CreateServiceInput{Cluster: aws.String("prod"), ServiceName: aws.String(name), TaskDefinition: aws.String(srcARN),
			DesiredCount: aws.Int32(1), DeploymentController: &types.DeploymentController{Type: ctrl}}); err != nil {
			t.Fatal(err)
		}
	}
	cfg, err := command.LoadAWS(ctx, "", "us-east-1")
	if err != nil {
		t.Fatal(err)
	}
	ev := eventbridge.NewFromConfig(cfg)
	if _, err := ev.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String("nightly"), ScheduleExpression: aws.String("rate(1 day)")}); err != nil {
		t.Fatal(err)
	}
	if _, err := ev.PutTargets(ctx, &eventbridge.PutTargetsInput{Rule: aws.String("nightly"), Targets: []ebtypes.Target{{Id: aws.String("run"),
		Arn: cl.Cluster.ClusterArn, RoleArn: aws.String("arn:aws:iam::123456789012:role/events"), EcsParameters: &ebtypes.EcsParameters{TaskDefinitionArn: aws.String(srcARN)}}}}); err != nil {
		t.Fatal(err)
	}
	serviceTD := func(name string) string {
		out, err := c.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String("prod"), Services: []string{name}})
		if err != nil || len(out.Services) != 1 {
			t.Fatalf("describe %s: %v", name, err)
		}
		return aws.ToString(out.Services[0].TaskDefinition)
	}
	decode := func(r result) fix.Item {
		t.Helper()
		var items []fix.Item
		if err := json.Unmarshal([]byte(r.stdout), &items); err != nil || len(items) != 1 {
			t.Fatalf("fix printed %v\n%s%s", err, r.stdout, r.stderr)
		}
		return items[0]
	}
	statuses := func(ro *workflow.Rollout) map[string]workflow.ConsumerStatus {
		m := map[string]workflow.ConsumerStatus{}
		if ro != nil {
			for _, c := range ro.Consumers {
				m[c.Name] = c.Status
			}
		}
		return m
	}

	// Dry run: what would move, nothing sent.
	var waits int
	r := runVia(t, proxy.URL, &waits, "fix", "--task-definition", "ro-web", "--rollout", "all", "--output", "json")
	dry := decode(r)
	want := map[string]workflow.ConsumerStatus{"web": workflow.ConsumerToMove, "failing": workflow.ConsumerToMove, "blue-green": workflow.ConsumerNeedsHuman, "nightly": workflow.ConsumerToMove}
	if got := statuses(dry.Rollout); !maps.Equal(got, want) || r.code != ExitViolation {
		t.Fatalf("dry run: exit %d, rollout %v, want %v\n%s", r.code, got, want, r.stderr)
	}
	if len(proxy.ECSUpdates()) != 0 || serviceTD("web") != srcARN {
		t.Fatalf("a dry run changed something: %+v", proxy.ECSUpdates())
	}

	// Apply with --rollout services.
	r = runVia(t, proxy.URL, &waits, "fix", "--task-definition", "ro-web", "--rollout", "services", "--apply", "--output", "json")
	it := decode(r)
	want = map[string]workflow.ConsumerStatus{"web": workflow.ConsumerMoved, "failing": workflow.ConsumerRolloutFailed, "blue-green": workflow.ConsumerNeedsHuman, "nightly": workflow.ConsumerNotMoved}
	if got := statuses(it.Rollout); !maps.Equal(got, want) || it.Outcome != workflow.OutcomeRemediated {
		t.Fatalf("apply: %s, rollout %v, want %v\n%s", it.Outcome, got, want, r.stderr)
	}
	if r.code != ExitViolation || !strings.Contains(r.stderr, "1 consumers moved, 1 rollouts failed") {
		t.Errorf("apply: exit %d, summary %s", r.code, r.stderr)
	}
	if waits != 2 {
		t.Errorf("fix waited %d times before Watch steps, want 2 (the proxy's deployments settle at the second look)", waits)
	}
	if serviceTD("web") != it.NewARN || serviceTD("failing") != srcARN || serviceTD("blue-green") != srcARN {
		t.Errorf("services run web %s, failing %s, blue-green %s", serviceTD("web"), serviceTD("failing"), serviceTD("blue-green"))
	}
	if refused := proxy.Refused(); len(refused) != 0 {
		t.Errorf("UpdateService with a task definition reached a CODE_DEPLOY service: %+v", refused)
	}
	if len(it.Backout) == 0 || it.Backout[0].Kind != backoutsteps.StepMoveService || it.Backout[0].Service != "web" || it.Backout[0].Conditional {
		t.Errorf("backout steps %+v, want web's exact move first", it.Backout)
	}

	// The execution's output, as the workflow leaves it, in moto's Step
	// Functions: backout --execution reads the record from it.
	res := workflow.Result{Version: workflow.Version, Outcome: it.Outcome, Target: workflow.Target{Account: "123456789012", Region: "us-east-1"},
		Family: "ro-web", SourceARN: srcARN, NewARN: it.NewARN, Rollout: it.Rollout}
	execARN := motoExecution(t, cfg, map[string]any{"registered": map[string]any{"result": res}})
	r = runVia(t, proxy.URL, &waits, "backout", "--task-definition", "ro-web:2", "--execution", execARN, "--apply", "--output", "json")
	if r.code != ExitOK {
		t.Fatalf("backout --execution: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	// moto keeps the reference as UpdateService was given it (FAMILY:REV,
	// as the notification's command gives it); AWS answers with the ARN.
	if backoutsteps.FamilyRevision(serviceTD("web")) != "ro-web:1" || serviceTD("failing") != srcARN {
		t.Errorf("after backout: web %s, failing %s", serviceTD("web"), serviceTD("failing"))
	}
	var moves int
	for _, u := range proxy.ECSUpdates() {
		if u.Service == "web" && strings.HasSuffix(u.TaskDefinition, "ro-web:1") {
			moves++
		}
	}
	if moves != 1 {
		t.Errorf("backout sent %d updates of web to ro-web:1, want 1: %+v", moves, proxy.ECSUpdates())
	}
	var steps []backout.Step
	if err := json.Unmarshal([]byte(r.stdout), &steps); err != nil {
		t.Fatal(err)
	}
	for _, s := range steps {
		if s.Kind == backoutsteps.StepMoveService && (s.Service != "web" || s.Status != backout.StepDone) {
			t.Errorf("backout step %+v: only web was moved by the rollout", s)
		}
	}

	// Again: nothing left to do; every step says why.
	r = runVia(t, proxy.URL, &waits, "backout", "--task-definition", "ro-web:2", "--execution", execARN, "--apply", "--output", "json")
	if err := json.Unmarshal([]byte(r.stdout), &steps); err != nil || r.code != ExitOK {
		t.Fatalf("backout again: exit %d %v\n%s", r.code, err, r.stderr)
	}
	for _, s := range steps {
		if s.Status != backout.StepSkipped || s.Reason == "" {
			t.Errorf("backout again: %s %s %q", s.Kind, s.Status, s.Reason)
		}
	}
}

// motoExecution makes moto's Step Functions run a one-state machine whose
// output is out, and returns the finished execution's ARN.
func motoExecution(t *testing.T, cfg aws.Config, out any) string {
	t.Helper()
	ctx := context.Background()
	resp, err := http.Post(aws.ToString(cfg.BaseEndpoint)+"/moto-api/config", "application/json", strings.NewReader(`{"stepfunctions":{"execute_state_machine":true}}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	def, _ := json.Marshal(map[string]any{"StartAt": "Done", "States": map[string]any{"Done": map[string]any{"Type": "Pass", "Result": out, "End": true}}})
	c := sfn.NewFromConfig(cfg)
	sm, err := c.CreateStateMachine(ctx, &sfn.CreateStateMachineInput{Name: aws.String("ecslogfix-remediation"), Definition: aws.String(string(def)), RoleArn: aws.String("arn:aws:iam::123456789012:role/sfn")})
	if err != nil {
		t.Fatal(err)
	}
	ex, err := c.StartExecution(ctx, &sfn.StartExecutionInput{StateMachineArn: sm.StateMachineArn, Name: aws.String("x")})
	if err != nil {
		t.Fatal(err)
	}
	wait, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	d, err := harness.WaitExecution(wait, c, aws.ToString(ex.ExecutionArn))
	if err != nil || d.Status != sfntypes.ExecutionStatusSucceeded {
		t.Fatalf("moto's execution: %v %+v", err, d)
	}
	return aws.ToString(ex.ExecutionArn)
}
