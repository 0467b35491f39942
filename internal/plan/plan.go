// Package plan computes the fix for a non-compliant task definition as a
// value: what changes per container, which log groups must exist and what
// blocks the fix (how to back it out is internal/backout's). Pure: no AWS
// calls. Dry run is printing a Plan; applying it is the remediation
// package's job.
package plan

import (
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ecslogfix/ecslogfix/internal/policy/awslogs"
	"github.com/ecslogfix/ecslogfix/internal/policy/exemption"
	"github.com/ecslogfix/ecslogfix/internal/policy/reason"
)

// Action says what the plan does to one container's logging.
type Action string

// Actions.
const (
	ActionNone     Action = "NONE"     // left byte-identical: compliant, or the task definition is exempt
	ActionAdd      Action = "ADD"      // no logConfiguration: awslogs added
	ActionComplete Action = "COMPLETE" // awslogs with missing options: only those added
	ActionReplace  Action = "REPLACE"  // another driver replaced by awslogs (policy otherDrivers=replace)
	ActionReport   Action = "REPORT"   // not compliant, not changed: a human must act (FireLens, otherDrivers=report)
)

// Context is where the task definition lives.
type Context struct {
	Partition string `json:"partition"` // default "aws"
	Account   string `json:"account"`
	Region    string `json:"region"`
	// Today is the day exemptions are judged on (exemption.Subject); zero:
	// only the exemption tag without an end date applies.
	Today time.Time `json:"-"`
}

// LogSettings is a redacted view of a logConfiguration, safe to print: the
// driver, the values of documented awslogs options, and only the names of
// any other option or secret option.
type LogSettings struct {
	Driver        string            `json:"driver"`
	Options       map[string]string `json:"options,omitempty"`
	SecretOptions []string          `json:"secretOptions,omitempty"` // names only
}

// ContainerChange is the plan for one container.
type ContainerChange struct {
	Name    string        `json:"name"`
	Reasons []reason.Code `json:"reasons,omitempty"`
	// Keys names the log options the reasons are about (policy
	// ContainerFinding.Keys): for REPORT, what a human must change.
	Keys []string `json:"keys,omitempty"`
	// Exempt: a register entry covers every reason; left as it is.
	Exempt bool         `json:"exempt,omitempty"`
	Action Action       `json:"action"`
	Before *LogSettings `json:"before,omitempty"`
	After  *LogSettings `json:"after,omitempty"`
}

// LogGroup is a log group the revision the plan leads to writes to (the
// fixed one, or the source when nothing is registered): every one must
// exist before that revision is registered. The settings are those
// ecslogfix creates it with when it is missing.
type LogGroup struct {
	Name               string            `json:"name"`
	Region             string            `json:"region"`
	RetentionDays      int32             `json:"retentionDays"`
	KMSKeyARN          string            `json:"kmsKeyArn,omitempty"`
	Class              string            `json:"class,omitempty"`
	Tags               map[string]string `json:"tags,omitempty"`
	DeletionProtection bool              `json:"deletionProtection,omitempty"`
	// Observed is what the shell read (BuildWith's facts); nil when the
	// group was not observed.
	Observed *awslogs.GroupFact `json:"observed,omitempty"`
	// Create: observed missing, and ecslogfix may create it. Applying the
	// plan creates it (with the settings above) before anything else.
	Create bool `json:"create,omitempty"`
	// SetRetention, when > 0, is the retention applying the plan sets on
	// the existing group (policy existingGroupRetention; RetentionFor).
	SetRetention int32 `json:"setRetention,omitempty"`
	// OutsidePatterns is set when the policy's logGroupPatterns do not
	// admit the name: ecslogfix may neither create it nor change its
	// retention.
	OutsidePatterns bool `json:"outsidePatterns,omitempty"`
	// DriverCreates is set when every container writing to it sets
	// awslogs-create-group true: the driver creates it if it is missing.
	DriverCreates bool `json:"driverCreates,omitempty"`
}

// Missing reports whether the group was observed and does not exist.
func (g LogGroup) Missing() bool { return g.Observed != nil && !g.Observed.Exists }

// Ref names the group.
func (g LogGroup) Ref() awslogs.GroupRef { return awslogs.GroupRef{Name: g.Name, Region: g.Region} }

// Blocker is a reason the plan must not be applied.
type Blocker struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// Blocker codes.
const (
	BlockNoExecutionRole = "NO_EXECUTION_ROLE" // Fargate/EXTERNAL needs one for awslogs and the policy names none
	BlockTooLarge        = "TOO_LARGE"         // the register request would exceed 64 KiB
	BlockInvalidGroup    = "INVALID_LOG_GROUP" // the template yields an invalid log group name
	BlockInvalidInput    = "INVALID_INPUT"     // the source cannot be re-registered as it is
	BlockKMSKeyRegion    = "KMS_KEY_REGION"    // the policy's KMS key is in another region than a group to create
)

// Plan is the fix for one task definition revision.
type Plan struct {
	SourceARN string  `json:"sourceArn,omitempty"`
	Family    string  `json:"family"`
	Revision  int32   `json:"revision,omitempty"`
	Context   Context `json:"context"`
	Exempt    bool    `json:"exempt,omitempty"`
	// Exemption says why the plan is exempt; ExemptionNotes name the
	// exemptions that matched but no longer apply (expired, malformed).
	Exemption      *exemption.Exemption `json:"exemption,omitempty"`
	ExemptionNotes []exemption.Note     `json:"exemptionNotes,omitempty"`
	Compliant      bool                 `json:"compliant"` // nothing to do
	Containers     []ContainerChange    `json:"containers"`
	LogGroups      []LogGroup           `json:"logGroups,omitempty"`
	// ExecutionRoleARN is set when the plan adds the policy's default
	// execution role.
	ExecutionRoleARN string    `json:"executionRoleArn,omitempty"`
	Blockers         []Blocker `json:"blockers,omitempty"`
	// Changed is the fixed task definition; nil when there is nothing to
	// register (compliant, exempt, or only REPORT actions). A blocked plan
	// keeps it for display, but NeedsChange is false. Never serialised: it
	// holds the full container definitions.
	Changed *types.TaskDefinition `json:"-"`
}
