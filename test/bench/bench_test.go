package bench

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ecslogfix/ecslogfix/test/docblock"
	"github.com/ecslogfix/ecslogfix/test/faultproxy"
	"github.com/ecslogfix/ecslogfix/test/localaws"
)

// requireTool fails (ECSLOGFIX_REQUIRE_TOOLS=1) or skips when a tool is missing.
func requireTool(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil {
		localaws.RequireTool(t, &localaws.MissingToolError{Tool: what, Hint: err.Error()})
	}
}

type noBackoff struct{}

func (noBackoff) BackoffDelay(int, error) (time.Duration, error) { return 0, nil }

func TestAPICounterSeparatesCallsFromAttempts(t *testing.T) {
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		io.WriteString(w, `{"taskDefinition":{"family":"web","revision":1}}`)
	}))
	defer backend.Close()
	proxy, err := faultproxy.Start(faultproxy.Config{Upstream: backend.URL, Rules: []faultproxy.Rule{
		{API: "ecs:RegisterTaskDefinition", Script: []faultproxy.Kind{faultproxy.Throttle, faultproxy.Unavailable}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer proxy.Close()

	counter := NewAPICounter()
	cfg := localaws.Config(proxy.URL)
	cfg.Retryer = func() aws.Retryer {
		return retry.NewStandard(func(o *retry.StandardOptions) { o.Backoff = noBackoff{}; o.RateLimiter = ratelimit.None })
	}
	cfg.APIOptions = append(cfg.APIOptions, counter.Attach)
	c := ecs.NewFromConfig(cfg)
	ctx := context.Background()
	if _, err := c.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{Family: aws.String("web"),
		ContainerDefinitions: []ecstypes.ContainerDefinition{{Name: aws.String("a"), Image: aws.String("i")}}}); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if _, err := c.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String("web:1")}); err != nil {
			t.Fatal(err)
		}
	}
	want := []APICount{
		{API: "ECS:DescribeTaskDefinition", Calls: 2, Attempts: 2},
		{API: "ECS:RegisterTaskDefinition", Calls: 1, Attempts: 3},
	}
	got := counter.Counts()
	if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] {
		t.Fatalf("Counts = %+v, want %+v", got, want)
	}
	if calls, attempts := got.Total("ECS"); calls != 3 || attempts != 5 {
		t.Errorf("Total(ECS) = %d, %d; want 3, 5", calls, attempts)
	}
	if calls, _ := got.Total("SNS"); calls != 0 {
		t.Errorf("Total(SNS) = %d, want 0", calls)
	}
	counter.Reset()
	if len(counter.Counts()) != 0 {
		t.Error("Reset left counts")
	}
}

func moduleRoot(t *testing.T) string {
	t.Helper()
	root, err := localaws.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	return root
}

func TestStartLambdaHello(t *testing.T) {
	_, err := localaws.FindRIE()
	localaws.RequireTool(t, err)
	ctx := context.Background()
	bootstrap := localaws.Bootstrap(t, "./test/bench/testdata/hello")
	var samples []LambdaSample
	for range 2 {
		s, err := StartLambda(ctx, LambdaSpec{Bootstrap: bootstrap, Event: []byte(`{"x":1}`), Warm: 3})
		if err != nil {
			t.Fatal(err)
		}
		samples = append(samples, s)
	}
	res := Aggregate(samples)
	t.Logf("cold %v warm %v rss %d response %s", res.Cold, res.Warm, res.PeakRSS, res.Response)
	if res.Cold.N != 2 || res.Warm.N != 6 || res.Cold.Median <= 0 || res.Warm.Median <= 0 {
		t.Errorf("samples: cold %+v warm %+v", res.Cold, res.Warm)
	}
	if res.PeakRSS < 1<<20 {
		t.Errorf("peak RSS %d bytes: not the bootstrap's", res.PeakRSS)
	}
	if !strings.Contains(res.Response, `"ok":true`) || res.FunctionError != "" {
		t.Errorf("response %q (error %q)", res.Response, res.FunctionError)
	}
}

func TestStartPython(t *testing.T) {
	requireTool(t, "python3 with boto3", exec.Command("python3", "-c", "import boto3").Run())
	ctx := context.Background()
	interpreter, version, err := ProbePython(ctx, "python3")
	if err != nil {
		t.Fatal(err)
	}
	ready, peak, err := StartPython(ctx, interpreter)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%s (%s): ready %v rss %d", version, interpreter, ready, peak)
	if ready <= 0 || peak < 1<<20 || !strings.Contains(version, "boto3") || interpreter == "" {
		t.Errorf("probe %q, %q: ready %v, peak RSS %d", interpreter, version, ready, peak)
	}
}

