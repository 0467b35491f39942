// Command remediate is the remediate Lambda, called by the workflow's
// EnsureLogGroups and Register states (internal/remediate). This adapter
// reads the environment, makes the clients and starts the runtime.
package main

import (
	"context"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"

	"github.com/ecslogfix/ecslogfix/internal/awsclient"
	"github.com/ecslogfix/ecslogfix/internal/config"
	"github.com/ecslogfix/ecslogfix/internal/metrics"
	"github.com/ecslogfix/ecslogfix/internal/remediate"
)

func main() {
	log := slog.New(slog.NewJSONHandler(os.Stdout, nil)).With("function", config.FunctionRemediate)
	r, err := build(context.Background(), log)
	if err != nil {
		log.Error("startup failed", "error", err.Error())
		os.Exit(1)
	}
	// Strict decoding: the input is our own contract (workflow.Request).
	lambda.StartHandlerFunc(r.Handle, lambda.WithDisallowUnknownFields(true))
}

func build(ctx context.Context, log *slog.Logger) (*remediate.Remediator, error) {
	env, err := config.ReadRemediateEnv(os.Getenv)
	if err != nil {
		return nil, err
	}
	cfg, err := awsconfig.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, err
	}
	f := awsclient.New(cfg, awsclient.Options{RegisterRate: env.RegisterRate})
	return &remediate.Remediator{
		Policy:  env.Policy,
		Clients: remediate.ClientsFrom(f),
		Logger:  log,
		Metrics: &metrics.Metrics{W: os.Stdout},
	}, nil
}
