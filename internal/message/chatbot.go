package message

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/ecslogfix/ecslogfix/internal/console"

	"github.com/ecslogfix/ecslogfix/internal/escape"

	"github.com/ecslogfix/ecslogfix/internal/workflow"
)

// Chatbot is an Amazon Q Developer in chat applications (AWS Chatbot)
// custom notification. Chatbot silently drops messages that do not match
// this schema, so version and source are fixed.
type Chatbot struct {
	Version  string          `json:"version"` // "1.0"
	Source   string          `json:"source"`  // "custom"
	ID       string          `json:"id,omitempty"`
	Content  ChatbotContent  `json:"content"`
	Metadata ChatbotMetadata `json:"metadata"`
}

// ChatbotContent is the visible part of a custom notification.
type ChatbotContent struct {
	TextType    string   `json:"textType"` // "client-markdown"
	Title       string   `json:"title"`
	Description string   `json:"description"`
	NextSteps   []string `json:"nextSteps,omitempty"`
	Keywords    []string `json:"keywords,omitempty"`
}

// ChatbotMetadata threads and summarises a custom notification.
type ChatbotMetadata struct {
	ThreadID          string            `json:"threadId,omitempty"`
	Summary           string            `json:"summary,omitempty"`
	EventType         string            `json:"eventType,omitempty"`
	RelatedResources  []string          `json:"relatedResources,omitempty"`
	AdditionalContext map[string]string `json:"additionalContext,omitempty"`
}

// Chat text caps: a Slack message stays far below Slack's limits.
const (
	capChatTitle       = 250
	capChatDescription = 3500
	capChatStep        = 1000
	capChatSteps       = 8
)

var outcomeEmoji = map[workflow.Outcome]string{
	workflow.OutcomeRemediated:       ":wrench:",
	workflow.OutcomeLogGroupCreated:  ":card_file_box:",
	workflow.OutcomeReportOnly:       ":mag:",
	workflow.OutcomeBlocked:          ":no_entry:",
	workflow.OutcomeNeedsHuman:       ":raising_hand:",
	workflow.OutcomePartlyRemediated: ":raising_hand:",
	workflow.OutcomeFailed:           ":x:",
}

func (v *view) chatTitle() string {
	emoji, ok := outcomeEmoji[v.outcome]
	if !ok {
		emoji = ":information_source:"
	}
	region := ""
	if v.region != "" {
		region = " (" + v.region + ")"
	}
	return escape.Line(emoji+" ecslogfix "+string(v.outcome)+": "+v.headline()+region, capChatTitle)
}

// chatDescription is the markdown body shared by Chatbot and Slack.
//
// esc escapes free text for the target client; code spans go through
// codeSpan.
func (v *view) chatDescription(lvl level, esc func(string) string) string {
	code := func(s string) string { return esc(strings.ReplaceAll(s, "`", "'")) }
	var b strings.Builder
	src := ref(v.family, v.sourceRev)
	fmt.Fprintf(&b, "%s\n", esc(v.summary()))
	if who := shortPrincipal(v.principal); who != "" || v.origin != nil {
		fmt.Fprintf(&b, "Registered by `%s` through %s.\n", code(cmp.Or(who, "unknown")), esc(originText(v.origin)))
	}
	if v.detail != "" {
		fmt.Fprintf(&b, "%s\n", esc(v.detail))
	}
	if v.failure != nil {
		fmt.Fprintf(&b, "*Failed state:* `%s`  *Error:* `%s`\n", code(v.failure.State), code(v.failure.Error))
		if v.failure.Cause != "" && lvl == levelFull {
			fmt.Fprintf(&b, "*Cause:* `%s`\n", code(escape.Line(v.failure.Cause, 500)))
		}
	}
	if !quiet(v.outcome) {
		for _, c := range v.containers {
			if len(c.Reasons) == 0 {
				continue
			}
			line := "• `" + code(c.Name) + "`: " + esc(reasonsText(c.Reasons))
			if changes(c.Action) {
				switch v.outcome {
				case workflow.OutcomeRemediated:
					line += " → " + actionText(c.Action)
				case workflow.OutcomeReportOnly:
					line += " → would be: " + actionText(c.Action)
				}
			}
			b.WriteString(line + "\n")
		}
	}
	for _, bl := range v.blockers {
		fmt.Fprintf(&b, ":no_entry: *%s*: %s\n", esc(bl.Code), esc(bl.Message))
	}
	if v.newARN != "" {
		fmt.Fprintf(&b, "New compliant revision: *%s*", esc(ref(v.family, v.newRev)))
		if l := console.TaskDefinition(v.partition, v.region, v.family, v.newRev); l != "" {
			b.WriteString(" " + l)
		}
		b.WriteString("\n")
	}
	for _, g := range v.logGroups {
		status := map[string]string{"created": "created", "existing": "already existed", "planned": "would be created if missing"}[g.Status]
		switch {
		case g.Plan != "":
			fmt.Fprintf(&b, "Log group `%s`: %s\n", code(g.Name), esc(g.Plan))
			continue
		case g.RetentionSet:
			status = "already existed, retention set"
		}
		fmt.Fprintf(&b, "Log group `%s` %s (retention %s)\n", code(g.Name), status, retentionText(g.RetentionDays))
	}
	switch {
	case v.outcome == workflow.OutcomeRemediated && v.rollout != nil:
		// The summary gives the rollout's counts.
		if v.rollout.err != "" {
			fmt.Fprintf(&b, "*Rollout did not finish:* `%s`\n", code(escape.Line(v.rollout.err, 300)))
		}
	case v.outcome == workflow.OutcomeRemediated:
		fmt.Fprintf(&b, "Services still use %s until redeployed.\n", esc(src))
	}
	if l := console.Execution(v.execARN); l != "" {
		fmt.Fprintf(&b, "Execution: %s\n", l)
	}
	if lvl != levelFull || v.omitted > 0 {
		b.WriteString("_Some detail was left out to fit the message size limit._\n")
	}
	return escape.Lines(strings.TrimSpace(b.String()), capChatDescription)
}

