package notify

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/ecslogfix/ecslogfix/internal/awsfake"
	"github.com/ecslogfix/ecslogfix/internal/digest"
	"github.com/ecslogfix/ecslogfix/internal/workflow"
)

const sweepBucket = "ecslogfix-sweeps-111122223333"

// bySweep makes a request of an execution the sweep sweepID started, of
// the request's family with a suffix (one execution per family a sweep).
func bySweep(req workflow.NotifyRequest, sweepID, suffix string) workflow.NotifyRequest {
	if req.Result != nil {
		r := *req.Result
		r.Trigger, r.SweepID, r.Family = workflow.TriggerSweep, sweepID, r.Family+suffix
		req.Result = &r
	} else {
		f := *req.Failure
		f.Input.Trigger, f.Input.SweepID, f.Input.Family = workflow.TriggerSweep, sweepID, f.Input.Family+suffix
		req.Failure = &f
	}
	return req
}

// walkedSummary is the summary of sweep sweepID, made at now, of one
// account-region walked to the end, where it started started executions.
func walkedSummary(sweepID string, started int, now time.Time) workflow.SweepSummary {
	return workflow.SweepSummary{Version: workflow.Version, SweepID: sweepID, Bucket: sweepBucket, ReportKey: "sweeps/" + sweepID + "/report.jsonl",
		Targets: 1, TargetsWalked: 1, SweepCounts: workflow.SweepCounts{Started: started}, SummarizedAt: now}
}

func sweepHandler(t *testing.T, now *time.Time) (*Handler, *fakeSNS, *awsfake.S3) {
	t.Helper()
	pub, store := &fakeSNS{}, awsfake.NewS3()
	h, _ := newTestHandler(t, Config{SweepBucket: sweepBucket, DigestPoll: 20 * time.Second, DigestSettle: time.Hour},
		Deps{SNS: pub, S3: store, Now: func() time.Time { return *now }})
	return h, pub, store
}

// An execution a sweep started is not published: its outcome waits in the
// sweep's bucket for the digest. An event's still is.
func TestSweepExecutionsAreHeldForTheDigest(t *testing.T) {
	now := time.Date(2026, 12, 1, 6, 0, 0, 0, time.UTC)
	h, pub, store := sweepHandler(t, &now)
	ctx := context.Background()
	for _, name := range []string{"remediated", "failed", "already-remediated"} {
		sum, err := h.Handle(ctx, bySweep(loadRequest(t, name), "sweep-1", "-"+name))
		if err != nil {
			t.Fatal(err)
		}
		if sum.Published || !strings.Contains(sum.Skipped, "sweep-1") {
			t.Errorf("%s: %+v", name, sum)
		}
	}
	if len(pub.calls) != 0 {
		t.Fatalf("%d publishes for executions of a sweep", len(pub.calls))
	}
	keys := store.Keys(sweepBucket, workflow.SweepOutcomesPrefix("sweep-1"))
	if len(keys) != 3 {
		t.Fatalf("outcome objects %v", keys)
	}
	body, _ := store.Object(sweepBucket, workflow.SweepOutcomeKey("sweep-1", "111122223333", "us-east-1", "orders-api-remediated"))
	var o workflow.SweepOutcome
	if err := json.Unmarshal(body, &o); err != nil || o.Outcome != workflow.OutcomeRemediated || o.NewARN == "" || len(o.Reasons) == 0 {
		t.Errorf("outcome %s (%v)", body, err)
	}
	if _, err := h.Handle(ctx, loadRequest(t, "remediated")); err != nil || len(pub.calls) != 1 {
		t.Fatalf("an event's execution: %d publishes (%v)", len(pub.calls), err)
	}
}

