package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/ecslogfix/ecslogfix/internal/awsclient"
	"github.com/ecslogfix/ecslogfix/internal/workflow"
	"github.com/ecslogfix/ecslogfix/test/faultproxy"
	"github.com/ecslogfix/ecslogfix/test/localaws"
)

// EnvFamilies overrides the number of families TestBenchSweepScan seeds
// (default 2000; the small run is a quarter of it).
const EnvFamilies = "ECSLOGFIX_BENCH_FAMILIES"

// childRun is one run of a child process.
type childRun struct {
	Elapsed time.Duration
	MaxRSS  int64 // bytes: the child's VmHWM, polled every 2 ms while it runs
	Stdout  []byte
	Stderr  int64         // bytes written to stderr (logs)
	CPU     time.Duration // user + system time of the child
	Exit    int
}

// runChild runs bin with args and env (added to a minimal environment) and
// measures its wall time and peak RSS.
func runChild(ctx context.Context, bin string, env []string, args ...string) (childRun, error) {
	cmd := localaws.Command(ctx, bin, args...)
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME"), "TZ=UTC"}, env...)
	var stdout bytes.Buffer
	var stderr countingTail
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return childRun{}, err
	}
	// ru_maxrss is useless here: Go starts children with vfork semantics,
	// so the child's maximum includes this test process's RSS at the
	// fork. Poll VmHWM (monotonic) while the child runs instead.
	var peak atomic.Int64
	done := make(chan struct{})
	polled := make(chan struct{})
	go func() {
		defer close(polled)
		tick := time.NewTicker(2 * time.Millisecond)
		defer tick.Stop()
		for {
			if v, err := PeakRSS(cmd.Process.Pid); err == nil && v > peak.Load() {
				peak.Store(v)
			}
			select {
			case <-done:
				return
			case <-tick.C:
			}
		}
	}()
	err := cmd.Wait()
	close(done)
	<-polled
	r := childRun{Elapsed: time.Since(start), Stdout: stdout.Bytes(), Stderr: stderr.n, MaxRSS: peak.Load()}
	if cmd.ProcessState == nil {
		return r, err
	}
	r.Exit = cmd.ProcessState.ExitCode()
	r.CPU = cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	if err != nil && r.Exit <= 0 {
		return r, err
	}
	if r.Exit > 1 { // 1 is scan's "violations found"
		return r, fmt.Errorf("%s exited %d: %s", filepath.Base(bin), r.Exit, stderr.String())
	}
	return r, nil
}

// countingTail counts what is written and keeps the last 4 KiB. (No
// embedding: a promoted bytes.Buffer.ReadFrom would bypass Write.)
type countingTail struct {
	tail bytes.Buffer
	n    int64
}

func (c *countingTail) Write(p []byte) (int, error) {
	c.n += int64(len(p))
	c.tail.Write(p)
	if c.tail.Len() > 4096 {
		c.tail.Next(c.tail.Len() - 4096)
	}
	return len(p), nil
}

func (c *countingTail) String() string { return c.tail.String() }

// buildHost builds a main package for this host with the release flags.
func buildHost(t *testing.T, ctx context.Context, root, pkg string) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), filepath.Base(pkg))
	cmd := localaws.Command(ctx, "go", "build", "-trimpath", "-ldflags=-s -w", "-o", out, pkg)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build %s: %v\n%s", pkg, err, b)
	}
	return out
}

// seedFamilies registers n families named prefix0000… in moto with
// workers concurrent clients: every fifth is non-compliant (no log
// configuration), the others compliant.
func seedFamilies(ctx context.Context, c *ecs.Client, root, prefix string, n, workers int) error {
	jobs := make(chan int)
	errs := make(chan error, workers)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				file := "td11-compliant-fargate.json"
				if i%5 == 0 {
					file = "td01-fargate-no-logconfig.json"
				}
				if _, err := registerFixture(ctx, c, root, file, fmt.Sprintf("%s%04d", prefix, i)); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	var err error
feed:
	for i := range n {
		select {
		case jobs <- i:
		case err = <-errs:
			break feed
		}
	}
	close(jobs)
	wg.Wait()
	if err == nil && len(errs) > 0 {
		err = <-errs
	}
	return err
}

