package sweep

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	cfntypes "github.com/aws/aws-sdk-go-v2/service/cloudformation/types"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	orgtypes "github.com/aws/aws-sdk-go-v2/service/organizations/types"
	"github.com/aws/smithy-go"

	"github.com/ecslogfix/ecslogfix/internal/awsfake"
	"github.com/ecslogfix/ecslogfix/internal/coverage"
	"github.com/ecslogfix/ecslogfix/internal/execution"
	"github.com/ecslogfix/ecslogfix/internal/inventory"
	"github.com/ecslogfix/ecslogfix/internal/metrics"
	"github.com/ecslogfix/ecslogfix/internal/policy"
	"github.com/ecslogfix/ecslogfix/internal/workflow"
)

// seedMixed registers n families: every third non-compliant, every fifth
// of the rest exempt, the others compliant. It returns the violators.
func seedMixed(t *testing.T, e *awsfake.ECS, n int) []string {
	t.Helper()
	bad, badTags := awsfake.TaskDefinition(t, "td01-fargate-no-logconfig.json")
	good, goodTags := awsfake.TaskDefinition(t, "td11-compliant-fargate.json")
	exemptTags := append(append([]types.Tag(nil), badTags...), awsfake.Tag("ecslogfix:exempt", "true"))
	var violators []string
	for i := range n {
		family := fmt.Sprintf("svc-%04d", i)
		switch {
		case i%3 == 0:
			e.Put(awsfake.WithRevision(bad, family, 1), badTags)
			violators = append(violators, family)
		case i%5 == 0:
			e.Put(awsfake.WithRevision(bad, family, 1), exemptTags)
		default:
			e.Put(awsfake.WithRevision(good, family, 1), goodTags)
		}
	}
	return violators
}

// stepClock advances by step on every reading.
type stepClock struct {
	mu   sync.Mutex
	t    time.Time
	step time.Duration
}

func (c *stepClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(c.step)
	return c.t
}

func startedFamilies(t *testing.T, s *awsfake.SFN) []string {
	t.Helper()
	var out []string
	for _, name := range s.Order {
		var in workflow.Input
		if err := json.Unmarshal([]byte(s.Inputs[name]), &in); err != nil {
			t.Fatal(err)
		}
		if in.Trigger != workflow.TriggerSweep {
			t.Errorf("trigger %s", in.Trigger)
		}
		if name != execution.Name(in.Target.Account, in.Target.Region, in.Family, in.Revision) {
			t.Errorf("execution name %s is not the event's name", name)
		}
		out = append(out, in.Family)
	}
	sort.Strings(out)
	return out
}

const (
	testStateMachine = "arn:aws:states:us-east-1:111122223333:stateMachine:ecslogfix-remediation"
	bucket           = "ecslogfix-sweeps"
)

func newSweeper(e *awsfake.ECS, s *awsfake.SFN, logs *awsfake.LogBuffer) *Sweeper {
	return &Sweeper{
		Starter: &execution.Starter{SFN: s, StateMachineARN: testStateMachine, Policy: policy.Default()},
		ECS:     func(workflow.Target) (inventory.ECS, error) { return e, nil },
		Reach:   execution.Reach{HomeAccount: awsfake.Account},
		S3:      awsfake.NewS3(),
		Bucket:  bucket,
		Region:  awsfake.Region,
		Logger:  logs.Logger(),
	}
}

// recording serves one fake ECS per account/region and records the
// targets asked for.
type recording struct {
	mu      sync.Mutex
	ecs     map[string]*awsfake.ECS
	targets []workflow.Target
}

func (r *recording) For(t workflow.Target) (inventory.ECS, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.targets = append(r.targets, t)
	return r.ecs[t.Account+"/"+t.Region], nil
}

// handle calls Handle as the function does: the request decoded strictly
// from the JSON the state machine sends, the answer re-encoded.
func handle[Out any](t *testing.T, s *Sweeper, ctx context.Context, req workflow.SweepRequest) (Out, error) {
	t.Helper()
	var out Out
	body, err := json.Marshal(req)
	if err != nil {
		t.Fatal(err)
	}
	var decoded workflow.SweepRequest
	if err := workflow.Decode(bytes.NewReader(body), &decoded); err != nil {
		t.Fatalf("request %s: %v", body, err)
	}
	v, err := s.Handle(ctx, decoded)
	if err != nil {
		return out, err
	}
	b, _ := json.Marshal(v)
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatalf("answer %s: %v", b, err)
	}
	return out, nil
}

