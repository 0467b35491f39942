package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/ecslogfix/ecslogfix/internal/config"
	"github.com/ecslogfix/ecslogfix/internal/config/naming"
	"github.com/ecslogfix/ecslogfix/internal/coverage"
	"github.com/ecslogfix/ecslogfix/internal/execution"
	"github.com/ecslogfix/ecslogfix/internal/sweep"
	"github.com/ecslogfix/ecslogfix/internal/workflow"
	"github.com/ecslogfix/ecslogfix/test/e2e/harness"
	"github.com/ecslogfix/ecslogfix/test/e2e/synth"
	"github.com/ecslogfix/ecslogfix/test/faultproxy"
	"github.com/ecslogfix/ecslogfix/test/localaws"
)

// The organization in moto: the management account (moto's default
// credentials) is the hub (stackSetCallAs SELF); two target OUs, one with
// a nested OU; three member accounts; two regions.
const (
	orgHubRegion    = localaws.Region // us-east-1, also the IAM region
	orgMemberRegion = "eu-west-1"
)

// org is the organization the test built in moto.
type org struct {
	*localaws.Organization
	workloads, prod, other string // OU IDs: prod under workloads; other (sandbox) beside it
	a, b, c                string // member accounts: a in prod, b in sandbox, c in workloads (joined late)
	base                   aws.Config
}

