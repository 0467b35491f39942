// Package e2e holds the end-to-end pipeline benchmark. It lives apart from
// package bench because it synthesizes the CDK stack (jsii, node), which
// the other benchmarks do not need.
package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/ecslogfix/ecslogfix/internal/config"
	"github.com/ecslogfix/ecslogfix/internal/config/fnenv"
	"github.com/ecslogfix/ecslogfix/internal/config/naming"
	"github.com/ecslogfix/ecslogfix/internal/execution"
	"github.com/ecslogfix/ecslogfix/test/bench"
	"github.com/ecslogfix/ecslogfix/test/cdkenv"
	"github.com/ecslogfix/ecslogfix/test/e2e/harness"
	"github.com/ecslogfix/ecslogfix/test/e2e/synth"
	"github.com/ecslogfix/ecslogfix/test/faultproxy"
	"github.com/ecslogfix/ecslogfix/test/localaws"
)

func TestMain(m *testing.M) { os.Exit(cdkenv.Run(m.Run)) }

// EnvRuns overrides the number of measured (warm) remediations (default 20).
const EnvRuns = "ECSLOGFIX_BENCH_E2E_RUNS"

// functionLogs collects, per function, what the Lambda service would ingest
// into the function's log group (its output and the START/END/REPORT lines)
// and the REPORT durations the emulator prints.
type functionLogs struct {
	mu        sync.Mutex
	bytes     map[string]int64
	durations map[string][]time.Duration
}

var reportDuration = regexp.MustCompile(`(?:^|\t)Duration: ([0-9.]+) ms`)

// Write takes one line prefixed "lambda NAME: " (or another process's line).
func (l *functionLogs) Write(p []byte) (int, error) {
	name, line, ok := bytes.Cut(p, []byte(": "))
	fn, isLambda := strings.CutPrefix(string(name), "lambda ")
	if !ok || !isLambda {
		return len(p), nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.bytes[fn] += int64(len(line))
	if s := string(line); strings.HasPrefix(s, "REPORT RequestId:") {
		if m := reportDuration.FindStringSubmatch(s); m != nil {
			l.durations[fn] = append(l.durations[fn], ms(m[1]))
		}
	}
	return len(p), nil
}

func ms(s string) time.Duration {
	f, _ := strconv.ParseFloat(s, 64)
	return time.Duration(f * float64(time.Millisecond))
}

// snapshot is a function's counters at one moment.
type snapshot struct {
	invocations int
	logBytes    int64
	cpu         time.Duration
}

func (l *functionLogs) snapshot(fn string, bootstrapCPU time.Duration) snapshot {
	l.mu.Lock()
	defer l.mu.Unlock()
	return snapshot{invocations: len(l.durations[fn]), logBytes: l.bytes[fn], cpu: bootstrapCPU}
}

// cpuTime is the CPU time a process's threads ran (sum of the first field
// of /proc/PID/task/*/schedstat, in nanoseconds).
func cpuTime(pid int) (time.Duration, error) {
	files, err := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/schedstat", pid))
	if err != nil || len(files) == 0 {
		return 0, fmt.Errorf("no schedstat for pid %d", pid)
	}
	var total int64
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			continue // the thread ended
		}
		fields := strings.Fields(string(b))
		if len(fields) > 0 {
			n, _ := strconv.ParseInt(fields[0], 10, 64)
			total += n
		}
	}
	return time.Duration(total), nil
}