// run plays the sweep state machine's part: inventory, one child per line
// of the targets object looping WalkTarget until done (a failed walk ends
// its child), summarize. deadline bounds each invocation when set.
func run(t *testing.T, s *Sweeper, sweepID string, deadline func() (context.Context, context.CancelFunc)) (workflow.SweepState, map[workflow.Target]int) {
	t.Helper()
	if deadline == nil {
		deadline = func() (context.Context, context.CancelFunc) { return context.WithCancel(context.Background()) }
	}
	inv, err := handle[workflow.SweepInventory](t, s, context.Background(), workflow.SweepRequest{Action: workflow.SweepActionInventory, SweepID: sweepID})
	if err != nil {
		t.Fatal(err)
	}
	items, ok := s.S3.(*awsfake.S3).Object(inv.Bucket, inv.TargetsKey)
	if !ok {
		t.Fatalf("no targets object %s", inv.TargetsKey)
	}
	invocations := map[workflow.Target]int{}
	sc := bufio.NewScanner(bytes.NewReader(items))
	for sc.Scan() {
		var target workflow.Target
		if err := json.Unmarshal(sc.Bytes(), &target); err != nil {
			t.Fatalf("targets line %q: %v", sc.Text(), err)
		}
		w := workflow.Walk{SweepID: inv.SweepID, Target: target}
		for !w.Done {
			ctx, cancel := deadline()
			next, err := handle[workflow.Walk](t, s, ctx, workflow.SweepRequest{Action: workflow.SweepActionWalk, Walk: &w})
			cancel()
			invocations[target]++
			if err != nil {
				break // the child fails
			}
			if next.Invocation != w.Invocation+1 || next.Target != target {
				t.Fatalf("walk %+v answered %+v", w, next)
			}
			w = next
		}
	}
	st, err := handle[workflow.SweepState](t, s, context.Background(), workflow.SweepRequest{Action: workflow.SweepActionSummarize, Sweep: &workflow.SweepState{Inventory: inv}})
	if err != nil {
		t.Fatal(err)
	}
	if st.Summary == nil || st.Inventory != inv {
		t.Fatalf("summarize answered %+v", st)
	}
	return st, invocations
}

