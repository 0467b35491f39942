package config

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/ecslogfix/ecslogfix/internal/awsarn"
	"github.com/ecslogfix/ecslogfix/internal/policy"
	"github.com/ecslogfix/ecslogfix/internal/taskdef"
)

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
	TagSource  = taskdef.TagSourceRevision // on a registered revision: the revision number it was built from
	TagManaged = taskdef.TagManaged        // on created log groups and registered revisions: "true"
)

// Deployment modes.
const (
	ModeSingle       = "single"
	ModeOrganization = "organization"
)

// DefaultRegisterRate is the RegisterTaskDefinition rate (calls per second
// per function instance) when none is configured: half of ECS's sustained
// 1/s per account, leaving room for the account's own pipelines.
const DefaultRegisterRate = 0.5

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

// Environ renders r as the environment variables above. Empty values are
// left out; the policy is always present (as compact JSON). Values may
// contain CDK tokens: they are only concatenated, never parsed.
func (r Runtime) Environ() map[string]string {
	pol, err := json.Marshal(r.Policy)
	if err != nil { // policy.Policy holds only strings, numbers, slices and maps
		panic(fmt.Sprintf("config: marshal policy: %v", err))
	}
	env := map[string]string{EnvPolicy: string(pol)}
	set := func(k, v string) {
		if v != "" {
			env[k] = v
		}
	}
	set(EnvMode, r.Mode)
	set(EnvStateMachineARN, r.StateMachineARN)
	set(EnvTopicARN, r.TopicARN)
	set(EnvOwnRoleARNs, strings.Join(r.OwnRoleARNs, ","))
	set(EnvMemberRoleName, r.MemberRoleName)
	set(EnvOrganizationID, r.OrganizationID)
	set(EnvAllowedAccounts, strings.Join(r.AllowedAccounts, ","))
	set(EnvRegions, strings.Join(r.Regions, ","))
	if r.RegisterRate != 0 {
		env[EnvRegisterRate] = strconv.FormatFloat(r.RegisterRate, 'g', -1, 64)
	}
	set(EnvSlackWebhookARN, r.SlackWebhookARN)
	return env
}

// EnvError names the environment variable that is missing or invalid.
type EnvError struct {
	Var     string
	Problem string
}

func (e *EnvError) Error() string { return "config: " + e.Var + ": " + e.Problem }

// RuntimeFromEnv reads and validates a Runtime; getenv is os.Getenv in
// production. The policy (ECSLOGFIX_POLICY) is required and goes through
// policy.Parse, so defaults apply to fields it leaves out. The mode defaults
// to single and the register rate to DefaultRegisterRate; organization mode
// requires the member role name and the organization ID. Which ARNs a
// function needs (state machine, topic) is checked by that function.
func RuntimeFromEnv(getenv func(string) string) (Runtime, error) {
	r := Runtime{
		Mode:            strings.TrimSpace(getenv(EnvMode)),
		StateMachineARN: strings.TrimSpace(getenv(EnvStateMachineARN)),
		TopicARN:        strings.TrimSpace(getenv(EnvTopicARN)),
		OwnRoleARNs:     splitList(getenv(EnvOwnRoleARNs)),
		MemberRoleName:  strings.TrimSpace(getenv(EnvMemberRoleName)),
		OrganizationID:  strings.TrimSpace(getenv(EnvOrganizationID)),
		AllowedAccounts: splitList(getenv(EnvAllowedAccounts)),
		Regions:         splitList(getenv(EnvRegions)),
		RegisterRate:    DefaultRegisterRate,
		SlackWebhookARN: strings.TrimSpace(getenv(EnvSlackWebhookARN)),
	}
	switch r.Mode {
	case "":
		r.Mode = ModeSingle
	case ModeSingle, ModeOrganization:
	default:
		return Runtime{}, &EnvError{EnvMode, fmt.Sprintf("%q is not %q or %q", r.Mode, ModeSingle, ModeOrganization)}
	}
	raw := strings.TrimSpace(getenv(EnvPolicy))
	if raw == "" {
		return Runtime{}, &EnvError{EnvPolicy, "not set"}
	}
	p, err := policy.Parse([]byte(raw))
	if err != nil {
		return Runtime{}, fmt.Errorf("config: %s: %w", EnvPolicy, err)
	}
	r.Policy = p
	if s := strings.TrimSpace(getenv(EnvRegisterRate)); s != "" {
		f, err := strconv.ParseFloat(s, 64)
		if err != nil || f <= 0 || f > 20 {
			return Runtime{}, &EnvError{EnvRegisterRate, fmt.Sprintf("%q is not a number in (0, 20]", s)}
		}
		r.RegisterRate = f
	}
	for _, a := range r.AllowedAccounts {
		if !awsarn.ValidAccount(a) {
			return Runtime{}, &EnvError{EnvAllowedAccounts, fmt.Sprintf("%q is not a 12-digit account ID", a)}
		}
	}
	for _, rg := range r.Regions {
		if !awsarn.ValidRegion(rg) {
			return Runtime{}, &EnvError{EnvRegions, fmt.Sprintf("%q is not a region name", rg)}
		}
	}
	if r.Mode == ModeOrganization {
		if r.MemberRoleName == "" {
			return Runtime{}, &EnvError{EnvMemberRoleName, "required in organization mode"}
		}
		if !awsarn.ValidOrganization(r.OrganizationID) {
			return Runtime{}, &EnvError{EnvOrganizationID, fmt.Sprintf("organization mode requires an organization ID (o-...), got %q", r.OrganizationID)}
		}
	}
	return r, nil
}

// splitList splits a comma-separated list, trimming blanks and dropping
// empty items.
func splitList(s string) []string {
	var out []string
	for _, item := range strings.Split(s, ",") {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	return out
}
