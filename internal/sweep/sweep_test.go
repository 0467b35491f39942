package sweep

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/smithy-go"

	"github.com/ecslogfix/ecslogfix/internal/awsfake"
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

const testStateMachine = "arn:aws:states:us-east-1:111122223333:stateMachine:ecslogfix-remediation"

func newSweeper(e *awsfake.ECS, s *awsfake.SFN, logs *awsfake.LogBuffer) *Sweeper {
	return &Sweeper{
		Starter: &execution.Starter{SFN: s, StateMachineARN: testStateMachine, Policy: policy.Default()},
		ECS:     func(workflow.Target) (inventory.ECS, error) { return e, nil },
		Reach:   execution.Reach{HomeAccount: awsfake.Account},
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

func TestSweepFindsExactlyTheViolators(t *testing.T) {
	e, s := awsfake.NewECS(), awsfake.NewSFN()
	violators := seedMixed(t, e, 40)
	d := newSweeper(e, s, &awsfake.LogBuffer{})
	var emf bytes.Buffer
	d.Metrics = &metrics.Metrics{W: &emf}
	rep, err := d.Handle(context.Background(), Request{})
	if err != nil {
		t.Fatal(err)
	}
	// One metrics document per sweep invocation, not one per family.
	awsfake.CheckEMF(t, emf.String(), metrics.Namespace)
	var doc map[string]any
	if lines := strings.Split(strings.TrimSpace(emf.String()), "\n"); len(lines) != 1 || json.Unmarshal([]byte(lines[0]), &doc) != nil || doc[metrics.Started] != float64(len(violators)) || doc["Mode"] != "sweep" {
		t.Fatalf("sweep metrics %s", emf.String())
	}
	if !rep.Done || rep.Continued {
		t.Fatalf("report %+v", rep)
	}
	if rep.Evaluated != 40 || rep.Started != len(violators) || rep.Violations != len(violators) || rep.Errors != 0 {
		t.Fatalf("report %+v", rep)
	}
	if got := startedFamilies(t, s); fmt.Sprint(got) != fmt.Sprint(violators) {
		t.Fatalf("started %v, want %v", got, violators)
	}
	// A second sweep (or an overlapping event) changes nothing.
	rep, err = d.Handle(context.Background(), Request{})
	if err != nil || rep.Started != 0 || rep.Duplicates != len(violators) {
		t.Fatalf("second sweep %+v %v", rep, err)
	}
}

func TestSweepResumesWhenCutOff(t *testing.T) {
	e, s, inv := awsfake.NewECS(), awsfake.NewSFN(), &awsfake.Invoker{}
	violators := seedMixed(t, e, 150) // two ListTaskDefinitionFamilies pages
	d := newSweeper(e, s, &awsfake.LogBuffer{})
	d.Invoker, d.FunctionName = inv, "ecslogfix-sweep"
	d.Margin = 30 * time.Second

	req := Request{Regions: []string{"us-east-1"}}
	var reports []Report
	for range 10 {
		// Each invocation gets 50 minutes on a clock that ticks a minute
		// per reading: it stops part way and continues itself.
		start := time.Now()
		clock := &stepClock{t: start, step: time.Minute}
		d.Now = clock.Now
		ctx, cancel := context.WithDeadline(context.Background(), start.Add(50*time.Minute))
		rep, err := d.Handle(ctx, req)
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		reports = append(reports, rep)
		if rep.Done {
			break
		}
		if !rep.Continued || len(inv.Inputs) != len(reports) {
			t.Fatalf("invocation %d stopped without continuing: %+v", len(reports), rep)
		}
		last := inv.Inputs[len(inv.Inputs)-1]
		if aws.ToString(last.FunctionName) != "ecslogfix-sweep" || last.InvocationType != lambdatypes.InvocationTypeEvent {
			t.Fatalf("continuation %+v", last)
		}
		req = decodeStrict(t, last.Payload)
	}
	if len(reports) < 3 || !reports[len(reports)-1].Done {
		t.Fatalf("sweep took %d invocations, last %+v", len(reports), reports[len(reports)-1])
	}
	evaluated, started, duplicates := 0, 0, 0
	for i, r := range reports {
		evaluated += r.Evaluated
		started += r.Started
		duplicates += r.Duplicates
		if r.SweepID != reports[0].SweepID {
			t.Errorf("invocation %d has sweep ID %s, want %s", i, r.SweepID, reports[0].SweepID)
		}
	}
	if evaluated != 150 || started != len(violators) || duplicates != 0 {
		t.Fatalf("evaluated %d started %d duplicates %d over %d invocations; want 150, %d, 0", evaluated, started, duplicates, len(reports), len(violators))
	}
	if got := startedFamilies(t, s); fmt.Sprint(got) != fmt.Sprint(violators) {
		t.Fatalf("started %v, want %v", got, violators)
	}
	// The continuation payload is a sweep request with a checkpoint.
	first := decodeStrict(t, inv.Payloads[0])
	if first.Checkpoint.Region != awsfake.Region || first.Checkpoint.Walk.Done == 0 || first.Checkpoint.Invocation != 1 {
		t.Fatalf("payload %s", inv.Payloads[0])
	}
}

// decodeStrict decodes a continuation as the function does.
func decodeStrict(t *testing.T, payload []byte) Request {
	t.Helper()
	var req Request
	dec := json.NewDecoder(bytes.NewReader(payload))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		t.Fatalf("continuation %s: %v", payload, err)
	}
	return req
}

func TestSweepWithoutFunctionNameReportsCheckpoint(t *testing.T) {
	e, s := awsfake.NewECS(), awsfake.NewSFN()
	seedMixed(t, e, 20)
	d := newSweeper(e, s, &awsfake.LogBuffer{})
	start := time.Now()
	d.Now = (&stepClock{t: start, step: time.Minute}).Now
	ctx, cancel := context.WithDeadline(context.Background(), start.Add(10*time.Minute))
	defer cancel()
	rep, err := d.Handle(ctx, Request{})
	if err != nil || rep.Done || rep.Continued || rep.Checkpoint == nil {
		t.Fatalf("%+v %v", rep, err)
	}
}

func TestSweepOrganization(t *testing.T) {
	rc := &recording{ecs: map[string]*awsfake.ECS{}}
	accounts := []string{"444455556666", awsfake.Account}
	regions := []string{"eu-west-1", "us-east-1"}
	for _, a := range accounts {
		for _, r := range regions {
			e := awsfake.NewECS()
			e.Account, e.Region = a, r
			seedMixed(t, e, 6) // 2 violators each
			rc.ecs[a+"/"+r] = e
		}
	}
	// One target refuses the member role's list call.
	rc.ecs["444455556666/eu-west-1"].FailNext("ListTaskDefinitionFamilies", &smithy.GenericAPIError{Code: "AccessDeniedException", Message: "no"})
	s := awsfake.NewSFN()
	d := newSweeper(nil, s, &awsfake.LogBuffer{})
	d.ECS = rc.For
	d.Reach = execution.Reach{Organization: true, MemberRoleName: "ecslogfix-member", HomeAccount: awsfake.Account}
	d.AllowedAccounts = accounts
	d.Regions = regions
	rep, err := d.Handle(context.Background(), Request{})
	if err != nil {
		t.Fatal(err)
	}
	if !rep.Done || rep.Started != 6 || rep.Errors != 1 {
		t.Fatalf("report %+v", rep)
	}
	roles := map[string]string{}
	for _, tg := range rc.targets {
		roles[tg.Account] = tg.RoleARN
	}
	if roles["444455556666"] != "arn:aws:iam::444455556666:role/ecslogfix-member" || roles[awsfake.Account] != "" {
		t.Fatalf("roles %v", roles)
	}
	for _, name := range s.Order {
		var in workflow.Input
		_ = json.Unmarshal([]byte(s.Inputs[name]), &in)
		if in.Target.Account == "444455556666" && in.Target.RoleARN == "" {
			t.Errorf("member target without role: %+v", in.Target)
		}
	}
}

func TestSweepSkipsFailedFamilies(t *testing.T) {
	e, s := awsfake.NewECS(), awsfake.NewSFN()
	violators := seedMixed(t, e, 9)
	e.FailNext("DescribeTaskDefinition", &smithy.GenericAPIError{Code: "ThrottlingException", Message: "Rate exceeded"})
	d := newSweeper(e, s, &awsfake.LogBuffer{})
	rep, err := d.Handle(context.Background(), Request{})
	if err != nil {
		t.Fatal(err)
	}
	// svc-0000 (a violator) failed to describe; the rest went on.
	if rep.Errors != 1 || rep.Evaluated != 8 || rep.Started != len(violators)-1 || !rep.Done {
		t.Fatalf("report %+v", rep)
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
	e, s, inv := awsfake.NewECS(), awsfake.NewSFN(), &awsfake.Invoker{}
	seedMixed(t, e, 5)
	d := newSweeper(e, s, &awsfake.LogBuffer{})
	d.ECS = func(workflow.Target) (inventory.ECS, error) { return slowBudget{e}, nil }
	d.Invoker, d.FunctionName = inv, "ecslogfix-sweep"
	d.Margin = time.Second
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	rep, err := d.Handle(ctx, Request{})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Done || !rep.Continued || rep.Errors != 0 || len(inv.Inputs) != 1 {
		t.Fatalf("report %+v", rep)
	}
}

func TestSweepRefusesABadRegion(t *testing.T) {
	d := newSweeper(awsfake.NewECS(), awsfake.NewSFN(), &awsfake.LogBuffer{})
	_, err := d.Handle(context.Background(), Request{Regions: []string{"us-east-1", "moon-1"}})
	if awsfake.ErrorType(err) != workflow.ErrInvalidInput {
		t.Fatalf("got %v", err)
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
