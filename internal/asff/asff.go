// Package asff turns changes of a family's state (internal/history) into
// AWS Security Finding Format documents ecslogfix imports into Security
// Hub from the account the task definition lives in, and optionally
// annotates AWS's own ECS.9 findings from the Security Hub administrator
// account. Findings is pure; Publisher makes the calls.
//
// One finding per (account, region, family, reason): ACTIVE and FAILED
// while the reason is open, PASSED and ARCHIVED once it is fixed. An
// exempt reason archives its finding (still FAILED) and gets its own,
// SUPPRESSED, per exemption: BatchImportFindings may set Workflow only
// when it creates a finding, so suppression lives in a finding of its own
// (and reopening re-activates the first, which Security Hub moves back to
// NEW).
package asff

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/securityhub/types"

	"github.com/ecslogfix/ecslogfix/internal/history"
	"github.com/ecslogfix/ecslogfix/internal/plan"
	"github.com/ecslogfix/ecslogfix/internal/policy/exemption"
	"github.com/ecslogfix/ecslogfix/internal/policy/reason"
)

// SchemaVersion is the ASFF version ecslogfix writes.
const SchemaVersion = "2018-10-08"

// FindingType is the ASFF type of every finding (Types taxonomy,
// "Software and Configuration Checks").
const FindingType = "Software and Configuration Checks/AWS Security Best Practices"

// RecommendationURL is the ECS documentation of the awslogs driver.
const RecommendationURL = "https://docs.aws.amazon.com/AmazonECS/latest/developerguide/using_awslogs.html"

// ASFF limits (AwsSecurityFinding in the Security Hub API reference).
const (
	maxTitle       = 256
	maxDescription = 1024
	maxText        = 512
	maxID          = 512
)

// Severity is each reason's severity: output lost or a task that cannot
// start is HIGH (no configuration, no or an invalid group, a group that
// does not exist, awslogs on Fargate without the execution role, an option
// Docker refuses at container start); logs that go elsewhere than the
// policy wants, or to no valid region, are MEDIUM; incomplete or invalid
// settings ECS defaults or tolerates, the delivery mode and a router's own
// logs are LOW.
func Severity(r reason.Code) types.SeverityLabel {
	switch r {
	case reason.MissingLogConfiguration, reason.MissingGroup, reason.InvalidGroup,
		reason.LogGroupMissing, reason.ExecutionRoleMissing, reason.UnknownOption:
		return types.SeverityLabelHigh
	case reason.DriverNotAllowed, reason.Firelens, reason.MissingRegion, reason.InvalidRegion:
		return types.SeverityLabelMedium
	}
	return types.SeverityLabelLow
}

// ID is the stable finding ID of one reason of one family.
func ID(account, region, family string, r reason.Code) string {
	return "ecslogfix/v1/" + account + "/" + region + "/" + family + "/" + string(r)
}

// ExemptionID is the ID of the SUPPRESSED finding of one reason under one
// exemption (by: "tag", or the register entry's ticket).
func ExemptionID(account, region, family string, r reason.Code, by string) string {
	return ID(account, region, family, r) + "/exemption/" + cmp.Or(by, exemption.SourceTag)
}

// ProductARN is the default product of an account, under which it
// imports its own findings.
func ProductARN(partition, region, account string) string {
	return "arn:" + cmp.Or(partition, "aws") + ":securityhub:" + region + ":" + account + ":product/" + account + "/default"
}

// RelatedRequirements name the requirements the findings serve
// (docs/report.md, "Framework mapping").
var RelatedRequirements = []string{"PCI DSS v4.0/10.2", "ISO/IEC 27001:2022/A.8.15", "SOC 2/CC7.2", "CIS Controls v8.1/8.2"}

// Findings are the documents one change imports: every open reason
// active, every exempt reason's violation archived and its exemption
// active, every reason no longer open archived (PASSED when fixed).
func Findings(c history.Change, partition string, now time.Time) []types.AwsSecurityFinding {
	a, b := c.After, c.Before
	if b == nil {
		b = &history.Item{}
	}
	var out []types.AwsSecurityFinding
	for _, r := range a.Reasons {
		out = append(out, violation(c, partition, now, r, types.RecordStateActive, types.ComplianceStatusFailed))
	}
	for _, r := range union(b.Reasons, b.Exempted) {
		switch {
		case slices.Contains(a.Reasons, r):
		case slices.Contains(a.Exempted, r):
			out = append(out, violation(c, partition, now, r, types.RecordStateArchived, types.ComplianceStatusFailed))
		default:
			out = append(out, violation(c, partition, now, r, types.RecordStateArchived, types.ComplianceStatusPassed))
		}
	}
	for _, r := range a.Exempted {
		out = append(out, exemptionFinding(c, partition, now, r, a.ExemptBy, types.RecordStateActive, types.ComplianceStatusFailed))
	}
	for _, r := range b.Exempted {
		if slices.Contains(a.Exempted, r) && a.ExemptBy == b.ExemptBy {
			continue
		}
		status := types.ComplianceStatusPassed
		if slices.Contains(a.Reasons, r) || slices.Contains(a.Exempted, r) {
			status = types.ComplianceStatusFailed // reopened, or exempt by another entry
		}
		out = append(out, exemptionFinding(c, partition, now, r, b.ExemptBy, types.RecordStateArchived, status))
	}
	return out
}

