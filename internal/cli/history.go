package cli

import (
	"context"
	"fmt"
	"os"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/spf13/cobra"

	"github.com/ecslogfix/ecslogfix/internal/awsclient"
	"github.com/ecslogfix/ecslogfix/internal/cli/command"
	"github.com/ecslogfix/ecslogfix/internal/cli/explain"
	"github.com/ecslogfix/ecslogfix/internal/history"
)

// historyFlags are --history and --state-table: where fix and backout
// record what they did, in the pipeline's own store.
type historyFlags struct {
	location string
	table    string
	loc      history.Location
}

func addHistoryFlags(cmd *cobra.Command, h *historyFlags) {
	fl := cmd.Flags()
	fl.StringVar(&h.location, "history", "", "record each decision in this history: s3://BUCKET[/PREFIX] (the stack's history bucket)")
	fl.StringVar(&h.table, "state-table", "", "with --history: also update the state per family in this DynamoDB table")
}

// check validates the flags (a usage error names the flag).
func (h *historyFlags) check(cmd *cobra.Command) error {
	if h.location == "" {
		if h.table != "" {
			return command.Usagef(cmd, "--state-table needs --history")
		}
		return nil
	}
	loc, err := history.ParseLocation(h.location)
	if err != nil {
		return command.Usagef(cmd, "--history: %v", err)
	}
	h.loc = loc
	return nil
}

// store is the history writer the flags name, nil without --history.
func (h *historyFlags) store(f *awsclient.Factory) (*history.Store, error) {
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

// caller is who runs the CLI, for the records' actor.
func caller(ctx context.Context, f *awsclient.Factory) string {
	out, err := f.STS().GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		return ""
	}
	return aws.ToString(out.Arn)
}

// readHistory reads the records of p from an s3:// location or a local
// copy of one.
func readHistory(ctx context.Context, f *command.Factory, region, where string, p history.Period) ([]history.Record, error) {
	if st, err := os.Stat(where); err == nil && st.IsDir() {
		return history.ReadDir(where, p)
	}
	loc, err := history.ParseLocation(where)
	if err != nil {
		return nil, fmt.Errorf("%w (or a directory holding a copy of one)", err)
	}
	factory, err := f.Clients(ctx, region, awsclient.Options{})
	if err != nil {
		return nil, err
	}
	cfg, err := factory.Config(awsclient.Scope{})
	if err != nil {
		return nil, err
	}
	recs, err := history.ReadS3(ctx, s3.NewFromConfig(cfg), loc, p)
	if err != nil {
		return nil, explain.AWS(err)
	}
	return recs, nil
}
