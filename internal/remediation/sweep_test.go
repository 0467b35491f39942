package remediation

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
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/smithy-go"

	"github.com/ecslogfix/ecslogfix/internal/config"
	"github.com/ecslogfix/ecslogfix/internal/workflow"
)

// seedMixed registers n families: every third non-compliant, every fifth
// of the rest exempt, the others compliant. It returns the violators.
func seedMixed(t *testing.T, e *fakeECS, n int) []string {
	t.Helper()
	bad, badTags := loadTD(t, "td01-fargate-no-logconfig.json")
	good, goodTags := loadTD(t, "td11-compliant-fargate.json")
	exemptTags := append(append([]types.Tag(nil), badTags...), tag("ecslogfix:exempt", "true"))
	var violators []string
	for i := range n {
		family := fmt.Sprintf("svc-%04d", i)
		switch {
		case i%3 == 0:
			e.put(withRevision(bad, family, 1), badTags)
			violators = append(violators, family)
		case i%5 == 0:
			e.put(withRevision(bad, family, 1), exemptTags)
		default:
			e.put(withRevision(good, family, 1), goodTags)
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

func startedFamilies(t *testing.T, s *fakeSFN) []string {
	t.Helper()
	var out []string
	for _, name := range s.order {
		var in workflow.Input
		if err := json.Unmarshal([]byte(s.inputs[name]), &in); err != nil {
			t.Fatal(err)
		}
		if in.Trigger != workflow.TriggerSweep {
			t.Errorf("trigger %s", in.Trigger)
		}
		if name != ExecutionName(in.Target.Account, in.Target.Region, in.Family, in.Revision) {
			t.Errorf("execution name %s is not the event's name", name)
		}
		out = append(out, in.Family)
	}
	sort.Strings(out)
	return out
}

func TestSweepFindsExactlyTheViolators(t *testing.T) {
	e, s := newFakeECS(), newFakeSFN()
	violators := seedMixed(t, e, 40)
	d := newDetector(e, s, &logBuffer{})
	d.StartRate = 1e6
	var emf bytes.Buffer
	d.Metrics = &Metrics{W: &emf}
	resp, err := d.Handle(context.Background(), json.RawMessage(`{"sweep":{}}`))
	if err != nil {
		t.Fatal(err)
	}
	// One metrics document per sweep invocation, not one per family.
	assertEMF(t, emf.String())
	var doc map[string]any
	if lines := strings.Split(strings.TrimSpace(emf.String()), "\n"); len(lines) != 1 || json.Unmarshal([]byte(lines[0]), &doc) != nil || doc[MetricStarted] != float64(len(violators)) || doc["Mode"] != "sweep" {
		t.Fatalf("sweep metrics %s", emf.String())
	}
	rep := resp.Sweep
	if resp.Status != StatusSweep || rep == nil || !rep.Done || rep.Continued {
		t.Fatalf("response %+v", resp)
	}
	if rep.Evaluated != 40 || rep.Started != len(violators) || rep.Violations != len(violators) || rep.Errors != 0 {
		t.Fatalf("report %+v", rep)
	}
	if got := startedFamilies(t, s); fmt.Sprint(got) != fmt.Sprint(violators) {
		t.Fatalf("started %v, want %v", got, violators)
	}
	// A second sweep (or an overlapping event) changes nothing.
	resp, err = d.Handle(context.Background(), json.RawMessage(`{"sweep":{}}`))
	if err != nil || resp.Sweep.Started != 0 || resp.Sweep.Duplicates != len(violators) {
		t.Fatalf("second sweep %+v %v", resp.Sweep, err)
	}
}

func TestSweepResumesWhenCutOff(t *testing.T) {
	e, s, inv := newFakeECS(), newFakeSFN(), &fakeInvoker{}
	violators := seedMixed(t, e, 150) // two ListTaskDefinitionFamilies pages
	d := newDetector(e, s, &logBuffer{})
	d.StartRate = 1e6
	d.Invoker, d.FunctionName = inv, "ecslogfix-detect"
	d.SweepMargin = 30 * time.Second

	payload := json.RawMessage(`{"sweep":{"regions":["us-east-1"]}}`)
	var reports []*SweepReport
	for range 10 {
		// Each invocation gets 50 minutes on a clock that ticks a minute
		// per reading: it stops part way and continues itself.
		start := time.Now()
		clock := &stepClock{t: start, step: time.Minute}
		d.Now = clock.Now
		ctx, cancel := context.WithDeadline(context.Background(), start.Add(50*time.Minute))
		resp, err := d.Handle(ctx, payload)
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		reports = append(reports, resp.Sweep)
		if resp.Sweep.Done {
			break
		}
		if !resp.Sweep.Continued || len(inv.inputs) != len(reports) {
			t.Fatalf("invocation %d stopped without continuing: %+v", len(reports), resp.Sweep)
		}
		last := inv.inputs[len(inv.inputs)-1]
		if aws.ToString(last.FunctionName) != "ecslogfix-detect" || last.InvocationType != lambdatypes.InvocationTypeEvent {
			t.Fatalf("continuation %+v", last)
		}
		payload = last.Payload
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
	var req struct{ Sweep SweepRequest }
	if err := json.Unmarshal(inv.payloads[0], &req); err != nil || req.Sweep.Checkpoint.Region != testRegion || req.Sweep.Checkpoint.Walk.Done == 0 || req.Sweep.Checkpoint.Invocation != 1 {
		t.Fatalf("payload %s: %v", inv.payloads[0], err)
	}
}

func TestSweepWithoutFunctionNameReportsCheckpoint(t *testing.T) {
	e, s := newFakeECS(), newFakeSFN()
	seedMixed(t, e, 20)
	d := newDetector(e, s, &logBuffer{})
	d.StartRate = 1e6
	start := time.Now()
	d.Now = (&stepClock{t: start, step: time.Minute}).Now
	ctx, cancel := context.WithDeadline(context.Background(), start.Add(10*time.Minute))
	defer cancel()
	resp, err := d.Handle(ctx, json.RawMessage(`{"sweep":{}}`))
	if err != nil || resp.Sweep.Done || resp.Sweep.Continued || resp.Sweep.Checkpoint == nil {
		t.Fatalf("%+v %v", resp.Sweep, err)
	}
}

func TestSweepOrganization(t *testing.T) {
	rc := &recordingClients{ecs: map[string]*fakeECS{}}
	accounts := []string{"444455556666", testAccount}
	regions := []string{"eu-west-1", "us-east-1"}
	for _, a := range accounts {
		for _, r := range regions {
			e := newFakeECS()
			e.account, e.region = a, r
			seedMixed(t, e, 6) // 2 violators each
			rc.ecs[a+"/"+r] = e
		}
	}
	// One target refuses the member role's list call.
	rc.ecs["444455556666/eu-west-1"].failNext("ListTaskDefinitionFamilies", &smithy.GenericAPIError{Code: "AccessDeniedException", Message: "no"})
	s := newFakeSFN()
	d := newDetector(nil, s, &logBuffer{})
	d.Clients = rc
	d.StartRate = 1e6
	d.Runtime.Mode = config.ModeOrganization
	d.Runtime.MemberRoleName = "ecslogfix-member"
	d.Runtime.AllowedAccounts = accounts
	d.Runtime.Regions = regions
	resp, err := d.Handle(context.Background(), json.RawMessage(`{"sweep":{}}`))
	if err != nil {
		t.Fatal(err)
	}
	if !resp.Sweep.Done || resp.Sweep.Started != 6 || resp.Sweep.Errors != 1 {
		t.Fatalf("report %+v", resp.Sweep)
	}
	roles := map[string]string{}
	for _, tg := range rc.targets {
		roles[tg.Account] = tg.RoleARN
	}
	if roles["444455556666"] != "arn:aws:iam::444455556666:role/ecslogfix-member" || roles[testAccount] != "" {
		t.Fatalf("roles %v", roles)
	}
	for _, name := range s.order {
		var in workflow.Input
		_ = json.Unmarshal([]byte(s.inputs[name]), &in)
		if in.Target.Account == "444455556666" && in.Target.RoleARN == "" {
			t.Errorf("member target without role: %+v", in.Target)
		}
	}
}

func TestSweepSkipsFailedFamilies(t *testing.T) {
	e, s := newFakeECS(), newFakeSFN()
	violators := seedMixed(t, e, 9)
	e.failNext("DescribeTaskDefinition", &smithy.GenericAPIError{Code: "ThrottlingException", Message: "Rate exceeded"})
	d := newDetector(e, s, &logBuffer{})
	d.StartRate = 1e6
	resp, err := d.Handle(context.Background(), json.RawMessage(`{"sweep":{}}`))
	if err != nil {
		t.Fatal(err)
	}
	// svc-0000 (a violator) failed to describe; the rest went on.
	if resp.Sweep.Errors != 1 || resp.Sweep.Evaluated != 8 || resp.Sweep.Started != len(violators)-1 || !resp.Sweep.Done {
		t.Fatalf("report %+v", resp.Sweep)
	}
}

func TestSweepShapeIsNotAnEvent(t *testing.T) {
	// An EventBridge event that happens to carry a "sweep" key is an event.
	d := newDetector(newFakeECS(), newFakeSFN(), &logBuffer{})
	resp, err := d.Handle(context.Background(), json.RawMessage(`{"source":"aws.ecs","detail-type":"AWS API Call via CloudTrail","sweep":{}}`))
	if err != nil || resp.Status != StatusIgnored {
		t.Fatalf("%+v %v", resp, err)
	}
}

func TestSweepContinuesWhenReadRateOutlastsTheDeadline(t *testing.T) {
	e, s, inv := newFakeECS(), newFakeSFN(), &fakeInvoker{}
	seedMixed(t, e, 5)
	d := newDetector(e, s, &logBuffer{})
	d.StartRate = 1e6
	d.ReadRate = 0.01 // the next read token is 100s away
	d.Invoker, d.FunctionName = inv, "ecslogfix-detect"
	d.SweepMargin = time.Second
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	resp, err := d.Handle(ctx, json.RawMessage(`{"sweep":{}}`))
	if err != nil {
		t.Fatal(err)
	}
	if resp.Sweep.Done || !resp.Sweep.Continued || resp.Sweep.Errors != 0 || len(inv.inputs) != 1 {
		t.Fatalf("report %+v", resp.Sweep)
	}
}