func union(a, b []reason.Code) []reason.Code {
	out := slices.Clone(a)
	for _, r := range b {
		if !slices.Contains(out, r) {
			out = append(out, r)
		}
	}
	return out
}

func violation(c history.Change, partition string, now time.Time, r reason.Code, rs types.RecordState, cs types.ComplianceStatus) types.AwsSecurityFinding {
	a := c.After
	f := base(c, partition, now, r, rs, cs)
	f.Id = aws.String(ID(a.Account, a.Region, a.Family, r))
	status := types.WorkflowStatusNew
	if rs == types.RecordStateArchived {
		status = types.WorkflowStatusResolved
	}
	f.Workflow = &types.Workflow{Status: status} // taken only when the finding is created
	what := "is open"
	switch {
	case cs == types.ComplianceStatusPassed:
		what = "is fixed (" + string(a.State) + ")"
	case rs == types.RecordStateArchived:
		what = "is exempt (see the finding " + ExemptionID(a.Account, a.Region, a.Family, r, a.ExemptBy) + ")"
	}
	f.Description = aws.String(clip(fmt.Sprintf("%s: %s. The reason %s. ecslogfix's decision: %s.%s",
		containers(c.Record, r), r.Summary(), what, a.Decision, detail(c.Record)), maxDescription))
	return f
}

func exemptionFinding(c history.Change, partition string, now time.Time, r reason.Code, by string, rs types.RecordState, cs types.ComplianceStatus) types.AwsSecurityFinding {
	a := c.After
	f := base(c, partition, now, r, rs, cs)
	f.Id = aws.String(ExemptionID(a.Account, a.Region, a.Family, r, by))
	f.Title = aws.String(clip("Exempt: "+*f.Title, maxTitle))
	f.Workflow = &types.Workflow{Status: types.WorkflowStatusSuppressed}
	why := "exempt by the exemption tag"
	if e := c.Record.Exemption; e != nil && e.Source == exemption.SourceRegister {
		why = fmt.Sprintf("exempt by register entry %s, approved by %s: %s", e.Ticket, e.Approver, e.Reason)
	}
	if rs == types.RecordStateActive && a.ExemptUntil != "" {
		why += ", until " + a.ExemptUntil
	}
	if rs == types.RecordStateArchived {
		why = "the exemption " + cmp.Or(by, exemption.SourceTag) + " no longer applies"
	}
	f.Description = aws.String(clip(fmt.Sprintf("%s: %s. Not fixed: %s.", containers(c.Record, r), r.Summary(), why), maxDescription))
	return f
}

func base(c history.Change, partition string, now time.Time, r reason.Code, rs types.RecordState, cs types.ComplianceStatus) types.AwsSecurityFinding {
	a := c.After
	created := a.ChangedAt
	if a.Since != nil {
		created = *a.Since
	}
	sev := &types.Severity{Label: Severity(r), Original: aws.String(string(r))}
	fields := map[string]string{"ecslogfix/state": string(a.State), "ecslogfix/decision": string(a.Decision), "ecslogfix/reason": string(r)}
	if a.ExemptUntil != "" {
		fields["ecslogfix/exemptUntil"] = a.ExemptUntil
	}
	return types.AwsSecurityFinding{
		SchemaVersion: aws.String(SchemaVersion),
		ProductArn:    aws.String(ProductARN(partition, a.Region, a.Account)),
		GeneratorId:   aws.String("ecslogfix/" + string(r)),
		AwsAccountId:  aws.String(a.Account),
		Region:        aws.String(a.Region),
		Types:         []string{FindingType},
		CreatedAt:     aws.String(created.UTC().Format(time.RFC3339)),
		UpdatedAt:     aws.String(now.UTC().Format(time.RFC3339)),
		Severity:      sev,
		FindingProviderFields: &types.FindingProviderFields{
			Severity: &types.FindingProviderSeverity{Label: sev.Label, Original: sev.Original},
			Types:    []string{FindingType},
		},
		Title:       aws.String(clip(fmt.Sprintf("ECS task definition %s does not log to CloudWatch Logs: %s", a.Family, r), maxTitle)),
		Remediation: &types.Remediation{Recommendation: &types.Recommendation{Text: aws.String(clip(recommendation(c, r), maxText)), Url: aws.String(RecommendationURL)}},
		Resources: []types.Resource{{
			Type: aws.String("AwsEcsTaskDefinition"), Id: aws.String(a.TaskDefinitionARN),
			Partition: types.Partition(cmp.Or(partition, "aws")), Region: aws.String(a.Region),
		}},
		Compliance:    &types.Compliance{Status: cs, RelatedRequirements: RelatedRequirements},
		RecordState:   rs,
		ProductFields: fields,
		ProductName:   aws.String("ecslogfix"),
		CompanyName:   aws.String("ecslogfix"),
	}
}

