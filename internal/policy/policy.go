// Package policy decides what "compliant logging" means for an ECS task
// definition: the Policy value, its loading and validation, and Evaluate,
// which returns per-container findings with stable reason codes. Pure: no
// AWS calls.
package policy

import (
	"fmt"

	"github.com/ecslogfix/ecslogfix/internal/policy/exemption"
	"github.com/ecslogfix/ecslogfix/internal/policy/reason"
)

// AccountPlaceholder may stand for the account in DefaultExecutionRoleARN.
const AccountPlaceholder = "{account}"

// Enforcement says whether violations are fixed or only reported.
type Enforcement string

// Enforcement modes.
const (
	Enforce Enforcement = "enforce"
	Report  Enforcement = "report"
)

// OtherDrivers says what to do with a container that uses a driver the
// policy does not allow (other than awsfirelens, which is always reported).
type OtherDrivers string

// OtherDrivers values.
const (
	Replace      OtherDrivers = "replace"
	ReportDriver OtherDrivers = "report"
)

// Policy is the one description of compliant logging, shared by the
// Lambdas, the CLI and the infrastructure.
type Policy struct {
	// AllowedDrivers lists the compliant log drivers. Default [awslogs].
	AllowedDrivers []string `json:"allowedDrivers"`
	// LogGroupTemplate names the log group added to a container. Placeholders:
	// {family}, {account}, {region}, {container}. Default "/ecs/{family}".
	LogGroupTemplate string `json:"logGroupTemplate"`
	// StreamPrefix is the awslogs-stream-prefix added when missing. Default "ecs".
	StreamPrefix string `json:"streamPrefix"`
	// LogRegion, when set, is the awslogs-region added (central logging);
	// otherwise the task definition's own region.
	LogRegion string `json:"logRegion,omitempty"`
	// RetentionDays for log groups ecslogfix creates; one of CloudWatch
	// Logs' allowed values. Default 365.
	RetentionDays int32 `json:"retentionDays"`
	// KMSKeyARN, when set, encrypts log groups ecslogfix creates.
	KMSKeyARN string `json:"kmsKeyArn,omitempty"`
	// LogGroupClass for created log groups: "", STANDARD or INFREQUENT_ACCESS.
	LogGroupClass string `json:"logGroupClass,omitempty"`
	// Mode, when set ("blocking" or "non-blocking"), is added as the awslogs
	// "mode" option where absent. An explicit mode is never changed.
	Mode string `json:"mode,omitempty"`
	// MaxBufferSize, when set (e.g. "25m"), is added with mode non-blocking.
	MaxBufferSize string `json:"maxBufferSize,omitempty"`
	// OtherDrivers: replace (default, per the SOP) or report.
	OtherDrivers OtherDrivers `json:"otherDrivers"`
	// ExemptionTag exempts a task definition. Default ecslogfix:exempt=true.
	ExemptionTag exemption.Tag `json:"exemptionTag"`
	// Enforcement: enforce (default) or report.
	Enforcement Enforcement `json:"enforcement"`
	// DefaultExecutionRoleARN is set on Fargate/EXTERNAL task definitions
	// that have no execution role; without it such plans are blocked. Its
	// account may be the placeholder {account} (organization mode: the role
	// each member account has), expanded for the account being fixed.
	DefaultExecutionRoleARN string `json:"defaultExecutionRoleArn,omitempty"`
	// LogGroupTags are added to log groups ecslogfix creates.
	LogGroupTags map[string]string `json:"logGroupTags,omitempty"`
	// LogGroupPatterns are the log group names ecslogfix may create and
	// set retention on; "*" matches any characters, as in an IAM resource.
	// The remediate role's CloudWatch Logs permissions are scoped to them.
	// Default (empty): the template's literal prefix followed by "*"
	// ("/ecs/*" for "/ecs/{family}"), see GroupPatterns.
	LogGroupPatterns []string `json:"logGroupPatterns,omitempty"`
	// ExistingGroupRetention says what ecslogfix does to the retention of
	// a group that exists already and that a revision it acts on uses:
	// keep, setIfNeverExpire (default) or enforce. See RetentionFor.
	ExistingGroupRetention RetentionMode `json:"existingGroupRetention"`
	// AllowShorten lets existingGroupRetention enforce lower a retention
	// longer than RetentionDays. Default false.
	AllowShorten bool `json:"allowShorten"`
	// DeletionProtection is set on the log groups ecslogfix creates
	// (CloudWatch Logs then refuses to delete them until it is lifted;
	// ecslogfix backout lifts it first). Default true.
	DeletionProtection *bool `json:"deletionProtection,omitempty"`
	// RequiredMode is the delivery mode every awslogs container must have
	// in effect: any (default), blocking or non-blocking. The effective
	// mode is the container's mode option, else the account's
	// defaultLogDriverMode setting, else non-blocking (AWS's default since
	// 2025-06-25).
	RequiredMode string `json:"requiredMode"`
	// MinBufferSize, when set (e.g. "25m"), is the smallest max-buffer-size
	// a container in non-blocking mode may have (ECS's default is 10m).
	MinBufferSize string `json:"minBufferSize,omitempty"`
	// Rollout says which consumers of a remediated revision ecslogfix
	// moves to the new revision: none (default), services or all; a task
	// definition's ecslogfix:rollout tag overrides it.
	Rollout RolloutMode `json:"rollout"`
	// DeregisterSource: never (default), or afterRollout: deregister the
	// source revision once every consumer moved and its deployment
	// completed.
	DeregisterSource string `json:"deregisterSource"`
	// RolloutTimeoutMinutes bounds the watch of the services'
	// deployments. Default 30.
	RolloutTimeoutMinutes int `json:"rolloutTimeoutMinutes"`
	// RolloutPollSeconds is the wait between two looks at the
	// deployments. Default 30.
	RolloutPollSeconds int `json:"rolloutPollSeconds"`
	// Exemptions are the rules and the register of exemptions besides the
	// exemption tag.
	Exemptions exemption.Exemptions `json:"exemptions,omitzero"`
}

