package stacks

import (
	"bytes"
	"context"
	"io"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/aws-sdk-go-v2/service/sns"

	"github.com/ecslogfix/ecslogfix/internal/config/fnenv"
	"github.com/ecslogfix/ecslogfix/internal/config/naming"
	"github.com/ecslogfix/ecslogfix/internal/history"
	"github.com/ecslogfix/ecslogfix/internal/report"
)

// reportCalls records what the report function's job asks of S3: the
// listing of the history, the record it reads (one the history store
// wrote) and the reports it writes.
type reportCalls struct {
	record *s3.PutObjectInput
	body   []byte
	list   *s3.ListObjectsV2Input
	get    *s3.GetObjectInput
	put    *s3.PutObjectInput
}

func (r *reportCalls) ListObjectsV2(_ context.Context, in *s3.ListObjectsV2Input, _ ...func(*s3.Options)) (*s3.ListObjectsV2Output, error) {
	r.list = in
	return &s3.ListObjectsV2Output{Contents: []s3types.Object{{Key: r.record.Key}}}, nil
}

func (r *reportCalls) GetObject(_ context.Context, in *s3.GetObjectInput, _ ...func(*s3.Options)) (*s3.GetObjectOutput, error) {
	r.get = in
	return &s3.GetObjectOutput{Body: io.NopCloser(bytes.NewReader(r.body))}, nil
}

func (r *reportCalls) PutObject(_ context.Context, in *s3.PutObjectInput, _ ...func(*s3.Options)) (*s3.PutObjectOutput, error) {
	if r.put == nil {
		r.put = in
	}
	return &s3.PutObjectOutput{}, nil
}

func (r *reportCalls) Publish(context.Context, *sns.PublishInput, ...func(*sns.Options)) (*sns.PublishOutput, error) {
	return &sns.PublishOutput{MessageId: aws.String("m-1")}, nil
}

// reportRequest gives the names and request context of the report
// function's S3 calls: its job, configured from its environment in the
// template the way functions/report configures it, run on recorded
// clients over a record the history store wrote in the same bucket.
func (w *world) reportRequest(t *testing.T, c sdkCall) (map[string]string, map[string]any) {
	t.Helper()
	env := w.stack.environment(t, w.cfg.Names().Function(naming.FunctionReport))
	e, err := fnenv.ReadReportEnv(func(k string) string { return env[k] })
	if err != nil {
		t.Fatalf("report's environment: %v", err)
	}
	rec := recordOnce(t, e.History, simMemberAccount, simMemberRegion)
	calls := &reportCalls{record: rec.object}
	if calls.body, err = io.ReadAll(rec.object.Body); err != nil {
		t.Fatal(err)
	}
	job := &report.Job{S3: calls, SNS: calls, History: history.Location{Bucket: e.History.Bucket, Prefix: e.History.Prefix}, Prefix: e.ReportPrefix, TopicARN: e.TopicARN,
		Now: func() time.Time { return time.Date(2027, 1, 5, 6, 0, 0, 0, time.UTC) }}
	res, err := job.Handle(context.Background(), report.JobRequest{})
	if err != nil || res.Records != 1 || calls.list == nil || calls.get == nil || calls.put == nil {
		t.Fatalf("the report job: %+v, %v; calls %+v", res, err, calls)
	}
	switch c.Operation {
	case "ListObjectsV2":
		return map[string]string{"BucketName": *calls.list.Bucket}, map[string]any{"s3:prefix": *calls.list.Prefix}
	case "GetObject":
		return map[string]string{"BucketName": *calls.get.Bucket, "ObjectName": *calls.get.Key}, nil
	case "PutObject":
		return map[string]string{"BucketName": *calls.put.Bucket, "ObjectName": *calls.put.Key}, nil
	}
	t.Fatalf("report calls s3:%s: give it a request here", c.Operation)
	return nil, nil
}
