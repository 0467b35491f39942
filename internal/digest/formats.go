package digest

import (
	"fmt"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws/arn"

	"github.com/ecslogfix/ecslogfix/internal/message"
	"github.com/ecslogfix/ecslogfix/internal/workflow"
)

// Chat limits: Chatbot's description stays below the size a chat client
// shows without cutting (as internal/message's), Block Kit's section text
// below 3000 characters and a message below 50 blocks.
const (
	capChatDescription = 3500
	capSlackHeader     = 150
	capSlackSection    = 3000
	capSlackBlocks     = 40
	capLine            = 300
)

// text is the email and default body.
func text(doc Document) string {
	var b strings.Builder
	fmt.Fprintf(&b, "ecslogfix sweep digest: %s\n\n", doc.Summary)
	t := doc.Totals
	fmt.Fprintf(&b, "Sweep %s: %d account-region(s), %d walked to the end, %d not.\n", doc.SweepID, t.Targets, t.TargetsWalked, t.TargetsFailed)
	fmt.Fprintf(&b, "Families evaluated %d: compliant %d, violations %d, executions started %d, already handled by earlier executions %d, skipped %d, errors %d.\n",
		t.Evaluated, t.Compliant, t.Violations, t.Started, t.Duplicates, t.Skipped, t.Errors)
	if len(doc.Outcomes) > 0 {
		fmt.Fprintf(&b, "Outcomes: %s\n", counted(doc.Outcomes))
	}
	if t.Pending > 0 {
		fmt.Fprintf(&b, "Still running when this digest was sent: %d execution(s); the report lists them as started.\n", t.Pending)
	}
	if doc.WalkError != nil {
		fmt.Fprintf(&b, "The walk failed: %s: %s\n", doc.WalkError.Error, message.Clip(doc.WalkError.Cause, capLine))
	}
	if e := doc.DigestError; e != nil {
		fmt.Fprintf(&b, "The digest of this sweep was not published: %s: %s\nThe executions' outcomes are under s3://%s/%s.\n",
			e.Error, e.Cause, doc.Report.Bucket, workflow.SweepOutcomesPrefix(doc.SweepID))
	}
	fmt.Fprintf(&b, "\nFull per-family report: %s\n", doc.Report.URI)
	if doc.Report.Link != "" {
		fmt.Fprintf(&b, "  %s\n", doc.Report.Link)
	}
	for _, s := range doc.Sections {
		fmt.Fprintf(&b, "\n== %s / %s ==\n", s.Account, s.Region)
		if w := s.Sweep; w != nil {
			fmt.Fprintf(&b, "Evaluated %d · compliant %d · violations %d · started %d · already handled %d · skipped %d · errors %d\n",
				w.Evaluated, w.Compliant, w.Violations, w.Started, w.Duplicates, w.Skipped, w.Errors)
		}
		if len(s.Outcomes) > 0 {
			fmt.Fprintf(&b, "Outcomes: %s\n", counted(s.Outcomes))
		}
		for _, name := range lists {
			items := s.Lists[name]
			if len(items) == 0 && s.Omitted[name] == 0 {
				continue
			}
			fmt.Fprintf(&b, "%s (%d):\n", listTitle[name], len(items)+s.Omitted[name])
			for _, it := range items {
				fmt.Fprintf(&b, "  - %s\n", itemLine(it))
			}
			if n := s.Omitted[name]; n > 0 {
				fmt.Fprintf(&b, "  … and %d more in the report\n", n)
			}
		}
	}
	if doc.SectionsOmitted > 0 {
		fmt.Fprintf(&b, "\n%d more account-region(s) in the report.\n", doc.SectionsOmitted)
	}
	if t.CoverageGaps > 0 {
		fmt.Fprintf(&b, "\nCoverage gaps (%d): accounts or regions the member stacks do not cover.\n", t.CoverageGaps)
		for _, g := range doc.Gaps {
			fmt.Fprintf(&b, "  - %s\n", gapLine(g))
		}
		if doc.GapsOmitted > 0 {
			fmt.Fprintf(&b, "  … and %d more in the sweep's coverage object\n", doc.GapsOmitted)
		}
	}
	if len(doc.FailedTargets) > 0 {
		fmt.Fprintf(&b, "\nNot walked to the end (%d):\n", t.TargetsFailed)
		for _, tg := range doc.FailedTargets {
			fmt.Fprintf(&b, "  - %s/%s\n", tg.Account, tg.Region)
		}
	}
	b.WriteString("\nBlocked and needs-a-human families appear once: a later sweep counts them as already handled until their revision changes.\n")
	if l := message.ExecutionLink(doc.ExecutionARN); l != "" {
		fmt.Fprintf(&b, "Sweep execution: %s\n", l)
	}
	if doc.Truncated {
		b.WriteString("Some entries were left out to fit the message size limit; the report has every family.\n")
	}
	return b.String()
}

// chatLines are the digest as chat markdown lines, shortest first: the
// totals, then each section's counts and lists while they fit capChat.
func chatLines(doc Document, esc func(string) string, budget int) string {
	var b strings.Builder
	t := doc.Totals
	fmt.Fprintf(&b, "*%s*\n", esc(doc.Summary))
	fmt.Fprintf(&b, "Evaluated %d families: %d compliant, %d violations, %d executions started, %d already handled.\n", t.Evaluated, t.Compliant, t.Violations, t.Started, t.Duplicates)
	if len(doc.Outcomes) > 0 {
		fmt.Fprintf(&b, "Outcomes: %s\n", esc(counted(doc.Outcomes)))
	}
	if t.Pending > 0 {
		fmt.Fprintf(&b, "Still running: %d\n", t.Pending)
	}
	fmt.Fprintf(&b, "Report: %s\n", esc(doc.Report.URI))
	left := 0
	for _, s := range doc.Sections {
		sec := "\n" + sectionLines(s, esc)
		if b.Len()+len(sec) > budget-200 {
			left++
			continue
		}
		b.WriteString(sec)
	}
	if left += doc.SectionsOmitted; left > 0 {
		fmt.Fprintf(&b, "\n%d more account-region(s) in the report.\n", left)
	}
	if t.CoverageGaps > 0 {
		fmt.Fprintf(&b, "Coverage gaps: %d (the email lists them).\n", t.CoverageGaps)
	}
	return strings.TrimSpace(b.String())
}