// TestBenchEndToEnd runs the synthesized single-account stack on the e2e
// harness (moto with Step Functions executing, the real bootstraps under
// the emulator) and times 1 + N remediations (the first is the cold one):
// from putting the CloudTrail event on the bus until the notification is
// in the SQS queue subscribed to the topic. The functions reach moto
// through the fault proxy without faults, which counts each function's AWS requests per
// remediation on the wire; their output gives the billed durations, the
// log bytes per invocation and (with /proc) CPU time and peak RSS.
func TestBenchEndToEnd(t *testing.T) {
	bench.RequireBench(t)
	runs := bench.EnvInt(t, EnvRuns, 20, 1)
	tools := localaws.RequireTools(t)
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	dir := t.TempDir()

	start := time.Now()
	syn, err := synth.Synthesize(tools.Root, filepath.Join(dir, "cdk.out"), config.ModeSingle, nil)
	if err != nil {
		t.Fatalf("synthesize: %v", err)
	}
	t.Logf("synthesized in %s", time.Since(start).Round(time.Millisecond))
	names := syn.Config.Names()

	stackDir := filepath.Join(dir, "stack")
	if err := os.MkdirAll(stackDir, 0o755); err != nil {
		t.Fatal(err)
	}
	logs := &functionLogs{bytes: map[string]int64{}, durations: map[string][]time.Duration{}}
	start = time.Now()
	// moto first, so that the recorder (the fault proxy without faults)
	// stands between it and the functions only: the harness's own calls
	// are not counted.
	m, err := localaws.StartMoto(ctx, localaws.MotoOptions{StepFunctions: true, Log: logs})
	if err != nil {
		t.Fatal(err)
	}
	recorder, err := faultproxy.Start(faultproxy.Config{Upstream: m.Endpoint})
	if err != nil {
		m.Close()
		t.Fatal(err)
	}
	defer recorder.Close()
	env := map[string]map[string]string{}
	for fn := range syn.Packages {
		env[fn] = map[string]string{"AWS_ENDPOINT_URL": recorder.URL}
	}
	// remediate paces RegisterTaskDefinition per instance (registerRate,
	// 0.5/s in cdk.json): back-to-back runs would measure that wait, not
	// the pipeline. Raise it to the maximum for this benchmark.
	env[names.Function(naming.FunctionRemediate)][fnenv.EnvRegisterRate] = "20"
	s, err := harness.StartStack(ctx, harness.StackOptions{Tools: tools, Template: syn.Template, Packages: syn.Packages,
		Env: env, Dir: stackDir, Moto: m, Log: logs})
	if err != nil {
		t.Fatalf("start the stack: %v", err)
	}
	t.Logf("stack started in %s", time.Since(start).Round(time.Millisecond))
	defer func() {
		if t.Failed() {
			out := s.Logs()
			t.Logf("process output (tail):\n%s", out[max(0, len(out)-20000):])
		}
		if err := s.Close(); err != nil {
			t.Errorf("stop the stack: %v", err)
		}
	}()
	if len(s.Subscribers) != 1 {
		t.Fatalf("want one SQS subscriber (one topic), have %v", s.Subscribers)
	}
	var queue string
	for _, u := range s.Subscribers {
		queue = u
	}
	ecsClient := ecs.NewFromConfig(s.Config)
	// register registers in as family and puts the event of that
	// registration (eventID) on the bus; it returns the recorder's counts and the
	// time from just before the event, and what the bus delivered.
	register := func(in *ecs.RegisterTaskDefinitionInput, family, eventID string) (faultproxy.Stats, time.Time, []harness.Delivery) {
		in.Family = aws.String(family)
		reg, err := ecsClient.RegisterTaskDefinition(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		td := reg.TaskDefinition
		mark, t0 := recorder.Stats(), time.Now()
		if err := s.PutRegisterEvent(ctx, harness.RegisterCall{EventID: eventID, TaskDefinitionARN: aws.ToString(td.TaskDefinitionArn),
			Family: family, Revision: td.Revision, Identity: harness.IAMUser("jane.doe")}); err != nil {
			t.Fatal(err)
		}
		deliveries, err := s.Pump(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return mark, t0, deliveries
	}
	fns := []string{naming.FunctionDetect, naming.FunctionRemediate, naming.FunctionNotify}
	exe := func(fn string) string { return filepath.Join(stackDir, "bin", fn, "bootstrap") }
	cpuOf := func(fn string) time.Duration {
		pid, err := bench.ProcessOf(exe(fn))
		if err != nil {
			t.Fatalf("%s: %v", fn, err)
		}
		d, err := cpuTime(pid)
		if err != nil {
			t.Fatal(err)
		}
		return d
	}

	var latencies, executions, detects []time.Duration
	var cold time.Duration
	perRun := map[string][]int{} // API → calls in each remediation
	first := map[string]snapshot{}
	in, err := harness.LoadTaskDefinition(filepath.Join(tools.Root, "testdata", "taskdefs", "td01-fargate-no-logconfig.json"), "")
	if err != nil {
		t.Fatal(err)
	}
	tick := time.NewTicker(2 * time.Millisecond)
	defer tick.Stop()
	for i := 0; i <= runs; i++ {
		family := fmt.Sprintf("bench-e2e-%02d", i)
		mark, t0, deliveries := register(in, family, fmt.Sprintf("bench000-0000-4000-8000-%012d", i))
		if len(deliveries) != 1 || deliveries[0].Target.Function != names.Function(naming.FunctionDetect) {
			t.Fatalf("run %d: %d deliveries, want 1 to detect", i, len(deliveries))
		}
		d := deliveries[0]
		if err := d.Invocation.Err(d.Target.Function); err != nil {
			t.Fatalf("run %d: detect: %v", i, err)
		}
		var resp execution.Response
		if err := json.Unmarshal(d.Invocation.Payload, &resp); err != nil || resp.Status != execution.StatusStarted {
			t.Fatalf("run %d: detect answered %s (%v), want started", i, d.Invocation.Payload, err)
		}
		var got []string
		for len(got) == 0 {
			if got, err = harness.Drain(ctx, s.SQS, queue); err != nil {
				t.Fatal(err)
			}
			if len(got) > 0 {
				break
			}
			select {
			case <-ctx.Done():
				t.Fatalf("run %d: no notification: %v", i, ctx.Err())
			case <-tick.C:
			}
		}
		latency := time.Since(t0)
		if len(got) != 1 || !strings.Contains(got[0], family) {
			t.Fatalf("run %d: %d notifications, want 1 about %s: %.300s", i, len(got), family, got)
		}
		e, err := harness.WaitExecution(ctx, s.SFN, resp.ExecutionARN)
		if err != nil {
			t.Fatal(err)
		}
		if e.Status != sfntypes.ExecutionStatusSucceeded {
			t.Fatalf("run %d: execution %s", i, e.Status)
		}
		calls := recorder.Stats().Since(mark)
		for api := range calls {
			if _, ok := perRun[api]; !ok {
				perRun[api] = make([]int, i) // APIs not seen before: 0 in earlier runs
			}
		}
		for api := range perRun {
			perRun[api] = append(perRun[api], calls[api])
		}
		t.Logf("run %d: %s (detect %s, execution %s), wire %v", i, latency.Round(time.Millisecond),
			d.Invocation.Duration.Round(time.Millisecond), aws.ToTime(e.StopDate).Sub(aws.ToTime(e.StartDate)).Round(time.Millisecond), calls)
		if i == 0 {
			cold = latency
			for _, fn := range fns {
				first[fn] = logs.snapshot(names.Function(fn), cpuOf(fn))
			}
			continue
		}
		latencies = append(latencies, latency)
		detects = append(detects, d.Invocation.Duration)
		executions = append(executions, aws.ToTime(e.StopDate).Sub(aws.ToTime(e.StartDate)))
	}

	// Compliant events: detect only.
	detect := names.Function(naming.FunctionDetect)
	before := logs.snapshot(detect, cpuOf(naming.FunctionDetect))
	ok, err := harness.LoadTaskDefinition(filepath.Join(tools.Root, "testdata", "taskdefs", "td11-compliant-fargate.json"), "")
	if err != nil {
		t.Fatal(err)
	}
	// Compliant in fact: the group its two containers write to exists.
	if _, err := cloudwatchlogs.NewFromConfig(s.Config).CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String("/ecs/payments-gateway")}); err != nil {
		t.Fatal(err)
	}
	const compliantRuns = 10
	okCalls := map[string][]int{} // API → calls in each compliant event
	for i := range compliantRuns {
		mark, _, deliveries := register(ok, fmt.Sprintf("bench-e2e-ok-%02d", i), fmt.Sprintf("bench000-0000-4000-9000-%012d", i))
		var resp execution.Response
		if len(deliveries) != 1 || json.Unmarshal(deliveries[0].Invocation.Payload, &resp) != nil || resp.Status != execution.StatusCompliant {
			t.Fatalf("compliant run %d: %d deliveries, detect answered %+v", i, len(deliveries), resp)
		}
		for api, n := range recorder.Stats().Since(mark) {
			okCalls[api] = append(okCalls[api], n)
		}
	}
	var okParts []string
	okECS, okLogs := 0, 0
	for _, api := range slices.Sorted(maps.Keys(okCalls)) {
		hi := slices.Max(okCalls[api])
		okParts = append(okParts, fmt.Sprintf("%s %d", api, hi))
		switch svc, _, _ := strings.Cut(api, ":"); svc {
		case "ecs":
			okECS += hi
		case "logs":
			okLogs += hi
		}
	}
	bench.RecordRow(t, bench.Row{
		Measure: fmt.Sprintf("AWS requests per compliant event on the wire, real detect bootstrap, max over %d events (td11: two containers, one log group)", compliantRuns),
		Subject: "detect",
		Value:   fmt.Sprintf("ECS %d + Logs %d — %s", okECS, okLogs, strings.Join(okParts, ", ")),
		Target:  "1 call + at most 1 Logs read per distinct group (1)",
		Verdict: bench.Verdict(okECS == 1 && okLogs <= 1),
	})
	after := logs.snapshot(detect, cpuOf(naming.FunctionDetect))
	logs.mu.Lock()
	okDurs := slices.Clone(logs.durations[detect][before.invocations:after.invocations])
	logs.mu.Unlock()
	okN := after.invocations - before.invocations
	okCPU := (after.cpu - before.cpu) / time.Duration(max(okN, 1))
	bench.RecordRow(t, bench.Row{
		Measure: fmt.Sprintf("detect on a compliant event: billed duration (RIE REPORT) of %d warm invocations, median (min–max); CPU per invocation; log bytes per invocation", okN),
		Subject: "detect",
		Value: fmt.Sprintf("%s; CPU %s; %d B/invocation", bench.Summarize(okDurs).Millis(), bench.Millis(okCPU),
			(after.logBytes-before.logBytes)/int64(max(okN, 1))),
	})
	recommend := func(fn string, wall, cpu, coldCPU time.Duration, rss int64) {
		// Lambda gives CPU in proportion to memory: one vCPU at 1,769 MB.
		// Time spent waiting on AWS does not stretch; CPU time does.
		wait := max(wall-cpu, 0)
		at := func(mb int) time.Duration { return wait + time.Duration(float64(cpu)*1769/float64(mb)) }
		gbms := func(mb int) float64 { return float64(mb) / 1024 * float64(at(mb)) / float64(time.Millisecond) }
		need := int((2*rss + (1<<20 - 1)) >> 20) // MiB, 2× the peak RSS
		mem := max(128, need)
		bench.RecordRow(t, bench.Row{
			Measure: fmt.Sprintf("%s: memory = max(128 MB, 2 × peak RSS); estimated warm billed duration d(M) = wait + CPU × 1769 / M (wait = measured duration − CPU)", fn),
			Subject: fn,
			Value: fmt.Sprintf("%d MB (2 × %s = %d MiB); d(128) = %s, d(256) = %s; GB-ms per invocation %.1f at 128 MB vs %.1f at 256 MB; first invocation incl. init ≈ %s at 128 MB",
				mem, bench.MiB(rss), need, bench.Millis(at(128)), bench.Millis(at(256)), gbms(128), gbms(256),
				bench.Millis(wait+time.Duration(float64(coldCPU)*1769/128))),
			Target:  "smallest size that fits",
			Verdict: bench.Verdict(gbms(128) <= gbms(256)),
		})
	}

	lat := bench.Summarize(latencies)
	bench.RecordRow(t, bench.Row{
		Measure: fmt.Sprintf("end-to-end latency: event put on the bus → notification in the subscribed SQS queue, median of %d warm (min–max)", lat.N),
		Subject: "pipeline (harness: moto + Step Functions + 3 bootstraps under RIE; registerRate raised to 20/s)",
		Value:   fmt.Sprintf("%s; first (cold) run %s", lat.Millis(), bench.Millis(cold)),
	})
	bench.RecordRow(t, bench.Row{
		Measure: fmt.Sprintf("… of which: detect invoke under its emulator / execution start → stop in moto, medians of %d", lat.N),
		Subject: "pipeline",
		Value:   fmt.Sprintf("detect %s; execution %s", bench.Millis(bench.Summarize(detects).Median), bench.Summarize(executions).Millis()),
	})

	// Requests per remediation on the wire (every run must agree).
	apis := make([]string, 0, len(perRun))
	for api := range perRun {
		apis = append(apis, api)
	}
	sort.Strings(apis)
	var parts []string
	ecsLogs, sns, sfnStarts, consistent := 0, 0, 0, true
	for _, api := range apis {
		ns := perRun[api]
		lo, hi := slices.Min(ns), slices.Max(ns)
		consistent = consistent && lo == hi
		part := fmt.Sprintf("%s %d", api, hi)
		if lo != hi {
			part = fmt.Sprintf("%s %d–%d", api, lo, hi)
		}
		parts = append(parts, part)
		switch svc, _, _ := strings.Cut(api, ":"); svc {
		case "ecs", "logs":
			ecsLogs += hi
		case "sns":
			sns += hi
		case "states":
			sfnStarts += hi
		}
	}
	bench.RecordRow(t, bench.Row{
		Measure: fmt.Sprintf("AWS requests per remediation on the wire, real bootstraps (detect + remediate ×3: EnsureLogGroups, Register, Rollout + notify; rollout none, no cluster), max over %d runs", runs+1),
		Subject: "pipeline",
		Value:   fmt.Sprintf("ECS/Logs %d + SNS %d (+ Step Functions StartExecution %d) — %s", ecsLogs, sns, sfnStarts, strings.Join(parts, ", ")),
		// The Rollout step lists the consumers for the notification even
		// with rollout none: with no cluster, ListClusters and the new
		// revision's DescribeTaskDefinition (TestBenchRolloutAPICalls
		// counts it with one cluster and service).
		Target:  "≤ 7 ECS/Logs + 2 for the consumer listing + 1 SNS publish (one new group)",
		Verdict: bench.Verdict(ecsLogs <= 7+2 && sns == 1 && consistent),
	})

	// Per function: billed duration, init, CPU, peak RSS, log bytes.
	for _, fn := range fns {
		name := names.Function(fn)
		pid, err := bench.ProcessOf(exe(fn))
		if err != nil {
			t.Fatal(err)
		}
		rss, err := bench.PeakRSS(pid)
		if err != nil {
			t.Fatal(err)
		}
		last := logs.snapshot(name, cpuOf(fn))
		f := first[fn]
		warmN := last.invocations - f.invocations
		logs.mu.Lock()
		durs := slices.Clone(logs.durations[name][f.invocations:])
		logs.mu.Unlock()
		warmCPU := (last.cpu - f.cpu) / time.Duration(max(warmN, 1))
		if fn == naming.FunctionDetect { // the compliant events ran after the remediations
			last, durs = before, durs[:before.invocations-f.invocations]
			warmN = before.invocations - f.invocations
			warmCPU = (last.cpu - f.cpu) / time.Duration(max(warmN, 1))
		}
		coldCPU := f.cpu - time.Duration(f.invocations-1)*warmCPU
		dur := bench.Summarize(durs)
		bench.RecordRow(t, bench.Row{
			Measure: fmt.Sprintf("%s during remediations: billed duration (RIE REPORT) of %d warm invocations, median (min–max); CPU per warm invocation / first invocation incl. init; peak RSS after %d remediations; log bytes per invocation", fn, warmN, runs+1),
			Subject: fn,
			Value: fmt.Sprintf("%s; CPU %s / %s; RSS %s; %d B/invocation", dur.Millis(),
				bench.Millis(warmCPU), bench.Millis(coldCPU), bench.MiB(rss), (last.logBytes-f.logBytes)/int64(max(warmN, 1))),
		})
		recommend(fn, dur.Median, warmCPU, coldCPU, rss)
	}
}
