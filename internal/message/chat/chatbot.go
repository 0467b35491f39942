// Package chat renders a notice for chat: the Amazon Q Developer in chat
// applications (AWS Chatbot) custom notification and the Slack Block Kit
// webhook payload, their types and documented limits, and the check of a
// Chatbot payload against its documented schema (a payload Chatbot cannot
// parse is dropped without an error).
package chat

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/ecslogfix/ecslogfix/internal/console"
	"github.com/ecslogfix/ecslogfix/internal/escape"
	"github.com/ecslogfix/ecslogfix/internal/message/notice"
	"github.com/ecslogfix/ecslogfix/internal/message/words"
	"github.com/ecslogfix/ecslogfix/internal/workflow"
)

// shortPrincipal is the principal's name alone, for titles.
func shortPrincipal(p *workflow.Principal) string {
	if p == nil {
		return ""
	}
	return cmp.Or(p.UserName, p.InvokedBy, p.ARN)
}

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

func (v post) chatTitle() string {
	emoji, ok := outcomeEmoji[v.Outcome]
	if !ok {
		emoji = ":information_source:"
	}
	region := ""
	if v.Region != "" {
		region = " (" + v.Region + ")"
	}
	return escape.Line(emoji+" ecslogfix "+string(v.Outcome)+": "+words.Headline(v.Notice)+region, capChatTitle)
}

// chatDescription is the markdown body shared by Chatbot and Slack.
//
// esc escapes free text for the target client; code spans go through
// codeSpan.
func (v post) chatDescription(lvl notice.Level, esc func(string) string) string {
	code := func(s string) string { return esc(strings.ReplaceAll(s, "`", "'")) }
	var b strings.Builder
	src := words.Ref(v.Family, v.SourceRev)
	fmt.Fprintf(&b, "%s\n", esc(words.Summary(v.Notice)))
	if who := shortPrincipal(v.Principal); who != "" || v.Origin != nil {
		fmt.Fprintf(&b, "Registered by `%s` through %s.\n", code(cmp.Or(who, "unknown")), esc(words.OriginText(v.Origin)))
	}
	if v.Detail != "" {
		fmt.Fprintf(&b, "%s\n", esc(v.Detail))
	}
	if v.Failure != nil {
		fmt.Fprintf(&b, "*Failed state:* `%s`  *Error:* `%s`\n", code(v.Failure.State), code(v.Failure.Error))
		if v.Failure.Cause != "" && lvl == notice.Full {
			fmt.Fprintf(&b, "*Cause:* `%s`\n", code(escape.Line(v.Failure.Cause, 500)))
		}
	}
	if !notice.Quiet(v.Outcome) {
		for _, c := range v.Containers {
			if len(c.Reasons) == 0 {
				continue
			}
			line := "• `" + code(c.Name) + "`: " + esc(words.ReasonsText(c.Reasons))
			if words.Changes(c.Action) {
				switch v.Outcome {
				case workflow.OutcomeRemediated:
					line += " → " + words.ActionText(c.Action)
				case workflow.OutcomeReportOnly:
					line += " → would be: " + words.ActionText(c.Action)
				}
			}
			b.WriteString(line + "\n")
		}
	}
	for _, bl := range v.Blockers {
		fmt.Fprintf(&b, ":no_entry: *%s*: %s\n", esc(bl.Code), esc(bl.Message))
	}
	if v.NewARN != "" {
		fmt.Fprintf(&b, "New compliant revision: *%s*", esc(words.Ref(v.Family, v.NewRev)))
		if l := console.TaskDefinition(v.Partition, v.Region, v.Family, v.NewRev); l != "" {
			b.WriteString(" " + l)
		}
		b.WriteString("\n")
	}
	for _, g := range v.LogGroups {
		status := map[string]string{"created": "created", "existing": "already existed", "planned": "would be created if missing"}[g.Status]
		switch {
		case g.Plan != "":
			fmt.Fprintf(&b, "Log group `%s`: %s\n", code(g.Name), esc(g.Plan))
			continue
		case g.RetentionSet:
			status = "already existed, retention set"
		}
		fmt.Fprintf(&b, "Log group `%s` %s (retention %s)\n", code(g.Name), status, words.RetentionText(g.RetentionDays))
	}
	switch {
	case v.Outcome == workflow.OutcomeRemediated && v.Rollout != nil:
		// The summary gives the rollout's counts.
		if v.Rollout.Err != "" {
			fmt.Fprintf(&b, "*Rollout did not finish:* `%s`\n", code(escape.Line(v.Rollout.Err, 300)))
		}
	case v.Outcome == workflow.OutcomeRemediated:
		fmt.Fprintf(&b, "Services still use %s until redeployed.\n", esc(src))
	}
	if l := console.Execution(v.ExecutionARN); l != "" {
		fmt.Fprintf(&b, "Execution: %s\n", l)
	}
	if lvl != notice.Full || v.Omitted > 0 {
		b.WriteString("_Some detail was left out to fit the message size limit._\n")
	}
	return escape.Lines(strings.TrimSpace(b.String()), capChatDescription)
}

