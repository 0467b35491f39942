package report

import (
	"context"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sns"

	"github.com/ecslogfix/ecslogfix/internal/history"
	"github.com/ecslogfix/ecslogfix/internal/history/historytest"
	"github.com/ecslogfix/ecslogfix/test/localaws"
)

func TestMain(m *testing.M) { localaws.Main(m) }

// The monthly run in moto: last month's records only, the three files
// under reports/YYYY-MM/ in the Object-Locked bucket, and the digest on
// the topic saying where they are.
func TestMonthlyJobInMoto(t *testing.T) {
	m := localaws.Shared(t)
	ctx := context.Background()
	cfg := m.Config()
	s3c := s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true })
	if err := historytest.Create(ctx, s3c, dynamodb.NewFromConfig(cfg), "report-job-test", "", 1); err != nil {
		t.Fatal(err)
	}
	store := &history.Store{S3: s3c, Bucket: "report-job-test"}
	if err := store.Record(ctx, Sample()...); err != nil {
		t.Fatal(err)
	}
	snsc := sns.NewFromConfig(cfg)
	topic, err := snsc.CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String("report-job-test")})
	if err != nil {
		t.Fatal(err)
	}
	j := &Job{S3: s3c, SNS: snsc, History: history.Location{Bucket: "report-job-test"}, Prefix: "reports", TopicARN: aws.ToString(topic.TopicArn),
		Now: func() time.Time { return time.Date(2027, 1, 1, 6, 0, 0, 0, time.UTC) }}
	res, err := j.Handle(ctx, JobRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Month != "2026-12" || res.Records != 7 || res.Families != 4 || res.NonCompliant != 1 || len(res.Keys) != 3 || res.Keys[0] != "reports/2026-12/report.html" {
		t.Fatalf("result %+v", res)
	}
	obj, err := s3c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("report-job-test"), Key: aws.String("reports/2026-12/report.csv")})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(obj.Body)
	if !strings.HasPrefix(string(b), "account,region,family,state") || strings.Count(string(b), "\n") != 5 {
		t.Errorf("csv:\n%s", b)
	}
	msgs, err := m.Published(ctx)
	if err != nil {
		t.Fatal(err)
	}
	last := msgs[len(msgs)-1]
	if !strings.Contains(last.Message, "s3://report-job-test/reports/2026-12/report.html") || !strings.Contains(last.Subject, "2026-12: 4 families, 1 not compliant") {
		t.Errorf("digest %q: %s", last.Subject, last.Message)
	}
	if _, err := j.Handle(ctx, JobRequest{Month: "December"}); err == nil {
		t.Error("a month that is not YYYY-MM was accepted")
	}
}
