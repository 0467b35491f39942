// Command detect is the detect Lambda: it turns CloudTrail
// RegisterTaskDefinition events (and scheduled sweep requests) into
// remediation workflow executions. The logic lives in internal/remediation;
// this is the adapter: configuration from the environment, AWS clients,
// lambda.Start.
package main

import (
	"context"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	awslambda "github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/ecslogfix/ecslogfix/internal/config"
	"github.com/ecslogfix/ecslogfix/internal/remediation"
)

func main() {
	log := slog.New(slog.NewJSONHandler(os.Stdout, nil)).With("function", config.FunctionDetect)
	slog.SetDefault(log)
	d, err := build(context.Background(), log)
	if err != nil {
		log.Error("startup failed", "error", err.Error())
		os.Exit(1)
	}
	lambda.Start(d.Handle)
}

func build(ctx context.Context, log *slog.Logger) (*remediation.Detector, error) {
	rt, err := config.RuntimeFromEnv(os.Getenv)
	if err != nil {
		return nil, err
	}
	if rt.StateMachineARN == "" {
		return nil, &config.EnvError{Var: config.EnvStateMachineARN, Problem: "not set"}
	}
	cfg, err := awsconfig.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, err
	}
	stsClient := sts.NewFromConfig(cfg)
	home, partition := "", ""
	if rt.Mode == config.ModeOrganization {
		// Events from the hub's own account need no role assumption.
		if home, partition, err = remediation.CallerAccount(ctx, stsClient); err != nil {
			log.Warn("cannot read own account; every target will be reached through the member role", "error", err.Error())
		}
	}
	return &remediation.Detector{
		Runtime:      rt,
		Clients:      remediation.NewFactory(cfg, stsClient, remediation.FactoryOptions{RegisterRate: rt.RegisterRate}),
		SFN:          sfn.NewFromConfig(cfg),
		HomeAccount:  home,
		Partition:    partition,
		Region:       cfg.Region,
		Logger:       log,
		Metrics:      &remediation.Metrics{W: os.Stdout},
		Invoker:      awslambda.NewFromConfig(cfg),
		FunctionName: os.Getenv("AWS_LAMBDA_FUNCTION_NAME"),
	}, nil
}
