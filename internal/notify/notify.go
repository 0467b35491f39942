// Package notify is the workflow's Notify and NotifyFailure step and the
// sweep's PublishDigest: it renders one execution's result or failure
// (internal/message) and publishes it once to the SNS topic, optionally
// also to a Slack webhook; an execution a sweep started is not published
// but written to the sweep's bucket, and the sweep's digest
// (internal/digest) publishes them all at once. functions/notify is its
// Lambda adapter.
package notify

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	snstypes "github.com/aws/aws-sdk-go-v2/service/sns/types"

	"github.com/ecslogfix/ecslogfix/internal/history"
	"github.com/ecslogfix/ecslogfix/internal/message"
	"github.com/ecslogfix/ecslogfix/internal/workflow"
)

// Publisher is the part of the SNS API notify uses.
type Publisher interface {
	Publish(ctx context.Context, in *sns.PublishInput, optFns ...func(*sns.Options)) (*sns.PublishOutput, error)
}

// SecretReader is the part of the Secrets Manager API notify uses to read
// the Slack webhook URL.
type SecretReader interface {
	GetSecretValue(ctx context.Context, in *secretsmanager.GetSecretValueInput, optFns ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error)
}

// HTTPDoer posts the Slack webhook payload (*http.Client in production).
type HTTPDoer interface {
	Do(req *http.Request) (*http.Response, error)
}

// Config is what the handler needs from the function's environment.
type Config struct {
	TopicARN string // the SNS topic every notification goes to
	// SlackSecretARN, when set, names a Secrets Manager secret holding a
	// Slack incoming-webhook URL (plain, or JSON {"url": "..."}); each
	// published notification is also posted there.
	SlackSecretARN string
	// PublishQuiet also publishes outcomes that need nobody's action
	// (message.Quiet); by default they are only logged.
	PublishQuiet bool
	// SweepBucket, when set, is the sweep's bucket: the outcomes of the
	// executions a sweep started are written there for its digest instead
	// of being published one by one.
	SweepBucket string
	// DigestPoll is how long the sweep waits before asking again while
	// outcomes are missing (default DefaultDigestPoll); DigestSettle how
	// long after the summary the digest waits for them at most (default
	// DefaultDigestSettle), then counts the missing ones as still running.
	DigestPoll   time.Duration
	DigestSettle time.Duration
	// EventBus, when set, is the bus (name or ARN) every published
	// notification's document is also put on as an event (EventSource,
	// EventDetailTypePrefix + outcome): the account's default bus, or in
	// organization mode the hub's.
	EventBus string
}

// Digest waits: executions start at the sweep's start rate and most end
// within a minute; a rollout's watch may take longer (docs/notifications.md,
// "Sweep digests").
const (
	DefaultDigestPoll   = time.Minute
	DefaultDigestSettle = 2 * time.Hour
)

// Deps are the handler's clients.
type Deps struct {
	SNS     Publisher
	Secrets SecretReader // required with Config.SlackSecretARN
	HTTP    HTTPDoer     // required with Config.SlackSecretARN
	// S3 holds the sweep's outcomes and digest marker (required with
	// Config.SweepBucket).
	S3     SweepObjects
	Events Events // required with Config.EventBus
	Logger *slog.Logger
	// History, when set, records the outcome before it is published (a
	// retry of a failed publish writes the same record again).
	History history.Recorder
	// Now is the clock of the records; default time.Now.
	Now func() time.Time
}

// Summary is what the function returns to the state machine: small, and
// never the message body. Pending, RetryAfterSeconds and Published are
// always present: the sweep's PublishDigest selects them
// (workflow.DigestResult).
type Summary struct {
	Outcome           workflow.Outcome `json:"outcome"`
	Pending           bool             `json:"pending"`
	RetryAfterSeconds int              `json:"retryAfterSeconds"`
	Published         bool             `json:"published"`
	MessageID         string           `json:"messageId,omitempty"`
	Skipped           string           `json:"skipped,omitempty"` // why nothing was published
	Slack             string           `json:"slack,omitempty"`   // sent | failed (only with a webhook)
	Event             string           `json:"event,omitempty"`   // sent | failed (only with an event bus)
	Truncated         bool             `json:"truncated,omitempty"`
}

// Handler renders one workflow.NotifyRequest and publishes it once to SNS
// with MessageStructure=json and filterable attributes, and optionally to a
// Slack webhook.
type Handler struct {
	cfg  Config
	deps Deps

	mu      sync.Mutex
	webhook string // the Slack webhook URL, read once
}