// The digest waits while outcomes are missing, publishes once when they are
// all in, and a retried PublishDigest publishes nothing twice.
func TestDigestWaitsThenPublishesOnce(t *testing.T) {
	now := time.Date(2026, 12, 1, 6, 0, 0, 0, time.UTC)
	h, pub, _ := sweepHandler(t, &now)
	ctx := context.Background()
	sum := walkedSummary("sweep-1", 2, now)
	sum.Evaluated, sum.Violations = 3, 2
	sum.Sections = []workflow.SweepSection{{Account: "111122223333", Region: "us-east-1", SweepCounts: sum.SweepCounts}}
	digestReq := workflow.NotifyRequest{Summary: &sum, ExecutionARN: "arn:aws:states:us-east-1:111122223333:execution:ecslogfix-sweep:sweep-1"}

	if _, err := h.Handle(ctx, bySweep(loadRequest(t, "remediated"), "sweep-1", "")); err != nil {
		t.Fatal(err)
	}
	got, err := h.Handle(ctx, digestReq)
	if err != nil || !got.Pending || got.RetryAfterSeconds != 20 || got.Published || len(pub.calls) != 0 {
		t.Fatalf("one outcome of two: %+v (%v), %d publishes", got, err, len(pub.calls))
	}
	if _, err := h.Handle(ctx, bySweep(loadRequest(t, "failed"), "sweep-1", "-b")); err != nil {
		t.Fatal(err)
	}
	got, err = h.Handle(ctx, digestReq)
	if err != nil || got.Pending || !got.Published || got.Outcome != digest.Outcome || len(pub.calls) != 1 {
		t.Fatalf("every outcome in: %+v (%v), %d publishes", got, err, len(pub.calls))
	}
	var msg map[string]string
	if err := json.Unmarshal([]byte(*pub.calls[0].Message), &msg); err != nil {
		t.Fatal(err)
	}
	var doc digest.Document
	if err := json.Unmarshal([]byte(msg["sqs"]), &doc); err != nil || doc.Outcomes[workflow.OutcomeRemediated] != 1 || doc.Outcomes[workflow.OutcomeFailed] != 1 || doc.Totals.Pending != 0 {
		t.Errorf("digest document %s (%v)", msg["sqs"], err)
	}
	if v := pub.calls[0].MessageAttributes["outcome"].StringValue; *v != string(digest.Outcome) {
		t.Errorf("outcome attribute %s", *v)
	}
	again, err := h.Handle(ctx, digestReq)
	if err != nil || !again.Published || again.Skipped != "published before" || len(pub.calls) != 1 {
		t.Fatalf("a retried PublishDigest: %+v (%v), %d publishes", again, err, len(pub.calls))
	}
}

// Past DigestSettle, the digest is published with the missing outcomes
// counted as still running.
func TestDigestStopsWaiting(t *testing.T) {
	now := time.Date(2026, 12, 1, 6, 0, 0, 0, time.UTC)
	h, pub, _ := sweepHandler(t, &now)
	sum := walkedSummary("sweep-2", 5, now)
	now = now.Add(time.Hour + time.Second)
	got, err := h.Handle(context.Background(), workflow.NotifyRequest{Summary: &sum})
	if err != nil || !got.Published || len(pub.calls) != 1 || !strings.Contains(*pub.calls[0].Message, "Still running when this digest was sent: 5") {
		t.Fatalf("%+v (%v)", got, err)
	}
}

// A digest request for another bucket, or with a key-breaking ID, or mixed
// with a result, is refused as invalid input (never retried).
func TestDigestRefusesForeignRequests(t *testing.T) {
	now := time.Now()
	h, pub, _ := sweepHandler(t, &now)
	res := loadRequest(t, "remediated").Result
	for name, req := range map[string]workflow.NotifyRequest{
		"bucket": {Summary: &workflow.SweepSummary{SweepID: "s", Bucket: "someone-elses"}},
		"id":     {Summary: &workflow.SweepSummary{SweepID: "../x", Bucket: sweepBucket}},
		"mixed":  {Summary: &workflow.SweepSummary{SweepID: "s", Bucket: sweepBucket}, Result: res},
	} {
		_, err := h.Handle(context.Background(), req)
		var invalid *workflow.InvalidInputError
		if !errors.As(err, &invalid) {
			t.Errorf("%s: %v", name, err)
		}
	}
	if len(pub.calls) != 0 {
		t.Errorf("%d publishes", len(pub.calls))
	}
}

// markerBarrier holds every read of the digest marker until n senders
// have read it, so each decides on the same state before any writes.
type markerBarrier struct {
	*awsfake.S3
	key     string
	arrived sync.WaitGroup
}

func (b *markerBarrier) GetObject(ctx context.Context, in *s3.GetObjectInput, opts ...func(*s3.Options)) (*s3.GetObjectOutput, error) {
	out, err := b.S3.GetObject(ctx, in, opts...)
	if aws.ToString(in.Key) == b.key {
		b.arrived.Done()
		b.arrived.Wait()
	}
	return out, err
}

