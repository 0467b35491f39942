// Package email renders a notice as the plain-text body of a notification:
// the SNS message's email and default keys, read in a mail client.
package email

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/ecslogfix/ecslogfix/internal/backout"
	"github.com/ecslogfix/ecslogfix/internal/console"
	"github.com/ecslogfix/ecslogfix/internal/message/notice"
	"github.com/ecslogfix/ecslogfix/internal/message/words"
	"github.com/ecslogfix/ecslogfix/internal/plan"
	"github.com/ecslogfix/ecslogfix/internal/policy/reason"
	"github.com/ecslogfix/ecslogfix/internal/workflow"
)

// consumerName names a consumer for a person: cluster/service, bus/rule
// (target ID), group/schedule.
func consumerName(c notice.Consumer) string {
	switch c.Kind {
	case workflow.KindService:
		return "service " + c.Cluster + "/" + c.Name
	case workflow.KindRuleTarget:
		return "rule target " + c.EventBus + "/" + c.Name + " (" + c.TargetID + ")"
	case workflow.KindSchedule:
		return "schedule " + c.Group + "/" + c.Name
	}
	return strings.ToLower(string(c.Kind)) + " " + c.Name
}

// rolloutText is the ROLLOUT section of the text body.
func (v mail) rolloutText(w func(string, ...any), lvl notice.Level) {
	rv := v.Rollout
	if rv.Mode != "" {
		w("Mode: %s. %s.\n", rv.Mode, capitalize(rv.Counts()))
	}
	if rv.Err != "" {
		w("The rollout did not finish: %s\nWhat it recorded before is below; the new revision stays registered.\n", rv.Err)
	}
	if rv.Note != "" {
		w("Note: %s\n", rv.Note)
	}
	if rv.SourceDeregistered {
		w("The source revision was deregistered after every consumer moved (policy deregisterSource afterRollout).\n")
	}
	for _, c := range notice.Limit(rv.Consumers, lvl) {
		w("- %s: %s, %s → %s\n", consumerName(c), c.Status, revText(c.Before), revText(c.After))
		if c.Reason != "" && lvl != notice.Minimal {
			w("  %s\n", c.Reason)
		}
		if c.Command != "" && lvl == notice.Full {
			w("  To move it: %s\n", c.Command)
		}
	}
	if n := len(rv.Consumers) - len(notice.Limit(rv.Consumers, lvl)); n > 0 {
		w("(%d more consumer(s) left out)\n", n)
	}
}