// SlackTimeout bounds the Slack webhook post.
const SlackTimeout = 5 * time.Second

// NewHandler checks cfg and deps and returns a handler.
func NewHandler(cfg Config, deps Deps) (*Handler, error) {
	if cfg.TopicARN == "" {
		return nil, errors.New("notify: no SNS topic ARN configured")
	}
	if deps.SNS == nil {
		return nil, errors.New("notify: no SNS client")
	}
	if cfg.SlackSecretARN != "" && (deps.Secrets == nil || deps.HTTP == nil) {
		return nil, errors.New("notify: a Slack webhook secret needs a Secrets Manager client and an HTTP client")
	}
	if cfg.EventBus != "" && deps.Events == nil {
		return nil, errors.New("notify: an event bus needs an EventBridge client")
	}
	if cfg.SweepBucket != "" && deps.S3 == nil {
		return nil, errors.New("notify: a sweep bucket needs an S3 client")
	}
	cfg.DigestPoll = cmp.Or(cfg.DigestPoll, DefaultDigestPoll)
	cfg.DigestSettle = cmp.Or(cfg.DigestSettle, DefaultDigestSettle)
	if deps.Logger == nil {
		deps.Logger = slog.New(slog.DiscardHandler)
	}
	return &Handler{cfg: cfg, deps: deps}, nil
}

// Handle is the Lambda handler.
func (h *Handler) Handle(ctx context.Context, req workflow.NotifyRequest) (Summary, error) {
	if req.Summary != nil {
		if req.Result != nil || req.Failure != nil {
			return Summary{}, &workflow.InvalidInputError{Err: errors.New("a digest request carries an execution's result or failure")}
		}
		if req.DigestError != nil {
			return h.digestFailure(ctx, *req.Summary, req.ExecutionARN, *req.DigestError)
		}
		return h.digest(ctx, *req.Summary, req.ExecutionARN)
	}
	if req.DigestError != nil {
		return Summary{}, &workflow.InvalidInputError{Err: errors.New("a digest error without the sweep's summary")}
	}
	n, err := message.Render(req)
	if err != nil {
		h.deps.Logger.ErrorContext(ctx, "notification not rendered", "error", err.Error())
		return Summary{}, &workflow.InvalidInputError{Err: err}
	}
	log := h.deps.Logger.With(
		"outcome", string(n.Outcome),
		"family", n.Attributes[message.AttrFamily],
		"account", n.Attributes[message.AttrAccount],
		"region", n.Attributes[message.AttrRegion],
	)
	sum := Summary{Outcome: n.Outcome, Truncated: n.Truncated}
	if err := h.record(ctx, req); err != nil {
		log.ErrorContext(ctx, "outcome not recorded", "error", err.Error())
		return Summary{}, workflow.Classify(err)
	}
	if sweepID := req.SweepOf(); sweepID != "" && h.cfg.SweepBucket != "" {
		// One digest per sweep, not one message per family: the outcome
		// waits in the sweep's bucket for PublishDigest.
		if err := h.putOutcome(ctx, sweepID, outcomeOf(req, n.Outcome)); err != nil {
			log.ErrorContext(ctx, "sweep outcome not written", "error", err.Error())
			return Summary{}, workflow.Classify(err)
		}
		sum.Skipped = "in the digest of sweep " + sweepID
		log.InfoContext(ctx, "notification held for the sweep's digest", "sweepId", sweepID)
		return sum, nil
	}
	if message.Quiet(n.Outcome) && !h.cfg.PublishQuiet {
		sum.Skipped = "quiet outcome: nothing for anyone to do"
		log.InfoContext(ctx, "notification skipped", "reason", sum.Skipped)
		return sum, nil
	}

	id, err := h.publish(ctx, n.Subject, n.SNSMessage(), n.Attributes)
	if err != nil {
		log.ErrorContext(ctx, "notification not published", "error", err.Error())
		return Summary{}, err
	}
	sum.Published = true
	sum.MessageID = id
	log = log.With("messageId", sum.MessageID)
	log.InfoContext(ctx, "notification published", "bytes", n.Size(), "truncated", n.Truncated)
	sum.Slack = h.slack(ctx, log, n.SlackJSON())
	sum.Event = h.putEvent(ctx, log, n.Outcome, n.DocumentJSON(), nonEmpty(n.Document.SourceARN, n.Document.NewARN, n.Document.ExecutionARN))
	return sum, nil
}

