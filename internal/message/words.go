package message

import (
	"cmp"
	"fmt"
	"strconv"
	"strings"

	"github.com/ecslogfix/ecslogfix/internal/plan"
	"github.com/ecslogfix/ecslogfix/internal/policy"
	"github.com/ecslogfix/ecslogfix/internal/workflow"
)

func reasonText(r policy.Reason) string {
	if w := r.Summary(); w != string(r) {
		return w + " (" + string(r) + ")"
	}
	return string(r)
}

func ReasonsText(rs []policy.Reason) string {
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

func ActionText(a plan.Action) string {
	if w, ok := actionWords[a]; ok {
		return w
	}
	return string(a)
}

// changes reports whether the action rewrites the container's logging.
func Changes(a plan.Action) bool {
	return a == plan.ActionAdd || a == plan.ActionComplete || a == plan.ActionReplace
}

// originText names the tool a revision came from.
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

// shortPrincipal is the principal's name alone, for titles.
func shortPrincipal(p *workflow.Principal) string {
	if p == nil {
		return ""
	}
	return cmp.Or(p.UserName, p.InvokedBy, p.ARN)
}

// blockerAdvice says what a human should do about each blocker code.
var blockerAdvice = map[string]string{
	plan.BlockNoExecutionRole: "Give the task definition an executionRoleArn (a role with AmazonECSTaskExecutionRolePolicy), or set defaultExecutionRoleArn in the ecslogfix policy so ecslogfix can add one.",
	plan.BlockTooLarge:        "The fixed task definition would exceed the 64 KiB limit: shrink it in the source (for example move environment values to environmentFiles or secrets) and add logConfiguration there.",
	plan.BlockInvalidGroup:    "Fix logGroupTemplate in the ecslogfix policy, or the container's awslogs-group, so it names a valid log group (1-512 of a-z A-Z 0-9 _ - / . #, not starting with aws/).",
	plan.BlockInvalidInput:    "The revision cannot be re-registered as it is: add logConfiguration in the source instead.",
	plan.BlockKMSKeyRegion:    "KMS keys are regional: set the ecslogfix policy's logRegion to the key's region (central logging), or deploy a policy whose kmsKeyArn is a key of the task definition's region.",
}

func RetentionText(days int32) string {
	if days <= 0 {
		return "never expires"
	}
	return strconv.Itoa(int(days)) + " days"
}

func LogGroupText(g LogGroupInfo) string {
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

// ref renders family:rev, or family alone.
func Ref(family string, rev int) string {
	if rev <= 0 {
		return family
	}
	return family + ":" + strconv.Itoa(rev)
}

// headline is the one-line summary shared by the subject, titles and the
// structured document.
func (v *Notice) Headline() string {
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

// GroupStatus says in a few words what became of one log group: what
// `ecslogfix fix --apply` prints for each group of the revision, in the
// notification's words.
func GroupStatus(g workflow.LogGroupResult) string {
	info := LogGroupInfo{Status: "existing", RetentionDays: g.RetentionDays, KMSKeyARN: g.KMSKeyARN, Class: g.Class,
		DeletionProtection: g.DeletionProtectionEnabled, RetentionSet: g.RetentionSet, PreviousRetentionDays: g.PreviousRetentionDays}
	if g.Created {
		info.Status = "created"
	}
	return strings.TrimPrefix(LogGroupText(info), ": ")
}
