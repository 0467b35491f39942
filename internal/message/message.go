// Package message renders what ecslogfix tells people and machines about one
// workflow execution: an email/plain-text body, an Amazon Q Developer in
// chat applications (AWS Chatbot) custom notification, a versioned
// structured JSON document, SNS message attributes, the SNS
// MessageStructure=json envelope, and an optional Slack Block Kit payload.
//
// It is pure: no AWS calls, no clock, no randomness. It renders only the
// redacted plan: option values other than documented awslogs options are
// never shown, a failure's cause is sanitised and truncated, and an
// execution input is reduced to ARNs, names and reason codes.
//
// Render reduces the request to a notice (internal/message/notice), then
// renders it with the shared words (internal/message/words) as the text
// (internal/message/email), the chat payloads (internal/message/chat) and,
// here, the structured document, the attributes and the SNS envelope.
package message

import (
	"fmt"
	"maps"
	"strings"

	"github.com/ecslogfix/ecslogfix/internal/backout"
	"github.com/ecslogfix/ecslogfix/internal/escape"
	"github.com/ecslogfix/ecslogfix/internal/message/chat"
	"github.com/ecslogfix/ecslogfix/internal/message/email"
	"github.com/ecslogfix/ecslogfix/internal/message/notice"
	"github.com/ecslogfix/ecslogfix/internal/message/words"
	"github.com/ecslogfix/ecslogfix/internal/workflow"
)

// BackoutSteps are the backout steps a notification of r lists, as values:
// what `ecslogfix fix --apply` prints, so that the two cannot disagree.
func BackoutSteps(r workflow.Result) []backout.Step {
	n, _ := notice.New(workflow.NotifyRequest{Result: &r}) // fails only without a result
	return n.Backout
}

// AttrRollout is the SNS attribute that sums a rollout up: COMPLETE (every
// consumer ecslogfix may move runs the new revision), INCOMPLETE (some
// consumers still run the source: not moved, a human must move them, or
// still deploying) or ROLLOUT_FAILED (a move failed, or the step did).
const AttrRollout = "rollout"

// MovedConsumers are the consumers of r's rollout record that backout
// points back (notice.Rollout.MovedConsumers): what the notification lists
// and `ecslogfix backout --execution` executes.
func MovedConsumers(r workflow.Result) []backout.Moved {
	n, _ := notice.New(workflow.NotifyRequest{Result: &r}) // fails only without a result
	return n.Rollout.MovedConsumers()
}

// GroupStatus says in a few words what became of one log group: what
// `ecslogfix fix --apply` prints for each group of the revision, in the
// notification's words.
func GroupStatus(g workflow.LogGroupResult) string {
	info := notice.LogGroupInfo{Status: "existing", RetentionDays: g.RetentionDays, KMSKeyARN: g.KMSKeyARN, Class: g.Class,
		DeletionProtection: g.DeletionProtectionEnabled, RetentionSet: g.RetentionSet, PreviousRetentionDays: g.PreviousRetentionDays}
	if g.Created {
		info.Status = "created"
	}
	return strings.TrimPrefix(words.LogGroupText(info), ": ")
}

// SNS limits.
const (
	// MaxMessageBytes is SNS's default maximum message size (message plus
	// attributes), 256 KiB.
	MaxMessageBytes = 262144
	// margin keeps the rendered message clear of the limit (request
	// encoding differences, attribute metadata).
	margin = 2048
)

// Attribute names: SNS message attributes (String) subscribers filter on.
const (
	AttrOutcome = "outcome"
	AttrAccount = "account"
	AttrRegion  = "region"
	AttrFamily  = "family"
)

// Notification is one execution's rendered message in every format.
type Notification struct {
	Outcome    workflow.Outcome
	Subject    string            // < 100 characters, no control characters
	Text       string            // plain text: the email and default keys
	Chatbot    chat.Chatbot      // the https key (AWS Chatbot custom notification)
	Document   Document          // the sqs and lambda keys
	Slack      chat.Slack        // optional Slack incoming-webhook payload
	Attributes map[string]string // SNS message attributes, all of type String
	// Truncated is set when detail was left out to fit SNS's size limit.
	Truncated bool
	message   string
}

