// Package bench measures what issue 7's budget is about: a Lambda
// bootstrap's cold start, warm latency and peak memory under the AWS Lambda
// Runtime Interface Emulator, the same figures for a Python boto3 baseline,
// the size of an arm64 deployment zip, and the AWS API calls a piece of code
// makes (counted by SDK middleware). Benchmarks print figures; nothing here
// fails a test on timing.
package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"
)

// LambdaSpec says what to measure under the RIE.
type LambdaSpec struct {
	RIE       string   // path of aws-lambda-rie
	Bootstrap string   // path of the function's bootstrap (built for this host)
	Event     []byte   // the invoke payload; {} when empty
	Env       []string // KEY=VALUE added to a minimal environment
	Starts    int      // cold starts to measure (default 10)
	Warm      int      // warm invokes per start (default 5)
}

// LambdaResult holds the figures of one bootstrap.
type LambdaResult struct {
	Cold    Summary // RIE process start → first invoke response
	Warm    Summary // warm invoke round trips (all starts pooled)
	PeakRSS int64   // median over starts of the bootstrap's VmHWM, bytes
	// Response is the first response body of the last start, truncated to
	// 200 bytes; FunctionError is its errorType when the invoke failed (the
	// RIE answers a function error with HTTP 200 and {"errorType",...}).
	Response      string
	FunctionError string
}

// LambdaSample is what one start of a bootstrap under the RIE measured.
type LambdaSample struct {
	Cold     time.Duration   // RIE process start → first invoke response
	Warm     []time.Duration // the following invokes
	PeakRSS  int64           // the bootstrap's VmHWM after the warm invokes, bytes
	Response string          // the first response body
}

// MeasureLambda starts spec.Bootstrap under the RIE spec.Starts times (after
// one discarded warm-up start), each on fresh loopback ports: it times the
// first invoke from process start, then spec.Warm more invokes, and reads
// the bootstrap's peak RSS. To compare subjects on a busy machine, prefer
// interleaving StartLambda calls (as cmd/bench does) and Aggregate.
func MeasureLambda(ctx context.Context, spec LambdaSpec) (LambdaResult, error) {
	spec = spec.withDefaults()
	// One discarded start first, so the page cache holds the binaries for
	// every measured start (the Python baseline gets the same from its probe).
	if _, err := StartLambda(ctx, spec); err != nil {
		return LambdaResult{}, fmt.Errorf("warm-up start: %w", err)
	}
	var samples []LambdaSample
	for i := range spec.Starts {
		s, err := StartLambda(ctx, spec)
		if err != nil {
			return LambdaResult{}, fmt.Errorf("start %d: %w", i+1, err)
		}
		samples = append(samples, s)
	}
	return Aggregate(samples), nil
}

func (spec LambdaSpec) withDefaults() LambdaSpec {
	if spec.Starts <= 0 {
		spec.Starts = 10
	}
	if spec.Warm <= 0 {
		spec.Warm = 5
	}
	if len(spec.Event) == 0 {
		spec.Event = []byte("{}")
	}
	return spec
}

// Aggregate summarizes samples: cold and pooled warm distributions, the
// median peak RSS, and the last sample's response.
func Aggregate(samples []LambdaSample) LambdaResult {
	var res LambdaResult
	var cold, warm []time.Duration
	var rss []int64
	for _, s := range samples {
		cold, warm, rss = append(cold, s.Cold), append(warm, s.Warm...), append(rss, s.PeakRSS)
		res.Response = truncate(s.Response, 200)
		var fe struct {
			ErrorType string `json:"errorType"`
		}
		res.FunctionError = ""
		if json.Unmarshal([]byte(s.Response), &fe) == nil {
			res.FunctionError = fe.ErrorType
		}
	}
	res.Cold, res.Warm, res.PeakRSS = Summarize(cold), Summarize(warm), MedianInt64(rss)
	return res
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// tailBuffer keeps the last 4 KiB written to it, for error messages. The
// buffer is a field, not embedded: a promoted bytes.Buffer.ReadFrom would
// let io.Copy (os/exec) bypass Write and keep everything.
type tailBuffer struct{ b bytes.Buffer }

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.b.Write(p)
	if t.b.Len() > 4096 {
		t.b.Next(t.b.Len() - 4096)
	}
	return len(p), nil
}

func (t *tailBuffer) String() string { return t.b.String() }

// StartLambda runs spec.Bootstrap once under the RIE on fresh loopback
// ports and measures one cold start, spec.Warm warm invokes and the peak RSS.
func StartLambda(ctx context.Context, spec LambdaSpec) (LambdaSample, error) {
	spec = spec.withDefaults()
	bootstrap, err := filepath.Abs(spec.Bootstrap)
	if err != nil {
		return LambdaSample{}, err
	}
	var s LambdaSample
	s.Cold, s.Warm, s.PeakRSS, s.Response, err = oneStart(ctx, spec, bootstrap)
	return s, err
}

func oneStart(ctx context.Context, spec LambdaSpec, bootstrap string) (cold time.Duration, warm []time.Duration, rss int64, body string, err error) {
	apiPort, err := freePort()
	if err != nil {
		return
	}
	runtimePort, err := freePort()
	if err != nil {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, spec.RIE,
		"--runtime-interface-emulator-address", fmt.Sprintf("127.0.0.1:%d", apiPort),
		"--runtime-api-address", fmt.Sprintf("127.0.0.1:%d", runtimePort),
		bootstrap)
	cmd.Dir = filepath.Dir(bootstrap)
	cmd.Env = append([]string{
		"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME"), "TZ=UTC",
		"AWS_REGION=us-east-1", "AWS_DEFAULT_REGION=us-east-1",
		"AWS_ACCESS_KEY_ID=test", "AWS_SECRET_ACCESS_KEY=test", "AWS_SESSION_TOKEN=test",
		"AWS_EC2_METADATA_DISABLED=true",
		"AWS_LAMBDA_FUNCTION_NAME=bench", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE=128",
	}, spec.Env...)
	var logs tailBuffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // kill the bootstrap with the RIE
	defer func() {
		if cmd.Process != nil {
			syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			cmd.Wait()
		}
		if err != nil {
			err = fmt.Errorf("%w; RIE output: %s", err, logs.String())
		}
	}()
	url := fmt.Sprintf("http://127.0.0.1:%d/2015-03-31/functions/function/invocations", apiPort)
	client := &http.Client{Transport: &http.Transport{Proxy: nil, MaxIdleConnsPerHost: 1}}
	defer client.CloseIdleConnections()

	start := time.Now()
	if err = cmd.Start(); err != nil {
		return
	}
	// Poll until the RIE accepts the connection; the first answered invoke
	// ends the cold start.
	for {
		body, err = invoke(ctx, client, url, spec.Event)
		if err == nil {
			break
		}
		var op *net.OpError
		if !errors.As(err, &op) || ctx.Err() != nil {
			return
		}
		time.Sleep(500 * time.Microsecond)
	}
	cold = time.Since(start)
	for range spec.Warm {
		t := time.Now()
		if _, err = invoke(ctx, client, url, spec.Event); err != nil {
			return
		}
		warm = append(warm, time.Since(t))
	}
	pid, err := childPID(cmd.Process.Pid, filepath.Base(bootstrap))
	if err != nil {
		return
	}
	rss, err = PeakRSS(pid)
	return
}

func invoke(ctx context.Context, client *http.Client, url string, event []byte) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(event))
	if err != nil {
		return "", err
	}
	resp, err := client.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return string(b), fmt.Errorf("invoke: HTTP %d: %s", resp.StatusCode, truncate(string(b), 200))
	}
	return string(b), nil
}