// nextSteps are the actions for the reader, as chat lines.
func (v post) nextSteps(esc func(string) string) []string {
	code := func(s string) string { return esc(strings.ReplaceAll(s, "`", "'")) }
	var steps []string
	for _, s := range v.Backout {
		steps = append(steps, "Backout: "+esc(s.Description)+" `"+code(s.Command)+"`")
	}
	for _, bl := range v.Blockers {
		if advice, ok := words.BlockerAdvice(bl.Code); ok {
			steps = append(steps, esc(advice))
		}
	}
	switch v.Outcome {
	case workflow.OutcomeRemediated, workflow.OutcomeReportOnly, workflow.OutcomeBlocked:
		if len(words.SnippetGroups(v.Notice)) > 0 {
			steps = append(steps, "Fix the source ("+esc(words.OriginText(v.Origin))+"): add the awslogs logConfiguration there so the next deploy does not regress (the email has the snippet).")
		}
	case workflow.OutcomeNeedsHuman:
		steps = append(steps, "Decide what ecslogfix may not ("+esc(words.HumanWhy(v.Notice))+"): see the email's NEEDS A HUMAN and Detail.")
	case workflow.OutcomeLogGroupCreated:
		steps = append(steps, "Create the log groups where the task definition is defined (infrastructure as code), so the next account or region does not meet the same failure.")
	case workflow.OutcomeFailed:
		steps = append(steps, "Retry after fixing the cause: `ecslogfix fix --task-definition "+code(cmp.Or(v.SourceARN, v.Family))+" --apply`")
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
func (v post) chatbot(lvl notice.Level) Chatbot {
	c := Chatbot{
		Version: "1.0",
		Source:  "custom",
		ID:      escape.Line(words.Ref(v.Family, v.SourceRev)+"/"+string(v.Outcome), notice.MaxName),
		Content: ChatbotContent{
			TextType:    "client-markdown",
			Title:       v.chatTitle(),
			Description: v.chatDescription(lvl, plainText),
			NextSteps:   v.nextSteps(plainText),
			Keywords:    v.keywords(),
		},
		Metadata: ChatbotMetadata{
			ThreadID:         escape.Line("ecslogfix/"+v.Account+"/"+v.Region+"/"+v.Family, notice.MaxARN),
			Summary:          escape.Line(string(v.Outcome)+" "+words.Headline(v.Notice), capChatTitle),
			EventType:        "ecslogfix." + string(v.Outcome),
			RelatedResources: nonEmpty(v.SourceARN, v.NewARN, v.ExecutionARN),
			AdditionalContext: nonEmptyMap(map[string]string{
				"outcome": string(v.Outcome), "account": v.Account, "region": v.Region, "family": v.Family,
			}),
		},
	}
	return c
}

// capKeywords bounds the keywords: Chatbot shows them as tags.
const capKeywords = 12

// keywords tag the notification with its outcome, its region and the
// source's reason codes (reason.Code), so a channel can be searched by
// the rule a family broke.
func (v post) keywords() []string {
	out := nonEmpty("ecs", "logging", "ecslogfix", string(v.Outcome), v.Region)
	for _, c := range v.Containers {
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

// post renders one notice for a chat client.
type post struct{ *notice.Notice }

// RenderChatbot is the Chatbot custom notification of n at a detail level.
func RenderChatbot(n *notice.Notice, lvl notice.Level) Chatbot { return post{n}.chatbot(lvl) }
