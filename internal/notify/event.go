package notify

import (
	"context"
	"log/slog"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"

	"github.com/ecslogfix/ecslogfix/internal/workflow"
)

// Events is the part of the EventBridge API notify puts the neutral event
// with.
type Events interface {
	PutEvents(ctx context.Context, in *eventbridge.PutEventsInput, optFns ...func(*eventbridge.Options)) (*eventbridge.PutEventsOutput, error)
}

// The neutral event: every published notification is also an EventBridge
// event, so on-call routing (PagerDuty, Jira Service Management, Rootly…)
// is a rule on the bus, not code (docs/notifications.md, "The neutral
// event").
const (
	EventSource = "ecslogfix"
	// EventDetailTypePrefix precedes the outcome: "ecslogfix REMEDIATED",
	// "ecslogfix SWEEP_DIGEST".
	EventDetailTypePrefix = "ecslogfix "
)

// putEvent puts one published notification's versioned document (the
// same redacted content as the SNS sqs key) on the configured bus. SNS
// already has the message: a failure is logged, never returned, so a
// retry cannot publish it twice.
func (h *Handler) putEvent(ctx context.Context, log *slog.Logger, o workflow.Outcome, detail []byte, resources []string) string {
	if h.cfg.EventBus == "" {
		return ""
	}
	out, err := h.deps.Events.PutEvents(ctx, &eventbridge.PutEventsInput{Entries: []ebtypes.PutEventsRequestEntry{{
		EventBusName: aws.String(h.cfg.EventBus),
		Source:       aws.String(EventSource),
		DetailType:   aws.String(EventDetailTypePrefix + string(o)),
		Detail:       aws.String(string(detail)),
		Resources:    resources,
	}}})
	switch {
	case err != nil:
		log.ErrorContext(ctx, "event not put", "error", err.Error())
		return "failed"
	case out.FailedEntryCount > 0 && len(out.Entries) > 0:
		log.ErrorContext(ctx, "event not put", "error", aws.ToString(out.Entries[0].ErrorCode)+": "+aws.ToString(out.Entries[0].ErrorMessage))
		return "failed"
	}
	log.InfoContext(ctx, "event put", "eventId", aws.ToString(out.Entries[0].EventId))
	return "sent"
}
