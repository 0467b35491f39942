package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/ecslogfix/ecslogfix/internal/awserr"
	"github.com/ecslogfix/ecslogfix/internal/digest"
	"github.com/ecslogfix/ecslogfix/internal/message"
	"github.com/ecslogfix/ecslogfix/internal/policy/reason"
	"github.com/ecslogfix/ecslogfix/internal/workflow"
)

// SweepObjects is the part of the S3 API notify uses in the sweep's
// bucket: the outcomes of a sweep's executions and its digest marker.
type SweepObjects interface {
	PutObject(ctx context.Context, in *s3.PutObjectInput, optFns ...func(*s3.Options)) (*s3.PutObjectOutput, error)
	GetObject(ctx context.Context, in *s3.GetObjectInput, optFns ...func(*s3.Options)) (*s3.GetObjectOutput, error)
	ListObjectsV2(ctx context.Context, in *s3.ListObjectsV2Input, optFns ...func(*s3.Options)) (*s3.ListObjectsV2Output, error)
}

// outcomeOf is what the digest needs of one execution's outcome: names,
// revisions, reason codes and one sanitised sentence.
func outcomeOf(req workflow.NotifyRequest, o workflow.Outcome) workflow.SweepOutcome {
	if r := req.Result; r != nil {
		out := workflow.SweepOutcome{Account: r.Target.Account, Region: r.Target.Region, Family: r.Family, Outcome: o,
			SourceARN: r.SourceARN, NewARN: r.NewARN, Detail: message.SafeText(r.Detail), ExecutionARN: req.ExecutionARN}
		if r.Plan != nil {
			for _, c := range r.Plan.ReasonCodes() {
				out.Reasons = append(out.Reasons, reason.Code(c))
			}
		}
		return out
	}
	f := req.Failure
	in := f.Input
	out := workflow.SweepOutcome{Account: in.Target.Account, Region: in.Target.Region, Family: in.Family, Outcome: o,
		SourceARN: in.TaskDefinitionARN, Detail: message.SafeText(f.State + " failed: " + f.Error), ExecutionARN: f.ExecutionARN}
	for _, c := range in.Reasons {
		for _, r := range c.Reasons {
			if !slices.Contains(out.Reasons, r) {
				out.Reasons = append(out.Reasons, r)
			}
		}
	}
	return out
}

// validSweepID keeps a sweep's ID to one key segment of its own prefix.
func validSweepID(id string) error {
	if id == "" || len(id) > 80 || strings.ContainsAny(id, "/\\") || strings.Contains(id, "..") {
		return &workflow.InvalidInputError{Err: fmt.Errorf("sweepId %q is not a sweep execution's name", id)}
	}
	return nil
}

func (h *Handler) putOutcome(ctx context.Context, sweepID string, o workflow.SweepOutcome) error {
	if err := validSweepID(sweepID); err != nil {
		return err
	}
	key := workflow.SweepOutcomeKey(sweepID, o.Account, o.Region, o.Family)
	_, err := h.deps.S3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(h.cfg.SweepBucket), Key: aws.String(key),
		Body: bytes.NewReader(message.JSON(o)), ContentType: aws.String("application/json")})
	if err != nil {
		return fmt.Errorf("put s3://%s/%s: %w", h.cfg.SweepBucket, key, err)
	}
	return nil
}

// outcomes reads every outcome written for a sweep.
func (h *Handler) outcomes(ctx context.Context, sweepID string) ([]workflow.SweepOutcome, error) {
	prefix := workflow.SweepOutcomesPrefix(sweepID)
	var out []workflow.SweepOutcome
	p := s3.NewListObjectsV2Paginator(h.deps.S3, &s3.ListObjectsV2Input{Bucket: aws.String(h.cfg.SweepBucket), Prefix: aws.String(prefix)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("list s3://%s/%s: %w", h.cfg.SweepBucket, prefix, err)
		}
		for _, obj := range page.Contents {
			var o workflow.SweepOutcome
			if _, err := h.get(ctx, aws.ToString(obj.Key), &o); err != nil {
				return nil, err
			}
			out = append(out, o)
		}
	}
	return out, nil
}

// get reads one JSON object strictly; found is false for a missing key.
func (h *Handler) get(ctx context.Context, key string, into any) (found bool, err error) {
	_, found, err = h.getTagged(ctx, key, into)
	return found, err
}

