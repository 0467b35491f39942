// Package evidence assembles, from a function's environment and the one
// client factory, the history writer and the Security Hub publisher behind
// it: one place for how detect, the sweep, notify and the report reach
// the bucket, the table and each account's Security Hub.
package evidence

import (
	"log/slog"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/securityhub"

	"github.com/ecslogfix/ecslogfix/internal/asff"
	"github.com/ecslogfix/ecslogfix/internal/awsclient"
	"github.com/ecslogfix/ecslogfix/internal/config"
	"github.com/ecslogfix/ecslogfix/internal/execution"
	"github.com/ecslogfix/ecslogfix/internal/history"
)

// Store returns the history writer h describes, or nil when h configures
// no history. Findings of a member account are imported through the member
// role reach names (its own account's with the base credentials).
func Store(f *awsclient.Factory, h config.HistoryEnv, reach execution.Reach, log *slog.Logger) (*history.Store, error) {
	if !h.On() {
		return nil, nil
	}
	base, err := f.Config(awsclient.Scope{})
	if err != nil {
		return nil, err
	}
	s := &history.Store{S3: s3.NewFromConfig(base), Bucket: h.Bucket, Prefix: h.Prefix}
	if h.Table != "" {
		s.DynamoDB, s.Table = dynamodb.NewFromConfig(base), h.Table
	}
	if h.Findings {
		p := &asff.Publisher{Partition: reach.Partition, Logger: log,
			Import: func(account, region string) (asff.Importer, error) {
				t := reach.Target(account, region)
				cfg, err := f.Config(awsclient.Scope{Region: t.Region, RoleARN: t.RoleARN})
				if err != nil {
					return nil, err
				}
				return securityhub.NewFromConfig(cfg), nil
			}}
		if h.Notes {
			p.Annotate = func(region string) (asff.Annotator, error) {
				cfg, err := f.Config(awsclient.Scope{Region: region})
				if err != nil {
					return nil, err
				}
				return securityhub.NewFromConfig(cfg), nil
			}
		}
		s.Findings = p
	}
	return s, nil
}

// Recorder is Store as the shells take it: nil when no history is
// configured.
func Recorder(f *awsclient.Factory, h config.HistoryEnv, reach execution.Reach, log *slog.Logger) (history.Recorder, error) {
	s, err := Store(f, h, reach, log)
	if s == nil || err != nil {
		return nil, err
	}
	return s, nil
}
