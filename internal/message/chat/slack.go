package chat

import (
	"strings"

	"github.com/ecslogfix/ecslogfix/internal/escape"
	"github.com/ecslogfix/ecslogfix/internal/message/notice"
	"github.com/ecslogfix/ecslogfix/internal/message/words"
)

// Slack is a Slack incoming-webhook payload with Block Kit blocks.
type Slack struct {
	Text   string       `json:"text"` // fallback for notifications and old clients
	Blocks []SlackBlock `json:"blocks"`
}

// SlackBlock is one Block Kit block (header, section, divider or context).
type SlackBlock struct {
	Type     string      `json:"type"`
	Text     *SlackText  `json:"text,omitempty"`
	Elements []SlackText `json:"elements,omitempty"`
}

// SlackText is a Block Kit text object.
type SlackText struct {
	Type string `json:"type"` // plain_text or mrkdwn
	Text string `json:"text"`
}

// Block Kit limits: header text 150 characters, section text 3000.
const (
	capSlackHeader  = 150
	capSlackSection = 3000
)

// slack renders the webhook payload from the same content as Chatbot.
func (v post) slack(lvl notice.Level) Slack {
	blocks := []SlackBlock{
		{Type: "header", Text: &SlackText{Type: "plain_text", Text: escape.Line(v.chatTitle(), capSlackHeader)}},
		{Type: "section", Text: &SlackText{Type: "mrkdwn", Text: escape.Lines(v.chatDescription(lvl, mdEscape), capSlackSection)}},
	}
	if next := v.nextSteps(mdEscape); len(next) > 0 {
		steps := "*Next steps*\n• " + strings.Join(next, "\n• ")
		blocks = append(blocks, SlackBlock{Type: "divider"},
			SlackBlock{Type: "section", Text: &SlackText{Type: "mrkdwn", Text: escape.Lines(steps, capSlackSection)}})
	}
	ctx := strings.Join(nonEmpty(string(v.Outcome), v.Account, v.Region, v.Family), " · ")
	blocks = append(blocks, SlackBlock{Type: "context", Elements: []SlackText{{Type: "mrkdwn", Text: escape.Line(mdEscape(ctx), capSlackSection)}}})
	return Slack{Text: escape.Line(words.Subject(v.Notice), capSlackHeader), Blocks: blocks}
}

// RenderSlack is the Slack webhook payload of n at a detail level.
func RenderSlack(n *notice.Notice, lvl notice.Level) Slack { return post{n}.slack(lvl) }
