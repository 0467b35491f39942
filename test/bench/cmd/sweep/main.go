// Command sweep runs one scheduled sweep in-process, wired as the detect
// Lambda wires it (remediation.Detector with a remediation.Factory, the
// default policy), so the benchmark can read the sweep's peak RSS and pace
// in a process of its own. It talks to AWS_ENDPOINT_URL (moto in the
// benchmark), logs JSON to stderr and prints one JSON summary on stdout:
//
//	{"elapsedSeconds":…,"peakRSSBytes":…,"sweep":{…remediation.SweepReport…}}
//
//	go run ./test/bench/cmd/sweep -state-machine-arn ARN -family-prefix bench- -read-rate 1000
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"time"

	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/sfn"

	"github.com/ecslogfix/ecslogfix/internal/config"
	"github.com/ecslogfix/ecslogfix/internal/policy"
	"github.com/ecslogfix/ecslogfix/internal/remediation"
	"github.com/ecslogfix/ecslogfix/test/bench"
)

func main() {
	var (
		stateMachine = flag.String("state-machine-arn", "", "the workflow's state machine (required)")
		account      = flag.String("account", "123456789012", "the home account")
		prefix       = flag.String("family-prefix", "", "only families starting with this")
		readRate     = flag.Float64("read-rate", remediation.DefaultReadRate, "ECS list/describe calls per second")
		startRate    = flag.Float64("start-rate", config.DefaultRegisterRate, "StartExecution calls per second")
	)
	flag.Parse()
	if err := run(context.Background(), *stateMachine, *account, *prefix, *readRate, *startRate); err != nil {
		fmt.Fprintln(os.Stderr, "sweep:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, stateMachine, account, prefix string, readRate, startRate float64) error {
	if stateMachine == "" {
		return fmt.Errorf("-state-machine-arn is required")
	}
	log := slog.New(slog.NewJSONHandler(os.Stderr, nil)).With("function", config.FunctionDetect)
	cfg, err := awsconfig.LoadDefaultConfig(ctx)
	if err != nil {
		return err
	}
	d := &remediation.Detector{
		Runtime: config.Runtime{Mode: config.ModeSingle, Policy: policy.Default(), StateMachineARN: stateMachine,
			RegisterRate: startRate},
		Clients:     remediation.NewFactory(cfg, nil, remediation.FactoryOptions{ReadRate: readRate, RegisterRate: startRate}),
		SFN:         sfn.NewFromConfig(cfg),
		HomeAccount: account,
		Region:      cfg.Region,
		Logger:      log,
		Metrics:     &remediation.Metrics{W: os.Stderr},
		StartRate:   startRate,
		ReadRate:    readRate,
	}
	start := time.Now()
	resp, err := d.Sweep(ctx, remediation.SweepRequest{FamilyPrefix: prefix})
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
		"sweep":          resp.Sweep,
	})
}