func (o *org) as(t *testing.T, ctx context.Context, account, region string) aws.Config {
	t.Helper()
	cfg, err := o.As(ctx, account, region)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func must[T any](t *testing.T) func(T, error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

func buildOrganization(t *testing.T, m *localaws.Moto) *org {
	t.Helper()
	base := m.Config()
	o := &org{Organization: localaws.NewOrganization(t, base), base: base}
	if o.Management != localaws.Account {
		t.Fatalf("the management account is %s, want moto's default %s", o.Management, localaws.Account)
	}
	o.workloads = o.OU(o.Root, "workloads")
	o.prod = o.OU(o.workloads, "prod")
	o.other = o.OU(o.Root, "sandbox")
	o.a, o.b = o.Account("team-a", o.prod), o.Account("team-b", o.other)
	return o
}

func registerIn(t *testing.T, ctx context.Context, cfg aws.Config, root, file, family string) *ecs.RegisterTaskDefinitionOutput {
	t.Helper()
	in, err := harness.LoadTaskDefinition(filepath.Join(root, "testdata", "taskdefs", file), family)
	if err != nil {
		t.Fatal(err)
	}
	out, err := ecs.NewFromConfig(cfg).RegisterTaskDefinition(ctx, in)
	if err != nil {
		t.Fatalf("register %s: %v", family, err)
	}
	return out
}

func familyRevisions(t *testing.T, ctx context.Context, cfg aws.Config, family string) int {
	t.Helper()
	out, err := ecs.NewFromConfig(cfg).ListTaskDefinitions(ctx, &ecs.ListTaskDefinitionsInput{FamilyPrefix: aws.String(family)})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, a := range out.TaskDefinitionArns {
		if strings.Contains(a, ":task-definition/"+family+":") {
			n++
		}
	}
	return n
}

// remediations waits for the remediation workflow's executions not seen
// yet and returns them.
func remediations(t *testing.T, ctx context.Context, s *harness.Stack, sm string, seen map[string]bool) []*sfn.DescribeExecutionOutput {
	t.Helper()
	all, err := s.Executions(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var out []*sfn.DescribeExecutionOutput
	for _, e := range all {
		arn := aws.ToString(e.ExecutionArn)
		if strings.Contains(arn, ":execution:"+sm+":") && !seen[arn] {
			seen[arn] = true
			out = append(out, e)
		}
	}
	return out
}

// runSweep starts the sweep state machine as its schedule does and
// returns the execution and its final state.
func runSweep(t *testing.T, ctx context.Context, s *harness.Stack, rule, name string) (*sfn.DescribeExecutionOutput, workflow.SweepState) {
	t.Helper()
	arns, err := s.StartSchedule(ctx, rule, name)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	out, err := harness.WaitExecution(ctx, s.SFN, arns[0])
	if err != nil {
		t.Fatal(err)
	}
	var st workflow.SweepState
	if err := json.Unmarshal([]byte(aws.ToString(out.Output)), &st); err != nil || st.Summary == nil {
		h, _ := harness.History(ctx, s.SFN, arns[0])
		t.Fatalf("sweep %s %s: output %s (%v)\n%s", name, out.Status, aws.ToString(out.Output), err, h)
	}
	t.Logf("sweep %s: %s in %s: %+v", name, out.Status, time.Since(start).Round(time.Millisecond), *st.Summary)
	return out, st
}

// exceeded is the Distributed Map's verdict on its failures, which moto
// does not reach (it ignores ToleratedFailurePercentage): more failed
// items than the percentage tolerates fail the Map.
func exceeded(failed, total int, tolerated float64) bool {
	return total > 0 && float64(failed)*100/float64(total) > tolerated
}

// TestOrganization runs the synthesized hub stack and the member StackSets
// in an organization in moto: a registration in a member account reaches
// the hub bus through that account's forwarding rule, detect assumes the
// member role there, the revision is remediated in the member account and
// the notification comes from the hub; the sweep walks every covered
// account-region (the hub's own with its own grants), remediates what no
// event announced, reports the member account without a member stack as a
// coverage gap, and records the targets it could not walk.
func TestOrganization(t *testing.T) {
	tools := localaws.RequireTools(t)
	ctx := testContext(t, 15*time.Minute)
	// The sweep's ECS calls go through the fault proxy, which answers like
	// AWS where the test says so.
	env := localaws.Start(t, localaws.Options{StepFunctions: true, Faults: &faultproxy.Config{}, Log: verbose()})
	m, proxy := env.Moto, env.Proxy
	o := buildOrganization(t, m)

	start := time.Now()
	dir, err := os.MkdirTemp("", "ecslogfix-e2e-hub-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if !t.Failed() {
			os.RemoveAll(dir)
		}
	})
	syn, err := synth.Synthesize(tools.Root, dir, config.ModeOrganization, map[string]any{
		"ecslogfix:mode": "organization", "ecslogfix:organizationId": o.ID, "ecslogfix:targetOUs": o.workloads + "," + o.other,
		"ecslogfix:regions": orgHubRegion + "," + orgMemberRegion, "ecslogfix:iamRegion": orgHubRegion,
		// Back-to-back registrations are pacing, not the pipeline (see docs/performance.md).
		"ecslogfix:registerRate": "20",
	})
	if err != nil {
		t.Fatalf("synthesize the hub stack: %v", err)
	}
	t.Logf("hub stack synthesized in %s", time.Since(start).Round(time.Millisecond))
	names := syn.Config.Names()

	// moto's CloudFormation deploys the member templates into each member
	// account-region of the target OUs (the nested one included).
	sets := must[[]string](t)(harness.DeployStackSets(ctx, o.base, syn.Template))
	// An account that joins a target OU after the instances were created:
	// auto-deployment did not reach it (moto does not model it).
	o.c = o.Account("team-c", o.workloads)
	slices.Sort(sets)
	if !slices.Equal(sets, []string{names.StackSet(), names.StackSetExecutionRole(), names.StackSetIAM()}) {
		t.Fatalf("StackSets %v", sets)
	}
	// moto's CloudFormation deployed the member templates: the roles in
	// the IAM region's stack, the forwarding rule in every region.
	for _, acct := range []string{o.a, o.b} {
		cfg := o.as(t, ctx, acct, orgHubRegion)
		for _, role := range []string{names.MemberRole(), names.MemberForwarderRole(), names.DefaultExecutionRole()} {
			if _, err := iam.NewFromConfig(cfg).GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(role)}); err != nil {
				t.Errorf("account %s: role %s: %v", acct, role, err)
			}
		}
		for _, region := range []string{orgHubRegion, orgMemberRegion} {
			if _, err := eventbridge.NewFromConfig(o.as(t, ctx, acct, region)).DescribeRule(ctx, &eventbridge.DescribeRuleInput{Name: aws.String(names.Rule("forward"))}); err != nil {
				t.Errorf("account %s %s: forwarding rule: %v", acct, region, err)
			}
		}
	}

	opts := harness.StackOptions{Tools: tools, Template: syn.Template, Packages: syn.Packages, Dir: t.TempDir(), Moto: m,
		Env: map[string]map[string]string{names.Function(naming.FunctionSweep): {"AWS_ENDPOINT_URL_ECS": proxy.URL},
			names.Function(naming.FunctionNotify): digestPolledQuickly(names)[names.Function(naming.FunctionNotify)]}, Log: verbose()}
	s, err := harness.StartStack(ctx, opts)
	if err != nil {
		t.Fatalf("start the hub stack: %v", err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("process output (tail):\n%s", tail(s.Logs(), 30000))
		}
		s.Close()
	})
	seen := map[string]bool{}

	t.Run("member-registration-is-remediated-in-the-member-account", func(t *testing.T) {
		acfg := o.as(t, ctx, o.a, orgMemberRegion)
		src := registerIn(t, ctx, acfg, tools.Root, "td01-fargate-no-logconfig.json", "org-orders")
		call := harness.RegisterCall{EventID: "0a0a0a0a-0000-4000-8000-000000000001", TaskDefinitionARN: aws.ToString(src.TaskDefinition.TaskDefinitionArn),
			Family: aws.ToString(src.TaskDefinition.Family), Revision: src.TaskDefinition.Revision, Request: harness.RequestParameters(src.TaskDefinition),
			Account: o.a, Region: orgMemberRegion, Identity: harness.AccountUser(o.a, "dev")}
		out, err := eventbridge.NewFromConfig(acfg).PutEvents(ctx, &eventbridge.PutEventsInput{Entries: []ebtypes.PutEventsRequestEntry{harness.RegisterEvent(call)}})
		if err != nil || out.FailedEntryCount > 0 {
			t.Fatalf("put the member's event: %v %+v", err, out)
		}
		// The member's forwarding rule put it on the hub bus, whose rule
		// hands it to detect.
		deliveries, err := s.Pump(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(deliveries) != 1 || deliveries[0].Target.Function != names.Function(naming.FunctionDetect) {
			t.Fatalf("the hub bus delivered %d events: %+v", len(deliveries), deliveries)
		}
		var resp execution.Response
		if err := json.Unmarshal(deliveries[0].Invocation.Payload, &resp); err != nil || resp.Status != execution.StatusStarted {
			t.Fatalf("detect answered %s (%v)", deliveries[0].Invocation.Payload, err)
		}
		execs := remediations(t, ctx, s, names.StateMachine(), seen)
		if len(execs) != 1 || execs[0].Status != sfntypes.ExecutionStatusSucceeded {
			t.Fatalf("remediations %+v", execs)
		}
		var in workflow.Input
		if err := json.Unmarshal([]byte(aws.ToString(execs[0].Input)), &in); err != nil {
			t.Fatal(err)
		}
		if in.Target.Account != o.a || in.Target.Region != orgMemberRegion || in.Target.RoleARN != "arn:aws:iam::"+o.a+":role/"+names.MemberRole() {
			t.Errorf("the execution targets %+v, want the member role in %s %s", in.Target, o.a, orgMemberRegion)
		}
		// Remediated in the member account: a new revision and its log
		// group there, nothing in the hub account.
		if n := familyRevisions(t, ctx, acfg, "org-orders"); n != 2 {
			t.Errorf("%d revisions of org-orders in the member account, want the source and its remediation", n)
		}
		if n := familyRevisions(t, ctx, o.base, "org-orders") + familyRevisions(t, ctx, o.as(t, ctx, o.b, orgMemberRegion), "org-orders"); n != 0 {
			t.Errorf("%d revisions of org-orders outside the member account", n)
		}
		groups, err := cloudwatchlogs.NewFromConfig(acfg).DescribeLogGroups(ctx, &cloudwatchlogs.DescribeLogGroupsInput{LogGroupNamePrefix: aws.String("/ecs/org-orders")})
		if err != nil || len(groups.LogGroups) != 1 {
			t.Errorf("log groups in the member account: %+v %v", groups, err)
		}
		// The notification comes from the hub's topic.
		msgs, err := m.Published(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(msgs) != 1 || !strings.HasPrefix(msgs[0].TopicARN, "arn:aws:sns:"+orgHubRegion+":"+localaws.Account+":") ||
			!strings.Contains(msgs[0].Structured("email"), o.a) {
			t.Errorf("notifications %+v", msgs)
		}
	})

	// What the sweep must find: a violation in another member account that
	// no event announced, one in the hub account itself (fixed with the hub
	// remediate role's own grants), and a compliant family.
	bcfg := o.as(t, ctx, o.b, orgHubRegion)
	registerIn(t, ctx, bcfg, tools.Root, "td01-fargate-no-logconfig.json", "org-payments")
	hubWest := o.base.Copy()
	hubWest.Region = orgMemberRegion
	registerIn(t, ctx, hubWest, tools.Root, "td08-awslogs-missing-prefix-ec2.json", "hub-orders")
	registerIn(t, ctx, o.base, tools.Root, "td11-compliant-fargate.json", "hub-compliant")
	// Compliant in fact: the log group it writes to exists (else LOG_GROUP_MISSING).
	if _, err := cloudwatchlogs.NewFromConfig(o.base).CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String("/ecs/payments-gateway")}); err != nil {
		t.Fatal(err)
	}

	var tolerated float64
	t.Run("sweep-covers-the-organization", func(t *testing.T) {
		out, st := runSweep(t, ctx, s, names.Rule("sweep"), "org-sweep-1")
		if out.Status != sfntypes.ExecutionStatusSucceeded {
			t.Fatalf("sweep %s", out.Status)
		}
		sum := st.Summary
		// Targets: the hub and the two members with their stacks, in both
		// regions; the late member is a gap, not a target.
		if sum.Targets != 6 || sum.TargetsWalked != 6 || sum.TargetsFailed != 0 || sum.Started != 2 || sum.Errors != 0 {
			t.Errorf("summary %+v", sum)
		}
		wantGap := coverage.Gap{Account: o.c, Reason: coverage.GapMemberRole, StackSet: names.StackSetIAM(), Status: coverage.StatusMissing}
		if sum.CoverageGaps != 1 || len(sum.Gaps) != 1 || sum.Gaps[0] != wantGap {
			t.Errorf("gaps %+v, want %+v", sum.Gaps, wantGap)
		}
		if st.Digest == nil || st.Digest.Summary.SweepID != "org-sweep-1" {
			t.Errorf("digest %+v", st.Digest)
		}
		execs := remediations(t, ctx, s, names.StateMachine(), seen)
		targets := map[string]bool{}
		for _, e := range execs {
			var in workflow.Input
			_ = json.Unmarshal([]byte(aws.ToString(e.Input)), &in)
			targets[in.Target.Account+"/"+in.Target.Region+"/"+in.Family] = e.Status == sfntypes.ExecutionStatusSucceeded
		}
		for _, want := range []string{o.b + "/" + orgHubRegion + "/org-payments", localaws.Account + "/" + orgMemberRegion + "/hub-orders"} {
			if !targets[want] {
				t.Errorf("no successful remediation of %s: %v", want, targets)
			}
		}
		if familyRevisions(t, ctx, bcfg, "org-payments") != 2 || familyRevisions(t, ctx, hubWest, "hub-orders") != 2 {
			t.Error("the sweep's remediations did not register in the member and the hub account")
		}
		// The per-family report in S3 (the sweep's own writes).
		obj, err := s3.NewFromConfig(o.base).GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(sum.Bucket), Key: aws.String(sum.ReportKey)})
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(obj.Body)
		fams, err := sweep.ReadReport(bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		status := map[string]string{}
		for _, f := range fams {
			status[f.Account+"/"+f.Region+"/"+f.Family] = f.Status
		}
		for k, want := range map[string]string{o.a + "/" + orgMemberRegion + "/org-orders": execution.StatusCompliant, o.b + "/" + orgHubRegion + "/org-payments": execution.StatusStarted,
			localaws.Account + "/" + orgHubRegion + "/hub-compliant": execution.StatusCompliant} {
			if status[k] != want {
				t.Errorf("report: %s is %q, want %s (%v)", k, status[k], want, status)
			}
		}
		var def struct {
			States map[string]struct{ ToleratedFailurePercentage float64 }
		}
		if err := json.Unmarshal([]byte(mustDescribe(t, ctx, s, names.SweepStateMachine())), &def); err != nil {
			t.Fatal(err)
		}
		tolerated = def.States[workflow.StateWalk].ToleratedFailurePercentage
		if exceeded(sum.TargetsFailed, sum.Targets, tolerated) {
			t.Errorf("no target failed, yet the harness finds the threshold %v%% exceeded", tolerated)
		}
	})

	t.Run("failed-targets-past-the-threshold", func(t *testing.T) {
		// An SCP denying ECS in eu-west-1 to the sweep: half the targets
		// cannot be listed, and their child executions fail.
		rule := faultproxy.Rule{API: "ecs:ListTaskDefinitionFamilies", Region: orgMemberRegion, Rates: map[faultproxy.Kind]float64{faultproxy.Denied: 1}}
		if err := proxy.SetRules([]faultproxy.Rule{rule}); err != nil {
			t.Fatal(err)
		}
		defer proxy.SetRules(nil)
		out, st := runSweep(t, ctx, s, names.Rule("sweep"), "org-sweep-2")
		sum := st.Summary
		var failed []string
		for _, tg := range sum.FailedTargets {
			failed = append(failed, tg.Account+"/"+tg.Region)
		}
		slices.Sort(failed)
		want := []string{localaws.Account + "/" + orgMemberRegion, o.a + "/" + orgMemberRegion, o.b + "/" + orgMemberRegion}
		slices.Sort(want)
		if sum.Targets != 6 || sum.TargetsFailed != 3 || sum.TargetsWalked != 3 || !slices.Equal(failed, want) {
			t.Errorf("summary %+v, want the three %s targets failed", sum, orgMemberRegion)
		}
		// The threshold, asserted here: moto ignores
		// ToleratedFailurePercentage (docs/reliability.md, "moto's
		// Distributed Map"), so the Map and the execution still succeed
		// there; in AWS the Map fails with
		// States.ExceedToleratedFailureThreshold, Summarize still runs and
		// the execution ends in SweepFailed.
		if !exceeded(sum.TargetsFailed, sum.Targets, tolerated) {
			t.Errorf("%d of %d targets failed, within the %v%% tolerated", sum.TargetsFailed, sum.Targets, tolerated)
		}
		runs, err := s.SFN.ListMapRuns(ctx, &sfn.ListMapRunsInput{ExecutionArn: out.ExecutionArn})
		if err != nil || len(runs.MapRuns) != 1 {
			t.Fatalf("map runs %+v %v", runs, err)
		}
		mr, err := s.SFN.DescribeMapRun(ctx, &sfn.DescribeMapRunInput{MapRunArn: runs.MapRuns[0].MapRunArn})
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("moto's map run: %s, items %+v, tolerated %v%%; execution %s", mr.Status, *mr.ItemCounts, mr.ToleratedFailurePercentage, out.Status)
		if mr.ItemCounts.Failed != int64(sum.TargetsFailed) || mr.ItemCounts.Total != int64(sum.Targets) || float64(mr.ToleratedFailurePercentage) != tolerated {
			t.Errorf("moto's map run counts %+v (tolerated %v) disagree with the sweep's own results %+v", *mr.ItemCounts, mr.ToleratedFailurePercentage, sum)
		}
		if out.Status != sfntypes.ExecutionStatusSucceeded || st.WalkError != nil {
			t.Errorf("moto now fails the Map past its tolerance (%s, %+v): update docs/reliability.md and expect SweepFailed here", out.Status, st.WalkError)
		}
	})
}

// mustDescribe returns the definition of the state machine named name.
func mustDescribe(t *testing.T, ctx context.Context, s *harness.Stack, name string) string {
	t.Helper()
	for _, arn := range s.StateMachines {
		if strings.HasSuffix(arn, ":stateMachine:"+name) {
			out, err := s.SFN.DescribeStateMachine(ctx, &sfn.DescribeStateMachineInput{StateMachineArn: aws.String(arn)})
			if err != nil {
				t.Fatal(err)
			}
			return aws.ToString(out.Definition)
		}
	}
	t.Fatalf("no state machine %s", name)
	return ""
}