// Quiet reports whether an outcome needs nobody's action: the source was
// compliant, already fixed, superseded, deregistered or exempt. The notify
// function logs these instead of publishing them.
func Quiet(o workflow.Outcome) bool { return notice.Quiet(o) }

// Render renders req in every format, lowering the detail until the SNS
// message fits MaxMessageBytes. It fails only for a request with neither
// or both of Result and Failure.
func Render(req workflow.NotifyRequest) (Notification, error) {
	v, err := notice.New(req)
	if err != nil {
		return Notification{}, err
	}
	var n Notification
	for _, lvl := range []notice.Level{notice.Full, notice.Compact, notice.Minimal} {
		n = render(v, lvl)
		if n.Size() <= MaxMessageBytes-margin {
			return n, nil
		}
	}
	return n, fmt.Errorf("message: %s for %s is %d bytes even at minimal detail", n.Outcome, v.Family, n.Size())
}

func render(v *notice.Notice, lvl notice.Level) Notification {
	n := Notification{
		Outcome:    v.Outcome,
		Subject:    words.Subject(v),
		Text:       email.Text(v, lvl),
		Chatbot:    chat.RenderChatbot(v, lvl),
		Document:   document(v, lvl),
		Slack:      chat.RenderSlack(v, lvl),
		Attributes: attributes(v),
		Truncated:  lvl != notice.Full || v.Omitted > 0,
	}
	n.message = n.buildMessage()
	return n
}

// SNSMessage is the MessageStructure=json message: a JSON object whose
// default and email keys hold the text, https the Chatbot JSON, and sqs and
// lambda the structured document, each as a JSON string.
func (n Notification) SNSMessage() string {
	if n.message == "" {
		return n.buildMessage()
	}
	return n.message
}

func (n Notification) buildMessage() string {
	doc := string(JSON(n.Document))
	return string(JSON(map[string]string{
		"default": n.Text,
		"email":   n.Text,
		"https":   string(JSON(n.Chatbot)),
		"sqs":     doc,
		"lambda":  doc,
	}))
}

// ChatbotJSON is the Chatbot custom notification as JSON.
func (n Notification) ChatbotJSON() []byte { return JSON(n.Chatbot) }

// DocumentJSON is the structured document as JSON.
func (n Notification) DocumentJSON() []byte { return JSON(n.Document) }

// SlackJSON is the Slack incoming-webhook payload as JSON.
func (n Notification) SlackJSON() []byte { return JSON(n.Slack) }

// Size is what SNS counts against its limit: the message, the subject and
// every attribute's name, type and value.
func (n Notification) Size() int {
	size := len(n.SNSMessage()) + len(n.Subject)
	for k, v := range n.Attributes {
		size += len(k) + len("String") + len(v)
	}
	return size
}

func attributes(v *notice.Notice) map[string]string {
	a := map[string]string{
		AttrOutcome: string(v.Outcome),
		AttrAccount: v.Account,
		AttrRegion:  v.Region,
		AttrFamily:  v.Family,
	}
	if v.Rollout != nil {
		a[AttrRollout] = v.Rollout.Summary()
	}
	maps.DeleteFunc(a, func(_, v string) bool { return v == "" })
	return a
}

// Budget is what a rendered SNS message (with its subject and attributes)
// may take: MaxMessageBytes less a margin.
const Budget = MaxMessageBytes - margin

// SafeCause is a failure's cause as every notification shows it
// (escape.Cause): other records of an outcome, such as the history, use
// this one redaction rule.
func SafeCause(cause string) string { return escape.Cause(cause, notice.MaxCause) }

// SafeText is free text from a result (a detail sentence) as notifications
// show it: escape.Line, at most MaxDetail runes.
func SafeText(s string) string { return escape.Line(s, notice.MaxDetail) }

// JSON renders v compactly without HTML escaping, as every format here is.
func JSON(v any) []byte { return notice.JSON(v, "") }
