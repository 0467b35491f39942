package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/ecslogfix/ecslogfix/internal/config"
	"github.com/ecslogfix/ecslogfix/internal/config/fnenv"
	"github.com/ecslogfix/ecslogfix/internal/config/naming"
	"github.com/ecslogfix/ecslogfix/internal/detect"
	"github.com/ecslogfix/ecslogfix/internal/digest"
	"github.com/ecslogfix/ecslogfix/internal/execution"
	"github.com/ecslogfix/ecslogfix/internal/message"
	"github.com/ecslogfix/ecslogfix/internal/policy"
	"github.com/ecslogfix/ecslogfix/internal/taskdef"
	"github.com/ecslogfix/ecslogfix/internal/workflow"
	"github.com/ecslogfix/ecslogfix/test/cdkenv"
	"github.com/ecslogfix/ecslogfix/test/e2e/harness"
	"github.com/ecslogfix/ecslogfix/test/e2e/synth"
	"github.com/ecslogfix/ecslogfix/test/localaws"
)

func TestMain(m *testing.M) {
	code := cdkenv.Run(m.Run)
	if synthDir != "" && code == 0 { // kept for inspection when a test failed
		os.RemoveAll(synthDir)
	}
	os.Exit(code)
}

// synthDir is the cloud assembly directory of synthesized, once it ran.
var synthDir string

// synthesized is the single-account stack, synthesized once per test binary.
var synthesized = sync.OnceValues(func() (*synth.Stack, error) {
	root, err := localaws.RepoRoot()
	if err != nil {
		return nil, err
	}
	if synthDir, err = os.MkdirTemp("", "ecslogfix-e2e-cdk-"); err != nil {
		return nil, err
	}
	return synth.Synthesize(root, synthDir, config.ModeSingle, nil)
})

// pipeline is a running stack and the clients the assertions use.
type pipeline struct {
	*harness.Stack
	names naming.Names
	cfg   config.Config
	ecs   *ecs.Client
	logs  *cloudwatchlogs.Client
	root  string
}

func startPipeline(t *testing.T, tools localaws.Tools) *pipeline {
	t.Helper()
	start := time.Now()
	syn, err := synthesized()
	if err != nil {
		t.Fatalf("synthesize the single-account stack: %v", err)
	}
	t.Logf("synthesized in %s (once per test binary)", time.Since(start).Round(time.Millisecond))
	ctx := testContext(t, 10*time.Minute)
	opts := harness.StackOptions{Tools: tools, Template: syn.Template, Packages: syn.Packages, Dir: t.TempDir(), Log: verbose(), StandIns: true,
		Env: digestPolledQuickly(syn.Config.Names())}
	start = time.Now()
	s, err := harness.StartStack(ctx, opts)
	if err != nil {
		t.Fatalf("start the stack: %v", err)
	}
	t.Logf("stack started in %s (moto, a bootstrap built and an emulator started per function)", time.Since(start).Round(time.Millisecond))
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("process output (tail):\n%s", tail(s.Logs(), 20000))
		}
		if err := s.Close(); err != nil {
			t.Errorf("stop the stack: %v", err)
		}
	})
	return &pipeline{Stack: s, names: syn.Config.Names(), cfg: syn.Config,
		ecs: ecs.NewFromConfig(s.Config), logs: cloudwatchlogs.NewFromConfig(s.Config), root: tools.Root}
}

// digestPolledQuickly makes notify ask for the sweep's outcomes every
// second instead of every minute (fnenv.EnvDigestPoll), so a sweep's
// digest follows its executions closely in the tests.
func digestPolledQuickly(n naming.Names) map[string]map[string]string {
	return map[string]map[string]string{n.Function(naming.FunctionNotify): {fnenv.EnvDigestPoll: "1"}}
}

// attribute is a published message's string attribute.
func attribute(m localaws.Published, name string) string {
	a, _ := m.MessageAttributes[name].(map[string]any)
	v, _ := a["StringValue"].(string) // as published (moto keeps the request's shape)
	if v == "" {
		v, _ = a["Value"].(string) // as SNS delivers it
	}
	return v
}