func report(t *testing.T, s *Sweeper, sum *workflow.SweepSummary) []Family {
	t.Helper()
	b, ok := s.S3.(*awsfake.S3).Object(sum.Bucket, sum.ReportKey)
	if !ok {
		t.Fatalf("no report %s", sum.ReportKey)
	}
	fams, err := ReadReport(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	return fams
}

func TestSweepFindsExactlyTheViolators(t *testing.T) {
	e, s := awsfake.NewECS(), awsfake.NewSFN()
	violators := seedMixed(t, e, 40)
	d := newSweeper(e, s, &awsfake.LogBuffer{})
	var emf bytes.Buffer
	d.Metrics = &metrics.Metrics{W: &emf}
	st, _ := run(t, d, "sweep-1", nil)
	// One metrics document per walk invocation and one per summary, not
	// one per family.
	awsfake.CheckEMF(t, emf.String(), metrics.Namespace)
	lines := strings.Split(strings.TrimSpace(emf.String()), "\n")
	var walked, summarized map[string]any
	if len(lines) != 2 || json.Unmarshal([]byte(lines[0]), &walked) != nil || json.Unmarshal([]byte(lines[1]), &summarized) != nil ||
		walked[metrics.Started] != float64(len(violators)) || walked["Mode"] != "sweep" ||
		summarized[metrics.CoverageGaps] != 0.0 || summarized[metrics.TargetsFailed] != 0.0 || summarized["Mode"] != "sweep" {
		t.Fatalf("sweep metrics %s", emf.String())
	}
	sum := st.Summary
	if sum.Targets != 1 || sum.TargetsWalked != 1 || sum.TargetsFailed != 0 || sum.CoverageGaps != 0 {
		t.Fatalf("summary %+v", sum)
	}
	if sum.Evaluated != 40 || sum.Started != len(violators) || sum.Violations != len(violators) || sum.Errors != 0 || sum.Compliant+sum.Skipped+sum.Violations != 40 {
		t.Fatalf("summary %+v", sum)
	}
	if got := startedFamilies(t, s); fmt.Sprint(got) != fmt.Sprint(violators) {
		t.Fatalf("started %v, want %v", got, violators)
	}
	// The per-family report: one line per family, names and statuses only.
	fams := report(t, d, sum)
	statuses := map[string]int{}
	for _, f := range fams {
		statuses[f.Status]++
		if f.Account != awsfake.Account || f.Region != awsfake.Region || f.Revision != 1 || !strings.HasSuffix(f.TaskDefinitionARN, f.Family+":1") {
			t.Errorf("report line %+v", f)
		}
		if f.Status == execution.StatusStarted && f.ExecutionName != execution.Name(f.Account, f.Region, f.Family, 1) {
			t.Errorf("report line %+v names another execution", f)
		}
	}
	if len(fams) != 40 || statuses[execution.StatusStarted] != len(violators) || statuses[execution.StatusCompliant] != sum.Compliant {
		t.Fatalf("report statuses %v over %d lines", statuses, len(fams))
	}
	raw, _ := d.S3.(*awsfake.S3).Object(bucket, sum.ReportKey)
	awsfake.CheckNoSecrets(t, string(raw))
	if b, ok := d.S3.(*awsfake.S3).Object(bucket, sum.SummaryKey); !ok || !bytes.Contains(b, []byte(`"evaluated":40`)) {
		t.Fatalf("summary object %s", b)
	}
	// A second sweep (or an overlapping event) changes nothing.
	st, _ = run(t, d, "sweep-2", nil)
	if st.Summary.Started != 0 || st.Summary.Duplicates != len(violators) {
		t.Fatalf("second sweep %+v", st.Summary)
	}
}

func TestSweepResumesWhenCutOff(t *testing.T) {
	e, s := awsfake.NewECS(), awsfake.NewSFN()
	violators := seedMixed(t, e, 150) // two ListTaskDefinitionFamilies pages
	d := newSweeper(e, s, &awsfake.LogBuffer{})
	d.Margin = 30 * time.Second
	// Each invocation gets 50 minutes on a clock that ticks a minute per
	// reading: it stops part way and returns its checkpoint.
	deadline := func() (context.Context, context.CancelFunc) {
		start := time.Now()
		d.Now = (&stepClock{t: start, step: time.Minute}).Now
		return context.WithDeadline(context.Background(), start.Add(50*time.Minute))
	}
	st, invocations := run(t, d, "sweep-1", deadline)
	target := workflow.Target{Account: awsfake.Account, Region: awsfake.Region}
	if invocations[target] < 3 {
		t.Fatalf("the walk took %d invocations", invocations[target])
	}
	// One result object per invocation, in order, only the last one done.
	keys := d.S3.(*awsfake.S3).Keys(bucket, "sweeps/sweep-1/results/")
	if len(keys) != invocations[target] {
		t.Fatalf("%d results for %d invocations: %v", len(keys), invocations[target], keys)
	}
	for i, k := range keys {
		var r Result
		b, _ := d.S3.(*awsfake.S3).Object(bucket, k)
		if err := json.Unmarshal(b, &r); err != nil || r.Invocation != i || r.Done != (i == len(keys)-1) || r.Error != "" {
			t.Fatalf("result %s: %+v %v", k, r, err)
		}
		// The rows are spooled as they come; the object is still byte for
		// byte the Result's JSON line.
		if len(r.Families) == 0 || !bytes.Equal(b, appendJSONLine(nil, r)) {
			t.Fatalf("result %s with %d families is not the Result's JSON line:\n%s", k, len(r.Families), b)
		}
	}
	if sum := st.Summary; sum.Evaluated != 150 || sum.Started != len(violators) || sum.Duplicates != 0 || sum.TargetsWalked != 1 {
		t.Fatalf("summary %+v over %d invocations; want 150 evaluated, %d started", sum, invocations[target], len(violators))
	}
	if got := startedFamilies(t, s); fmt.Sprint(got) != fmt.Sprint(violators) {
		t.Fatalf("started %v, want %v", got, violators)
	}
	if n := len(report(t, d, st.Summary)); n != 150 {
		t.Fatalf("the report has %d lines", n)
	}
}

// A retried walk invocation (Step Functions' Retry after a Lambda error)
// overwrites its own result: the summary counts each invocation once.
func TestSweepWalkRetryCountsOnce(t *testing.T) {
	e, s := awsfake.NewECS(), awsfake.NewSFN()
	seedMixed(t, e, 9)
	d := newSweeper(e, s, &awsfake.LogBuffer{})
	inv, err := d.Inventory(context.Background(), "sweep-1")
	if err != nil {
		t.Fatal(err)
	}
	w := workflow.Walk{SweepID: "sweep-1", Target: workflow.Target{Account: awsfake.Account, Region: awsfake.Region}}
	for range 2 {
		if next, err := d.Walk(context.Background(), w); err != nil || !next.Done {
			t.Fatalf("walk %+v %v", next, err)
		}
	}
	st, err := d.Summarize(context.Background(), workflow.SweepState{Inventory: inv})
	if err != nil || st.Summary.Evaluated != 9 {
		t.Fatalf("summary %+v %v", st.Summary, err)
	}
}

// fakeOrg is an organization of one OU.
type fakeOrg struct{ accounts []string }

func (f fakeOrg) ListAccountsForParent(_ context.Context, in *organizations.ListAccountsForParentInput, _ ...func(*organizations.Options)) (*organizations.ListAccountsForParentOutput, error) {
	var out []orgtypes.Account
	for _, a := range f.accounts {
		out = append(out, orgtypes.Account{Id: aws.String(a), State: orgtypes.AccountStateActive})
	}
	return &organizations.ListAccountsForParentOutput{Accounts: out}, nil
}

func (fakeOrg) ListOrganizationalUnitsForParent(context.Context, *organizations.ListOrganizationalUnitsForParentInput, ...func(*organizations.Options)) (*organizations.ListOrganizationalUnitsForParentOutput, error) {
	return &organizations.ListOrganizationalUnitsForParentOutput{}, nil
}

type fakeStackSets map[string][]cfntypes.StackInstanceSummary

func (f fakeStackSets) ListStackInstances(_ context.Context, in *cloudformation.ListStackInstancesInput, _ ...func(*cloudformation.Options)) (*cloudformation.ListStackInstancesOutput, error) {
	return &cloudformation.ListStackInstancesOutput{Summaries: f[aws.ToString(in.StackSetName)]}, nil
}

func current(account string, regions ...string) []cfntypes.StackInstanceSummary {
	var out []cfntypes.StackInstanceSummary
	for _, r := range regions {
		out = append(out, cfntypes.StackInstanceSummary{Account: aws.String(account), Region: aws.String(r), Status: cfntypes.StackInstanceStatusCurrent})
	}
	return out
}

func TestSweepOrganization(t *testing.T) {
	const member, other, gap = "444455556666", "777788889999", "121212121212"
	rc := &recording{ecs: map[string]*awsfake.ECS{}}
	regions := []string{"eu-west-1", "us-east-1"}
	for _, a := range []string{member, other, awsfake.Account} {
		for _, r := range regions {
			e := awsfake.NewECS()
			e.Account, e.Region = a, r
			seedMixed(t, e, 6) // 2 violators each
			rc.ecs[a+"/"+r] = e
		}
	}
	// One target refuses the member role's list call.
	rc.ecs[other+"/eu-west-1"].FailNext("ListTaskDefinitionFamilies", &smithy.GenericAPIError{Code: "AccessDeniedException", Message: "no"})
	s := awsfake.NewSFN()
	d := newSweeper(nil, s, &awsfake.LogBuffer{})
	d.ECS = rc.For
	d.Reach = execution.Reach{Organization: true, MemberRoleName: "ecslogfix-member", HomeAccount: awsfake.Account}
	d.Regions = regions
	d.Organization = &Organization{Organizations: fakeOrg{[]string{member, other, gap}},
		StackSets: fakeStackSets{
			"ecslogfix-member-iam": append(current(member, "eu-west-1"), current(other, "eu-west-1")...),
			"ecslogfix-member":     append(current(member, regions...), current(other, regions...)...),
		},
		TargetOUs: []string{"ou-ab12-abcdefgh"}, RoleStackSet: "ecslogfix-member-iam", ForwardingStackSet: "ecslogfix-member", CallAs: "SELF"}
	var emf bytes.Buffer
	d.Metrics = &metrics.Metrics{W: &emf}
	st, _ := run(t, d, "sweep-1", nil)
	sum := st.Summary
	if sum.Targets != 6 || sum.TargetsWalked != 5 || sum.TargetsFailed != 1 || sum.Started != 10 || sum.Errors != 0 ||
		fmt.Sprint(sum.FailedTargets) != fmt.Sprint([]workflow.Target{{Account: other, Region: "eu-west-1"}}) {
		t.Fatalf("summary %+v", sum)
	}
	if sum.CoverageGaps != 1 || sum.Gaps[0] != (coverage.Gap{Account: gap, Reason: coverage.GapMemberRole, StackSet: "ecslogfix-member-iam", Status: coverage.StatusMissing}) {
		t.Fatalf("gaps %+v", sum.Gaps)
	}
	if !strings.Contains(emf.String(), `"CoverageGaps":1`) || !strings.Contains(emf.String(), `"SweepTargetsFailed":1`) {
		t.Fatalf("metrics %s", emf.String())
	}
	roles := map[string]string{}
	for _, tg := range rc.targets {
		roles[tg.Account] = tg.RoleARN
	}
	if roles[member] != "arn:aws:iam::444455556666:role/ecslogfix-member" || roles[awsfake.Account] != "" || len(roles) != 3 {
		t.Fatalf("roles %v", roles)
	}
	for _, name := range s.Order {
		var in workflow.Input
		_ = json.Unmarshal([]byte(s.Inputs[name]), &in)
		if in.Target.Account == member && in.Target.RoleARN == "" {
			t.Errorf("member target without role: %+v", in.Target)
		}
	}
	// The failed target's result says why.
	b, _ := d.S3.(*awsfake.S3).Object(bucket, "sweeps/sweep-1/results/"+other+"/eu-west-1/00000.json")
	var r Result
	if err := json.Unmarshal(b, &r); err != nil || r.Done || !strings.Contains(r.Error, "AccessDeniedException") || !bytes.Equal(b, appendJSONLine(nil, r)) {
		t.Fatalf("failed target's result %s", b)
	}
}

func TestSweepSkipsFailedFamilies(t *testing.T) {
	e, s := awsfake.NewECS(), awsfake.NewSFN()
	violators := seedMixed(t, e, 9)
	e.FailNext("DescribeTaskDefinition", &smithy.GenericAPIError{Code: "ThrottlingException", Message: "Rate exceeded"})
	d := newSweeper(e, s, &awsfake.LogBuffer{})
	st, _ := run(t, d, "sweep-1", nil)
	// svc-0000 (a violator) failed to describe; the rest went on.
	if sum := st.Summary; sum.Errors != 1 || sum.Evaluated != 8 || sum.Started != len(violators)-1 || sum.TargetsWalked != 1 {
		t.Fatalf("summary %+v", sum)
	}
	if f := report(t, d, st.Summary)[0]; f.Family != "svc-0000" || f.Status != StatusError || !strings.Contains(f.Detail, "ThrottlingException") {
		t.Fatalf("report line %+v", f)
	}
}

// An AWS error message can quote the request: the walk's result and the
// report keep the error's text sanitised (escape.Cause), its code and the
// rest of its message shown.
func TestSweepReportSanitisesErrorText(t *testing.T) {
	const secret = "FAKE-quoted-by-aws-c0ffee"
	e, s := awsfake.NewECS(), awsfake.NewSFN()
	seedMixed(t, e, 3)
	e.FailNext("DescribeTaskDefinition", &smithy.GenericAPIError{Code: "ClientException", Message: "Invalid request: token=" + secret + " is not valid."})
	d := newSweeper(e, s, &awsfake.LogBuffer{})
	st, _ := run(t, d, "sweep-1", nil)
	f := report(t, d, st.Summary)[0]
	if f.Status != StatusError || strings.Contains(f.Detail, secret) || !strings.Contains(f.Detail, "ClientException: Invalid request: token=[redacted] is not valid.") {
		t.Fatalf("report line %+v", f)
	}
	keys := d.S3.(*awsfake.S3).Keys(bucket, "sweeps/sweep-1/results/")
	for _, k := range keys {
		if b, _ := d.S3.(*awsfake.S3).Object(bucket, k); strings.Contains(string(b), secret) {
			t.Errorf("the walk's result %s: %s", k, b)
		}
	}
	if len(keys) == 0 {
		t.Error("no walk result written")
	}
}

// slowBudget answers as the paced client does when the read budget's next
// token comes after the context's deadline (awsclient reports that as the
// deadline).
type slowBudget struct{ *awsfake.ECS }

func (slowBudget) ListTaskDefinitionFamilies(context.Context, *ecs.ListTaskDefinitionFamiliesInput, ...func(*ecs.Options)) (*ecs.ListTaskDefinitionFamiliesOutput, error) {
	return nil, fmt.Errorf("operation error ECS: ListTaskDefinitionFamilies: %w: rate: Wait(n=1) would exceed context deadline", context.DeadlineExceeded)
}

func TestSweepContinuesWhenTheReadBudgetOutlastsTheDeadline(t *testing.T) {
	e, s := awsfake.NewECS(), awsfake.NewSFN()
	seedMixed(t, e, 5)
	d := newSweeper(e, s, &awsfake.LogBuffer{})
	d.ECS = func(workflow.Target) (inventory.ECS, error) { return slowBudget{e}, nil }
	d.Margin = time.Second
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	w := workflow.Walk{SweepID: "sweep-1", Target: workflow.Target{Account: awsfake.Account, Region: awsfake.Region}}
	next, err := d.Walk(ctx, w)
	if err != nil || next.Done || next.Invocation != 1 || next.Checkpoint != (inventory.Checkpoint{}) {
		t.Fatalf("walk %+v %v", next, err)
	}
}

// A walk that never finishes stops after MaxInvocations: its child fails.
func TestSweepWalkStopsAfterMaxInvocations(t *testing.T) {
	d := newSweeper(awsfake.NewECS(), awsfake.NewSFN(), &awsfake.LogBuffer{})
	_, err := d.Walk(context.Background(), workflow.Walk{SweepID: "s", Target: workflow.Target{Account: awsfake.Account, Region: awsfake.Region}, Invocation: MaxInvocations})
	if err == nil || !strings.Contains(err.Error(), "1000 invocations") {
		t.Fatalf("got %v", err)
	}
}

// Hostile input: one clear error naming the field, never retried.
func TestSweepRefusesBadRequests(t *testing.T) {
	d := newSweeper(awsfake.NewECS(), awsfake.NewSFN(), &awsfake.LogBuffer{})
	d.AllowedAccounts = []string{awsfake.Account, "444455556666"}
	walk := func(account, region, role string) workflow.SweepRequest {
		return workflow.SweepRequest{Action: workflow.SweepActionWalk, Walk: &workflow.Walk{SweepID: "s-1", Target: workflow.Target{Account: account, Region: region, RoleARN: role}}}
	}
	for _, tc := range []struct {
		name  string
		req   workflow.SweepRequest
		field string
	}{
		{"unknown action", workflow.SweepRequest{Action: "sweep"}, "action"},
		{"inventory without a sweep ID", workflow.SweepRequest{Action: workflow.SweepActionInventory}, "sweepId"},
		{"a sweep ID that is a path", workflow.SweepRequest{Action: workflow.SweepActionInventory, SweepID: "../x"}, "sweepId"},
		{"inventory with a walk", workflow.SweepRequest{Action: workflow.SweepActionInventory, SweepID: "s", Walk: &workflow.Walk{}}, "exactly the field"},
		{"walk without a walk", workflow.SweepRequest{Action: workflow.SweepActionWalk}, "exactly the field"},
		{"summarize without the state", workflow.SweepRequest{Action: workflow.SweepActionSummarize}, "exactly the field"},
		{"a bad region", walk(awsfake.Account, "moon-1", ""), "walk.target.region"},
		{"a region not covered", walk(awsfake.Account, "eu-west-1", ""), "walk.target.region"},
		{"a bad account", walk("12", awsfake.Region, ""), "walk.target.account"},
		{"an account outside the allow-list", walk("777788889999", awsfake.Region, ""), "walk.target.account"},
		{"a role given", walk("444455556666", awsfake.Region, "arn:aws:iam::444455556666:role/admin"), "walk.target.roleArn"},
		{"another bucket", workflow.SweepRequest{Action: workflow.SweepActionSummarize, Sweep: &workflow.SweepState{Inventory: workflow.SweepInventory{SweepID: "s", Bucket: "theirs"}}}, "sweep.inventory.bucket"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := d.Handle(context.Background(), tc.req)
			var ie *workflow.InvalidInputError
			if !errors.As(err, &ie) || awsfake.ErrorType(err) != workflow.ErrInvalidInput || !strings.Contains(err.Error(), tc.field) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("got %v, want an InvalidInputError naming %s", err, tc.field)
			}
		})
	}
}

func TestPrincipalFromARN(t *testing.T) {
	p := PrincipalFromARN("arn:aws:sts::111122223333:assumed-role/deploy/ci")
	if p.Type != "AssumedRole" || p.RoleARN != "arn:aws:iam::111122223333:role/deploy" {
		t.Fatalf("%+v", p)
	}
	if PrincipalFromARN("arn:aws:iam::111122223333:user/jane").Type != "IAMUser" || PrincipalFromARN("") != nil {
		t.Fatal("user or empty")
	}
	if PrincipalFromARN("arn:aws:iam::111122223333:root").Type != "Root" || PrincipalFromARN("not an arn").Type != "Unknown" {
		t.Fatal("root or unknown")
	}
}