// getTagged is get that also returns the object's ETag, for a conditional
// write over it.
func (h *Handler) getTagged(ctx context.Context, key string, into any) (etag string, found bool, err error) {
	obj, err := h.deps.S3.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(h.cfg.SweepBucket), Key: aws.String(key)})
	var missing *s3types.NoSuchKey
	switch {
	case errors.As(err, &missing):
		return "", false, nil
	case err != nil:
		return "", false, fmt.Errorf("get s3://%s/%s: %w", h.cfg.SweepBucket, key, err)
	}
	defer obj.Body.Close()
	dec := json.NewDecoder(obj.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(into); err != nil {
		return "", false, fmt.Errorf("read s3://%s/%s: %w", h.cfg.SweepBucket, key, err)
	}
	return aws.ToString(obj.ETag), true, nil
}

// digestMarker is what the digest marker object holds: the published
// digest's message ID, or, while MessageID is empty, a sender's claim made
// at Time (a zero Time is a claim given up after a failed publish).
type digestMarker struct {
	MessageID string    `json:"messageId"`
	Outcomes  int       `json:"outcomes"`
	Time      time.Time `json:"time"`
}

// DigestClaimHold is how long a sender's claim on a sweep's digest holds
// before another sender may take it over: longer than the notify
// function's time-out (30 s, infra/pipeline/pipeline.go), so a claim older than this belongs to a sender that
// died between its claim and its publish.
const DigestClaimHold = 5 * time.Minute

// errDigestClaimed is a lost claim: another sender is publishing the digest.
var errDigestClaimed = errors.New("the digest is claimed by another sender")

// claimDigest writes the digest marker as a claim, conditionally (S3
// conditional writes: If-None-Match "*" for a first claim, If-Match the
// given claim's ETag to take over a stale one), so of two concurrent
// senders exactly one publishes. It returns the claim's ETag.
func (h *Handler) claimDigest(ctx context.Context, key, staleETag string) (string, error) {
	in := &s3.PutObjectInput{Bucket: aws.String(h.cfg.SweepBucket), Key: aws.String(key),
		Body: bytes.NewReader(message.JSON(digestMarker{Time: h.now().UTC()})), ContentType: aws.String("application/json")}
	if staleETag == "" {
		in.IfNoneMatch = aws.String("*")
	} else {
		in.IfMatch = aws.String(staleETag)
	}
	out, err := h.deps.S3.PutObject(ctx, in)
	switch code := awserr.Code(err); {
	case code == "PreconditionFailed" || code == "ConditionalRequestConflict":
		return "", errDigestClaimed
	case err != nil:
		return "", fmt.Errorf("put s3://%s/%s: %w", h.cfg.SweepBucket, key, err)
	}
	return aws.ToString(out.ETag), nil
}

