package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/ecslogfix/ecslogfix/internal/config"
	"github.com/ecslogfix/ecslogfix/internal/config/fnenv"
	"github.com/ecslogfix/ecslogfix/internal/config/naming"
	"github.com/ecslogfix/ecslogfix/internal/workflow"
	"github.com/ecslogfix/ecslogfix/test/bench"
	"github.com/ecslogfix/ecslogfix/test/e2e/harness"
	"github.com/ecslogfix/ecslogfix/test/e2e/synth"
	"github.com/ecslogfix/ecslogfix/test/faultproxy"
	"github.com/ecslogfix/ecslogfix/test/localaws"
)

// The organization sweep's size: account-regions (the hub and members, in
// two regions) and families in each.
const (
	EnvOrgTargets  = "ECSLOGFIX_BENCH_ORG_TARGETS"  // default 50 (even: accounts × 2 regions)
	EnvOrgFamilies = "ECSLOGFIX_BENCH_ORG_FAMILIES" // default 40
)

// TestBenchOrganizationSweep runs the hub stack's sweep state machine in
// moto over an organization of N account-regions × M families (every
// fifth non-compliant): inventory from Organizations and the member
// StackSets, the Distributed Map's children walking each account-region
// through the member role, summarize. The remediation workflow the sweep
// starts is a Pass state machine here (the remediations are measured by
// TestBenchEndToEnd). It records the wall time, the sweep function's AWS
// calls on the wire, its Lambda durations and peak RSS, and the state
// transitions; docs/performance.md extrapolates from them.
func TestBenchOrganizationSweep(t *testing.T) {
	bench.RequireBench(t)
	targets := bench.EnvInt(t, EnvOrgTargets, 50, 4)
	targets -= targets % 2
	families := bench.EnvInt(t, EnvOrgFamilies, 40, 5)
	accounts := targets / 2 // the hub and accounts-1 members
	regions := []string{localaws.Region, "eu-west-1"}
	tools := localaws.RequireTools(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	dir := t.TempDir()

	m := localaws.Start(t, localaws.Options{StepFunctions: true}).Moto
	base := m.Config()
	start := time.Now()
	org := localaws.NewOrganization(t, base)
	ou := org.OU(org.Root, "workloads")
	ids := []string{org.Management}
	for i := 1; i < accounts; i++ {
		ids = append(ids, org.Account(fmt.Sprintf("bench-%03d", i), ou))
	}
	organized := time.Since(start)
	synthStart := time.Now()
	syn, err := synth.Synthesize(tools.Root, filepath.Join(dir, "cdk.out"), config.ModeOrganization, map[string]any{
		"ecslogfix:mode": "organization", "ecslogfix:organizationId": org.ID, "ecslogfix:targetOUs": ou,
		"ecslogfix:regions": strings.Join(regions, ","), "ecslogfix:iamRegion": localaws.Region,
	})
	if err != nil {
		t.Fatalf("synthesize the hub stack: %v", err)
	}
	names := syn.Config.Names()
	synthesized := time.Since(synthStart)
	start = time.Now()
	if _, err := harness.DeployStackSets(ctx, base, syn.Template); err != nil {
		t.Fatal(err)
	}
	organized += time.Since(start)
	start = time.Now()
	seed(t, ctx, org, tools.Root, ids, regions, families)
	bench.RecordRow(t, bench.Row{Measure: fmt.Sprintf("organization sweep setup in moto: %d accounts, the member StackSets deployed by moto's CloudFormation; %d × %d families registered", accounts, targets, families),
		Subject: "bench setup", Value: fmt.Sprintf("%.1f s organization and StackSets, %.1f s seeding, %.1f s synthesizing the hub stack", organized.Seconds(), time.Since(start).Seconds(), synthesized.Seconds())})

	// The remediation workflow the sweep starts: a Pass state machine.
	out, err := sfn.NewFromConfig(base).CreateStateMachine(ctx, &sfn.CreateStateMachineInput{Name: aws.String("bench-remediation"),
		Definition: aws.String(`{"StartAt":"Done","States":{"Done":{"Type":"Pass","End":true}}}`), RoleArn: aws.String("arn:aws:iam::" + localaws.Account + ":role/bench")})
	if err != nil {
		t.Fatal(err)
	}
	recorder, err := faultproxy.Start(faultproxy.Config{Upstream: m.Endpoint})
	if err != nil {
		t.Fatal(err)
	}
	defer recorder.Close()
	sweepFn := names.Function(naming.FunctionSweep)
	logs := &functionLogs{bytes: map[string]int64{}, durations: map[string][]time.Duration{}}
	stackDir := filepath.Join(dir, "stack")
	s, err := harness.StartStack(ctx, harness.StackOptions{Tools: tools, Template: syn.Template, Packages: syn.Packages, Dir: stackDir, Moto: m, Log: logs,
		Env: map[string]map[string]string{sweepFn: {"AWS_ENDPOINT_URL": recorder.URL, fnenv.EnvStateMachineARN: aws.ToString(out.StateMachineArn),
			// The benchmark measures the code: the fastest rates the function accepts.
			fnenv.EnvReadRate: "1000", fnenv.EnvStartRate: "20"}}})
	if err != nil {
		t.Fatalf("start the hub stack: %v", err)
	}
	defer func() {
		if t.Failed() {
			l := s.Logs()
			t.Logf("process output (tail):\n%s", l[max(0, len(l)-20000):])
		}
		s.Close()
	}()

	mark := recorder.Stats()
	start = time.Now()
	arns, err := s.StartSchedule(ctx, names.Rule("sweep"), "bench-sweep")
	if err != nil {
		t.Fatal(err)
	}
	status, output, err := summarized(ctx, s.SFN, arns[0])
	if err != nil {
		t.Fatal(err)
	}
	wall := time.Since(start)
	var st workflow.SweepState
	if err := json.Unmarshal([]byte(output), &st); err != nil || st.Summary == nil || status == sfntypes.ExecutionStatusFailed {
		h, _ := harness.History(ctx, s.SFN, arns[0])
		t.Fatalf("sweep %s: %s (%v)\n%s", status, output, err, h)
	}
	sum := st.Summary
	total := targets * families
	violations := targets * ((families + 4) / 5)
	if sum.Targets != targets || sum.TargetsWalked != targets || sum.Evaluated != total || sum.Started != violations {
		t.Fatalf("summary %+v, want %d targets walked, %d evaluated, %d started", *sum, targets, total, violations)
	}

	// The sweep function's AWS requests on the wire.
	byAPI := map[string]int{}
	n := 0
	for api, c := range recorder.Stats().Since(mark) {
		n += c
		byAPI[shortAPI(api)] += c
	}
	var apis []string
	for api, c := range byAPI {
		apis = append(apis, fmt.Sprintf("%s %d", api, c))
	}
	sort.Strings(apis)

	// Transitions: the parent's from its history; the children's (which
	// moto does not list) from the definition: WalkTarget and WalkMore per
	// walk invocation, then TargetDone; one invocation per result object.
	history, err := harness.HistoryEvents(ctx, s.SFN, arns[0])
	if err != nil {
		t.Fatal(err)
	}
	parent := 0
	for _, e := range history {
		if strings.HasSuffix(string(e.Type), "StateEntered") {
			parent++
		}
		if d := e.StateExitedEventDetails; d != nil && aws.ToString(d.Name) == workflow.StateSummarize {
			break // the digest's states are notify's, and the run stopped there
		}
	}
	invocations := 0
	p := s3.NewListObjectsV2Paginator(s3.NewFromConfig(base), &s3.ListObjectsV2Input{Bucket: aws.String(sum.Bucket), Prefix: aws.String("sweeps/bench-sweep/results/")})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		invocations += len(page.Contents)
	}
	children := 2*invocations + targets

	// The sweep function: every invocation's Lambda duration (the
	// emulator's REPORT lines), in order: inventory, the walks, summarize
	// (moto serializes invokes of one emulator); its peak RSS.
	durs := logs.durations[sweepFn]
	if len(durs) != invocations+2 {
		t.Fatalf("%d sweep invocations reported, want %d", len(durs), invocations+2)
	}
	walks := slices.Clone(durs[1 : len(durs)-1])
	slices.Sort(walks)
	pid, err := bench.ProcessOf(filepath.Join(stackDir, "bin", filepath.Base(syn.Packages[sweepFn]), "bootstrap"))
	var rss int64
	if err == nil {
		rss, err = bench.PeakRSS(pid)
	}
	if err != nil {
		t.Fatal(err)
	}
	subject := "sweep state machine + sweep function (hub stack)"
	shape := fmt.Sprintf("%d account-regions × %d families", targets, families)
	bench.RecordRow(t, bench.Row{Measure: "organization sweep in moto, " + shape + " (one emulator: moto runs the children's invokes one at a time): StartExecution to SUCCEEDED",
		Subject: subject, Value: fmt.Sprintf("%.1f s (%.0f families/s; %d walk invocations)", wall.Seconds(), float64(total)/wall.Seconds(), invocations)})
	bench.RecordRow(t, bench.Row{Measure: "organization sweep, " + shape + ": the sweep function's AWS requests (on the wire)",
		Subject: subject, Value: fmt.Sprintf("%d (%.2f per family): %s", n, float64(n)/float64(total), strings.Join(apis, ", "))})
	bench.RecordRow(t, bench.Row{Measure: "organization sweep, " + shape + ": Step Functions state transitions (parent from its history; children from the definition and the walk invocations)",
		Subject: subject, Value: fmt.Sprintf("%d (parent %d, children %d: %.1f per account-region)", parent+children, parent, children, float64(children)/float64(targets))})
	bench.RecordRow(t, bench.Row{Measure: "organization sweep, " + shape + ": the sweep function's Lambda duration per action (REPORT) and peak RSS (VmHWM over the whole sweep)",
		Subject: "sweep function", Value: fmt.Sprintf("inventory %s, walk median %s (max %s, %.2f ms per family), summarize %s; peak RSS %s",
			bench.Millis(durs[0]), bench.Millis(walks[len(walks)/2]), bench.Millis(walks[len(walks)-1]),
			float64(sumDur(walks))/float64(time.Millisecond)/float64(total), bench.Millis(durs[len(durs)-1]), bench.MiB(rss))})
}