func TestZipSizeArm64(t *testing.T) {
	bootstrap, err := localaws.BuildBootstrap(context.Background(), moduleRoot(t), "./test/bench/testdata/hello", "arm64", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(bootstrap)
	if err != nil {
		t.Fatal(err)
	}
	n, err := ZipSize(bootstrap)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("bootstrap %d bytes, zip %d bytes", fi.Size(), n)
	if n <= 0 || n >= fi.Size() {
		t.Errorf("zip %d bytes for a %d-byte bootstrap", n, fi.Size())
	}
}

func TestSummarize(t *testing.T) {
	ms := time.Millisecond
	s := Summarize([]time.Duration{5 * ms, 1 * ms, 3 * ms, 9 * ms})
	if s != (Summary{N: 4, Median: 4 * ms, Min: 1 * ms, Max: 9 * ms}) {
		t.Errorf("Summarize = %+v", s)
	}
	if Median([]int64{3, 1, 2}) != 2 || Median([]float64{4, 1}) != 2.5 || Median[int64](nil) != 0 {
		t.Error("Median")
	}
}

func TestParseGoBenchAndMarkdown(t *testing.T) {
	out := `goos: linux
goarch: amd64
pkg: github.com/ecslogfix/ecslogfix/internal/policy
BenchmarkEvaluate/fargate-2         	  200000	      5120 ns/op	    1024 B/op	      12 allocs/op
BenchmarkEvaluate/fargate-2         	  200000	      5000 ns/op	    1024 B/op	      12 allocs/op
BenchmarkEvaluate/fargate-2         	  200000	      551.9 ns/op	    1024 B/op	      12 allocs/op
BenchmarkEvaluate/fargate-2         	  200000	      551.9 ns/op	    1024 B/op	      12 allocs/op
pkg: github.com/ecslogfix/ecslogfix/internal/plan
BenchmarkBuild-2   	   50000	     22000 ns/op	    8000 B/op	      90 allocs/op
PASS
`
	rows, err := ParseGoBench(strings.NewReader(out))
	if err != nil {
		t.Fatal(err)
	}
	want := []Row{
		{Measure: "go bench Evaluate/fargate (median of 4)", Subject: "policy", Value: "2776 ns/op, 1024 B/op, 12 allocs/op"},
		{Measure: "go bench Build", Subject: "plan", Value: "22000 ns/op, 8000 B/op, 90 allocs/op"},
	}
	if len(rows) != 2 || rows[0] != want[0] || rows[1] != want[1] {
		t.Fatalf("rows = %+v\nwant %+v", rows, want)
	}
	more, err := docblock.ReadRows[Row](strings.NewReader(`{"measure":"API calls per remediation","subject":"pipeline","value":"4 + 1 SNS","target":"≤ 5 + 1","verdict":"met"}` + "\n\n"))
	if err != nil || len(more) != 1 {
		t.Fatalf("ReadRows = %v, %v", more, err)
	}
	md := Markdown(append(rows, more...))
	for _, s := range []string{"| Measure | Subject | Value | Target | Verdict |", "| go bench Build | plan | 22000 ns/op, 8000 B/op, 90 allocs/op |  |  |", "| API calls per remediation | pipeline | 4 + 1 SNS | ≤ 5 + 1 | met |"} {
		if !strings.Contains(md, s) {
			t.Errorf("markdown lacks %q:\n%s", s, md)
		}
	}
	if _, err := docblock.ReadRows[Row](strings.NewReader("{bad")); err == nil {
		t.Error("ReadRows: want an error on bad JSON")
	}
}

func TestRecordRow(t *testing.T) {
	path := filepath.Join(t.TempDir(), "rows.jsonl")
	t.Setenv(EnvRows, path)
	RecordRow(t, Row{Measure: "API calls per remediation", Subject: "pipeline", Value: "5"})
	RecordRow(t, Row{Measure: "e2e latency", Subject: "pipeline", Value: "0.4 s"})
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := docblock.ReadRows[Row](f)
	if err != nil || len(rows) != 2 || rows[1].Value != "0.4 s" {
		t.Fatalf("rows = %+v, %v", rows, err)
	}
	t.Setenv(EnvRows, "")
	RecordRow(t, Row{Measure: "x"}) // logged only
}