// register registers a corpus task definition under family and returns it.
func (p *pipeline) register(t *testing.T, ctx context.Context, file, family string) *ecstypes.TaskDefinition {
	t.Helper()
	in, err := harness.LoadTaskDefinition(filepath.Join(p.root, "testdata", "taskdefs", file), family)
	if err != nil {
		t.Fatal(err)
	}
	out, err := p.ecs.RegisterTaskDefinition(ctx, in)
	if err != nil {
		t.Fatalf("register %s: %v", file, err)
	}
	return out.TaskDefinition
}

// deliver puts the event of a registration by identity on the bus, pumps
// it to detect and returns detect's answer.
func (p *pipeline) deliver(t *testing.T, ctx context.Context, td *ecstypes.TaskDefinition, eventID string, identity map[string]any) execution.Response {
	t.Helper()
	call := harness.RegisterCall{
		EventID: eventID, TaskDefinitionARN: aws.ToString(td.TaskDefinitionArn), Family: aws.ToString(td.Family),
		Revision: td.Revision, Identity: identity, Request: harness.RequestParameters(td),
	}
	if err := p.PutRegisterEvent(ctx, call); err != nil {
		t.Fatal(err)
	}
	deliveries, err := p.Pump(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(deliveries) != 1 {
		t.Fatalf("the register rule delivered %d events to its targets, want 1", len(deliveries))
	}
	d := deliveries[0]
	if d.Target.Function != p.names.Function(naming.FunctionDetect) {
		t.Fatalf("the rule's target is %s, want detect", d.Target.Function)
	}
	if err := d.Invocation.Err(d.Target.Function); err != nil {
		t.Fatalf("detect: %v", err)
	}
	var resp execution.Response
	if err := json.Unmarshal(d.Invocation.Payload, &resp); err != nil {
		t.Fatalf("detect answered %s: %v", d.Invocation.Payload, err)
	}
	t.Logf("detect: %s %s (%s)", resp.Status, resp.Reason, d.Invocation.Duration.Round(time.Millisecond))
	if resp.Reason == detect.IgnoreParse {
		t.Logf("the event detect could not parse:\n%s", d.Event)
	}
	return resp
}

// newExecutions returns the remediation workflow's executions not in seen
// (by ARN), all finished, and adds them to seen.
func (p *pipeline) newExecutions(t *testing.T, ctx context.Context, seen map[string]bool) []*sfn.DescribeExecutionOutput {
	t.Helper()
	return remediations(t, ctx, p.Stack, p.names.StateMachine(), seen)
}

func (p *pipeline) history(ctx context.Context, arn string) string {
	h, err := harness.History(ctx, p.SFN, arn)
	if err != nil {
		return h + "\n(history: " + err.Error() + ")"
	}
	return h
}

// describe reads a revision with its tags.
func (p *pipeline) describe(t *testing.T, ctx context.Context, ref string) (*ecstypes.TaskDefinition, []ecstypes.Tag) {
	t.Helper()
	out, err := p.ecs.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{
		TaskDefinition: aws.String(ref), Include: []ecstypes.TaskDefinitionField{ecstypes.TaskDefinitionFieldTags},
	})
	if err != nil {
		t.Fatalf("describe %s: %v", ref, err)
	}
	return out.TaskDefinition, out.Tags
}

// revisions lists a family's revision ARNs (ascending).
func (p *pipeline) revisions(t *testing.T, ctx context.Context, family string) []string {
	t.Helper()
	out, err := p.ecs.ListTaskDefinitions(ctx, &ecs.ListTaskDefinitionsInput{FamilyPrefix: aws.String(family)})
	if err != nil {
		t.Fatal(err)
	}
	var arns []string
	for _, a := range out.TaskDefinitionArns {
		if strings.Contains(a, ":task-definition/"+family+":") {
			arns = append(arns, a)
		}
	}
	return arns
}

