// Package notify is the workflow's Notify and NotifyFailure step: it renders
// one execution's result or failure (internal/message) and publishes it once
// to the SNS topic, optionally also to a Slack webhook. functions/notify is
// its Lambda adapter.
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
}

// Deps are the handler's clients.
type Deps struct {
	SNS     Publisher
	Secrets SecretReader // required with Config.SlackSecretARN
	HTTP    HTTPDoer     // required with Config.SlackSecretARN
	Logger  *slog.Logger
	// History, when set, records the outcome before it is published (a
	// retry of a failed publish writes the same record again).
	History history.Recorder
	// Now is the clock of the records; default time.Now.
	Now func() time.Time
}

// Summary is what the function returns to the state machine: small, and
// never the message body.
type Summary struct {
	Outcome   workflow.Outcome `json:"outcome"`
	Published bool             `json:"published"`
	MessageID string           `json:"messageId,omitempty"`
	Skipped   string           `json:"skipped,omitempty"` // why nothing was published
	Slack     string           `json:"slack,omitempty"`   // sent | failed (only with a webhook)
	Truncated bool             `json:"truncated,omitempty"`
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
	if deps.Logger == nil {
		deps.Logger = slog.New(slog.DiscardHandler)
	}
	return &Handler{cfg: cfg, deps: deps}, nil
}

// Handle is the Lambda handler.
func (h *Handler) Handle(ctx context.Context, req workflow.NotifyRequest) (Summary, error) {
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
	if message.Quiet(n.Outcome) && !h.cfg.PublishQuiet {
		sum.Skipped = "quiet outcome: nothing for anyone to do"
		log.InfoContext(ctx, "notification skipped", "reason", sum.Skipped)
		return sum, nil
	}

	attrs := make(map[string]snstypes.MessageAttributeValue, len(n.Attributes))
	for k, v := range n.Attributes {
		attrs[k] = snstypes.MessageAttributeValue{DataType: aws.String("String"), StringValue: aws.String(v)}
	}
	out, err := h.deps.SNS.Publish(ctx, &sns.PublishInput{
		TopicArn:          aws.String(h.cfg.TopicARN),
		Message:           aws.String(n.SNSMessage()),
		MessageStructure:  aws.String("json"),
		Subject:           aws.String(n.Subject),
		MessageAttributes: attrs,
	})
	if err != nil {
		log.ErrorContext(ctx, "notification not published", "error", err.Error())
		return Summary{}, workflow.Classify(fmt.Errorf("publish to %s: %w", h.cfg.TopicARN, err))
	}
	sum.Published = true
	sum.MessageID = aws.ToString(out.MessageId)
	log = log.With("messageId", sum.MessageID)
	log.InfoContext(ctx, "notification published", "bytes", n.Size(), "truncated", n.Truncated)

	if h.cfg.SlackSecretARN != "" {
		// SNS already has the message: a Slack failure is logged, never
		// returned, so a retry cannot publish it twice.
		if err := h.postSlack(ctx, n); err != nil {
			sum.Slack = "failed"
			log.ErrorContext(ctx, "slack webhook post failed", "error", err.Error())
		} else {
			sum.Slack = "sent"
			log.InfoContext(ctx, "slack webhook posted")
		}
	}
	return sum, nil
}

// record writes the outcome's history records.
func (h *Handler) record(ctx context.Context, req workflow.NotifyRequest) error {
	if h.deps.History == nil {
		return nil
	}
	now := time.Now()
	if h.deps.Now != nil {
		now = h.deps.Now()
	}
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
func (h *Handler) postSlack(ctx context.Context, n message.Notification) error {
	hook, err := h.webhookURL(ctx)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, SlackTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, hook, bytes.NewReader(n.SlackJSON()))
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