// revText is family:rev of a task definition ARN, or the ARN.
func revText(arn string) string {
	if fam, rev := notice.TaskDefRef(arn); fam != "" && rev > 0 {
		return words.Ref(fam, rev)
	}
	if fam, _ := notice.TaskDefRef(arn); fam != "" {
		return fam + " (latest)"
	}
	return arn
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// principalText names who registered a revision.
func principalText(p *workflow.Principal) string {
	if p == nil {
		return "unknown"
	}
	who := p.UserName
	if who == "" {
		who = cmp.Or(p.ARN, p.InvokedBy, "unknown")
	}
	var extra []string
	if p.Type != "" {
		extra = append(extra, p.Type)
	}
	if p.RoleARN != "" {
		extra = append(extra, "role "+p.RoleARN)
	} else if p.ARN != "" && p.ARN != who {
		extra = append(extra, p.ARN)
	}
	if p.InvokedBy != "" && p.InvokedBy != who {
		extra = append(extra, "invoked by "+p.InvokedBy)
	}
	if len(extra) > 0 {
		who += " (" + strings.Join(extra, ", ") + ")"
	}
	return who
}

// truncatedNote tells the reader that detail was dropped to fit SNS.
func (v mail) truncatedNote() string {
	return "Some plan detail was left out to keep this message under the SNS size limit. " +
		"See the whole plan with: ecslogfix fix --task-definition " + cmp.Or(v.SourceARN, words.Ref(v.Family, v.SourceRev)) + " (a dry run changes nothing)."
}

// text renders the plain-text body used for email and default.
func (v mail) text(lvl notice.Level) string {
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	section := func(title string) { w("\n%s\n%s\n", title, strings.Repeat("-", utf8.RuneCountInString(title))) }

	w("ecslogfix: %s %s\n\n", v.Outcome, words.Headline(v.Notice))
	w("%s\n", words.Summary(v.Notice))
	if v.Detail != "" {
		w("\nDetail: %s\n", v.Detail)
	}
	for _, n := range v.ExemptionNotes {
		w("\nExemption ended: %s; ecslogfix acts on this revision again.\n", n)
	}
	if lvl != notice.Full || v.Omitted > 0 {
		w("\nNOTE: %s\n", v.truncatedNote())
	}

	section("TASK DEFINITION")
	w("Family:         %s\n", cmp.Or(v.Family, "unknown"))
	w("Account:        %s\n", cmp.Or(v.Account, "unknown"))
	w("Region:         %s\n", cmp.Or(v.Region, "unknown"))
	if v.SourceARN != "" {
		w("Source:         %s\n", v.SourceARN)
		if link := console.TaskDefinition(v.Partition, v.Region, v.Family, v.SourceRev); link != "" {
			w("                %s\n", link)
		}
	}
	if v.NewARN != "" {
		w("New revision:   %s\n", v.NewARN)
		if link := console.TaskDefinition(v.Partition, v.Region, v.Family, v.NewRev); link != "" {
			w("                %s\n", link)
		}
	}
	if v.LatestARN != "" && v.LatestARN != v.NewARN {
		w("Latest:         %s\n", v.LatestARN)
	}
	w("Registered by:  %s\n", principalText(v.Principal))
	w("Through:        %s\n", words.OriginText(v.Origin))
	if v.Trigger != "" {
		w("Detected by:    %s\n", triggerText(v.Trigger, v.EventID))
	}
	if v.ExecutionRole != "" {
		w("Execution role: %s (added: needed for awslogs)\n", v.ExecutionRole)
	}

	if v.Failure != nil {
		section("FAILURE")
		w("State: %s\nError: %s\n", v.Failure.State, v.Failure.Error)
		if v.Failure.Cause != "" {
			w("Cause (sanitised, truncated):\n%s", indent(v.Failure.Cause, "  "))
		}
	}

	if !notice.Quiet(v.Outcome) && len(v.Containers) > 0 {
		section("WHAT WAS WRONG")
		for _, c := range notice.Limit(v.Containers, lvl) {
			if len(c.Reasons) == 0 && c.Action == plan.ActionNone {
				continue
			}
			w("- %s: %s\n", c.Name, words.ReasonsText(c.Reasons))
		}
	}

	if changed := v.changedContainers(); len(changed) > 0 && lvl != notice.Minimal && !notice.Quiet(v.Outcome) {
		if v.Outcome == workflow.OutcomeRemediated {
			section("WHAT CHANGED (before → after)")
		} else {
			section("WHAT ECSLOGFIX WOULD CHANGE (before → after)")
		}
		for _, c := range changed {
			w("%s: %s\n", c.Name, words.ActionText(c.Action))
			if lvl == notice.Full {
				w("  before: %s\n", settingsText(c.Before, "          "))
				w("  after:  %s\n", settingsText(c.After, "          "))
			}
		}
	}

	if len(v.Blockers) > 0 {
		section("BLOCKERS")
		for _, bl := range notice.Limit(v.Blockers, lvl) {
			w("- %s: %s\n", bl.Code, bl.Message)
			if advice, ok := words.BlockerAdvice(bl.Code); ok {
				w("  What to do: %s\n", advice)
			}
		}
	}

	if human := words.HumanContainers(v.Notice); len(human) > 0 && !notice.Quiet(v.Outcome) {
		section("NEEDS A HUMAN")
		firelens, options := false, false
		for _, c := range notice.Limit(human, lvl) {
			w("- %s: %s\n", c.Name, words.ReasonsText(c.Reasons))
			if len(c.Keys) > 0 {
				w("  option(s) to change: %s\n", strings.Join(c.Keys, ", "))
			}
			if lvl == notice.Full && c.Before != nil {
				w("  current: %s\n", settingsText(c.Before, "           "))
			}
			firelens = firelens || slices.Contains(c.Reasons, reason.Firelens) || slices.Contains(c.Reasons, reason.RouterNotAwslogs)
			options = options || slices.Contains(c.Reasons, reason.UnknownOption) || slices.Contains(c.Reasons, reason.InvalidMode)
		}
		if firelens {
			w("FireLens containers (awsfirelens) route logs through the log router; ecslogfix never rewrites that routing.\n")
			w("Either confirm the router delivers to CloudWatch Logs and exempt the task definition with the policy's\n")
			w("exemption tag (default ecslogfix:exempt=true), or switch the container to awslogs in the source.\n")
		}
		if options {
			w("ecslogfix does not guess what a misspelt awslogs option or a refused delivery mode should be: correct the\n")
			w("option(s) named above in the source (Docker refuses an unknown log option when the container starts).\n")
		}
	}

	if len(v.LogGroups) > 0 {
		section("LOG GROUPS")
		for _, g := range notice.Limit(v.LogGroups, lvl) {
			w("- %s\n", words.LogGroupText(g))
		}
	}

	if v.Rollout != nil {
		section("ROLLOUT")
		v.rolloutText(w, lvl)
	}

	if !notice.Quiet(v.Outcome) {
		section("BACK OUT")
		switch {
		case len(v.Backout) > 0:
			for i, s := range notice.Limit(v.Backout, lvl) {
				w("%d. %s\n   %s\n", i+1, s.Description, s.Command)
			}
			if n := len(v.Backout) - len(notice.Limit(v.Backout, lvl)); n > 0 {
				w("(%d more step(s) left out: see ecslogfix backout --task-definition %s)\n", n, words.Ref(v.Family, v.NewRev))
			}
			if len(v.Rollout.MovedConsumers()) > 0 && v.ExecutionARN != "" {
				w("ecslogfix backout runs these steps for exactly the consumers above (dry run without --apply):\n   ecslogfix backout --task-definition %s --execution %s --apply --region %s\n",
					backout.Quote(words.Ref(v.Family, v.NewRev)), backout.Quote(v.ExecutionARN), backout.Quote(cmp.Or(v.Region, backout.PlaceholderRegion)))
			}
		case v.NewARN == "" && !v.createdLogGroups():
			w("Nothing was changed, so there is nothing to back out.\n")
		default:
			w("No backout steps are available; see ecslogfix backout --task-definition %s.\n", words.Ref(v.Family, v.NewRev))
		}
	}

	if groups := words.SnippetGroups(v.Notice); len(groups) > 0 && lvl != notice.Minimal && v.Outcome != workflow.OutcomeFailed {
		section("FIX THE SOURCE")
		w("Registered through %s. Unless the source is fixed, the next revision registered from it is non-compliant again.\n", words.OriginText(v.Origin))
		w("Add this to %s:\n", v.sourceWhere())
		for i, g := range groups {
			if lvl == notice.Compact && i > 0 {
				w("(… %d more container group(s) left out)\n", len(groups)-1)
				break
			}
			w("\nFor container(s) %s:\n%s", strings.Join(g.Containers, ", "), indent(v.snippet(g.After), "  "))
		}
		if v.ExecutionRole != "" {
			w("\nAlso set the task definition's executionRoleArn to %s.\n", v.ExecutionRole)
		}
	}

	if notes := v.notes(); len(notes) > 0 {
		section("NOTES")
		for _, n := range notes {
			w("- %s\n", n)
		}
	}

	if v.ExecutionARN != "" {
		section("EXECUTION")
		w("%s\n", v.ExecutionARN)
		if link := console.Execution(v.ExecutionARN); link != "" {
			w("%s\n", link)
		}
	}
	w("\n-- \necslogfix (%s)\n", notice.Schema)
	return b.String()
}

// notes are the reminders for the reader, by outcome.
func (v mail) notes() []string {
	var n []string
	switch v.Outcome {
	case workflow.OutcomeRemediated:
		switch {
		case v.Rollout == nil:
			n = append(n, fmt.Sprintf("Services and scheduled tasks keep using %s until they are redeployed with %s (your deploy pipeline normally does this).", words.Ref(v.Family, v.SourceRev), words.Ref(v.Family, v.NewRev)))
		case v.Rollout.Summary() != notice.RolloutComplete:
			n = append(n, fmt.Sprintf("What still runs %s (see ROLLOUT) keeps it until it is redeployed with %s (your deploy pipeline normally does this).", words.Ref(v.Family, v.SourceRev), words.Ref(v.Family, v.NewRev)))
		}
		n = append(n, "If the task definition is managed by infrastructure as code, its next deploy reverts to a non-compliant revision unless the source is fixed (see FIX THE SOURCE).")
	case workflow.OutcomeLogGroupCreated:
		n = append(n, "Nothing created these log groups before: create them where the task definition is defined (infrastructure as code, with a retention), or a new account or region meets the same failure.")
	case workflow.OutcomeReportOnly, workflow.OutcomeBlocked:
		n = append(n, "Fixing the source (see FIX THE SOURCE) makes the next revision compliant without ecslogfix.")
		for _, g := range v.LogGroups {
			if g.Status == "planned" {
				n = append(n, "The log groups above do not exist yet unless someone created them: create them before tasks start (or set awslogs-create-group to true and allow logs:CreateLogGroup to the execution role), otherwise tasks fail to start.")
				break
			}
		}
	case workflow.OutcomeFailed:
		n = append(n,
			"To retry once the cause is fixed, run: ecslogfix fix --task-definition "+cmp.Or(v.SourceARN, words.Ref(v.Family, v.SourceRev))+" --apply (it re-reads and re-plans; safe to repeat). The scheduled sweep also retries non-compliant revisions.",
			"The execution can be redriven (aws stepfunctions redrive-execution --execution-arn "+cmp.Or(v.ExecutionARN, "<execution ARN>")+"), but this workflow catches the error and ends in its Fail state, so a redrive does not rerun "+v.Failure.State+"; prefer the command above.")
	}
	return n
}

func (v mail) changedContainers() []notice.Container {
	var out []notice.Container
	for _, c := range v.Containers {
		if words.Changes(c.Action) {
			out = append(out, c)
		}
	}
	return out
}

func (v mail) createdLogGroups() bool {
	for _, g := range v.LogGroups {
		if g.Status == "created" {
			return true
		}
	}
	return false
}

// settingsText renders redacted settings on one or more lines; pad indents
// continuation lines.
func settingsText(s *notice.Settings, pad string) string {
	if s == nil {
		return "(no logConfiguration)"
	}
	var lines []string
	lines = append(lines, "driver "+cmp.Or(s.Driver, "(none)"))
	for _, k := range slices.Sorted(maps.Keys(s.Options)) {
		lines = append(lines, k+" = "+s.Options[k])
	}
	for _, k := range s.OtherOptions {
		lines = append(lines, k+" = (value not shown)")
	}
	for _, k := range s.SecretOptions {
		lines = append(lines, k+" = (secret option, value not shown)")
	}
	return strings.Join(lines, "\n"+pad)
}

func triggerText(trigger, eventID string) string {
	var s string
	switch workflow.Trigger(trigger) {
	case workflow.TriggerEvent:
		s = "CloudTrail RegisterTaskDefinition event"
	case workflow.TriggerSweep:
		s = "scheduled sweep"
	case workflow.TriggerCLI:
		s = "ecslogfix fix (CLI)"
	default:
		s = trigger
	}
	if eventID != "" {
		s += " " + eventID
	}
	return s
}

func indent(s, pad string) string {
	lines := strings.Split(strings.TrimSuffix(s, "\n"), "\n")
	for i, l := range lines {
		lines[i] = pad + l
	}
	return strings.Join(lines, "\n") + "\n"
}

// mail renders one notice as the plain-text body.
type mail struct{ *notice.Notice }

// Text is the plain-text body of n at a detail level.
func Text(n *notice.Notice, lvl notice.Level) string { return mail{n}.text(lvl) }
