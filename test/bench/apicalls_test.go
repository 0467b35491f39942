package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/aws-sdk-go-v2/service/sfn"

	"github.com/ecslogfix/ecslogfix/internal/awsclient"
	"github.com/ecslogfix/ecslogfix/internal/awsfake"
	"github.com/ecslogfix/ecslogfix/internal/cloudtrail"
	detectfn "github.com/ecslogfix/ecslogfix/internal/detect"
	"github.com/ecslogfix/ecslogfix/internal/execution"
	"github.com/ecslogfix/ecslogfix/internal/inventory"
	"github.com/ecslogfix/ecslogfix/internal/loggroup"
	"github.com/ecslogfix/ecslogfix/internal/policy"
	"github.com/ecslogfix/ecslogfix/internal/remediate"
	"github.com/ecslogfix/ecslogfix/internal/sweep"
	"github.com/ecslogfix/ecslogfix/internal/workflow"
	"github.com/ecslogfix/ecslogfix/test/e2e/harness"
	"github.com/ecslogfix/ecslogfix/test/localaws"
)

const (
	benchAccount = "123456789012"
	benchRegion  = "us-east-1"
)

// awsConfig talks to endpoint with dummy credentials; counter, when set,
// counts every operation of every client made from it.
func awsConfig(endpoint string, counter *APICounter) aws.Config {
	cfg := localaws.Config(endpoint)
	if counter != nil {
		cfg.APIOptions = append(cfg.APIOptions, counter.Attach)
	}
	return cfg
}

// createStateMachine creates a trivial state machine in moto: detect only
// needs StartExecution to succeed.
func createStateMachine(t *testing.T, ctx context.Context, cfg aws.Config, name string) string {
	t.Helper()
	out, err := sfn.NewFromConfig(cfg).CreateStateMachine(ctx, &sfn.CreateStateMachineInput{
		Name:       aws.String(name),
		RoleArn:    aws.String("arn:aws:iam::" + benchAccount + ":role/" + name),
		Definition: aws.String(`{"StartAt":"Done","States":{"Done":{"Type":"Succeed"}}}`),
	})
	if err != nil {
		t.Fatalf("create state machine: %v", err)
	}
	return aws.ToString(out.StateMachineArn)
}

// registerFixture registers a repository task definition (testdata/taskdefs)
// under family.
func registerFixture(ctx context.Context, c *ecs.Client, root, file, family string) (*ecstypes.TaskDefinition, error) {
	in, err := harness.LoadTaskDefinition(filepath.Join(root, "testdata", "taskdefs", file), family)
	if err != nil {
		return nil, err
	}
	out, err := c.RegisterTaskDefinition(ctx, in)
	if err != nil {
		return nil, fmt.Errorf("register %s as %s: %w", file, family, err)
	}
	return out.TaskDefinition, nil
}

// cloudTrailEvent is the EventBridge event of a user's registration of td.
func cloudTrailEvent(td *ecstypes.TaskDefinition, eventID string) ([]byte, error) {
	detail := harness.RegisterEventDetail(harness.RegisterCall{
		EventID: eventID, TaskDefinitionARN: aws.ToString(td.TaskDefinitionArn), Family: aws.ToString(td.Family),
		Revision: td.Revision, Identity: harness.IAMUser("jane.doe"),
	})
	return json.Marshal(map[string]any{
		"version": "0", "id": "bench-" + eventID, "detail-type": cloudtrail.DetailType, "source": cloudtrail.Source,
		"account": benchAccount, "time": time.Now().UTC().Format(time.RFC3339), "region": benchRegion,
		"resources": []string{}, "detail": detail,
	})
}

// phase is the API calls one step made.
type phase struct {
	name   string
	counts Counts
}

func (p phase) String() string {
	var parts []string
	for _, a := range p.counts {
		s := fmt.Sprintf("%s %d", a.API, a.Calls)
		if a.Attempts != a.Calls {
			s += fmt.Sprintf(" (%d attempts)", a.Attempts)
		}
		parts = append(parts, s)
	}
	return p.name + ": " + strings.Join(parts, ", ")
}