func sumDur(ds []time.Duration) time.Duration {
	var s time.Duration
	for _, d := range ds {
		s += d
	}
	return s
}

// shortAPI names REST calls (S3) by method only: their path names the
// object.
func shortAPI(api string) string {
	if svc, rest, ok := strings.Cut(api, ":"); ok && strings.Contains(rest, " /") {
		method, _, _ := strings.Cut(rest, " ")
		return svc + ":" + method
	}
	return api
}

// seed registers families in every account-region: every fifth from
// td01 (no log configuration), the others td11 (compliant), 16 at a time.
func seed(t *testing.T, ctx context.Context, org *localaws.Organization, root string, accounts, regions []string, families int) {
	t.Helper()
	bad, err := harness.LoadTaskDefinition(filepath.Join(root, "testdata", "taskdefs", "td01-fargate-no-logconfig.json"), "x")
	if err != nil {
		t.Fatal(err)
	}
	good, err := harness.LoadTaskDefinition(filepath.Join(root, "testdata", "taskdefs", "td11-compliant-fargate.json"), "x")
	if err != nil {
		t.Fatal(err)
	}
	type job struct {
		client *ecs.Client
		i      int
	}
	jobs := make(chan job)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var firstErr error
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				in := *good
				if j.i%5 == 0 {
					in = *bad
				}
				in.Family = aws.String(fmt.Sprintf("svc-%04d", j.i))
				if _, err := j.client.RegisterTaskDefinition(ctx, &in); err != nil {
					mu.Lock()
					firstErr = cmpErr(firstErr, err)
					mu.Unlock()
				}
			}
		}()
	}
	for _, a := range accounts {
		for _, r := range regions {
			cfg, err := org.As(ctx, a, r)
			if err != nil {
				t.Fatal(err)
			}
			// The compliant definitions' group exists, as it must for
			// them to pass (a missing group is a violation).
			if _, err := cloudwatchlogs.NewFromConfig(cfg).CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String("/ecs/payments-gateway")}); err != nil {
				t.Fatal(err)
			}
			c := ecs.NewFromConfig(cfg)
			for i := range families {
				jobs <- job{c, i}
			}
		}
	}
	close(jobs)
	wg.Wait()
	if firstErr != nil {
		t.Fatal(firstErr)
	}
}

