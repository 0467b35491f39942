// Command bench measures, in one run on one machine, each function's cold
// start, warm invoke latency and peak RSS under the Lambda Runtime Interface
// Emulator, a Python boto3 baseline, and each function's arm64 zip size, and
// prints them as one markdown table (with rows from other benchmarks
// appended: -gobench, -rows), led by the provenance line of test/docblock.
// With -doc it also writes them into that file's generated block
// (docs/performance.md; scripts/bench.sh passes it on a full run).
//
//	go run ./test/bench/cmd/bench -functions detect,remediate,notify
//	go run ./test/bench/cmd/bench -doc docs/performance.md -commit C
//
// A function that does not build gets "build failed". Per-function events
// come from test/bench/testdata/events/<name>.json, when present.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/ecslogfix/ecslogfix/internal/config/fnenv"
	"github.com/ecslogfix/ecslogfix/test/bench"
	"github.com/ecslogfix/ecslogfix/test/docblock"
	"github.com/ecslogfix/ecslogfix/test/localaws"
)

type options struct {
	functions         []string
	starts, warm      int
	goBench, rowsFile string
	out               docblock.Output
}

func main() {
	var o options
	var fns string
	flag.StringVar(&fns, "functions", strings.Join(bench.Functions(), ","), "functions under functions/ to measure")
	flag.IntVar(&o.starts, "starts", 20, "cold starts per function and of the Python baseline (median; docs/performance.md asks for ≥ 10)")
	flag.IntVar(&o.warm, "warm", 10, "warm invokes per start")
	flag.StringVar(&o.goBench, "gobench", "", "file with `go test -bench -benchmem` output to add as rows")
	flag.StringVar(&o.rowsFile, "rows", "", "file of JSON-lines rows from other benchmarks to add")
	o.out.Flags(flag.CommandLine)
	flag.Parse()
	o.functions = strings.FieldsFunc(fns, func(r rune) bool { return r == ',' || r == ' ' })
	if err := run(context.Background(), o, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// subject is one Lambda to measure.
type subject struct {
	name    string // row subject
	pkg     string // package path relative to the root; its base names its event
	floor   bool   // the null runtime: its cold start is the RIE + process floor
	skip    string // why it is not measured
	spec    bench.LambdaSpec
	zip     int64
	samples []bench.LambdaSample
	err     error
}

func run(ctx context.Context, o options, w io.Writer) error {
	root, err := localaws.RepoRoot()
	if err != nil {
		return err
	}
	if _, err := localaws.FindRIE(); err != nil { // as StartLambda will find it
		return err
	}
	work, err := os.MkdirTemp("", "ecslogfix-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	logf := func(format string, args ...any) { fmt.Fprintf(os.Stderr, "bench: "+format+"\n", args...) }

	python, pyVersion, err := bench.ProbePython(ctx, "python3")
	if err != nil {
		return err
	}

	// Build every subject first, so the measurements below share one
	// stretch of time.
	subjects := []*subject{
		{name: "null runtime (RIE + process floor)", pkg: "./test/bench/testdata/null", floor: true},
		{name: "hello (harness reference)", pkg: "./test/bench/testdata/hello"},
	}
	for _, f := range o.functions {
		subjects = append(subjects, &subject{name: f, pkg: "./functions/" + f})
	}
	var active []*subject
	for _, s := range subjects {
		logf("%s: building", s.name)
		base := filepath.Base(s.pkg)
		native, err := localaws.BuildBootstrap(ctx, root, s.pkg, runtime.GOARCH, filepath.Join(work, base, runtime.GOARCH))
		if err != nil {
			s.skip = "build failed: " + firstLine(err)
			continue
		}
		if !s.floor {
			arm, err := localaws.BuildBootstrap(ctx, root, s.pkg, "arm64", filepath.Join(work, base, "arm64"))
			if err != nil {
				return err
			}
			if s.zip, err = bench.ZipSize(arm); err != nil {
				return err
			}
		}
		event, err := os.ReadFile(filepath.Join(root, "test/bench/testdata/events", base+".json"))
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
		if event == nil {
			event = []byte("{}")
		}
		s.spec = bench.LambdaSpec{Bootstrap: native, Event: event, Env: defaultEnv, Warm: o.warm}
		active = append(active, s)
	}

	// Interleave the starts (Python, then each bootstrap, round after
	// round) so load from other processes falls on all subjects alike.
	// Round 0 is a discarded warm-up that fills the page cache.
	logf("%d rounds: the Python baseline and %d bootstraps (%d warm invokes each)", o.starts, len(active), o.warm)
	var pyReady []time.Duration
	var pyRSS []int64
	for round := 0; round <= o.starts; round++ {
		d, peak, err := bench.StartPython(ctx, python)
		if err != nil {
			return fmt.Errorf("python baseline: %w", err)
		}
		if round > 0 {
			pyReady, pyRSS = append(pyReady, d), append(pyRSS, peak)
		}
		for _, s := range active {
			if s.err != nil {
				continue
			}
			sample, err := bench.StartLambda(ctx, s.spec)
			if err != nil {
				s.err = err
				continue
			}
			if round > 0 {
				s.samples = append(s.samples, sample)
			}
		}
	}
	ready := bench.Summarize(pyReady)
	budget := ready.Median / 8
	rows := []bench.Row{
		{Measure: fmt.Sprintf("Python baseline: start → boto3 imported + ECS client, median of %d (min–max)", ready.N),
			Subject: pyVersion, Value: ready.Millis()},
		{Measure: "Python baseline: peak RSS (VmHWM)", Subject: pyVersion, Value: bench.MiB(bench.Median(pyRSS))},
	}
	var floor time.Duration
	for _, s := range subjects {
		switch {
		case s.skip != "":
			rows = append(rows, bench.Row{Measure: "cold start / warm / RSS / zip", Subject: s.name, Value: s.skip})
			continue
		case s.err != nil:
			rows = append(rows, bench.Row{Measure: "cold start", Subject: s.name, Value: "failed: " + firstLine(s.err), Verdict: "MISSED"})
			continue
		}
		res := bench.Aggregate(s.samples)
		coldMeasure := fmt.Sprintf("cold start (%s) under RIE: process start → first response, median of %d (min–max)", runtime.GOARCH, res.Cold.N)
		if s.floor {
			floor = res.Cold.Median
			rows = append(rows, bench.Row{Measure: coldMeasure, Subject: s.name, Value: res.Cold.Millis()})
			continue
		}
		ratio := float64(res.Cold.Median) / float64(ready.Median)
		rows = append(rows,
			bench.Row{Measure: coldMeasure, Subject: s.name, Value: res.Cold.Millis(),
				Target: "≤ Python/8 = " + bench.Millis(budget), Verdict: bench.Verdict(res.Cold.Median <= budget)},
			bench.Row{Measure: "cold start ÷ Python baseline", Subject: s.name,
				Value: fmt.Sprintf("%.3f (%.1f× faster)", ratio, 1/ratio), Target: "≤ 0.125", Verdict: bench.Verdict(ratio <= 0.125)},
		)
		if floor > 0 {
			above := res.Cold.Median - floor
			r := float64(above) / float64(ready.Median)
			rows = append(rows, bench.Row{Measure: "≈ cold start above the RIE floor (median − floor) ÷ Python", Subject: s.name,
				Value: fmt.Sprintf("%s → %.3f", bench.Millis(above), r), Target: "≤ 0.125", Verdict: bench.Verdict(r <= 0.125)})
		}
		answer := "ok"
		if res.FunctionError != "" {
			answer = "function error " + res.FunctionError
		}
		rows = append(rows,
			bench.Row{Measure: fmt.Sprintf("warm invoke round trip, median of %d (min–max)", res.Warm.N), Subject: s.name, Value: res.Warm.Millis()},
			bench.Row{Measure: "peak RSS of the bootstrap (VmHWM), median over starts", Subject: s.name, Value: bench.MiB(res.PeakRSS)},
			bench.Row{Measure: "arm64 zip (bootstrap, deflate -9)", Subject: s.name,
				Value: fmt.Sprintf("%d B (%s)", s.zip, bench.MiB(s.zip)), Target: "≤ 6 MiB", Verdict: bench.Verdict(s.zip <= 6<<20)},
			bench.Row{Measure: "benchmark event answered with", Subject: s.name, Value: answer + ": " + res.Response},
		)
	}

	for _, more := range []struct {
		path  string
		parse func(io.Reader) ([]bench.Row, error)
	}{{o.goBench, bench.ParseGoBench}, {o.rowsFile, docblock.ReadRows[bench.Row]}} {
		if more.path == "" {
			continue
		}
		f, err := os.Open(more.path)
		if err != nil {
			return err
		}
		added, err := more.parse(f)
		f.Close()
		if err != nil {
			return err
		}
		rows = append(rows, added...)
	}

	note := ""
	if load, err := os.ReadFile("/proc/loadavg"); err == nil {
		note = "load average " + strings.Join(strings.Fields(string(load))[:3], " ")
	}
	block, err := o.out.Write(bench.Doc, bench.Markdown(rows), note)
	fmt.Fprint(w, block)
	return err
}

func firstLine(err error) string {
	s, _, _ := strings.Cut(err.Error(), "\n")
	return s
}

// defaultEnv is a plausible single-account configuration. AWS calls go to
// StartLambda's closed loopback port with one attempt, so nothing leaves
// the machine and no retry back-off inflates the figures.
var defaultEnv = map[string]string{
	"AWS_MAX_ATTEMPTS":       "1",
	fnenv.EnvMode:            "single",
	fnenv.EnvStateMachineARN: "arn:aws:states:us-east-1:123456789012:stateMachine:ecslogfix",
	fnenv.EnvTopicARN:        "arn:aws:sns:us-east-1:123456789012:ecslogfix",
	fnenv.EnvOwnRoleARNs:     "arn:aws:iam::123456789012:role/ecslogfix-remediate",
	fnenv.EnvRegions:         "us-east-1",
	fnenv.EnvRegisterRate:    "1",
	fnenv.EnvPolicy:          "{}",
}
