// Command report is the scheduled report Lambda: each month it writes the
// previous month's compliance report from the history next to it in the
// history bucket and announces it on the notification topic
// (internal/report). This adapter reads the environment, makes the
// clients and starts the runtime.
package main

import (
	"context"
	"log/slog"
	"os"

	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/ecslogfix/ecslogfix/internal/awsclient"
	"github.com/ecslogfix/ecslogfix/internal/config/fnenv"
	"github.com/ecslogfix/ecslogfix/internal/config/naming"
	"github.com/ecslogfix/ecslogfix/internal/history"
	"github.com/ecslogfix/ecslogfix/internal/lambdarun"
	"github.com/ecslogfix/ecslogfix/internal/report"
)

func main() {
	// Strict: the input is our own contract (report.JobRequest).
	lambdarun.Strict(naming.FunctionReport, build, (*report.Job).Handle)
}

func build(ctx context.Context, log *slog.Logger) (*report.Job, error) {
	env, err := fnenv.ReadReportEnv(os.Getenv)
	if err != nil {
		return nil, err
	}
	f, err := awsclient.Load(ctx, awsclient.Options{})
	if err != nil {
		return nil, err
	}
	cfg, err := f.Config(awsclient.Scope{})
	if err != nil {
		return nil, err
	}
	return &report.Job{
		S3:       s3.NewFromConfig(cfg),
		SNS:      f.SNS(),
		History:  history.Location{Bucket: env.History.Bucket, Prefix: env.History.Prefix},
		Prefix:   env.ReportPrefix,
		TopicARN: env.TopicARN,
		Logger:   log,
	}, nil
}