// RolloutMode says which consumers of a remediated revision are moved.
type RolloutMode string

// Rollout modes.
const (
	RolloutNone     RolloutMode = "none"     // move nothing; the notification lists the consumers found
	RolloutServices RolloutMode = "services" // move ECS services
	RolloutAll      RolloutMode = "all"      // move services, EventBridge rule targets and Scheduler schedules
)

// DeregisterSource values.
const (
	DeregisterNever        = "never"
	DeregisterAfterRollout = "afterRollout"
)

// ParseRollout accepts none, services or all: the one check of a rollout
// mode for the policy, the ecslogfix:rollout tag and the CLI.
func ParseRollout(s string) (RolloutMode, error) {
	switch m := RolloutMode(s); m {
	case RolloutNone, RolloutServices, RolloutAll:
		return m, nil
	}
	return "", fmt.Errorf("%q is not %s, %s or %s", s, RolloutNone, RolloutServices, RolloutAll)
}

// ContainerFinding is the verdict on one container.
type ContainerFinding struct {
	Name      string        `json:"name"`
	Compliant bool          `json:"compliant"`
	Reasons   []reason.Code `json:"reasons,omitempty"`
	// Keys names the log options the reasons are about when a reason is
	// about an option's value or name (an unknown key, an invalid region,
	// prefix or mode), in order: what a human changes.
	Keys []string `json:"keys,omitempty"`
	// Exempt is set when register entries cover every reason of the
	// container: it is left as it is.
	Exempt    bool                 `json:"exempt,omitempty"`
	Exemption *exemption.Exemption `json:"exemption,omitempty"`
}

// Evaluation is the verdict on one task definition.
type Evaluation struct {
	Compliant  bool               `json:"compliant"`
	Exempt     bool               `json:"exempt"`
	Containers []ContainerFinding `json:"containers"`
	// Exemption says why the task definition is exempt.
	Exemption *exemption.Exemption `json:"exemption,omitempty"`
	// ExemptionNotes are the exemptions that matched but do not apply
	// (expired or malformed): a notification says so.
	ExemptionNotes []exemption.Note `json:"exemptionNotes,omitempty"`
}
