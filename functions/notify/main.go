// Command notify is the workflow's Notify and NotifyFailure Lambda: it
// renders one execution's result or failure and publishes it once
// (internal/notify). This adapter reads the environment, makes the clients
// and starts the runtime.
package main

import (
	"context"
	"log/slog"
	"net/http"
	"os"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/ecslogfix/ecslogfix/internal/awsclient"
	"github.com/ecslogfix/ecslogfix/internal/config"
	"github.com/ecslogfix/ecslogfix/internal/config/fnenv"
	"github.com/ecslogfix/ecslogfix/internal/config/naming"
	"github.com/ecslogfix/ecslogfix/internal/evidence"
	"github.com/ecslogfix/ecslogfix/internal/execution"
	"github.com/ecslogfix/ecslogfix/internal/lambdarun"
	"github.com/ecslogfix/ecslogfix/internal/notify"
)

func main() {
	// Strict: the input is our own contract (workflow.NotifyRequest).
	lambdarun.Strict(naming.FunctionNotify, build, (*notify.Handler).Handle)
}

func build(ctx context.Context, log *slog.Logger) (*notify.Handler, error) {
	env, err := fnenv.ReadNotifyEnv(os.Getenv)
	if err != nil {
		return nil, err
	}
	// The factory's retryer retries SNS's "Throttled", which the SDK does
	// not: a burst must not turn a remediation's notice into a failure.
	f, err := awsclient.Load(ctx, awsclient.Options{})
	if err != nil {
		return nil, err
	}
	deps := notify.Deps{SNS: f.SNS(), Logger: log}
	reach := execution.Reach{Organization: env.Mode == config.ModeOrganization, MemberRoleName: env.MemberRoleName}
	if env.History.Findings {
		// Findings of the hub's own account are imported without the role.
		if reach.HomeAccount, reach.Partition, err = f.CallerAccount(ctx); err != nil {
			return nil, err
		}
	}
	if deps.History, err = evidence.Recorder(f, env.History, reach, log); err != nil {
		return nil, err
	}
	if env.SlackWebhookARN != "" {
		cfg, err := f.Config(awsclient.Scope{})
		if err != nil {
			return nil, err
		}
		deps.Secrets = secretsmanager.NewFromConfig(cfg)
		deps.HTTP = &http.Client{Timeout: notify.SlackTimeout}
	}
	cfg := notify.Config{TopicARN: env.TopicARN, SlackSecretARN: env.SlackWebhookARN, SweepBucket: env.SweepBucket,
		EventBus: env.EventBus, DigestPoll: time.Duration(env.DigestPollSeconds) * time.Second}
	if cfg.SweepBucket != "" || cfg.EventBus != "" {
		c, err := f.Config(awsclient.Scope{})
		if err != nil {
			return nil, err
		}
		deps.S3, deps.Events = s3.NewFromConfig(c), eventbridge.NewFromConfig(c)
	}
	return notify.NewHandler(cfg, deps)
}
