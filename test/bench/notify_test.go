package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sns"

	"github.com/ecslogfix/ecslogfix/internal/notify"
	"github.com/ecslogfix/ecslogfix/internal/workflow"
	"github.com/ecslogfix/ecslogfix/test/localaws"
)

// digestFamilies is the sweep the digest row measures: the first sweep of
// an account of 300 unlogged families (docs/notifications.md).
const digestFamilies = 300

// TestBenchPublishes counts SNS publishes (SDK middleware, in-process
// notify on moto): one per event-driven remediation, and one per sweep
// however many families it started — their outcomes are held in the
// sweep's bucket and published as one digest.
func TestBenchPublishes(t *testing.T) {
	RequireBench(t)
	env := localaws.Start(t, localaws.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	counter := NewAPICounter()
	cfg := awsConfig(env.Endpoint, counter)
	snsc := sns.NewFromConfig(cfg)
	s3c := s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true })
	topic, err := snsc.CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String("ecslogfix-notifications")})
	if err != nil {
		t.Fatal(err)
	}
	const bucket = "bench-sweeps"
	if _, err := s3c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		t.Fatal(err)
	}
	h, err := notify.NewHandler(notify.Config{TopicARN: aws.ToString(topic.TopicArn), SweepBucket: bucket},
		notify.Deps{SNS: snsc, S3: s3c, Logger: slog.New(slog.NewJSONHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(moduleRoot(t), "internal", "notify", "testdata", "remediated.json"))
	if err != nil {
		t.Fatal(err)
	}
	var req workflow.NotifyRequest
	if err := json.Unmarshal(data, &req); err != nil {
		t.Fatal(err)
	}
	publishes := func() int {
		for _, c := range counter.Counts() {
			if c.API == "SNS:Publish" {
				return c.Calls
			}
		}
		return 0
	}

	counter.Reset()
	if _, err := h.Handle(ctx, req); err != nil {
		t.Fatal(err)
	}
	event := publishes()
	RecordRow(t, Row{Measure: "SNS publishes per event-driven remediation (in-process notify on moto)", Subject: "notify",
		Value: fmt.Sprint(event), Target: "1", Verdict: Verdict(event == 1)})

	counter.Reset()
	start := time.Now()
	for i := range digestFamilies {
		r := *req.Result
		r.Trigger, r.SweepID, r.Family = workflow.TriggerSweep, "bench-sweep", fmt.Sprintf("bench-family-%04d", i)
		if _, err := h.Handle(ctx, workflow.NotifyRequest{Result: &r, ExecutionARN: req.ExecutionARN}); err != nil {
			t.Fatal(err)
		}
	}
	sum := workflow.SweepSummary{Version: workflow.Version, SweepID: "bench-sweep", Bucket: bucket, ReportKey: "sweeps/bench-sweep/report.jsonl",
		Targets: 1, TargetsWalked: 1, SweepCounts: workflow.SweepCounts{Evaluated: digestFamilies, Violations: digestFamilies, Started: digestFamilies}, SummarizedAt: time.Now()}
	res, err := h.Handle(ctx, workflow.NotifyRequest{Summary: &sum})
	if err != nil || !res.Published {
		t.Fatalf("digest %+v %v", res, err)
	}
	digest := publishes()
	RecordRow(t, Row{Measure: fmt.Sprintf("SNS publishes per sweep of %d families: the executions' notify steps + PublishDigest (in-process notify on moto, %s)", digestFamilies, time.Since(start).Round(time.Millisecond)),
		Subject: "notify", Value: fmt.Sprint(digest), Target: "1", Verdict: Verdict(digest == 1)})
}
