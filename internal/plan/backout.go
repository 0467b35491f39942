package plan

import (
	"fmt"
	"slices"
	"strings"

	"github.com/ecslogfix/ecslogfix/internal/taskdef"
)

// Step is one backout step: a human sentence and the exact command.
type Step struct {
	Description string `json:"description"`
	Command     string `json:"command"`
}

// BackoutInput says what was done, for Backout.
type BackoutInput struct {
	Region            string
	NewARN            string   // the revision ecslogfix registered
	SourceARN         string   // the revision it was built from
	CreatedLogGroups  []string // log groups ecslogfix created (never pre-existing ones)
	DeletionProtected []string // of those, the ones with deletion protection
}

// Placeholders in backout commands the reader must fill in. They are not
// quoted on purpose: a command still holding one fails in the shell instead
// of running against a wrong resource.
const (
	PlaceholderCluster = "<CLUSTER>"
	PlaceholderService = "<SERVICE>"
	PlaceholderRegion  = "<REGION>"
)

// Backout returns the exact AWS CLI steps that undo a remediation, in the
// order to run them: move services back to the source revision (if any were
// moved to the new one), deregister the new revision, then delete the log
// groups ecslogfix created (disabling deletion protection first where it is
// on). Every argument is quoted for a POSIX shell.
func Backout(in BackoutInput) []Step {
	region := in.Region
	for _, a := range []string{in.NewARN, in.SourceARN} {
		if region != "" {
			break
		}
		if parsed, err := taskdef.ParseARN(a); err == nil {
			region = parsed.Region
		}
		if region == "" {
			region = regionFromARN(a)
		}
	}
	r := PlaceholderRegion
	if region != "" {
		r = Quote(region)
	}
	var steps []Step
	if in.SourceARN != "" {
		steps = append(steps, Step{
			Description: "For each service you moved to the new revision: point it back at the source revision (replace " + PlaceholderCluster + " and " + PlaceholderService + ").",
			Command:     fmt.Sprintf("aws ecs update-service --cluster %s --service %s --task-definition %s --region %s", PlaceholderCluster, PlaceholderService, Quote(familyRevision(in.SourceARN)), r),
		})
	}
	if in.NewARN != "" {
		steps = append(steps, Step{
			Description: "Deregister the revision ecslogfix registered.",
			Command:     fmt.Sprintf("aws ecs deregister-task-definition --task-definition %s --region %s", Quote(in.NewARN), r),
		})
	}
	for _, g := range in.CreatedLogGroups {
		if slices.Contains(in.DeletionProtected, g) {
			steps = append(steps, Step{
				Description: fmt.Sprintf("Turn off deletion protection on the log group %s ecslogfix created.", g),
				Command:     fmt.Sprintf("aws logs put-log-group-deletion-protection --log-group-identifier %s --no-deletion-protection-enabled --region %s", Quote(g), r),
			})
		}
		steps = append(steps, Step{
			Description: fmt.Sprintf("Optional: delete the log group %s ecslogfix created (its log events are lost).", g),
			Command:     fmt.Sprintf("aws logs delete-log-group --log-group-name %s --region %s", Quote(g), r),
		})
	}
	return steps
}

// familyRevision returns "family:revision" from a task definition ARN, or s
// itself when it is not one.
func familyRevision(s string) string {
	if i := strings.LastIndex(s, ":task-definition/"); i >= 0 {
		return s[i+len(":task-definition/"):]
	}
	return s
}

// regionFromARN returns the fourth field of an ARN, if any.
func regionFromARN(s string) string {
	parts := strings.SplitN(s, ":", 6)
	if len(parts) == 6 && parts[0] == "arn" {
		return parts[3]
	}
	return ""
}

// Quote returns s as one word for a POSIX shell: unchanged when it holds
// only safe characters, otherwise in single quotes.
func Quote(s string) string {
	if s == "" {
		return "''"
	}
	safe := true
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.ContainsRune("@%+=:,./_-", c)) {
			safe = false
			break
		}
	}
	if safe {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