// TestBenchSweepScan seeds moto with N families (default 2,000: a small
// set "bench-a-" of N/4 and the rest "bench-b-"), then in child processes
// runs the CLI's scan and the scheduled sweep (test/bench/cmd/sweep, wired
// as the sweep function) over N/4 and N families at the fastest read rate
// (families per second, peak RSS), and both at --read-rate 10 over 100
// families through the fault proxy without faults, which records arrivals
// (observed request rate against the configured limit).
func TestBenchSweepScan(t *testing.T) {
	RequireBench(t)
	n := EnvInt(t, EnvFamilies, 2000, 8)
	small := n / 4
	endpoint := localaws.Start(t, localaws.Options{}).Endpoint
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	root := moduleRoot(t)
	setup := awsConfig(endpoint, nil)

	// Build first (in parallel with nothing else), then seed.
	scanBin := buildHost(t, ctx, root, "./cmd/ecslogfix")
	sweepBin := buildHost(t, ctx, root, "./test/bench/cmd/sweep")
	smARN := createStateMachine(t, ctx, setup, "ecslogfix-sweep-bench")
	const sweepBucket = "ecslogfix-sweep-bench"
	if _, err := s3.NewFromConfig(setup).CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(sweepBucket)}); err != nil {
		t.Fatal(err)
	}

	workers := 16
	start := time.Now()
	c := ecs.NewFromConfig(setup)
	if err := seedFamilies(ctx, c, root, "bench-a-", small, workers); err != nil {
		t.Fatal(err)
	}
	if err := seedFamilies(ctx, c, root, "bench-b-", n-small, workers); err != nil {
		t.Fatal(err)
	}
	seed := time.Since(start)
	RecordRow(t, Row{Measure: fmt.Sprintf("seeding moto: RegisterTaskDefinition × %d via the Go SDK, %d concurrent clients", n, workers),
		Subject: "bench setup", Value: fmt.Sprintf("%.1f s (%.0f registrations/s)", seed.Seconds(), float64(n)/seed.Seconds())})

	env := func(endpoint string) []string {
		return []string{"AWS_ENDPOINT_URL=" + endpoint, "AWS_REGION=" + benchRegion, "AWS_ACCESS_KEY_ID=test",
			"AWS_SECRET_ACCESS_KEY=test", "AWS_EC2_METADATA_DISABLED=true"}
	}
	// The fastest rates the tools accept: the benchmark measures the code, not a budget.
	unthrottled := strconv.FormatFloat(awsclient.MaxReadRate, 'g', -1, 64)
	scan := func(endpoint, prefix, rate string) (childRun, error) {
		return runChild(ctx, scanBin, env(endpoint), "scan", "--region", benchRegion, "--family-prefix", prefix,
			"--read-rate", rate, "--output", "json")
	}
	runSweep := func(endpoint, prefix, rate string) (childRun, workflow.SweepSummary, error) {
		r, err := runChild(ctx, sweepBin, env(endpoint), "-state-machine-arn", smARN, "-bucket", sweepBucket, "-family-prefix", prefix,
			"-read-rate", rate, "-start-rate", unthrottled)
		var out struct {
			PeakRSS int64                 `json:"peakRSSBytes"` // read by the sweep itself before it exits
			Sweep   workflow.SweepSummary `json:"sweep"`
		}
		if err == nil {
			err = json.Unmarshal(r.Stdout, &out)
		}
		r.MaxRSS = max(r.MaxRSS, out.PeakRSS)
		return r, out.Sweep, err
	}

	// Families per second and peak RSS, N/4 then N families.
	type sized struct {
		families int
		run      childRun
	}
	for _, tool := range []string{"scan", "sweep"} {
		var runs []sized
		for _, s := range []struct {
			prefix   string
			families int
		}{{"bench-a-", small}, {"bench-", n}} {
			var r childRun
			var err error
			if tool == "scan" {
				r, err = scan(endpoint, s.prefix, unthrottled)
			} else {
				var rep workflow.SweepSummary
				r, rep, err = runSweep(endpoint, s.prefix, unthrottled)
				if err == nil && rep.Evaluated != s.families {
					err = fmt.Errorf("sweep evaluated %d families, want %d: %+v", rep.Evaluated, s.families, rep)
				}
			}
			if err != nil {
				t.Fatalf("%s %s: %v", tool, s.prefix, err)
			}
			t.Logf("%s over %d families: %s, peak RSS %s, %d B of logs", tool, s.families, r.Elapsed.Round(time.Millisecond), MiB(r.MaxRSS), r.Stderr)
			runs = append(runs, sized{s.families, r})
		}
		subject := "ecslogfix scan (CLI binary)"
		if tool == "sweep" {
			subject = "sweep (the sweep function's code, test/bench/cmd/sweep)"
		}
		big := runs[len(runs)-1]
		cpuPer := big.run.CPU / time.Duration(big.families)
		RecordRow(t, Row{Measure: fmt.Sprintf("%s over %d families in moto, read rate unthrottled (%s/s): families per second (process wall time); CPU per family", tool, big.families, unthrottled),
			Subject: subject, Value: fmt.Sprintf("%.0f families/s (%.1f s); CPU %s per family (%.1f s in all)", float64(big.families)/big.run.Elapsed.Seconds(),
				big.run.Elapsed.Seconds(), fmt.Sprintf("%.2f ms", float64(cpuPer)/float64(time.Millisecond)), big.run.CPU.Seconds())})
		growth := float64(big.run.MaxRSS)/float64(runs[0].run.MaxRSS) - 1
		RecordRow(t, Row{Measure: fmt.Sprintf("%s peak RSS (VmHWM of the child process) at %d vs %d families", tool, runs[0].families, big.families),
			Subject: subject, Value: fmt.Sprintf("%s vs %s (%+.1f %%)", MiB(runs[0].run.MaxRSS), MiB(big.run.MaxRSS), 100*growth),
			Target: "flat (≤ +10 %)", Verdict: Verdict(growth <= 0.10)})
		if tool == "sweep" {
			RecordRow(t, Row{Measure: fmt.Sprintf("sweep log bytes over %d families (JSON lines + EMF, Info level)", big.families),
				Subject: subject, Value: fmt.Sprintf("%d B (%.0f B per family)", big.run.Stderr, float64(big.run.Stderr)/float64(big.families))})
		}
	}

	// Observed request rate against the configured limit: 100 families at
	// 10 reads/s, through the fault proxy (no rules: it only records).
	recorder, err := faultproxy.Start(faultproxy.Config{Upstream: endpoint})
	if err != nil {
		t.Fatal(err)
	}
	defer recorder.Close()
	const limit = 10.0
	prefix, families := "bench-a-00", min(100, small)
	if small < 100 {
		prefix = "bench-a-"
	}
	reads := []string{"ecs:ListTaskDefinitionFamilies", "ecs:DescribeTaskDefinition"}
	for _, tool := range []string{"scan", "sweep"} {
		since := time.Now()
		var err error
		if tool == "scan" {
			_, err = scan(recorder.URL, prefix, "10")
		} else {
			_, _, err = runSweep(recorder.URL, prefix, "10")
		}
		if err != nil {
			t.Fatalf("%s at 10/s: %v", tool, err)
		}
		r := recorder.PaceSince(since, reads...)
		t.Logf("%s at %v/s: %d reads, mean %.2f/s, max %d in 1 s, %d in 10 s", tool, limit, r.N, r.Mean, r.MaxPer1s, r.MaxPer10s)
		dev := r.Mean/limit - 1
		RecordRow(t, Row{
			Measure: fmt.Sprintf("%s read rate at --read-rate %.0f over %d families (ECS List+Describe requests seen by a proxy)", tool, limit, families),
			Subject: map[string]string{"scan": "ecslogfix scan (CLI binary)", "sweep": "sweep (the sweep function's code, test/bench/cmd/sweep)"}[tool],
			Value:   fmt.Sprintf("%d requests: mean %.2f/s (%+.1f %%), max %d in any 1 s, %.1f/s over the busiest 10 s", r.N, r.Mean, 100*dev, r.MaxPer1s, float64(r.MaxPer10s)/10),
			Target:  "within 10 % of 10/s, never above",
			Verdict: Verdict(dev <= 0.10 && dev >= -0.10 && float64(r.MaxPer10s)/10 <= limit*1.1),
		})
	}
}