// digest publishes a sweep's one digest once every execution it started
// has its outcome (or DigestSettle after the summary): until then it
// answers Pending, and the sweep asks again after RetryAfterSeconds. A
// marker object, claimed by a conditional write before the publish, makes
// a retried or concurrent PublishDigest publish nothing twice.
func (h *Handler) digest(ctx context.Context, sum workflow.SweepSummary, executionARN string) (Summary, error) {
	log := h.deps.Logger.With("outcome", string(digest.Outcome), "sweepId", sum.SweepID)
	res := Summary{Outcome: digest.Outcome}
	if h.cfg.SweepBucket == "" || sum.Bucket != h.cfg.SweepBucket {
		return Summary{}, &workflow.InvalidInputError{Err: fmt.Errorf("summary.bucket: %q is not the sweep bucket notify writes to", sum.Bucket)}
	}
	if err := validSweepID(sum.SweepID); err != nil {
		return Summary{}, err
	}
	key := workflow.SweepDigestKey(sum.SweepID)
	var marker digestMarker
	etag, found, err := h.getTagged(ctx, key, &marker)
	if err != nil {
		return Summary{}, workflow.Classify(err)
	}
	if found && marker.MessageID != "" {
		res.Published, res.MessageID, res.Skipped = true, marker.MessageID, "published before"
		log.InfoContext(ctx, "digest published before", "messageId", marker.MessageID)
		return res, nil
	}
	claimed := func() (Summary, error) {
		res.Pending, res.RetryAfterSeconds = true, max(1, int(h.cfg.DigestPoll/time.Second))
		log.InfoContext(ctx, "digest claimed by another sender")
		return res, nil
	}
	if found && h.now().Before(marker.Time.Add(DigestClaimHold)) {
		return claimed()
	}
	outs, err := h.outcomes(ctx, sum.SweepID)
	if err != nil {
		return Summary{}, workflow.Classify(err)
	}
	if len(outs) < sum.Started && h.now().Before(sum.SummarizedAt.Add(h.cfg.DigestSettle)) {
		res.Pending, res.RetryAfterSeconds = true, max(1, int(h.cfg.DigestPoll/time.Second))
		log.InfoContext(ctx, "digest waits for outcomes", "outcomes", len(outs), "started", sum.Started)
		return res, nil
	}
	n, err := digest.Render(digest.Input{Summary: sum, Outcomes: outs, ExecutionARN: executionARN})
	if err != nil {
		return Summary{}, &workflow.InvalidInputError{Err: err}
	}
	claim, err := h.claimDigest(ctx, key, etag)
	if errors.Is(err, errDigestClaimed) {
		return claimed()
	}
	if err != nil {
		return Summary{}, workflow.Classify(err)
	}
	id, err := h.publish(ctx, n.Subject, n.SNSMessage(), n.Attributes)
	if err != nil {
		log.ErrorContext(ctx, "digest not published", "error", err.Error())
		// Give the claim up, so the retry claims it again at once.
		if _, err := h.deps.S3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(h.cfg.SweepBucket), Key: aws.String(key), IfMatch: aws.String(claim),
			Body: bytes.NewReader(message.JSON(digestMarker{})), ContentType: aws.String("application/json")}); err != nil {
			log.ErrorContext(ctx, "digest claim not given up", "error", err.Error())
		}
		return Summary{}, err
	}
	res.Published, res.MessageID, res.Truncated = true, id, n.Truncated
	log = log.With("messageId", id)
	log.InfoContext(ctx, "digest published", "bytes", n.Size(), "truncated", n.Truncated, "outcomes", len(outs), "pending", n.Document.Totals.Pending)
	if _, err := h.deps.S3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(h.cfg.SweepBucket), Key: aws.String(key), IfMatch: aws.String(claim),
		Body: bytes.NewReader(message.JSON(digestMarker{MessageID: id, Outcomes: len(outs), Time: h.now().UTC()})), ContentType: aws.String("application/json")}); err != nil {
		// Published: a failure here is logged, never returned, so a retry
		// cannot publish it twice.
		log.ErrorContext(ctx, "digest marker not written", "error", err.Error())
	}
	res.Slack = h.slack(ctx, log, message.JSON(n.Slack))
	res.Event = h.putEvent(ctx, log, digest.Outcome, message.JSON(n.Document), nonEmpty(executionARN))
	return res, nil
}

// digestFailure publishes the notice of a digest PublishDigest could not
// publish after its retries: the summary and the error, nothing read from
// the sweep's bucket (what failed may be that).
func (h *Handler) digestFailure(ctx context.Context, sum workflow.SweepSummary, executionARN string, failed workflow.CaughtError) (Summary, error) {
	log := h.deps.Logger.With("outcome", string(digest.Outcome), "sweepId", sum.SweepID)
	n, err := digest.Render(digest.Input{Summary: sum, ExecutionARN: executionARN, DigestError: &failed})
	if err != nil {
		return Summary{}, &workflow.InvalidInputError{Err: err}
	}
	id, err := h.publish(ctx, n.Subject, n.SNSMessage(), n.Attributes)
	if err != nil {
		log.ErrorContext(ctx, "digest failure notice not published", "error", err.Error())
		return Summary{}, err
	}
	log.InfoContext(ctx, "digest failure notice published", "messageId", id, "error", n.Document.DigestError.Error)
	res := Summary{Outcome: digest.Outcome, Published: true, MessageID: id, Truncated: n.Truncated}
	res.Slack = h.slack(ctx, log, message.JSON(n.Slack))
	res.Event = h.putEvent(ctx, log, digest.Outcome, message.JSON(n.Document), nonEmpty(executionARN))
	return res, nil
}

func (h *Handler) now() time.Time {
	if h.deps.Now != nil {
		return h.deps.Now()
	}
	return time.Now()
}
