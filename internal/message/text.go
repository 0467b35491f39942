package message

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/ecslogfix/ecslogfix/internal/console"

	"github.com/ecslogfix/ecslogfix/internal/backout"
	"github.com/ecslogfix/ecslogfix/internal/plan"
	"github.com/ecslogfix/ecslogfix/internal/policy"
	"github.com/ecslogfix/ecslogfix/internal/workflow"
)

// Level is how much detail a rendering carries; Render lowers it until the
// message fits SNS's size limit.
type Level int

const (
	Full    Level = iota // everything
	Compact              // plan without option tables, one source snippet
	Minimal              // summary, backout and links only
)

// capMinimal is how many entries of each list the minimal level keeps.
const capMinimal = 5

// limit returns at most the number of entries lvl keeps.
func Limit[T any](xs []T, lvl Level) []T {
	if lvl == Minimal && len(xs) > capMinimal {
		return xs[:capMinimal]
	}
	return xs
}

// truncatedNote tells the reader that detail was dropped to fit SNS.
func (v *Notice) truncatedNote() string {
	return "Some plan detail was left out to keep this message under the SNS size limit. " +
		"See the whole plan with: ecslogfix fix --task-definition " + cmp.Or(v.SourceARN, Ref(v.Family, v.SourceRev)) + " (a dry run changes nothing)."
}

// quiet reports whether the outcome needs no action from anyone.
func quiet(o workflow.Outcome) bool {
	switch o {
	case workflow.OutcomeAlreadyCompliant, workflow.OutcomeAlreadyRemediated,
		workflow.OutcomeSuperseded, workflow.OutcomeInactive, workflow.OutcomeExempt:
		return true
	}
	return false
}

// summary is the opening paragraph, by outcome.
func (v *Notice) Summary() string {
	src := Ref(v.Family, v.SourceRev)
	where := fmt.Sprintf("in account %s (%s)", cmp.Or(v.Account, "unknown"), cmp.Or(v.Region, "unknown region"))
	notLogging := fmt.Sprintf("Task definition revision %s %s does not send every container's output to CloudWatch Logs.", src, where)
	switch v.Outcome {
	case workflow.OutcomeRemediated:
		s := notLogging + " ecslogfix registered a compliant revision, " + Ref(v.Family, v.NewRev) + ", that differs only in its logging settings"
		if v.ExecutionRole != "" {
			s += " and its execution role"
		}
		if v.Rollout != nil {
			return s + ". " + v.rolloutSummary()
		}
		return s + ". Running services keep using " + src + " until they are redeployed."
	case workflow.OutcomePartlyRemediated:
		return notLogging + " ecslogfix registered " + Ref(v.Family, v.NewRev) + " with every container it may change fixed, but it is not compliant: the containers under NEEDS A HUMAN still need a human. It was not rolled out."
	case workflow.OutcomeLogGroupCreated:
		return fmt.Sprintf("Task definition revision %s %s is compliant on paper, but the log groups it writes to did not exist: a task started from it would fail (ResourceInitializationError) and log nothing. ecslogfix created them (see LOG GROUPS); no new revision was registered.", src, where)
	case workflow.OutcomeReportOnly:
		return notLogging + " Enforcement mode is \"report\": nothing was changed. Below is what ecslogfix would change."
	case workflow.OutcomeBlocked:
		return notLogging + " ecslogfix did not change it: the fix cannot be applied safely (see BLOCKERS). A human must act."
	case workflow.OutcomeNeedsHuman:
		return fmt.Sprintf("Task definition revision %s %s is not compliant, but only in ways ecslogfix never changes by itself (%s). Nothing was changed: a human must decide.", src, where, v.HumanWhy())
	case workflow.OutcomeAlreadyCompliant:
		return fmt.Sprintf("Task definition revision %s %s was compliant when ecslogfix re-read it. Nothing was changed.", src, where)
	case workflow.OutcomeAlreadyRemediated:
		s := fmt.Sprintf("ecslogfix had already registered a compliant revision built from %s %s", src, where)
		if _, rev := TaskDefRef(v.LatestARN); rev > 0 {
			s += ": " + Ref(v.Family, rev)
		}
		return s + ". Nothing was changed."
	case workflow.OutcomeSuperseded:
		newer := "A newer revision"
		if _, rev := TaskDefRef(v.LatestARN); rev > 0 {
			newer = "A newer revision, " + Ref(v.Family, rev) + ","
		}
		return fmt.Sprintf("%s of %s exists %s; its own registration is checked separately. Nothing was changed for %s.", newer, cmp.Or(v.Family, "the family"), where, src)
	case workflow.OutcomeInactive:
		return fmt.Sprintf("Task definition revision %s %s was deregistered (INACTIVE) before ecslogfix could fix it. Nothing was changed.", src, where)
	case workflow.OutcomeExempt:
		return fmt.Sprintf("Task definition revision %s %s carries the ecslogfix exemption tag. Nothing was changed.", src, where)
	case workflow.OutcomeFailed:
		return fmt.Sprintf("The ecslogfix workflow for task definition revision %s %s failed in state %s after its retries. Anything it completed before failing is listed below.", src, where, v.Failure.State)
	default:
		return fmt.Sprintf("ecslogfix finished with outcome %s for task definition revision %s %s.", v.Outcome, src, where)
	}
}

