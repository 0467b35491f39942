// Package words holds the sentences and phrases every format of a
// notification shares, so that the email, the chat payloads and the
// structured document say the same thing: the subject, the headline, the
// summary by outcome, what a human must decide, and the phrases for reason
// codes, plan actions, origin tools and log groups.
package words

import (
	"cmp"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/ecslogfix/ecslogfix/internal/escape"
	"github.com/ecslogfix/ecslogfix/internal/message/notice"
	"github.com/ecslogfix/ecslogfix/internal/plan"
	"github.com/ecslogfix/ecslogfix/internal/policy/reason"
	"github.com/ecslogfix/ecslogfix/internal/workflow"
)

func reasonText(r reason.Code) string {
	if w := r.Summary(); w != string(r) {
		return w + " (" + string(r) + ")"
	}
	return string(r)
}

// ReasonsText names reason codes with their summaries, "; "-separated.
func ReasonsText(rs []reason.Code) string {
	if len(rs) == 0 {
		return "not compliant"
	}
	parts := make([]string, len(rs))
	for i, r := range rs {
		parts[i] = reasonText(r)
	}
	return strings.Join(parts, "; ")
}

// actionWords says what the plan does to one container.
var actionWords = map[plan.Action]string{
	plan.ActionNone:     "unchanged (compliant)",
	plan.ActionAdd:      "awslogs added",
	plan.ActionComplete: "missing awslogs options added",
	plan.ActionReplace:  "log driver replaced by awslogs",
	plan.ActionReport:   "not changed: a human must act",
}

// ActionText says what the plan does to one container.
func ActionText(a plan.Action) string {
	if w, ok := actionWords[a]; ok {
		return w
	}
	return string(a)
}

// Changes reports whether the action rewrites the container's logging.
func Changes(a plan.Action) bool {
	return a == plan.ActionAdd || a == plan.ActionComplete || a == plan.ActionReplace
}

// OriginText names the tool a revision came from.
func OriginText(o *workflow.Origin) string {
	if o == nil {
		return "unknown tool"
	}
	var name string
	switch strings.ToLower(o.Tool) {
	case "cloudformation":
		name = "AWS CloudFormation"
	case "cdk":
		name = "AWS CDK"
	case "terraform":
		name = "Terraform"
	case "copilot":
		name = "AWS Copilot"
	case "pulumi":
		name = "Pulumi"
	case "cli":
		name = "AWS CLI"
	case "console":
		name = "AWS Management Console"
	case "sdk":
		name = "an AWS SDK"
	case "", "unknown":
		name = "unknown tool"
	default:
		name = o.Tool
	}
	if o.Detail != "" {
		label := "detail"
		switch strings.ToLower(o.Tool) {
		case "cloudformation", "cdk":
			label = "stack"
		}
		name += " (" + label + " " + o.Detail + ")"
	}
	return name
}

// BlockerAdvice says what a human should do about a blocker code.
func BlockerAdvice(code string) (string, bool) {
	advice, ok := blockerAdvice[code]
	return advice, ok
}

var blockerAdvice = map[string]string{
	plan.BlockNoExecutionRole: "Give the task definition an executionRoleArn (a role with AmazonECSTaskExecutionRolePolicy), or set defaultExecutionRoleArn in the ecslogfix policy so ecslogfix can add one.",
	plan.BlockTooLarge:        "The fixed task definition would exceed the 64 KiB limit: shrink it in the source (for example move environment values to environmentFiles or secrets) and add logConfiguration there.",
	plan.BlockInvalidGroup:    "Fix logGroupTemplate in the ecslogfix policy, or the container's awslogs-group, so it names a valid log group (1-512 of a-z A-Z 0-9 _ - / . #, not starting with aws/).",
	plan.BlockInvalidInput:    "The revision cannot be re-registered as it is: add logConfiguration in the source instead.",
	plan.BlockKMSKeyRegion:    "KMS keys are regional: set the ecslogfix policy's logRegion to the key's region (central logging), or deploy a policy whose kmsKeyArn is a key of the task definition's region.",
}

// RetentionText is a retention in days as people read it.
func RetentionText(days int32) string {
	if days <= 0 {
		return "never expires"
	}
	return strconv.Itoa(int(days)) + " days"
}

// LogGroupText is one log group's line: what became of it and its settings.
func LogGroupText(g notice.LogGroupInfo) string {
	var b strings.Builder
	b.WriteString(g.Name)
	if g.Region != "" {
		fmt.Fprintf(&b, " (%s)", g.Region)
	}
	switch {
	case g.Status == "created":
		b.WriteString(": created by ecslogfix")
	case g.Status == "existing" && g.RetentionSet && g.PreviousRetentionDays == 0:
		b.WriteString(": already existed and never expired; ecslogfix set its retention")
	case g.Status == "existing" && g.RetentionSet:
		fmt.Fprintf(&b, ": already existed; ecslogfix set its retention (it was %s)", RetentionText(g.PreviousRetentionDays))
	case g.Status == "existing":
		b.WriteString(": already existed, left as it was")
	case g.Status == "planned" && g.Plan != "":
		return b.String() + ": " + g.Plan
	case g.Status == "planned":
		b.WriteString(": would be created if missing")
	}
	fmt.Fprintf(&b, "; retention %s", RetentionText(g.RetentionDays))
	if g.KMSKeyARN != "" {
		b.WriteString("; KMS key " + g.KMSKeyARN)
	} else {
		b.WriteString("; no KMS key")
	}
	b.WriteString("; class " + cmp.Or(g.Class, "STANDARD"))
	if g.DeletionProtection {
		b.WriteString("; deletion protection on")
	}
	return b.String()
}

