package history_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/ecslogfix/ecslogfix/internal/history"
	"github.com/ecslogfix/ecslogfix/internal/history/historytest"
	"github.com/ecslogfix/ecslogfix/internal/plan"
	"github.com/ecslogfix/ecslogfix/internal/policy/exemption"
	"github.com/ecslogfix/ecslogfix/internal/policy/reason"
	"github.com/ecslogfix/ecslogfix/test/localaws"
)

func TestMain(m *testing.M) { localaws.Main(m) }

type publisher struct {
	mu      sync.Mutex
	changes []history.Change
}

func (p *publisher) Publish(_ context.Context, cs []history.Change) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.changes = append(p.changes, cs...)
	return nil
}

// The store in moto: lines under the partitions, the state per family with
// conditional writes, changes passed on once, and Object Lock refusing to
// delete a line.
func TestStoreInMoto(t *testing.T) {
	m := localaws.Shared(t)
	cfg := m.Config()
	ctx := context.Background()
	s3c := s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true })
	ddb := dynamodb.NewFromConfig(cfg)
	bucket, table := "history-store-test", "history-store-test"
	if err := historytest.Create(ctx, s3c, ddb, bucket, table, 1); err != nil {
		t.Fatal(err)
	}
	pub := &publisher{}
	store := &history.Store{S3: s3c, Bucket: bucket, Prefix: "org", DynamoDB: ddb, Table: table, Findings: pub}

	day := time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)
	missing := plan.Finding{Container: "app", Reasons: []reason.Code{reason.MissingLogConfiguration}}
	p := plan.Plan{Family: "orders-api", Revision: 3, SourceARN: "arn:aws:ecs:eu-west-1:111122223333:task-definition/orders-api:3",
		Context: plan.Context{Account: "111122223333", Region: "eu-west-1"}, Exempt: true,
		Exemption:  &exemption.Exemption{Source: exemption.SourceTag, Until: "2026-12-31"},
		Containers: []plan.ContainerChange{{Name: "app", Reasons: missing.Reasons, Action: plan.ActionNone}}}
	exempt := history.FromPlan(p, history.Meta{Time: day, Trigger: "sweep", SweepID: "20261201T080000Z"})
	swept := history.SweptTarget("111122223333", "eu-west-1", history.Swept{Evaluated: 1, Skipped: 1}, history.Meta{Time: day.Add(time.Minute), SweepID: "20261201T080000Z"})
	if err := store.Record(ctx, exempt, swept); err != nil {
		t.Fatal(err)
	}
	// A retry of the same write changes nothing more.
	if err := store.Record(ctx, exempt, swept); err != nil {
		t.Fatal(err)
	}
	compliant := history.FromPlan(plan.Plan{Family: "billing", Revision: 1, SourceARN: "arn:aws:ecs:us-east-1:111122223333:task-definition/billing:1",
		Context: plan.Context{Account: "111122223333", Region: "us-east-1"}, Compliant: true}, history.Meta{Time: day.Add(26 * time.Hour), EventID: "e1"})
	if err := store.Record(ctx, compliant); err != nil {
		t.Fatal(err)
	}

	list, err := s3c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(bucket), Prefix: aws.String("org/v1/")})
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, o := range list.Contents {
		keys = append(keys, aws.ToString(o.Key))
	}
	if len(keys) != 2 || !strings.HasPrefix(keys[0], "org/v1/account=111122223333/region=eu-west-1/date=2026-12-01/") ||
		!strings.HasPrefix(keys[1], "org/v1/account=111122223333/region=us-east-1/date=2026-12-02/") {
		t.Fatalf("objects %v", keys)
	}
	recs, err := history.ReadS3(ctx, s3c, history.Location{Bucket: bucket, Prefix: "org"}, history.Period{})
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 3 || recs[0].Decision != history.DecisionExempt || recs[1].Decision != history.DecisionSwept || recs[2].Family != "billing" {
		t.Fatalf("records %+v", recs)
	}
	dec1, err := history.ReadS3(ctx, s3c, history.Location{Bucket: bucket, Prefix: "org"}, history.Period{From: day, To: day})
	if err != nil || len(dec1) != 2 {
		t.Fatalf("records of one day: %d, %v", len(dec1), err)
	}
	if len(pub.changes) != 2 || pub.changes[0].After.State != history.StateExempt || pub.changes[0].After.ExemptUntil != "2026-12-31" || pub.changes[0].Before != nil {
		t.Fatalf("changes %+v", pub.changes)
	}
	items, err := history.States(ctx, ddb, table)
	if err != nil || len(items) != 2 || items[0].State != history.StateExempt || items[0].Since == nil || items[1].Family != "billing" || items[1].State != history.StateCompliant {
		t.Fatalf("states %+v, %v", items, err)
	}

	// Object Lock (compliance mode): no version can be deleted (the retry
	// wrote a second version of the same key).
	vers, err := s3c.ListObjectVersions(ctx, &s3.ListObjectVersionsInput{Bucket: aws.String(bucket), Prefix: aws.String(keys[0])})
	if err != nil || len(vers.Versions) != 2 {
		t.Fatalf("versions of %s: %d, %v", keys[0], len(vers.Versions), err)
	}
	for _, v := range vers.Versions {
		_, err = s3c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(bucket), Key: aws.String(keys[0]), VersionId: v.VersionId})
		if err == nil || !strings.Contains(err.Error(), "AccessDenied") {
			t.Fatalf("deleting a locked history version: %v, want AccessDenied", err)
		}
	}
}
