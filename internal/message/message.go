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
package message

import (
	"fmt"
	"unicode/utf8"

	"github.com/ecslogfix/ecslogfix/internal/escape"

	"github.com/ecslogfix/ecslogfix/internal/workflow"
)

// SNS limits.
const (
	// MaxMessageBytes is SNS's default maximum message size (message plus
	// attributes), 256 KiB.
	MaxMessageBytes = 262144
	// maxSubjectRunes keeps the subject "less than 100 characters".
	maxSubjectRunes = 99
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
	Chatbot    Chatbot           // the https key (AWS Chatbot custom notification)
	Document   Document          // the sqs and lambda keys
	Slack      Slack             // optional Slack incoming-webhook payload
	Attributes map[string]string // SNS message attributes, all of type String
	// Truncated is set when detail was left out to fit SNS's size limit.
	Truncated bool
	message   string
}

// Quiet reports whether an outcome needs nobody's action: the source was
// compliant, already fixed, superseded, deregistered or exempt. The notify
// function logs these instead of publishing them.
func Quiet(o workflow.Outcome) bool { return quiet(o) }

// Render renders req in every format, lowering the detail until the SNS
// message fits MaxMessageBytes. It fails only for a request with neither
// or both of Result and Failure.
func Render(req workflow.NotifyRequest) (Notification, error) {
	v, err := newView(req)
	if err != nil {
		return Notification{}, err
	}
	var n Notification
	for _, lvl := range []Level{Full, Compact, Minimal} {
		n = v.render(lvl)
		if n.Size() <= MaxMessageBytes-margin {
			return n, nil
		}
	}
	return n, fmt.Errorf("message: %s for %s is %d bytes even at minimal detail", n.Outcome, v.Family, n.Size())
}

func (v *Notice) render(lvl Level) Notification {
	n := Notification{
		Outcome:    v.Outcome,
		Subject:    v.subject(),
		Text:       v.text(lvl),
		Chatbot:    v.chatbot(lvl),
		Document:   v.document(lvl),
		Slack:      v.slack(lvl),
		Attributes: v.attributes(),
		Truncated:  lvl != Full || v.Omitted > 0,
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
	doc := string(marshal(n.Document, ""))
	return string(marshal(map[string]string{
		"default": n.Text,
		"email":   n.Text,
		"https":   string(marshal(n.Chatbot, "")),
		"sqs":     doc,
		"lambda":  doc,
	}, ""))
}

// ChatbotJSON is the Chatbot custom notification as JSON.
func (n Notification) ChatbotJSON() []byte { return marshal(n.Chatbot, "") }

// DocumentJSON is the structured document as JSON.
func (n Notification) DocumentJSON() []byte { return marshal(n.Document, "") }

// SlackJSON is the Slack incoming-webhook payload as JSON.
func (n Notification) SlackJSON() []byte { return marshal(n.Slack, "") }

// Size is what SNS counts against its limit: the message, the subject and
// every attribute's name, type and value.
func (n Notification) Size() int {
	size := len(n.SNSMessage()) + len(n.Subject)
	for k, v := range n.Attributes {
		size += len(k) + len("String") + len(v)
	}
	return size
}

func (v *Notice) attributes() map[string]string {
	a := map[string]string{
		AttrOutcome: string(v.Outcome),
		AttrAccount: v.Account,
		AttrRegion:  v.Region,
		AttrFamily:  v.Family,
	}
	if v.Rollout != nil {
		a[AttrRollout] = v.Rollout.Summary()
	}
	return nonEmptyMap(a)
}

// subject is "[ecslogfix] OUTCOME family:rev → :new (region)", with the
// family shortened when the whole would reach 100 characters.
func (v *Notice) subject() string {
	build := func(family string) string {
		w := *v
		w.Family = family
		s := "[ecslogfix] " + string(v.Outcome) + " " + w.Headline()
		if v.Region != "" {
			s += " (" + v.Region + ")"
		}
		return escape.Line(s, 1<<20)
	}
	s := build(v.Family)
	if excess := utf8.RuneCountInString(s) - maxSubjectRunes; excess > 0 {
		keep := utf8.RuneCountInString(v.Family) - excess - 1
		if keep > 0 {
			s = build(escape.Clip(v.Family, keep+1))
		}
	}
	return escape.Line(s, maxSubjectRunes)
}

// Budget is what a rendered SNS message (with its subject and attributes)
// may take: MaxMessageBytes less a margin.
const Budget = MaxMessageBytes - margin

// SafeCause is a failure's cause as every notification shows it
// (escape.Cause): other records of an outcome, such as the history, use
// this one redaction rule.
func SafeCause(cause string) string { return escape.Cause(cause, MaxCause) }

// SafeText is free text from a result (a detail sentence) as notifications
// show it: escape.Line, at most MaxDetail runes.
func SafeText(s string) string { return escape.Line(s, MaxDetail) }

// JSON renders v compactly without HTML escaping, as every format here is.
func JSON(v any) []byte { return marshal(v, "") }