func cmpErr(a, b error) error {
	if a != nil {
		return a
	}
	return b
}

// summarized waits until the sweep execution has summarized its walk and
// returns the state Summarize left (or the output of an execution that
// ended first), then stops it. The stand-in remediations write no
// outcomes, so PublishDigest would wait out the digest's settle time (two
// hours, notify.DefaultDigestSettle) for them: the sweep's work ends at
// Summarize. History is read every 200 ms, the wall time's resolution.
func summarized(ctx context.Context, client *sfn.Client, executionARN string) (sfntypes.ExecutionStatus, string, error) {
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for {
		out, err := client.DescribeExecution(ctx, &sfn.DescribeExecutionInput{ExecutionArn: aws.String(executionARN)})
		if err != nil {
			return "", "", fmt.Errorf("describe execution %s: %w", executionARN, err)
		}
		if out.Status != sfntypes.ExecutionStatusRunning {
			return out.Status, aws.ToString(out.Output), nil
		}
		events, err := harness.HistoryEvents(ctx, client, executionARN)
		if err != nil {
			return "", "", err
		}
		for _, e := range events {
			if d := e.StateExitedEventDetails; d != nil && aws.ToString(d.Name) == workflow.StateSummarize {
				if _, err := client.StopExecution(ctx, &sfn.StopExecutionInput{ExecutionArn: aws.String(executionARN), Cause: aws.String("benchmark: the walk is summarized")}); err != nil {
					return "", "", fmt.Errorf("stop execution %s: %w", executionARN, err)
				}
				return out.Status, aws.ToString(d.Output), nil
			}
		}
		select {
		case <-ctx.Done():
			return out.Status, "", fmt.Errorf("execution %s not summarized: %w", executionARN, ctx.Err())
		case <-tick.C:
		}
	}
}