// Two concurrent senders of one sweep's digest (two notify instances, both
// past the marker check) publish exactly one digest: the marker is claimed
// by a conditional write before the publish.
func TestConcurrentDigestSendersPublishOnce(t *testing.T) {
	now := time.Date(2026, 12, 1, 6, 0, 0, 0, time.UTC)
	store, pub := awsfake.NewS3(), &fakeSNS{}
	shared := &markerBarrier{S3: store, key: workflow.SweepDigestKey("sweep-3")}
	shared.arrived.Add(2)
	sum := walkedSummary("sweep-3", 0, now)
	req := workflow.NotifyRequest{Summary: &sum, ExecutionARN: "arn:aws:states:us-east-1:111122223333:execution:ecslogfix-sweep:sweep-3"}
	results := make([]Summary, 2)
	errs := make([]error, 2)
	var done sync.WaitGroup
	for i := range 2 {
		h, _ := newTestHandler(t, Config{SweepBucket: sweepBucket, DigestPoll: 20 * time.Second, DigestSettle: time.Hour},
			Deps{SNS: pub, S3: shared, Now: func() time.Time { return now }})
		done.Add(1)
		go func() {
			defer done.Done()
			results[i], errs[i] = h.Handle(context.Background(), req)
		}()
	}
	done.Wait()
	if len(pub.calls) != 1 {
		t.Fatalf("%d digests published by two concurrent senders: %+v (%v)", len(pub.calls), results, errs)
	}
	published, waiting := 0, 0
	for i, r := range results {
		switch {
		case errs[i] != nil:
			t.Errorf("sender %d: %v", i, errs[i])
		case r.Published && !r.Pending:
			published++
		case r.Pending && r.RetryAfterSeconds == 20:
			waiting++
		}
	}
	if published != 1 || waiting != 1 {
		t.Fatalf("one publishes, one waits: %+v", results)
	}
	// The waiting sender asks again and finds the digest published.
	h, _ := newTestHandler(t, Config{SweepBucket: sweepBucket}, Deps{SNS: pub, S3: store, Now: func() time.Time { return now }})
	again, err := h.Handle(context.Background(), req)
	if err != nil || again.Skipped != "published before" || len(pub.calls) != 1 {
		t.Fatalf("the waiting sender's next ask: %+v (%v), %d publishes", again, err, len(pub.calls))
	}
}

// A failed publish gives its claim up, so the retry publishes at once; a
// claim older than DigestClaimHold (its sender died) is taken over.
func TestDigestClaimIsGivenUpOrTakenOver(t *testing.T) {
	now := time.Date(2026, 12, 1, 6, 0, 0, 0, time.UTC)
	h, pub, store := sweepHandler(t, &now)
	ctx := context.Background()
	sum := walkedSummary("sweep-4", 0, now)
	req := workflow.NotifyRequest{Summary: &sum}
	pub.err = errors.New("InternalError")
	if _, err := h.Handle(ctx, req); err == nil {
		t.Fatal("a failed publish reported no error")
	}
	pub.err = nil
	got, err := h.Handle(ctx, req)
	if err != nil || !got.Published || got.Pending || len(pub.calls) != 2 {
		t.Fatalf("the retry after a failed publish: %+v (%v), %d publishes", got, err, len(pub.calls))
	}

	stale := walkedSummary("sweep-5", 0, now)
	if _, err := store.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(sweepBucket), Key: aws.String(workflow.SweepDigestKey("sweep-5")),
		Body: strings.NewReader(`{"messageId":"","outcomes":0,"time":"2026-12-01T06:00:00Z"}`)}); err != nil {
		t.Fatal(err)
	}
	got, err = h.Handle(ctx, workflow.NotifyRequest{Summary: &stale})
	if err != nil || !got.Pending || len(pub.calls) != 2 {
		t.Fatalf("a fresh claim of another sender: %+v (%v), %d publishes", got, err, len(pub.calls))
	}
	now = now.Add(DigestClaimHold + time.Second)
	got, err = h.Handle(ctx, workflow.NotifyRequest{Summary: &stale})
	if err != nil || !got.Published || len(pub.calls) != 3 {
		t.Fatalf("a stale claim: %+v (%v), %d publishes", got, err, len(pub.calls))
	}
}

// The notice of a digest PublishDigest could not publish is published
// without reading the sweep's bucket; a digest error without a summary is
// invalid input.
func TestDigestFailureNotice(t *testing.T) {
	now := time.Date(2026, 12, 1, 6, 0, 0, 0, time.UTC)
	h, pub, store := sweepHandler(t, &now)
	sum := walkedSummary("sweep-6", 3, now)
	caught := &workflow.CaughtError{Error: "ecslogfix.ThrottledError", Cause: "publish: Rate exceeded"}
	got, err := h.Handle(context.Background(), workflow.NotifyRequest{Summary: &sum, DigestError: caught})
	if err != nil || !got.Published || len(pub.calls) != 1 || len(store.Calls) != 0 {
		t.Fatalf("%+v (%v), %d publishes, S3 calls %v", got, err, len(pub.calls), store.Calls)
	}
	if s := *pub.calls[0].Subject; !strings.HasPrefix(s, "[ecslogfix] Sweep digest not published") {
		t.Errorf("subject %q", s)
	}
	if !strings.Contains(*pub.calls[0].Message, "publish: Rate exceeded") {
		t.Errorf("message %s", *pub.calls[0].Message)
	}
	_, err = h.Handle(context.Background(), workflow.NotifyRequest{Result: loadRequest(t, "remediated").Result, DigestError: caught})
	var invalid *workflow.InvalidInputError
	if !errors.As(err, &invalid) {
		t.Errorf("a digest error with a result: %v", err)
	}
}
