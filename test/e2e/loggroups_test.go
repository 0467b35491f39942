package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	logtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"
	"github.com/aws/smithy-go"

	"github.com/ecslogfix/ecslogfix/internal/cli"
	"github.com/ecslogfix/ecslogfix/internal/cli/backout"
	"github.com/ecslogfix/ecslogfix/internal/execution"
	"github.com/ecslogfix/ecslogfix/internal/workflow"
	"github.com/ecslogfix/ecslogfix/test/e2e/harness"
	"github.com/ecslogfix/ecslogfix/test/localaws"
)

// published returns the messages published since the last call.
type published func(t *testing.T) []localaws.Published

// logGroupScenarios: logs that flow in fact, through the real workflow.
// Every log group a revision ecslogfix registers exists first, in its own
// region; a revision compliant on paper whose group is missing gets the
// group and no new revision; a group outside the names ecslogfix may
// create is a human's (nothing created); an execution that will not
// register creates nothing; backout keeps a group an ACTIVE revision still
// uses, and lifts the deletion protection ecslogfix set before it deletes
// one. The stack runs through the fault proxy's stand-ins, so deletion
// protection holds as in AWS.
func logGroupScenarios(t *testing.T, ctx context.Context, p *pipeline, seen map[string]bool, next published) {
	t.Run("complete-in-its-own-region-and-another", func(t *testing.T) {
		p.succeeds(t, ctx, ec2Task("e2e-complete",
			awslogs("/ecs/e2e-complete-own", "us-east-1", ""),
			awslogs("/ecs/e2e-complete-eu", "eu-west-1", "")), "e2e00000-0000-4000-8000-000000000501", seen, 2)
		for _, g := range []struct{ name, region string }{{"/ecs/e2e-complete-own", "us-east-1"}, {"/ecs/e2e-complete-eu", "eu-west-1"}} {
			lg := p.group(t, ctx, g.region, g.name)
			if lg == nil || aws.ToInt32(lg.RetentionInDays) != 365 || !aws.ToBool(lg.DeletionProtectionEnabled) {
				t.Errorf("log group %s in %s: %+v", g.name, g.region, lg)
			}
		}
		p.notifiedOnce(t, ctx, next, workflow.OutcomeRemediated, "/ecs/e2e-complete-own (us-east-1): created by ecslogfix", "/ecs/e2e-complete-eu (eu-west-1): created by ecslogfix",
			"--log-group-name /ecs/e2e-complete-eu --region eu-west-1", "--no-deletion-protection-enabled")
	})

	t.Run("compliant-but-its-group-missing-gets-the-group-and-no-revision", func(t *testing.T) {
		p.succeeds(t, ctx, ec2Task("e2e-missing-group", awslogs("/ecs/e2e-missing-group", "us-east-1", "ecs")), "e2e00000-0000-4000-8000-000000000502", seen, 1)
		if lg := p.group(t, ctx, "us-east-1", "/ecs/e2e-missing-group"); lg == nil || aws.ToInt32(lg.RetentionInDays) != 365 || !aws.ToBool(lg.DeletionProtectionEnabled) {
			t.Errorf("log group %+v", lg)
		}
		p.notifiedOnce(t, ctx, next, workflow.OutcomeLogGroupCreated, "LOG_GROUP_MISSING", "no new revision was registered",
			"aws logs put-log-group-deletion-protection --log-group-identifier /ecs/e2e-missing-group")
	})

	t.Run("a-group-outside-the-allowed-names-needs-a-human", func(t *testing.T) {
		p.succeeds(t, ctx, ec2Task("e2e-outside", awslogs("/shared/e2e-outside", "us-east-1", "")), "e2e00000-0000-4000-8000-000000000503", seen, 1)
		if lg := p.group(t, ctx, "us-east-1", "/shared/e2e-outside"); lg != nil {
			t.Errorf("a group outside the patterns was created: %+v", lg)
		}
		p.notifiedOnce(t, ctx, next, workflow.OutcomeNeedsHuman, "outside the log group names ecslogfix may create (logGroupPatterns /ecs/*)")
	})

	t.Run("superseded-creates-no-group", func(t *testing.T) {
		family := "e2e-superseded"
		src := p.registerInput(t, ctx, ec2Task(family, nil))
		p.registerInput(t, ctx, ec2Task(family, nil)) // a newer revision, before the event of the first is handled
		e := p.deliverAndRun(t, ctx, src, "e2e00000-0000-4000-8000-000000000504", seen)
		if e.Status != sfntypes.ExecutionStatusSucceeded {
			t.Fatalf("execution %s\n%s", e.Status, p.history(ctx, aws.ToString(e.ExecutionArn)))
		}
		// The state document at the end: EnsureLogGroups re-read first and
		// ensured nothing; Register reports why.
		var st workflow.State
		if err := json.Unmarshal([]byte(aws.ToString(e.Output)), &st); err != nil {
			t.Fatalf("execution output: %v\n%s", err, aws.ToString(e.Output))
		}
		if st.Ensured == nil || len(st.Ensured.LogGroups) != 0 || st.Registered == nil || st.Registered.Result.Outcome != workflow.OutcomeSuperseded {
			t.Errorf("not superseded without groups: %s", aws.ToString(e.Output))
		}
		if lg := p.group(t, ctx, "us-east-1", "/ecs/"+family); lg != nil {
			t.Errorf("a superseded execution left a group: %+v", lg)
		}
		if revs := p.revisions(t, ctx, family); len(revs) != 2 {
			t.Errorf("revisions %v", revs)
		}
		if msgs := next(t); len(msgs) != 0 {
			t.Errorf("%d messages for a superseded execution (quiet)", len(msgs))
		}
	})

	t.Run("backout-keeps-a-referenced-group-then-lifts-protection-to-delete-it", func(t *testing.T) {
		family := "e2e-backout"
		p.succeeds(t, ctx, ec2Task(family, nil), "e2e00000-0000-4000-8000-000000000505", seen, 2)
		p.notifiedOnce(t, ctx, next, workflow.OutcomeRemediated)
		ours, _ := p.describe(t, ctx, family+":2")
		group := ours.ContainerDefinitions[0].LogConfiguration.Options["awslogs-group"]
		// Someone registers a later revision from ecslogfix's: it writes to
		// the same group.
		later := ec2Task(family, ours.ContainerDefinitions[0].LogConfiguration)
		p.registerInput(t, ctx, later)
		laterARN := strings.Replace(aws.ToString(ours.TaskDefinitionArn), ":2", ":3", 1)

		out := p.cli(t, ctx, "backout", "--task-definition", family+":2", "--delete-log-group", "--apply", "-o", "json")
		var steps []backout.Step
		if err := json.Unmarshal([]byte(out), &steps); err != nil {
			t.Fatalf("backout output: %v\n%s", err, out)
		}
		last := steps[len(steps)-1]
		if last.Status != backout.StepSkipped || last.Reason != "the ACTIVE revision "+laterARN+" still uses it" {
			t.Fatalf("backout with %s still using %s: %+v", laterARN, group, steps)
		}
		if p.group(t, ctx, "us-east-1", group) == nil {
			t.Fatal("backout deleted a group an ACTIVE revision uses")
		}
		// Once no ACTIVE revision uses it, backout lifts the deletion
		// protection ecslogfix set (which holds: AWS refuses to delete a
		// protected group) and deletes it.
		if _, err := p.ecs.DeregisterTaskDefinition(ctx, &ecs.DeregisterTaskDefinitionInput{TaskDefinition: aws.String(laterARN)}); err != nil {
			t.Fatal(err)
		}
		var ae smithy.APIError
		if _, err := p.logs.DeleteLogGroup(ctx, &cloudwatchlogs.DeleteLogGroupInput{LogGroupName: aws.String(group)}); !errorsAs(err, &ae) || ae.ErrorCode() != "ValidationException" {
			t.Fatalf("a protected group was deleted without lifting its protection: %v", err)
		}
		out = p.cli(t, ctx, "backout", "--task-definition", family+":2", "--delete-log-group", "--apply", "-o", "json")
		if err := json.Unmarshal([]byte(out), &steps); err != nil {
			t.Fatalf("backout output: %v\n%s", err, out)
		}
		var done []string
		for _, s := range steps {
			if s.Status == backout.StepDone {
				done = append(done, s.Command)
			}
		}
		want := []string{
			"aws logs put-log-group-deletion-protection --log-group-identifier " + group + " --no-deletion-protection-enabled --region us-east-1",
			"aws logs delete-log-group --log-group-name " + group + " --region us-east-1",
		}
		if strings.Join(done, "\n") != strings.Join(want, "\n") {
			t.Fatalf("backout ran\n%s\nwant\n%s", strings.Join(done, "\n"), strings.Join(want, "\n"))
		}
		if p.group(t, ctx, "us-east-1", group) != nil {
			t.Error("the group is still there")
		}
	})
}