// rolloutSummary is the summary's last sentence when a rollout ran.
func (v *Notice) rolloutSummary() string {
	rv := v.Rollout
	switch {
	case rv.Err != "":
		return "Rolling it out to what runs " + Ref(v.Family, v.SourceRev) + " did not finish (see ROLLOUT)."
	case rv.Mode == "none" || rv.Mode == "":
		return fmt.Sprintf("Nothing that runs %s was moved (rollout mode none): %s (see ROLLOUT).", Ref(v.Family, v.SourceRev), rv.Counts())
	}
	return fmt.Sprintf("Rollout to what ran %s (mode %s): %s (see ROLLOUT).", Ref(v.Family, v.SourceRev), rv.Mode, rv.Counts())
}

// text renders the plain-text body used for email and default.
func (v *Notice) text(lvl Level) string {
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	section := func(title string) { w("\n%s\n%s\n", title, strings.Repeat("-", utf8.RuneCountInString(title))) }

	w("ecslogfix: %s %s\n\n", v.Outcome, v.Headline())
	w("%s\n", v.Summary())
	if v.Detail != "" {
		w("\nDetail: %s\n", v.Detail)
	}
	for _, n := range v.ExemptionNotes {
		w("\nExemption ended: %s; ecslogfix acts on this revision again.\n", n)
	}
	if lvl != Full || v.Omitted > 0 {
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
	w("Through:        %s\n", OriginText(v.Origin))
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

	if !quiet(v.Outcome) && len(v.Containers) > 0 {
		section("WHAT WAS WRONG")
		for _, c := range Limit(v.Containers, lvl) {
			if len(c.Reasons) == 0 && c.Action == plan.ActionNone {
				continue
			}
			w("- %s: %s\n", c.Name, ReasonsText(c.Reasons))
		}
	}

	if changed := v.changedContainers(); len(changed) > 0 && lvl != Minimal && !quiet(v.Outcome) {
		if v.Outcome == workflow.OutcomeRemediated {
			section("WHAT CHANGED (before → after)")
		} else {
			section("WHAT ECSLOGFIX WOULD CHANGE (before → after)")
		}
		for _, c := range changed {
			w("%s: %s\n", c.Name, ActionText(c.Action))
			if lvl == Full {
				w("  before: %s\n", settingsText(c.Before, "          "))
				w("  after:  %s\n", settingsText(c.After, "          "))
			}
		}
	}

	if len(v.Blockers) > 0 {
		section("BLOCKERS")
		for _, bl := range Limit(v.Blockers, lvl) {
			w("- %s: %s\n", bl.Code, bl.Message)
			if advice, ok := blockerAdvice[bl.Code]; ok {
				w("  What to do: %s\n", advice)
			}
		}
	}

	if human := v.HumanContainers(); len(human) > 0 && !quiet(v.Outcome) {
		section("NEEDS A HUMAN")
		firelens, options := false, false
		for _, c := range Limit(human, lvl) {
			w("- %s: %s\n", c.Name, ReasonsText(c.Reasons))
			if len(c.Keys) > 0 {
				w("  option(s) to change: %s\n", strings.Join(c.Keys, ", "))
			}
			if lvl == Full && c.Before != nil {
				w("  current: %s\n", settingsText(c.Before, "           "))
			}
			firelens = firelens || slices.Contains(c.Reasons, policy.ReasonFirelens) || slices.Contains(c.Reasons, policy.ReasonRouterNotAwslogs)
			options = options || slices.Contains(c.Reasons, policy.ReasonUnknownOption) || slices.Contains(c.Reasons, policy.ReasonInvalidMode)
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
		for _, g := range Limit(v.LogGroups, lvl) {
			w("- %s\n", LogGroupText(g))
		}
	}

	if v.Rollout != nil {
		section("ROLLOUT")
		v.rolloutText(w, lvl)
	}

	if !quiet(v.Outcome) {
		section("BACK OUT")
		switch {
		case len(v.Backout) > 0:
			for i, s := range Limit(v.Backout, lvl) {
				w("%d. %s\n   %s\n", i+1, s.Description, s.Command)
			}
			if n := len(v.Backout) - len(Limit(v.Backout, lvl)); n > 0 {
				w("(%d more step(s) left out: see ecslogfix backout --task-definition %s)\n", n, Ref(v.Family, v.NewRev))
			}
			if len(v.Rollout.MovedConsumers()) > 0 && v.ExecutionARN != "" {
				w("ecslogfix backout runs these steps for exactly the consumers above (dry run without --apply):\n   ecslogfix backout --task-definition %s --execution %s --apply --region %s\n",
					backout.Quote(Ref(v.Family, v.NewRev)), backout.Quote(v.ExecutionARN), backout.Quote(cmp.Or(v.Region, backout.PlaceholderRegion)))
			}
		case v.NewARN == "" && !v.createdLogGroups():
			w("Nothing was changed, so there is nothing to back out.\n")
		default:
			w("No backout steps are available; see ecslogfix backout --task-definition %s.\n", Ref(v.Family, v.NewRev))
		}
	}

	if groups := v.SnippetGroups(); len(groups) > 0 && lvl != Minimal && v.Outcome != workflow.OutcomeFailed {
		section("FIX THE SOURCE")
		w("Registered through %s. Unless the source is fixed, the next revision registered from it is non-compliant again.\n", OriginText(v.Origin))
		w("Add this to %s:\n", v.sourceWhere())
		for i, g := range groups {
			if lvl == Compact && i > 0 {
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
	w("\n-- \necslogfix (%s)\n", Schema)
	return b.String()
}

// notes are the reminders for the reader, by outcome.
func (v *Notice) notes() []string {
	var n []string
	switch v.Outcome {
	case workflow.OutcomeRemediated:
		switch {
		case v.Rollout == nil:
			n = append(n, fmt.Sprintf("Services and scheduled tasks keep using %s until they are redeployed with %s (your deploy pipeline normally does this).", Ref(v.Family, v.SourceRev), Ref(v.Family, v.NewRev)))
		case v.Rollout.Summary() != RolloutComplete:
			n = append(n, fmt.Sprintf("What still runs %s (see ROLLOUT) keeps it until it is redeployed with %s (your deploy pipeline normally does this).", Ref(v.Family, v.SourceRev), Ref(v.Family, v.NewRev)))
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
			"To retry once the cause is fixed, run: ecslogfix fix --task-definition "+cmp.Or(v.SourceARN, Ref(v.Family, v.SourceRev))+" --apply (it re-reads and re-plans; safe to repeat). The scheduled sweep also retries non-compliant revisions.",
			"The execution can be redriven (aws stepfunctions redrive-execution --execution-arn "+cmp.Or(v.ExecutionARN, "<execution ARN>")+"), but this workflow catches the error and ends in its Fail state, so a redrive does not rerun "+v.Failure.State+"; prefer the command above.")
	}
	return n
}

func (v *Notice) changedContainers() []Container {
	var out []Container
	for _, c := range v.Containers {
		if Changes(c.Action) {
			out = append(out, c)
		}
	}
	return out
}

func (v *Notice) HumanContainers() []Container {
	var out []Container
	for _, c := range v.Containers {
		if c.Action == plan.ActionReport || slices.Contains(c.Reasons, policy.ReasonFirelens) || slices.Contains(c.Reasons, policy.ReasonRouterNotAwslogs) {
			out = append(out, c)
		}
	}
	return out
}

// humanWhy names, in a few words, what a human must decide for
// NEEDS_HUMAN.
func (v *Notice) HumanWhy() string {
	var why []string
	add := func(s string) {
		if !slices.Contains(why, s) {
			why = append(why, s)
		}
	}
	for _, c := range v.HumanContainers() {
		switch {
		case slices.Contains(c.Reasons, policy.ReasonFirelens) || slices.Contains(c.Reasons, policy.ReasonRouterNotAwslogs):
			add("FireLens log routing")
		case slices.Contains(c.Reasons, policy.ReasonUnknownOption):
			add("an awslogs option ECS does not document")
		case slices.Contains(c.Reasons, policy.ReasonInvalidMode):
			add("a log delivery mode the policy refuses")
		default:
			add("a log driver the policy reports")
		}
	}
	for _, g := range v.LogGroups {
		if strings.Contains(g.Plan, "a human must create it") {
			add("a missing log group outside the names ecslogfix may create")
			break
		}
	}
	if len(why) == 0 {
		return "see Detail"
	}
	return strings.Join(why, "; ")
}

func (v *Notice) createdLogGroups() bool {
	for _, g := range v.LogGroups {
		if g.Status == "created" {
			return true
		}
	}
	return false
}

// settingsText renders redacted settings on one or more lines; pad indents
// continuation lines.
func settingsText(s *Settings, pad string) string {
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
