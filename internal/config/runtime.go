package config

import (
	"errors"

	"github.com/ecslogfix/ecslogfix/internal/policy"
)

// CONTRACT STUBS — replaced by the real implementation.

// Environment variable names the infrastructure sets on the functions and
// the functions read. This list is the one place they are spelled.
const (
	EnvPolicy          = "ECSLOGFIX_POLICY"            // the policy as JSON
	EnvStateMachineARN = "ECSLOGFIX_STATE_MACHINE_ARN" // detect
	EnvTopicARN        = "ECSLOGFIX_TOPIC_ARN"         // notify
	EnvOwnRoleARNs     = "ECSLOGFIX_OWN_ROLE_ARNS"     // comma-separated: registrations by these are ours (loop guard)
	EnvMemberRoleName  = "ECSLOGFIX_MEMBER_ROLE_NAME"  // organization mode: the role assumed in member accounts
	EnvOrganizationID  = "ECSLOGFIX_ORGANIZATION_ID"   // organization mode: events from other orgs are refused
	EnvAllowedAccounts = "ECSLOGFIX_ALLOWED_ACCOUNTS"  // optional comma-separated allow-list
	EnvRegions         = "ECSLOGFIX_REGIONS"           // comma-separated: regions the sweep covers
	EnvRegisterRate    = "ECSLOGFIX_REGISTER_RATE"     // RegisterTaskDefinition calls per second (per function instance)
	EnvSlackWebhookARN = "ECSLOGFIX_SLACK_WEBHOOK_SECRET_ARN"
	EnvMode            = "ECSLOGFIX_MODE" // single | organization
)

// Tag keys ecslogfix writes.
const (
	TagSource  = "ecslogfix:source-revision" // on a registered revision: "family:rev" it was built from
	TagManaged = "ecslogfix:managed"         // on created log groups and registered revisions: "true"
)

// Deployment modes.
const (
	ModeSingle       = "single"
	ModeOrganization = "organization"
)

// Runtime is the configuration a function reads from its environment.
type Runtime struct {
	Mode            string
	Policy          policy.Policy
	StateMachineARN string
	TopicARN        string
	OwnRoleARNs     []string
	MemberRoleName  string
	OrganizationID  string
	AllowedAccounts []string
	Regions         []string
	RegisterRate    float64
	SlackWebhookARN string
}

// Environ renders r as the environment variables above.
func (r Runtime) Environ() map[string]string { return nil }

// RuntimeFromEnv reads and validates a Runtime; getenv is os.Getenv in
// production.
func RuntimeFromEnv(getenv func(string) string) (Runtime, error) {
	return Runtime{}, errors.New("not implemented")
}
