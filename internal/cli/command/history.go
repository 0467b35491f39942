package command

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/spf13/cobra"

	"github.com/ecslogfix/ecslogfix/internal/awsclient"
	"github.com/ecslogfix/ecslogfix/internal/history"
)

// HistoryFlags are --history and --state-table: where fix and backout
// record what they did, in the pipeline's own store.
type HistoryFlags struct {
	location string
	table    string
	loc      history.Location
}

// AddHistoryFlags adds --history and --state-table to cmd.
func AddHistoryFlags(cmd *cobra.Command, h *HistoryFlags) {
	fl := cmd.Flags()
	fl.StringVar(&h.location, "history", "", "record each decision in this history: s3://BUCKET[/PREFIX] (the stack's history bucket)")
	fl.StringVar(&h.table, "state-table", "", "with --history: also update the state per family in this DynamoDB table")
}

// Check validates the flags (a usage error names the flag).
func (h *HistoryFlags) Check(cmd *cobra.Command) error {
	if h.location == "" {
		if h.table != "" {
			return Usagef(cmd, "--state-table needs --history")
		}
		return nil
	}
	loc, err := history.ParseLocation(h.location)
	if err != nil {
		return Usagef(cmd, "--history: %v", err)
	}
	h.loc = loc
	return nil
}

// Store is the history writer the flags name, nil without --history.
func (h *HistoryFlags) Store(f *awsclient.Factory) (*history.Store, error) {
	if h.location == "" {
		return nil, nil
	}
	cfg, err := f.Config(awsclient.Scope{})
	if err != nil {
		return nil, err
	}
	s := &history.Store{S3: s3.NewFromConfig(cfg), Bucket: h.loc.Bucket, Prefix: h.loc.Prefix}
	if h.table != "" {
		s.DynamoDB, s.Table = dynamodb.NewFromConfig(cfg), h.table
	}
	return s, nil
}

// Caller is who runs the CLI, for the records' actor.
func Caller(ctx context.Context, f *awsclient.Factory) string {
	out, err := f.STS().GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		return ""
	}
	return aws.ToString(out.Arn)
}
