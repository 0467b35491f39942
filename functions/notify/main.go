// Command notify is the workflow's Notify and NotifyFailure Lambda: it
// renders one execution's result or failure (internal/message) and
// publishes it once to the SNS topic, optionally also to a Slack webhook.
// See handler.go; this file only wires configuration and clients.
package main

import (
	"context"
	"log/slog"
	"net/http"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/sns"

	"github.com/ecslogfix/ecslogfix/internal/config"
)

func main() {
	logger := slog.New(slog.NewJSONHandler(os.Stdout, nil)).With("function", "notify")
	rt, err := config.RuntimeFromEnv(os.Getenv)
	if err != nil {
		logger.Error("configuration invalid", "error", err.Error())
		os.Exit(1)
	}
	ctx := context.Background()
	awsCfg, err := awsconfig.LoadDefaultConfig(ctx)
	if err != nil {
		logger.Error("AWS configuration invalid", "error", err.Error())
		os.Exit(1)
	}
	// SNS answers throttling with the code "Throttled", which is not among
	// the SDK's retryable codes: retry it like any throttle, or a burst
	// turns a remediation's notification into a failed execution.
	snsClient := sns.NewFromConfig(awsCfg, func(o *sns.Options) {
		o.Retryer = retry.AddWithErrorCodes(o.Retryer, "Throttled")
	})
	deps := Deps{SNS: snsClient, Logger: logger}
	if rt.SlackWebhookARN != "" {
		deps.Secrets = secretsmanager.NewFromConfig(awsCfg)
		deps.HTTP = &http.Client{Timeout: slackTimeout}
	}
	h, err := NewHandler(Config{TopicARN: rt.TopicARN, SlackSecretARN: rt.SlackWebhookARN}, deps)
	if err != nil {
		logger.Error("configuration invalid", "error", err.Error())
		os.Exit(1)
	}
	lambda.Start(h.Handle)
}