// TestBenchAPICalls counts, with the SDK middleware (APICounter), the AWS
// calls of one remediation of a non-compliant task definition — detect,
// then the workflow's EnsureLogGroups and Register steps — and of one
// compliant event, running the same code the Lambdas run
// (detect.Detector and remediate.Remediator on the awsclient factory) in-process
// against moto. Notify's single SNS publish is counted on the wire from the
// real bootstrap by TestBenchEndToEnd (package e2e here), since notify's
// handler is a main package.
func TestBenchAPICalls(t *testing.T) {
	RequireBench(t)
	endpoint := localaws.Start(t, localaws.Options{}).Endpoint
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	root := moduleRoot(t)
	setup := awsConfig(endpoint, nil)
	counter := NewAPICounter()
	counted := awsConfig(endpoint, counter)
	smARN := createStateMachine(t, ctx, setup, "ecslogfix-bench")
	setupECS := ecs.NewFromConfig(setup)
	pol := policy.Default()
	quiet := slog.New(slog.NewJSONHandler(io.Discard, nil))
	factory := awsclient.New(counted, awsclient.Options{})
	detector := &detectfn.Detector{
		Starter: &execution.Starter{SFN: factory.SFN(), StateMachineARN: smARN, Policy: pol},
		ECS:     func(t workflow.Target) (detectfn.ECS, error) { return factory.ECS(awsclient.Scope{Region: t.Region}) },
		Logger:  quiet,
		Observe: func() *loggroup.Observer { return loggroup.ObserverFrom(factory) },
	}
	remediator := &remediate.Remediator{Policy: pol, Clients: remediate.ClientsFrom(factory), Logger: quiet}
	snapshot := func(name string) phase {
		p := phase{name: name, counts: counter.Counts()}
		counter.Reset()
		t.Log(p)
		return p
	}

	// One non-compliant registration: Fargate, no log configuration.
	src, err := registerFixture(ctx, setupECS, root, "td01-fargate-no-logconfig.json", "bench-api-noncompliant")
	if err != nil {
		t.Fatal(err)
	}
	event, err := cloudTrailEvent(src, "bench0000-0000-4000-8000-000000000001")
	if err != nil {
		t.Fatal(err)
	}
	counter.Reset()
	resp, err := detector.Handle(ctx, event)
	if err != nil || resp.Status != execution.StatusStarted {
		t.Fatalf("detect: %+v, %v", resp, err)
	}
	detect := snapshot("detect")
	exec, err := sfn.NewFromConfig(setup).DescribeExecution(ctx, &sfn.DescribeExecutionInput{ExecutionArn: aws.String(resp.ExecutionARN)})
	if err != nil {
		t.Fatal(err)
	}
	var in workflow.Input
	if err := json.Unmarshal([]byte(aws.ToString(exec.Input)), &in); err != nil {
		t.Fatal(err)
	}
	counter.Reset()
	out, err := remediator.Handle(ctx, workflow.Request{Action: workflow.ActionEnsureLogGroup, Input: workflow.State{Input: in}})
	if err != nil {
		t.Fatalf("ensure-log-group: %v", err)
	}
	ensure := snapshot("EnsureLogGroups")
	ensured := out.(workflow.Ensured)
	out, err = remediator.Handle(ctx, workflow.Request{Action: workflow.ActionRegister, Input: workflow.State{Input: in, Ensured: &ensured}})
	if err != nil {
		t.Fatalf("register: %v", err)
	}
	register := snapshot("Register")
	if res := out.(workflow.Result); res.Outcome != workflow.OutcomeRemediated {
		t.Fatalf("register outcome %s (%s), want %s", res.Outcome, res.Detail, workflow.OutcomeRemediated)
	}

	ecsLogs := func(ps ...phase) (calls, attempts int) {
		for _, p := range ps {
			c, a := p.counts.Total("ECS", "CloudWatch Logs")
			calls, attempts = calls+c, attempts+a
		}
		return calls, attempts
	}
	el, elAttempts := ecsLogs(detect, ensure, register)
	sfnCalls, _ := detect.counts.Total("SFN")
	all := []phase{detect, ensure, register}
	var detail []string
	for _, p := range all {
		detail = append(detail, p.String())
	}
	// 5 before groups were read: + EnsureLogGroups' re-read of the family
	// (no group for an execution that will not register) + its one
	// DescribeLogGroups per distinct group (the live fact the decision takes).
	RecordRow(t, Row{
		Measure: "AWS calls per remediation, SDK middleware, retries excluded (detect + EnsureLogGroups + Register, in-process on moto, default policy, one new log group)",
		Subject: "pipeline",
		Value: fmt.Sprintf("ECS/Logs %d (attempts %d) + SFN StartExecution %d — %s", el, elAttempts, sfnCalls,
			strings.Join(detail, "; ")),
		Target:  "≤ 7 ECS/Logs",
		Verdict: Verdict(el <= 7),
	})

	// One registration compliant but for its missing group: the group is
	// created, no revision (LOG_GROUP_CREATED).
	missing, err := registerFixture(ctx, setupECS, root, "td11-compliant-fargate.json", "bench-api-missing-group")
	if err != nil {
		t.Fatal(err)
	}
	if event, err = cloudTrailEvent(missing, "bench0000-0000-4000-8000-000000000003"); err != nil {
		t.Fatal(err)
	}
	counter.Reset()
	if resp, err = detector.Handle(ctx, event); err != nil || resp.Status != execution.StatusStarted {
		t.Fatalf("detect on a missing group: %+v, %v", resp, err)
	}
	mdetect := snapshot("detect")
	if exec, err = sfn.NewFromConfig(setup).DescribeExecution(ctx, &sfn.DescribeExecutionInput{ExecutionArn: aws.String(resp.ExecutionARN)}); err != nil {
		t.Fatal(err)
	}
	in = workflow.Input{}
	if err := json.Unmarshal([]byte(aws.ToString(exec.Input)), &in); err != nil {
		t.Fatal(err)
	}
	counter.Reset()
	if out, err = remediator.Handle(ctx, workflow.Request{Action: workflow.ActionEnsureLogGroup, Input: workflow.State{Input: in}}); err != nil {
		t.Fatal(err)
	}
	mensure := snapshot("EnsureLogGroups")
	ensured = out.(workflow.Ensured)
	if out, err = remediator.Handle(ctx, workflow.Request{Action: workflow.ActionRegister, Input: workflow.State{Input: in, Ensured: &ensured}}); err != nil {
		t.Fatal(err)
	}
	mregister := snapshot("Register")
	if res := out.(workflow.Result); res.Outcome != workflow.OutcomeLogGroupCreated {
		t.Fatalf("outcome %s (%s), want %s", res.Outcome, res.Detail, workflow.OutcomeLogGroupCreated)
	}
	mel, mAttempts := ecsLogs(mdetect, mensure, mregister)
	RecordRow(t, Row{
		Measure: "AWS calls per LOG_GROUP_CREATED (a revision compliant but for its missing group: detect + EnsureLogGroups + Register, in-process on moto)",
		Subject: "pipeline",
		Value:   fmt.Sprintf("ECS/Logs %d (attempts %d) + SFN StartExecution 1, no RegisterTaskDefinition — %s; %s; %s", mel, mAttempts, mdetect, mensure, mregister),
		Target:  "≤ 7 ECS/Logs, 0 registrations",
		Verdict: Verdict(mel <= 7 && !strings.Contains(mregister.String(), "RegisterTaskDefinition")),
	})

	// One compliant registration, its group existing: detect only.
	ok, err := registerFixture(ctx, setupECS, root, "td11-compliant-fargate.json", "bench-api-compliant")
	if err != nil {
		t.Fatal(err)
	}
	event, err = cloudTrailEvent(ok, "bench0000-0000-4000-8000-000000000002")
	if err != nil {
		t.Fatal(err)
	}
	counter.Reset()
	resp, err = detector.Handle(ctx, event)
	if err != nil || resp.Status != execution.StatusCompliant {
		t.Fatalf("detect on a compliant revision: %+v, %v", resp, err)
	}
	compliant := snapshot("detect")
	ecsCalls, _ := compliant.counts.Total("ECS")
	logsCalls, _ := compliant.counts.Total("CloudWatch Logs")
	calls, attempts := compliant.counts.Total()
	RecordRow(t, Row{
		Measure: "AWS calls per compliant event, SDK middleware, retries excluded (detect only; td11: two containers, one log group)",
		Subject: "detect",
		Value:   fmt.Sprintf("%d (attempts %d) — %s", calls, attempts, compliant),
		Target:  "1 call + at most 1 Logs read per distinct group (1)",
		Verdict: Verdict(ecsCalls == 1 && logsCalls <= 1 && calls == ecsCalls+logsCalls),
	})

	// A sweep of families that share one log group reads it once.
	const sharing = 20
	for i := range sharing {
		if _, err := registerFixture(ctx, setupECS, root, "td11-compliant-fargate.json", fmt.Sprintf("bench-api-shared-%02d", i)); err != nil {
			t.Fatal(err)
		}
	}
	sw := &sweep.Sweeper{
		Starter: &execution.Starter{SFN: factory.SFN(), StateMachineARN: smARN, Policy: pol},
		ECS:     func(t workflow.Target) (inventory.ECS, error) { return factory.ECS(awsclient.Scope{Region: t.Region}) },
		Reach:   execution.Reach{HomeAccount: benchAccount},
		S3:      awsfake.NewS3(), Bucket: "bench-sweeps", FamilyPrefix: "bench-api-shared-",
		Region: benchRegion, Logger: quiet,
		Observe: func() *loggroup.Observer { return loggroup.ObserverFrom(factory) },
	}
	inv, err := sw.Inventory(ctx, "bench-api")
	if err != nil {
		t.Fatal(err)
	}
	counter.Reset()
	if _, err := sw.Walk(ctx, workflow.Walk{SweepID: inv.SweepID, Target: workflow.Target{Account: benchAccount, Region: benchRegion}}); err != nil {
		t.Fatal(err)
	}
	swept := snapshot("sweep")
	st, err := sw.Summarize(ctx, workflow.SweepState{Inventory: inv})
	if err != nil || st.Summary.Compliant != sharing {
		t.Fatalf("sweep %+v, %v", st.Summary, err)
	}
	sweptLogs, _ := swept.counts.Total("CloudWatch Logs")
	RecordRow(t, Row{
		Measure: fmt.Sprintf("DescribeLogGroups in one sweep of %d compliant families writing to one log group (the run's observer)", sharing),
		Subject: "sweep",
		Value:   fmt.Sprintf("%d — %s", sweptLogs, swept),
		Target:  "1 per distinct group per run",
		Verdict: Verdict(sweptLogs == 1),
	})
}