// succeeds registers in, delivers its event, expects the execution to
// succeed and the family to end with revisions revisions.
func (p *pipeline) succeeds(t *testing.T, ctx context.Context, in *ecs.RegisterTaskDefinitionInput, eventID string, seen map[string]bool, revisions int) *sfn.DescribeExecutionOutput {
	t.Helper()
	e := p.deliverAndRun(t, ctx, p.registerInput(t, ctx, in), eventID, seen)
	if e.Status != sfntypes.ExecutionStatusSucceeded {
		t.Fatalf("execution %s\n%s", e.Status, p.history(ctx, aws.ToString(e.ExecutionArn)))
	}
	if revs := p.revisions(t, ctx, aws.ToString(in.Family)); len(revs) != revisions {
		t.Errorf("revisions %v, want %d", revs, revisions)
	}
	return e
}

// notifiedOnce expects exactly one notification since the last, with
// outcome, whose email says every one of wants, and returns the email.
func (p *pipeline) notifiedOnce(t *testing.T, ctx context.Context, next published, outcome workflow.Outcome, wants ...string) string {
	t.Helper()
	msgs := next(t)
	if len(msgs) != 1 {
		t.Fatalf("%d messages, want 1", len(msgs))
	}
	subscribed, err := p.Notifications(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(subscribed) != 1 || subscribed[0].MessageAttributes["outcome"].Value != string(outcome) {
		t.Fatalf("subscriber got %+v, want one %s", subscribed, outcome)
	}
	email := msgs[0].Structured("email")
	for _, want := range wants {
		if !strings.Contains(email, want) {
			t.Errorf("the email lacks %q:\n%s", want, email)
		}
	}
	return email
}

// ec2Task is an EC2 task definition of family with one container per log
// configuration (nil: none).
func ec2Task(family string, lcs ...*ecstypes.LogConfiguration) *ecs.RegisterTaskDefinitionInput {
	in := &ecs.RegisterTaskDefinitionInput{Family: aws.String(family), NetworkMode: ecstypes.NetworkModeBridge, RequiresCompatibilities: []ecstypes.Compatibility{ecstypes.CompatibilityEc2}}
	if len(lcs) == 0 {
		lcs = []*ecstypes.LogConfiguration{nil}
	}
	for i, lc := range lcs {
		in.ContainerDefinitions = append(in.ContainerDefinitions, ecstypes.ContainerDefinition{
			Name: aws.String(fmt.Sprintf("c%d", i)), Image: aws.String("public.ecr.aws/nginx/nginx:1.27"), Memory: aws.Int32(128), Essential: aws.Bool(i == 0), LogConfiguration: lc,
		})
	}
	return in
}

// awslogs is an awslogs configuration; an empty prefix leaves it out.
func awslogs(group, region, prefix string) *ecstypes.LogConfiguration {
	o := map[string]string{"awslogs-group": group, "awslogs-region": region}
	if prefix != "" {
		o["awslogs-stream-prefix"] = prefix
	}
	return &ecstypes.LogConfiguration{LogDriver: ecstypes.LogDriverAwslogs, Options: o}
}

func (p *pipeline) registerInput(t *testing.T, ctx context.Context, in *ecs.RegisterTaskDefinitionInput) *ecstypes.TaskDefinition {
	t.Helper()
	out, err := p.ecs.RegisterTaskDefinition(ctx, in)
	if err != nil {
		t.Fatalf("register %s: %v", aws.ToString(in.Family), err)
	}
	return out.TaskDefinition
}

// deliverAndRun delivers the registration's event, expects detect to start
// one execution and returns it, finished.
func (p *pipeline) deliverAndRun(t *testing.T, ctx context.Context, td *ecstypes.TaskDefinition, eventID string, seen map[string]bool) *sfn.DescribeExecutionOutput {
	t.Helper()
	resp := p.deliver(t, ctx, td, eventID, harness.IAMUser("jane.doe"))
	if resp.Status != execution.StatusStarted {
		t.Fatalf("detect: %s %s, want %s", resp.Status, resp.Reason, execution.StatusStarted)
	}
	execs := p.newExecutions(t, ctx, seen)
	if len(execs) != 1 {
		t.Fatalf("%d new executions, want 1", len(execs))
	}
	return execs[0]
}

// group reads a log group in region, nil when it does not exist.
func (p *pipeline) group(t *testing.T, ctx context.Context, region, name string) *logtypes.LogGroup {
	t.Helper()
	cfg := p.Config.Copy()
	cfg.Region = region
	out, err := cloudwatchlogs.NewFromConfig(cfg).DescribeLogGroups(ctx, &cloudwatchlogs.DescribeLogGroupsInput{LogGroupNamePrefix: aws.String(name)})
	if err != nil {
		t.Fatal(err)
	}
	for i := range out.LogGroups {
		if aws.ToString(out.LogGroups[i].LogGroupName) == name {
			return &out.LogGroups[i]
		}
	}
	return nil
}

// cli runs ecslogfix in-process against the stack's endpoint and returns
// its standard output; a non-zero exit fails the test.
func (p *pipeline) cli(t *testing.T, ctx context.Context, args ...string) string {
	t.Helper()
	var out, errb bytes.Buffer
	a := &cli.App{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errb, Getenv: func(string) string { return "" },
		LoadAWS: func(context.Context, string, string) (aws.Config, error) {
			return p.Config.Copy(), nil
		},
		IsTerminal: func(io.Writer) bool { return false },
	}
	if code := a.Run(ctx, args); code != cli.ExitOK {
		t.Fatalf("ecslogfix %s: exit %d\n%s%s", strings.Join(args, " "), code, out.String(), errb.String())
	}
	return out.String()
}
