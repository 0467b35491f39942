// Command remediate is the remediate Lambda, called by the workflow's
// EnsureLogGroups and Register states. The logic lives in
// internal/remediation; this is the adapter: configuration from the
// environment, AWS clients, lambda.Start.
package main

import (
	"context"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/ecslogfix/ecslogfix/internal/config"
	"github.com/ecslogfix/ecslogfix/internal/remediation"
)

func main() {
	log := slog.New(slog.NewJSONHandler(os.Stdout, nil)).With("function", config.FunctionRemediate)
	slog.SetDefault(log)
	r, err := build(context.Background(), log)
	if err != nil {
		log.Error("startup failed", "error", err.Error())
		os.Exit(1)
	}
	lambda.Start(r.Handle)
}

func build(ctx context.Context, log *slog.Logger) (*remediation.Remediator, error) {
	rt, err := config.RuntimeFromEnv(os.Getenv)
	if err != nil {
		return nil, err
	}
	cfg, err := awsconfig.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, err
	}
	return &remediation.Remediator{
		Policy:  rt.Policy,
		Clients: remediation.NewFactory(cfg, sts.NewFromConfig(cfg), remediation.FactoryOptions{RegisterRate: rt.RegisterRate}),
		Logger:  log,
		Metrics: &remediation.Metrics{W: os.Stdout},
	}, nil
}