// recommendation is the reason's help and, where the plan has it, the
// exact settings that fix each affected container.
func recommendation(c history.Change, r reason.Code) string {
	text := r.Help()
	for _, fx := range c.After.Fixes {
		if fx.After == nil || !slices.ContainsFunc(c.Record.Findings, func(f plan.Finding) bool { return f.Container == fx.Container && slices.Contains(f.Reasons, r) }) {
			continue
		}
		keys := make([]string, 0, len(fx.After.Options))
		for k := range fx.After.Options {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		var opts []string
		for _, k := range keys {
			opts = append(opts, k+"="+fx.After.Options[k])
		}
		text += fmt.Sprintf(" Fix for container %s: logDriver %s, %s.", fx.Container, fx.After.Driver, strings.Join(opts, ", "))
	}
	return text
}

func containers(rec history.Record, r reason.Code) string {
	var names []string
	for _, f := range append(slices.Clone(rec.Findings), rec.Exempted...) {
		if slices.Contains(f.Reasons, r) && !slices.Contains(names, f.Container) {
			names = append(names, f.Container)
		}
	}
	rev := rec.TaskDefinitionARN
	if len(names) == 0 {
		return rev
	}
	return rev + " (containers " + strings.Join(names, ", ") + ")"
}

func detail(rec history.Record) string {
	if rec.Detail == "" {
		return ""
	}
	return " " + rec.Detail
}

// clip keeps s within n runes (ASFF limits count characters).
func clip(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}

// Validate checks a finding against the API's required members, enums
// (the SDK's Values) and documented lengths, before it is sent.
func Validate(f types.AwsSecurityFinding) error {
	req := map[string]*string{"SchemaVersion": f.SchemaVersion, "Id": f.Id, "ProductArn": f.ProductArn, "GeneratorId": f.GeneratorId,
		"AwsAccountId": f.AwsAccountId, "CreatedAt": f.CreatedAt, "UpdatedAt": f.UpdatedAt, "Title": f.Title, "Description": f.Description}
	for _, k := range []string{"SchemaVersion", "Id", "ProductArn", "GeneratorId", "AwsAccountId", "CreatedAt", "UpdatedAt", "Title", "Description"} {
		if aws.ToString(req[k]) == "" {
			return fmt.Errorf("asff: %s is required", k)
		}
	}
	for _, ts := range []string{*f.CreatedAt, *f.UpdatedAt} {
		if _, err := time.Parse(time.RFC3339, ts); err != nil {
			return fmt.Errorf("asff: %q is not an RFC 3339 time", ts)
		}
	}
	switch {
	case len(*f.Id) > maxID || len(*f.GeneratorId) > maxID:
		return fmt.Errorf("asff: Id or GeneratorId longer than %d", maxID)
	case utf8.RuneCountInString(*f.Title) > maxTitle:
		return fmt.Errorf("asff: Title longer than %d", maxTitle)
	case utf8.RuneCountInString(*f.Description) > maxDescription:
		return fmt.Errorf("asff: Description longer than %d", maxDescription)
	case len(f.Resources) == 0 || len(f.Resources) > 32:
		return fmt.Errorf("asff: %d resources, want 1 to 32", len(f.Resources))
	case f.Severity == nil || !slices.Contains(f.Severity.Label.Values(), f.Severity.Label):
		return fmt.Errorf("asff: severity %v is not one of %v", f.Severity, types.SeverityLabel("").Values())
	case f.Compliance == nil || !slices.Contains(f.Compliance.Status.Values(), f.Compliance.Status):
		return fmt.Errorf("asff: compliance status is not one of %v", types.ComplianceStatus("").Values())
	case !slices.Contains(f.RecordState.Values(), f.RecordState):
		return fmt.Errorf("asff: record state %q is not one of %v", f.RecordState, f.RecordState.Values())
	case f.Workflow != nil && !slices.Contains(f.Workflow.Status.Values(), f.Workflow.Status):
		return fmt.Errorf("asff: workflow status %q is not one of %v", f.Workflow.Status, f.Workflow.Status.Values())
	case f.Remediation != nil && f.Remediation.Recommendation != nil && utf8.RuneCountInString(aws.ToString(f.Remediation.Recommendation.Text)) > maxText:
		return fmt.Errorf("asff: recommendation longer than %d", maxText)
	case len(f.ProductFields) > 50:
		return fmt.Errorf("asff: %d product fields, at most 50", len(f.ProductFields))
	}
	for _, r := range f.Resources {
		if aws.ToString(r.Type) == "" || aws.ToString(r.Id) == "" {
			return fmt.Errorf("asff: a resource needs Type and Id")
		}
		if r.Partition != "" && !slices.Contains(r.Partition.Values(), r.Partition) {
			return fmt.Errorf("asff: partition %q is not one of %v", r.Partition, r.Partition.Values())
		}
	}
	return nil
}