func nonEmpty(ss ...string) []string {
	out := []string{}
	for _, s := range ss {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}

// publish publishes one message to the topic with MessageStructure=json
// and its attributes, and returns its ID.
func (h *Handler) publish(ctx context.Context, subject, msg string, attributes map[string]string) (string, error) {
	attrs := make(map[string]snstypes.MessageAttributeValue, len(attributes))
	for k, v := range attributes {
		attrs[k] = snstypes.MessageAttributeValue{DataType: aws.String("String"), StringValue: aws.String(v)}
	}
	out, err := h.deps.SNS.Publish(ctx, &sns.PublishInput{
		TopicArn:          aws.String(h.cfg.TopicARN),
		Message:           aws.String(msg),
		MessageStructure:  aws.String("json"),
		Subject:           aws.String(subject),
		MessageAttributes: attrs,
	})
	if err != nil {
		return "", workflow.Classify(fmt.Errorf("publish to %s: %w", h.cfg.TopicARN, err))
	}
	return aws.ToString(out.MessageId), nil
}

// slack posts a published message's Block Kit payload to the webhook,
// when one is configured, and says how that went.
func (h *Handler) slack(ctx context.Context, log *slog.Logger, payload []byte) string {
	if h.cfg.SlackSecretARN == "" {
		return ""
	}
	// SNS already has the message: a Slack failure is logged, never
	// returned, so a retry cannot publish it twice.
	if err := h.postSlack(ctx, payload); err != nil {
		log.ErrorContext(ctx, "slack webhook post failed", "error", err.Error())
		return "failed"
	}
	log.InfoContext(ctx, "slack webhook posted")
	return "sent"
}

// record writes the outcome's history records.
func (h *Handler) record(ctx context.Context, req workflow.NotifyRequest) error {
	if h.deps.History == nil {
		return nil
	}
	now := h.now()
	var recs []history.Record
	if req.Failure != nil {
		recs = []history.Record{history.FromFailure(*req.Failure, now)}
	} else {
		recs = history.FromResult(*req.Result, req.ExecutionARN, now)
	}
	return h.deps.History.Record(ctx, recs...)
}

// postSlack posts the Block Kit payload to the webhook. Its errors never
// contain the webhook URL.
func (h *Handler) postSlack(ctx context.Context, payload []byte) error {
	hook, err := h.webhookURL(ctx)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, SlackTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, hook, bytes.NewReader(payload))
	if err != nil {
		return errors.New("slack: cannot build the request")
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := h.deps.HTTP.Do(req)
	if err != nil {
		var uerr *url.Error
		if errors.As(err, &uerr) {
			err = uerr.Err // drop the URL
		}
		// Whatever the error type, its text must not carry the URL.
		return errors.New("slack: " + strings.ReplaceAll(err.Error(), hook, "<webhook URL>"))
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 256))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("slack: HTTP %d: %s", resp.StatusCode, strings.TrimSpace(string(body)))
	}
	return nil
}

// webhookURL reads the webhook URL from Secrets Manager once per handler.
func (h *Handler) webhookURL(ctx context.Context) (string, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.webhook != "" {
		return h.webhook, nil
	}
	out, err := h.deps.Secrets.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(h.cfg.SlackSecretARN)})
	if err != nil {
		return "", fmt.Errorf("slack: read secret %s: %w", h.cfg.SlackSecretARN, err)
	}
	hook, err := parseWebhook(aws.ToString(out.SecretString))
	if err != nil {
		return "", fmt.Errorf("slack: secret %s: %w", h.cfg.SlackSecretARN, err)
	}
	h.webhook = hook
	return hook, nil
}

// parseWebhook accepts the URL itself or a JSON object with a url,
// webhookUrl or webhook_url member, and requires https.
func parseWebhook(secret string) (string, error) {
	s := strings.TrimSpace(secret)
	if strings.HasPrefix(s, "{") {
		var m map[string]string
		if err := json.Unmarshal([]byte(s), &m); err != nil {
			return "", errors.New("the secret is neither a URL nor a JSON object of strings")
		}
		s = strings.TrimSpace(cmp.Or(m["url"], m["webhookUrl"], m["webhook_url"]))
	}
	u, err := url.Parse(s)
	if err != nil || u.Scheme != "https" || u.Host == "" {
		return "", errors.New("the secret does not hold an https webhook URL")
	}
	return s, nil
}
