// Package bench measures what docs/performance.md's budget is about: a Lambda
// bootstrap's cold start, warm latency and peak memory under the AWS Lambda
// Runtime Interface Emulator, the same figures for a Python boto3 baseline,
// the size of an arm64 deployment zip, and the AWS API calls a piece of code
// makes (counted by SDK middleware). Benchmarks print figures; nothing here
// fails a test on timing.
package bench

import (
	"context"
	"fmt"
	"maps"
	"time"

	"github.com/ecslogfix/ecslogfix/test/localaws"
)

// LambdaSpec says what to measure under the RIE.
type LambdaSpec struct {
	Bootstrap string            // path of the function's bootstrap (built for this host)
	Event     []byte            // the invoke payload
	Env       map[string]string // added to the function's environment
	Warm      int               // warm invokes per start
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

// Aggregate summarizes the samples of interleaved StartLambda calls (as
// cmd/bench makes them, so load from other processes falls on every
// subject alike): cold and pooled warm distributions, the
// median peak RSS, and the last sample's response.
func Aggregate(samples []LambdaSample) LambdaResult {
	var res LambdaResult
	var cold, warm []time.Duration
	var rss []int64
	for _, s := range samples {
		cold, warm, rss = append(cold, s.Cold), append(warm, s.Warm...), append(rss, s.PeakRSS)
		res.Response = truncate(s.Response, 200)
		res.FunctionError, _, _ = localaws.ParseFunctionError([]byte(s.Response))
	}
	res.Cold, res.Warm, res.PeakRSS = Summarize(cold), Summarize(warm), Median(rss)
	return res
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

// StartLambda runs spec.Bootstrap once under the RIE (localaws.StartFunction)
// and measures one cold start, spec.Warm warm invokes and the peak RSS.
func StartLambda(ctx context.Context, spec LambdaSpec) (LambdaSample, error) {
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	// Dummy credentials and a closed loopback port: no AWS call leaves the
	// machine.
	env := localaws.LambdaEnv("http://127.0.0.1:9")
	env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] = "128"
	maps.Copy(env, spec.Env)
	f, err := localaws.StartFunction(ctx, localaws.FunctionOptions{Name: "bench", Bootstrap: spec.Bootstrap, Env: env})
	if err != nil {
		return LambdaSample{}, err
	}
	defer f.Close()
	inv, err := f.Invoke(ctx, spec.Event)
	if err != nil {
		return LambdaSample{}, err
	}
	s := LambdaSample{Cold: time.Since(f.Started), Response: string(inv.Payload)}
	for range spec.Warm {
		inv, err := f.Invoke(ctx, spec.Event)
		if err != nil {
			return s, err
		}
		s.Warm = append(s.Warm, inv.Duration)
	}
	pid, err := ProcessOf(spec.Bootstrap)
	if err != nil {
		return s, fmt.Errorf("%w; RIE output: %s", err, f.Logs())
	}
	s.PeakRSS, err = PeakRSS(pid)
	return s, err
}