// Ref renders family:rev, or family alone.
func Ref(family string, rev int) string {
	if rev <= 0 {
		return family
	}
	return family + ":" + strconv.Itoa(rev)
}

// Headline is the one-line summary shared by the subject, titles and the
// structured document.
func Headline(v *notice.Notice) string {
	src := Ref(v.Family, v.SourceRev)
	switch v.Outcome {
	case workflow.OutcomeRemediated, workflow.OutcomePartlyRemediated:
		if v.NewRev > 0 {
			return src + " → :" + strconv.Itoa(v.NewRev)
		}
		return src + " remediated"
	case workflow.OutcomeLogGroupCreated:
		return src + " log group created"
	case workflow.OutcomeFailed:
		return src + " failed in " + v.Failure.State
	default:
		return src
	}
}

// Summary is the opening paragraph, by outcome.
func Summary(v *notice.Notice) string {
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
			return s + ". " + rolloutSummary(v)
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
		return fmt.Sprintf("Task definition revision %s %s is not compliant, but only in ways ecslogfix never changes by itself (%s). Nothing was changed: a human must decide.", src, where, HumanWhy(v))
	case workflow.OutcomeAlreadyCompliant:
		return fmt.Sprintf("Task definition revision %s %s was compliant when ecslogfix re-read it. Nothing was changed.", src, where)
	case workflow.OutcomeAlreadyRemediated:
		s := fmt.Sprintf("ecslogfix had already registered a compliant revision built from %s %s", src, where)
		if _, rev := notice.TaskDefRef(v.LatestARN); rev > 0 {
			s += ": " + Ref(v.Family, rev)
		}
		return s + ". Nothing was changed."
	case workflow.OutcomeSuperseded:
		newer := "A newer revision"
		if _, rev := notice.TaskDefRef(v.LatestARN); rev > 0 {
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
func rolloutSummary(v *notice.Notice) string {
	rv := v.Rollout
	switch {
	case rv.Err != "":
		return "Rolling it out to what runs " + Ref(v.Family, v.SourceRev) + " did not finish (see ROLLOUT)."
	case rv.Mode == "none" || rv.Mode == "":
		return fmt.Sprintf("Nothing that runs %s was moved (rollout mode none): %s (see ROLLOUT).", Ref(v.Family, v.SourceRev), rv.Counts())
	}
	return fmt.Sprintf("Rollout to what ran %s (mode %s): %s (see ROLLOUT).", Ref(v.Family, v.SourceRev), rv.Mode, rv.Counts())
}

// HumanContainers are the containers a human must decide for: reported,
// or routed through FireLens.
func HumanContainers(v *notice.Notice) []notice.Container {
	var out []notice.Container
	for _, c := range v.Containers {
		if c.Action == plan.ActionReport || slices.Contains(c.Reasons, reason.Firelens) || slices.Contains(c.Reasons, reason.RouterNotAwslogs) {
			out = append(out, c)
		}
	}
	return out
}

// HumanWhy names, in a few words, what a human must decide for
// NEEDS_HUMAN.
func HumanWhy(v *notice.Notice) string {
	var why []string
	add := func(s string) {
		if !slices.Contains(why, s) {
			why = append(why, s)
		}
	}
	for _, c := range HumanContainers(v) {
		switch {
		case slices.Contains(c.Reasons, reason.Firelens) || slices.Contains(c.Reasons, reason.RouterNotAwslogs):
			add("FireLens log routing")
		case slices.Contains(c.Reasons, reason.UnknownOption):
			add("an awslogs option ECS does not document")
		case slices.Contains(c.Reasons, reason.InvalidMode):
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

// SnippetGroup is one logConfiguration to add to the source, and the
// containers it belongs to.
type SnippetGroup struct {
	Containers []string
	After      *notice.Settings
}

// SnippetGroups groups the changed containers by identical target
// settings, in container order.
func SnippetGroups(v *notice.Notice) []SnippetGroup {
	var groups []SnippetGroup
	index := map[string]int{}
	for _, c := range v.Containers {
		if !Changes(c.Action) || c.After == nil {
			continue
		}
		key, _ := json.Marshal(c.After)
		if i, ok := index[string(key)]; ok {
			groups[i].Containers = append(groups[i].Containers, c.Name)
			continue
		}
		index[string(key)] = len(groups)
		groups = append(groups, SnippetGroup{Containers: []string{c.Name}, After: c.After})
	}
	return groups
}

// maxSubjectRunes keeps the subject "less than 100 characters" (SNS).
const maxSubjectRunes = 99

// Subject is "[ecslogfix] OUTCOME family:rev → :new (region)", with the
// family shortened when the whole would reach 100 characters.
func Subject(v *notice.Notice) string {
	build := func(family string) string {
		w := *v
		w.Family = family
		s := "[ecslogfix] " + string(v.Outcome) + " " + Headline(&w)
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
