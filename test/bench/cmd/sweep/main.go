// Command sweep runs one sweep of the home account (moto's localaws.Account)
// in-process, wired as the sweep Lambda wires it (sweep.Sweeper on the
// awsclient factory, the default policy): inventory, the walk of its one
// account-region (every invocation the state machine would make, in a row),
// summarize; so the benchmark can read the sweep's peak RSS and pace in a
// process of its own. It talks to AWS_ENDPOINT_URL (moto in the benchmark),
// logs JSON to stderr and prints one JSON summary on stdout:
//
//	{"elapsedSeconds":…,"peakRSSBytes":…,"sweep":{…workflow.SweepSummary…}}
//
//	go run ./test/bench/cmd/sweep -state-machine-arn ARN -bucket B -family-prefix bench- -read-rate 1000
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"time"

	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"golang.org/x/time/rate"

	"github.com/ecslogfix/ecslogfix/internal/awsclient"
	"github.com/ecslogfix/ecslogfix/internal/config"
	"github.com/ecslogfix/ecslogfix/internal/config/naming"
	"github.com/ecslogfix/ecslogfix/internal/execution"
	"github.com/ecslogfix/ecslogfix/internal/inventory"
	"github.com/ecslogfix/ecslogfix/internal/metrics"
	"github.com/ecslogfix/ecslogfix/internal/policy"
	"github.com/ecslogfix/ecslogfix/internal/sweep"
	"github.com/ecslogfix/ecslogfix/internal/workflow"
	"github.com/ecslogfix/ecslogfix/test/bench"
	"github.com/ecslogfix/ecslogfix/test/localaws"
)

func main() {
	var (
		stateMachine = flag.String("state-machine-arn", "", "the workflow's state machine (required)")
		bucket       = flag.String("bucket", "", "the sweep's bucket (required)")
		prefix       = flag.String("family-prefix", "", "only families starting with this")
		readRate     = flag.Float64("read-rate", awsclient.DefaultReadRate, "ECS list/describe calls per second")
		startRate    = flag.Float64("start-rate", config.DefaultRegisterRate, "StartExecution calls per second")
	)
	flag.Parse()
	if err := run(context.Background(), *stateMachine, *bucket, *prefix, *readRate, *startRate); err != nil {
		fmt.Fprintln(os.Stderr, "sweep:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, stateMachine, bucket, prefix string, readRate, startRate float64) error {
	if stateMachine == "" || bucket == "" {
		return fmt.Errorf("-state-machine-arn and -bucket are required")
	}
	log := slog.New(slog.NewJSONHandler(os.Stderr, nil)).With("function", naming.FunctionSweep)
	cfg, err := awsconfig.LoadDefaultConfig(ctx)
	if err != nil {
		return err
	}
	f := awsclient.New(cfg, awsclient.Options{ReadRate: readRate})
	sw := &sweep.Sweeper{
		Starter: &execution.Starter{SFN: f.SFN(), StateMachineARN: stateMachine, Policy: policy.Default(),
			Limiter: rate.NewLimiter(rate.Limit(startRate), 1)},
		ECS:          func(t workflow.Target) (inventory.ECS, error) { return f.ECS(awsclient.Scope{Region: t.Region}) },
		Reach:        execution.Reach{HomeAccount: localaws.Account},
		S3:           s3.NewFromConfig(cfg),
		Bucket:       bucket,
		FamilyPrefix: prefix,
		Region:       cfg.Region,
		Logger:       log,
		Metrics:      &metrics.Metrics{W: os.Stderr},
	}
	start := time.Now()
	id := "bench-" + strconv.FormatInt(start.UnixNano(), 36)
	inv, err := sw.Inventory(ctx, id)
	if err != nil {
		return err
	}
	w := workflow.Walk{SweepID: id, Target: workflow.Target{Account: localaws.Account, Region: cfg.Region}}
	for !w.Done {
		if w, err = sw.Walk(ctx, w); err != nil {
			return err
		}
	}
	st, err := sw.Summarize(ctx, workflow.SweepState{Inventory: inv})
	if err != nil {
		return err
	}
	elapsed := time.Since(start)
	peak, err := bench.PeakRSS(os.Getpid())
	if err != nil {
		return err
	}
	return json.NewEncoder(os.Stdout).Encode(map[string]any{
		"elapsedSeconds": elapsed.Seconds(),
		"peakRSSBytes":   peak,
		"sweep":          st.Summary,
	})
}