// sectionLines is one account-region as chat markdown: its counts, then
// one line per listed family.
func sectionLines(s Section, esc func(string) string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "*%s / %s*: %s\n", esc(s.Account), esc(s.Region), esc(counted(s.Outcomes)))
	for _, name := range lists {
		for _, it := range s.Lists[name] {
			fmt.Fprintf(&b, "• %s: `%s`\n", listTitle[name], esc(strings.ReplaceAll(message.Clip(itemLine(it), capLine), "`", "'")))
		}
		if n := s.Omitted[name]; n > 0 {
			fmt.Fprintf(&b, "• %s: %d more in the report\n", listTitle[name], n)
		}
	}
	return b.String()
}

func chatbot(doc Document) message.Chatbot {
	o := doc.Outcomes
	keywords := []string{"ecslogfix", "sweep"}
	for _, s := range doc.Sections {
		for _, name := range []string{ListBlocked, ListNeedsHuman, ListFailed} {
			for _, it := range s.Lists[name] {
				for _, r := range it.Reasons {
					if len(keywords) < 12 && !slices.Contains(keywords, string(r)) {
						keywords = append(keywords, string(r))
					}
				}
			}
		}
	}
	var next []string
	if o[workflow.OutcomeBlocked]+o[workflow.OutcomeNeedsHuman]+o[workflow.OutcomeReportOnly] > 0 {
		next = append(next, "Blocked and needs-a-human families wait for their owners: each family's thread has its detail; the report has every family.")
	}
	if doc.Totals.CoverageGaps > 0 {
		next = append(next, "Deploy the member stacks to the accounts and regions listed as coverage gaps (the email lists them).")
	}
	related := []string{}
	if doc.ExecutionARN != "" {
		related = append(related, doc.ExecutionARN)
	}
	if doc.Report.Bucket != "" {
		related = append(related, "arn:"+partitionOf(doc.ExecutionARN)+":s3:::"+doc.Report.Bucket+"/"+doc.Report.Key)
	}
	return message.Chatbot{
		Version: "1.0", Source: "custom", ID: message.Clip("sweep/"+doc.SweepID, 128),
		Content: message.ChatbotContent{
			TextType:    "client-markdown",
			Title:       message.Clip(":bar_chart: ecslogfix sweep digest: "+doc.Summary, 250),
			Description: message.ClipLines(chatLines(doc, func(s string) string { return s }, capChatDescription), capChatDescription),
			NextSteps:   next,
			Keywords:    keywords,
		},
		Metadata: message.ChatbotMetadata{
			ThreadID:         ThreadID,
			Summary:          message.Clip(doc.Summary, 250),
			EventType:        "ecslogfix." + string(Outcome),
			RelatedResources: related,
			AdditionalContext: map[string]string{
				"sweepId": doc.SweepID, "remediated": fmt.Sprint(o[workflow.OutcomeRemediated]),
				"blocked": fmt.Sprint(o[workflow.OutcomeBlocked]), "needsHuman": fmt.Sprint(o[workflow.OutcomeNeedsHuman]),
				"coverageGaps": fmt.Sprint(doc.Totals.CoverageGaps),
			},
		},
	}
}

// slack renders the webhook payload: a header, the totals, one section
// block per account-region (while the blocks last).
func slack(doc Document) message.Slack {
	esc := strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace
	title := message.Clip("ecslogfix sweep digest: "+doc.Summary, capSlackHeader)
	blocks := []message.SlackBlock{
		{Type: "header", Text: &message.SlackText{Type: "plain_text", Text: title}},
		{Type: "section", Text: &message.SlackText{Type: "mrkdwn", Text: message.ClipLines(chatLines(Document{
			Summary: doc.Summary, Totals: doc.Totals, Outcomes: doc.Outcomes, Report: doc.Report,
		}, esc, capSlackSection), capSlackSection)}},
	}
	left := doc.SectionsOmitted
	for _, s := range doc.Sections {
		if len(blocks) >= capSlackBlocks-2 {
			left++
			continue
		}
		blocks = append(blocks, message.SlackBlock{Type: "section", Text: &message.SlackText{Type: "mrkdwn", Text: message.ClipLines(sectionLines(s, esc), capSlackSection)}})
	}
	ctx := fmt.Sprintf("%s · sweep %s", Outcome, doc.SweepID)
	if left > 0 {
		ctx += fmt.Sprintf(" · %d more account-region(s) in the report", left)
	}
	if doc.Totals.CoverageGaps > 0 {
		ctx += fmt.Sprintf(" · %d coverage gap(s)", doc.Totals.CoverageGaps)
	}
	blocks = append(blocks, message.SlackBlock{Type: "context", Elements: []message.SlackText{{Type: "mrkdwn", Text: message.Clip(esc(ctx), capSlackSection)}}})
	return message.Slack{Text: title, Blocks: blocks}
}

// partitionOf is an ARN's partition ("aws" when it is no ARN).
func partitionOf(s string) string {
	if a, err := arn.Parse(s); err == nil {
		return a.Partition
	}
	return "aws"
}