// TestPipeline runs the synthesized single-account stack end to end: the
// CloudTrail event goes through the synthesized EventBridge rule to the
// real detect bootstrap, which starts the synthesized state machine in
// moto, whose Tasks run the real remediate and notify bootstraps.
func TestPipeline(t *testing.T) {
	tools := localaws.RequireTools(t)
	p := startPipeline(t, tools)
	ctx := testContext(t, 10*time.Minute)
	seen := map[string]bool{}
	var published int // messages published so far
	nextPublished := func(t *testing.T) []localaws.Published {
		t.Helper()
		all, err := p.Moto.Published(ctx)
		if err != nil {
			t.Fatal(err)
		}
		out := all[published:]
		published = len(all)
		return out
	}
	retention := p.cfg.Policy.RetentionDays
	remediated := map[string]*ecstypes.TaskDefinition{} // family → its remediated revision

	corpus := []struct{ file, family string }{
		{"td01-fargate-no-logconfig.json", "e2e-fargate-no-logconfig"},
		{"td02-one-of-three-missing.json", "e2e-one-of-three"},
		{"td13-ec2-bridge-kitchen-sink.json", "e2e-kitchen-sink"},
		{"td37-secrets-envfiles.json", "e2e-secrets"},
	}
	for i, c := range corpus {
		t.Run("remediates/"+c.family, func(t *testing.T) {
			src := p.register(t, ctx, c.file, c.family)
			srcARN := aws.ToString(src.TaskDefinitionArn)
			resp := p.deliver(t, ctx, src, fmt.Sprintf("e2e00000-0000-4000-8000-%012d", i+1), harness.IAMUser("jane.doe"))
			if resp.Status != execution.StatusStarted {
				t.Fatalf("detect status %q (%s), want %q", resp.Status, resp.Reason, execution.StatusStarted)
			}
			execs := p.newExecutions(t, ctx, seen)
			if len(execs) != 1 {
				t.Fatalf("%d new executions, want 1", len(execs))
			}
			e := execs[0]
			t.Logf("execution %s in %s", e.Status, aws.ToTime(e.StopDate).Sub(aws.ToTime(e.StartDate)).Round(time.Millisecond))
			if e.Status != sfntypes.ExecutionStatusSucceeded {
				t.Fatalf("execution %s: %s %s: %s\n%s", aws.ToString(e.Name), e.Status, aws.ToString(e.Error), aws.ToString(e.Cause), p.history(ctx, aws.ToString(e.ExecutionArn)))
			}

			// The family's new revision: the source + 1, compliant, otherwise identical.
			revs := p.revisions(t, ctx, c.family)
			if len(revs) != 2 {
				t.Fatalf("family %s has revisions %v, want the source and one remediation", c.family, revs)
			}
			newTD, newTags := p.describe(t, ctx, revs[1])
			oldTD, oldTags := p.describe(t, ctx, srcARN)
			remediated[c.family] = newTD
			assertLossless(t, oldTD, oldTags, newTD, newTags)
			assertTag(t, newTags, taskdef.TagSourceRevision, fmt.Sprint(src.Revision)) // the revision it was built from

			// Every log group the remediation pointed a container to
			// exists, with a retention.
			for _, cd := range newTD.ContainerDefinitions {
				lc := cd.LogConfiguration
				if lc == nil || lc.LogDriver != ecstypes.LogDriverAwslogs {
					t.Errorf("container %s: log configuration %+v, want awslogs", aws.ToString(cd.Name), lc)
					continue
				}
				// The user's own groups too, in their own region: ensured
				// before the revision was registered.
				group, region := lc.Options["awslogs-group"], lc.Options["awslogs-region"]
				g := p.group(t, ctx, region, group)
				switch {
				case g == nil:
					t.Errorf("log group %s (%s) of container %s does not exist", group, region, aws.ToString(cd.Name))
				case retention > 0 && aws.ToInt32(g.RetentionInDays) != int32(retention):
					t.Errorf("log group %s: retention %d days, want %d", group, aws.ToInt32(g.RetentionInDays), retention)
				}
			}

			// One notification, with backout commands, nothing secret.
			msgs := nextPublished(t)
			if len(msgs) != 1 {
				t.Fatalf("%d messages published, want 1", len(msgs))
			}
			email := msgs[0].Structured("email")
			if !strings.Contains(email, "deregister-task-definition") || !strings.Contains(email, aws.ToString(newTD.TaskDefinitionArn)[strings.LastIndex(aws.ToString(newTD.TaskDefinitionArn), "/")+1:]) {
				t.Errorf("email text lacks the backout command for the new revision:\n%s", email)
			}
			subscribed, err := p.Notifications(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if len(subscribed) != 1 {
				t.Fatalf("the SQS subscriber received %d messages, want 1", len(subscribed))
			}
			var doc map[string]any
			if err := json.Unmarshal([]byte(subscribed[0].Message), &doc); err != nil {
				t.Errorf("the sqs message is not the structured JSON document: %v\n%s", err, subscribed[0].Message)
			}
			if got := subscribed[0].MessageAttributes["outcome"].Value; got != string(workflow.OutcomeRemediated) {
				t.Errorf("message attribute outcome = %q, want %s", got, workflow.OutcomeRemediated)
			}
			if !strings.Contains(subscribed[0].Message, "deregister-task-definition") {
				t.Errorf("the structured message lacks the backout commands:\n%s", subscribed[0].Message)
			}
			assertNoSecrets(t, ctx, p, src, append([]string{email, subscribed[0].Message}, msgs[0].Message))
		})
	}

	t.Run("duplicate-delivery-changes-nothing", func(t *testing.T) {
		family := corpus[0].family
		src, _ := p.describe(t, ctx, family+":1")
		before := p.revisions(t, ctx, family)
		resp := p.deliver(t, ctx, src, "e2e00000-0000-4000-8000-000000000001", harness.IAMUser("jane.doe"))
		if resp.Status == execution.StatusStarted {
			t.Errorf("a second delivery of the same event started an execution")
		}
		if execs := p.newExecutions(t, ctx, seen); len(execs) != 0 {
			t.Errorf("%d new executions after a duplicate delivery", len(execs))
		}
		if after := p.revisions(t, ctx, family); len(after) != len(before) {
			t.Errorf("revisions %v → %v after a duplicate delivery", before, after)
		}
		if msgs := nextPublished(t); len(msgs) != 0 {
			t.Errorf("%d messages published after a duplicate delivery", len(msgs))
		}
	})

	t.Run("own-registration-starts-nothing", func(t *testing.T) {
		family := corpus[0].family
		ours := remediated[family]
		if ours == nil {
			t.Skip("the remediation of " + family + " did not happen")
		}
		role := p.names.FunctionRole(naming.FunctionRemediate)
		resp := p.deliver(t, ctx, ours, "e2e00000-0000-4000-8000-000000000101", harness.AssumedRole(role, "ecslogfix-remediate"))
		if resp.Status != execution.StatusIgnored || resp.Reason != detect.IgnoreOwnRole {
			t.Errorf("detect on our own registration: %s %s, want %s %s", resp.Status, resp.Reason, execution.StatusIgnored, detect.IgnoreOwnRole)
		}
		if execs := p.newExecutions(t, ctx, seen); len(execs) != 0 {
			t.Errorf("%d executions started by our own registration", len(execs))
		}
		if msgs := nextPublished(t); len(msgs) != 0 {
			t.Errorf("%d messages published for our own registration", len(msgs))
		}
	})

	t.Run("compliant-registration-starts-nothing", func(t *testing.T) {
		// Compliant in fact: its log group exists.
		if _, err := p.logs.CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String("/ecs/payments-gateway")}); err != nil {
			t.Fatal(err)
		}
		src := p.register(t, ctx, "td11-compliant-fargate.json", "e2e-compliant")
		resp := p.deliver(t, ctx, src, "e2e00000-0000-4000-8000-000000000201", harness.IAMUser("jane.doe"))
		if resp.Status != execution.StatusCompliant {
			t.Errorf("detect on a compliant revision: %s %s, want %s", resp.Status, resp.Reason, execution.StatusCompliant)
		}
		if execs := p.newExecutions(t, ctx, seen); len(execs) != 0 {
			t.Errorf("%d executions started for a compliant revision", len(execs))
		}
	})

	t.Run("sweep-remediates-what-no-event-reported", func(t *testing.T) {
		if p.cfg.SweepSchedule == "" {
			t.Skip("the sweep is not scheduled in cdk.json")
		}
		src := p.register(t, ctx, "td08-awslogs-missing-prefix-ec2.json", "e2e-sweep")
		// The schedule starts the sweep state machine: inventory, a
		// Distributed Map over the one account-region, summarize.
		sw, st := runSweep(t, ctx, p.Stack, p.names.Rule("sweep"), "e2e-sweep-1")
		if sw.Status != sfntypes.ExecutionStatusSucceeded {
			t.Fatalf("sweep %s\n%s", sw.Status, p.history(ctx, aws.ToString(sw.ExecutionArn)))
		}
		if sum := st.Summary; sum.Targets != 1 || sum.TargetsWalked != 1 || sum.Started != 1 || sum.CoverageGaps != 0 || st.Digest == nil {
			t.Errorf("sweep summary %+v", sum)
		}
		execs := p.newExecutions(t, ctx, seen)
		if len(execs) != 1 {
			t.Fatalf("%d new executions after the sweep, want 1 (for %s)", len(execs), aws.ToString(src.TaskDefinitionArn))
		}
		if execs[0].Status != sfntypes.ExecutionStatusSucceeded {
			t.Fatalf("execution %s\n%s", execs[0].Status, p.history(ctx, aws.ToString(execs[0].ExecutionArn)))
		}
		if revs := p.revisions(t, ctx, "e2e-sweep"); len(revs) != 2 {
			t.Errorf("revisions %v after the sweep, want the source and its remediation", revs)
		}
		// One message: the sweep's digest; the execution it started
		// publishes nothing of its own.
		if msgs := nextPublished(t); len(msgs) != 1 || attribute(msgs[0], message.AttrOutcome) != string(digest.Outcome) {
			t.Errorf("%d messages published after the sweep (%v), want the digest alone", len(msgs), msgs)
		}
		if _, err := p.Notifications(ctx); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("sweep-of-30-families-publishes-one-digest", func(t *testing.T) {
		if p.cfg.SweepSchedule == "" {
			t.Skip("the sweep is not scheduled in cdk.json")
		}
		p.sweepDigest(t, ctx, seen, nextPublished)
	})

	t.Run("burst-of-events-runs-concurrent-executions", func(t *testing.T) {
		// Executions run concurrently in moto; their invokes of the same
		// emulator are serialized by the launcher.
		families := []string{"e2e-burst-a", "e2e-burst-b", "e2e-burst-c"}
		for i, f := range families {
			src := p.register(t, ctx, "td01-fargate-no-logconfig.json", f)
			call := harness.RegisterCall{
				EventID: fmt.Sprintf("e2e00000-0000-4000-8000-%012d", 400+i), TaskDefinitionARN: aws.ToString(src.TaskDefinitionArn),
				Family: f, Revision: src.Revision, Identity: harness.IAMUser("jane.doe"),
			}
			if err := p.PutRegisterEvent(ctx, call); err != nil {
				t.Fatal(err)
			}
		}
		start := time.Now()
		deliveries, err := p.Pump(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(deliveries) != len(families) {
			t.Fatalf("%d deliveries, want %d", len(deliveries), len(families))
		}
		execs := p.newExecutions(t, ctx, seen)
		t.Logf("%d executions finished %s after the first delivery", len(execs), time.Since(start).Round(time.Millisecond))
		if len(execs) != len(families) {
			t.Fatalf("%d new executions, want %d", len(execs), len(families))
		}
		for _, e := range execs {
			if e.Status != sfntypes.ExecutionStatusSucceeded {
				t.Errorf("execution %s: %s %s\n%s", aws.ToString(e.Name), e.Status, aws.ToString(e.Cause), p.history(ctx, aws.ToString(e.ExecutionArn)))
			}
		}
		if msgs := nextPublished(t); len(msgs) != len(families) {
			t.Errorf("%d messages published, want %d", len(msgs), len(families))
		}
		if _, err := p.Notifications(ctx); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("report-mode-changes-nothing", func(t *testing.T) {
		// Enforcement "report" (the stack's setting, or an execution input
		// that says so) takes the workflow's CheckMode branch straight to
		// Register, which only plans; Notify publishes the plan.
		src := p.register(t, ctx, "td01-fargate-no-logconfig.json", "e2e-report")
		// Two state machines: the remediation workflow and the sweep.
		if len(p.StateMachines) != 2 {
			t.Fatalf("%d state machines in the stack, want 2", len(p.StateMachines))
		}
		var smARN string
		for _, arn := range p.StateMachines {
			if strings.HasSuffix(arn, ":stateMachine:"+p.names.StateMachine()) {
				smARN = arn
			}
		}
		in, err := json.Marshal(workflow.Input{
			Version: workflow.Version, Trigger: workflow.TriggerCLI,
			Target:            workflow.Target{Account: localaws.Account, Region: p.Config.Region},
			TaskDefinitionARN: aws.ToString(src.TaskDefinitionArn), Family: aws.ToString(src.Family), Revision: src.Revision,
			Enforcement: policy.Report,
		})
		if err != nil {
			t.Fatal(err)
		}
		start, err := p.SFN.StartExecution(ctx, &sfn.StartExecutionInput{StateMachineArn: aws.String(smARN), Name: aws.String("e2e-report-1"), Input: aws.String(string(in))})
		if err != nil {
			t.Fatal(err)
		}
		e, err := harness.WaitExecution(ctx, p.SFN, aws.ToString(start.ExecutionArn))
		if err != nil {
			t.Fatal(err)
		}
		seen[aws.ToString(start.ExecutionArn)] = true
		if e.Status != sfntypes.ExecutionStatusSucceeded {
			t.Fatalf("execution %s\n%s", e.Status, p.history(ctx, aws.ToString(e.ExecutionArn)))
		}
		if h := p.history(ctx, aws.ToString(e.ExecutionArn)); strings.Contains(h, workflow.StateEnsureLogGroups) {
			t.Errorf("report mode ensured log groups:\n%s", h)
		}
		if revs := p.revisions(t, ctx, "e2e-report"); len(revs) != 1 {
			t.Errorf("revisions %v in report mode, want only the source", revs)
		}
		out, err := p.logs.DescribeLogGroups(ctx, &cloudwatchlogs.DescribeLogGroupsInput{LogGroupNamePrefix: aws.String("/ecs/e2e-report")})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.LogGroups) != 0 {
			t.Errorf("report mode created log groups %v", out.LogGroups)
		}
		msgs := nextPublished(t)
		if len(msgs) != 1 {
			t.Fatalf("%d messages published in report mode, want 1", len(msgs))
		}
		if email := msgs[0].Structured("email"); !strings.Contains(email, string(workflow.OutcomeReportOnly)) || !strings.Contains(email, "/ecs/e2e-report") {
			t.Errorf("the report-only notification lacks the outcome or the planned log group:\n%s", email)
		}
		subscribed, err := p.Notifications(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(subscribed) != 1 || subscribed[0].MessageAttributes["outcome"].Value != string(workflow.OutcomeReportOnly) {
			t.Errorf("subscriber got %d messages, want one with outcome %s", len(subscribed), workflow.OutcomeReportOnly)
		}
	})

	logGroupScenarios(t, ctx, p, seen, nextPublished)

	t.Run("failure-notifies", func(t *testing.T) {
		// Fault: the remediate function's name now reaches a function that
		// always fails with InvalidInputError (never retried).
		fault := localaws.NewFunction(t, localaws.FunctionOptions{
			Name: "fault", Bootstrap: localaws.Bootstrap(t, "./test/localaws/testdata/echo"),
			Env: map[string]string{"ECHO_FAIL": workflow.ErrInvalidInput}, Log: verbose(),
		})
		remediate := p.names.Function(naming.FunctionRemediate)
		if err := p.Moto.MapFunction(ctx, remediate, fault.URL); err != nil {
			t.Fatal(err)
		}
		defer func() {
			if err := p.Moto.MapFunction(ctx, remediate, p.Functions[remediate].URL); err != nil {
				t.Error(err)
			}
		}()
		src := p.register(t, ctx, "td01-fargate-no-logconfig.json", "e2e-failure")
		resp := p.deliver(t, ctx, src, "e2e00000-0000-4000-8000-000000000301", harness.IAMUser("jane.doe"))
		if resp.Status != execution.StatusStarted {
			t.Fatalf("detect status %q, want started", resp.Status)
		}
		execs := p.newExecutions(t, ctx, seen)
		if len(execs) != 1 {
			t.Fatalf("%d new executions, want 1", len(execs))
		}
		e := execs[0]
		if e.Status != sfntypes.ExecutionStatusFailed {
			t.Fatalf("execution %s, want FAILED\n%s", e.Status, p.history(ctx, aws.ToString(e.ExecutionArn)))
		}
		if revs := p.revisions(t, ctx, "e2e-failure"); len(revs) != 1 {
			t.Errorf("revisions %v after a failed remediation, want only the source", revs)
		}
		msgs := nextPublished(t)
		if len(msgs) != 1 {
			t.Fatalf("%d messages published for the failure, want 1", len(msgs))
		}
		email := msgs[0].Structured("email")
		for _, want := range []string{workflow.StateEnsureLogGroups, aws.ToString(e.ExecutionArn)} {
			if !strings.Contains(msgs[0].Message, want) {
				t.Errorf("the failure notification does not mention %q:\n%s", want, email)
			}
		}
		subscribed, err := p.Notifications(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(subscribed) != 1 || subscribed[0].MessageAttributes["outcome"].Value != string(workflow.OutcomeFailed) {
			t.Errorf("subscriber got %+v, want one message with outcome %s", subscribed, workflow.OutcomeFailed)
		}
	})

	t.Logf("cold starts (first invoke, bootstrap start included): %v", p.ColdStarts)
}

// assertLossless checks that newTD is oldTD with only log configurations
// changed (and made awslogs) and our tags added; aws: tags are dropped.
func assertLossless(t *testing.T, oldTD *ecstypes.TaskDefinition, oldTags []ecstypes.Tag, newTD *ecstypes.TaskDefinition, newTags []ecstypes.Tag) {
	t.Helper()
	before, err := harness.Comparable(oldTD, oldTags, "aws:")
	if err != nil {
		t.Fatal(err)
	}
	after, err := harness.Comparable(newTD, newTags, "aws:", "ecslogfix:")
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range harness.Diff(before, after) {
		if strings.HasPrefix(d.Path, "ContainerDefinitions[") && strings.Contains(d.Path, ".LogConfiguration") {
			continue
		}
		t.Errorf("the new revision differs from its source beyond logging: %s", d)
	}
	for i, c := range oldTD.ContainerDefinitions {
		if i >= len(newTD.ContainerDefinitions) {
			break
		}
		lc := c.LogConfiguration
		if lc != nil && lc.LogDriver == ecstypes.LogDriverAwslogs && lc.Options["awslogs-group"] != "" && lc.Options["awslogs-stream-prefix"] != "" {
			// Already compliant: must be untouched.
			b, _ := json.Marshal(lc)
			a, _ := json.Marshal(newTD.ContainerDefinitions[i].LogConfiguration)
			if string(a) != string(b) {
				t.Errorf("container %s was compliant, its log configuration changed: %s → %s", aws.ToString(c.Name), b, a)
			}
		}
	}
}

func assertTag(t *testing.T, tags []ecstypes.Tag, key, want string) {
	t.Helper()
	for _, tag := range tags {
		if aws.ToString(tag.Key) == key {
			if got := aws.ToString(tag.Value); got != want {
				t.Errorf("tag %s = %q, want %q", key, got, want)
			}
			return
		}
	}
	t.Errorf("tag %s missing (tags %v)", key, tags)
}

// assertNoSecrets checks that none of the source's secret-looking values
// (the corpus marks every one with FAKE: environment values, secret and
// credential references, log driver tokens) appears in the notifications,
// the execution histories (inputs and outputs included) or the functions'
// output.
func assertNoSecrets(t *testing.T, ctx context.Context, p *pipeline, src *ecstypes.TaskDefinition, texts []string) {
	t.Helper()
	b, err := json.Marshal(src)
	if err != nil {
		t.Fatal(err)
	}
	var doc any
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	var secrets []string
	var walk func(any)
	walk = func(v any) {
		switch x := v.(type) {
		case string:
			if strings.Contains(x, "FAKE") {
				secrets = append(secrets, x)
			}
		case []any:
			for _, e := range x {
				walk(e)
			}
		case map[string]any:
			for _, e := range x {
				walk(e)
			}
		}
	}
	walk(doc)
	if len(secrets) == 0 {
		return
	}
	sources := map[string]string{}
	for i, s := range texts {
		sources[fmt.Sprintf("notification part %d", i)] = s
	}
	for name, f := range p.Functions {
		sources["output of "+name] = f.Logs()
	}
	execs, err := p.Executions(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range execs {
		events, err := harness.HistoryEvents(ctx, p.SFN, aws.ToString(e.ExecutionArn))
		if err != nil {
			t.Fatal(err)
		}
		h, _ := json.Marshal(events)
		sources["history of "+aws.ToString(e.Name)] = string(h) + aws.ToString(e.Input) + aws.ToString(e.Output)
	}
	for where, text := range sources {
		for _, s := range secrets {
			if strings.Contains(text, s) {
				t.Errorf("PRIVACY: %q (a secret-looking value of the source) appears in the %s", s, where)
			}
		}
	}
}