// nextSteps are the actions for the reader, as chat lines.
func (v *view) nextSteps(esc func(string) string) []string {
	code := func(s string) string { return esc(strings.ReplaceAll(s, "`", "'")) }
	var steps []string
	for _, s := range v.backout {
		steps = append(steps, "Backout: "+esc(s.Description)+" `"+code(s.Command)+"`")
	}
	for _, bl := range v.blockers {
		if advice, ok := blockerAdvice[bl.Code]; ok {
			steps = append(steps, esc(advice))
		}
	}
	switch v.outcome {
	case workflow.OutcomeRemediated, workflow.OutcomeReportOnly, workflow.OutcomeBlocked:
		if len(v.snippetGroups()) > 0 {
			steps = append(steps, "Fix the source ("+esc(originText(v.origin))+"): add the awslogs logConfiguration there so the next deploy does not regress (the email has the snippet).")
		}
	case workflow.OutcomeNeedsHuman:
		steps = append(steps, "Decide what ecslogfix may not ("+esc(v.humanWhy())+"): see the email's NEEDS A HUMAN and Detail.")
	case workflow.OutcomeLogGroupCreated:
		steps = append(steps, "Create the log groups where the task definition is defined (infrastructure as code), so the next account or region does not meet the same failure.")
	case workflow.OutcomeFailed:
		steps = append(steps, "Retry after fixing the cause: `ecslogfix fix --task-definition "+code(cmp.Or(v.sourceARN, v.family))+" --apply`")
	}
	if len(steps) > capChatSteps {
		steps = steps[:capChatSteps]
	}
	for i := range steps {
		steps[i] = escape.Line(steps[i], capChatStep)
	}
	return steps
}

// chatbot renders the custom notification.
func (v *view) chatbot(lvl level) Chatbot {
	c := Chatbot{
		Version: "1.0",
		Source:  "custom",
		ID:      escape.Line(ref(v.family, v.sourceRev)+"/"+string(v.outcome), capName),
		Content: ChatbotContent{
			TextType:    "client-markdown",
			Title:       v.chatTitle(),
			Description: v.chatDescription(lvl, plainText),
			NextSteps:   v.nextSteps(plainText),
			Keywords:    v.keywords(),
		},
		Metadata: ChatbotMetadata{
			ThreadID:         escape.Line("ecslogfix/"+v.account+"/"+v.region+"/"+v.family, capARN),
			Summary:          escape.Line(string(v.outcome)+" "+v.headline(), capChatTitle),
			EventType:        "ecslogfix." + string(v.outcome),
			RelatedResources: nonEmpty(v.sourceARN, v.newARN, v.execARN),
			AdditionalContext: nonEmptyMap(map[string]string{
				"outcome": string(v.outcome), "account": v.account, "region": v.region, "family": v.family,
			}),
		},
	}
	return c
}

// capKeywords bounds the keywords: Chatbot shows them as tags.
const capKeywords = 12

// keywords tag the notification with its outcome, its region and the
// source's reason codes (policy.Reason), so a channel can be searched by
// the rule a family broke.
func (v *view) keywords() []string {
	out := nonEmpty("ecs", "logging", "ecslogfix", string(v.outcome), v.region)
	for _, c := range v.containers {
		for _, r := range c.Reasons {
			if !slices.Contains(out, string(r)) {
				out = append(out, string(r))
			}
		}
	}
	return out[:min(len(out), capKeywords)]
}

// plainText leaves text as it is: Chatbot converts client-markdown to each
// chat client's format itself.
func plainText(s string) string { return s }

// mdEscape neutralises Slack mrkdwn control characters in free text.
func mdEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}

func nonEmpty(ss ...string) []string {
	var out []string
	for _, s := range ss {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}

func nonEmptyMap(m map[string]string) map[string]string {
	for k, v := range m {
		if v == "" {
			delete(m, k)
		}
	}
	return m
}
