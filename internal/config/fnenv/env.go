// Package fnenv is the functions' environment contract: one type per
// function (DetectEnv, SweepEnv, RemediateEnv, NotifyEnv, HookEnv,
// ReportEnv), the variable names the infrastructure sets and the functions
// read, and the one writer (Environ) and reader (Read*Env) of each. The
// deployment configuration it is derived from is internal/config's.
package fnenv

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/ecslogfix/ecslogfix/internal/awsarn"
	"github.com/ecslogfix/ecslogfix/internal/awsclient"
	"github.com/ecslogfix/ecslogfix/internal/config"
	"github.com/ecslogfix/ecslogfix/internal/config/contextvalue"
	"github.com/ecslogfix/ecslogfix/internal/policy"
)

// Environment variable names the infrastructure sets on the functions and
// the functions read. This list is the one place they are spelled; each
// means one thing.
const (
	EnvPolicy          = "ECSLOGFIX_POLICY"            // the policy as JSON
	EnvMode            = "ECSLOGFIX_MODE"              // single | organization
	EnvStateMachineARN = "ECSLOGFIX_STATE_MACHINE_ARN" // detect, sweep: the remediation workflow
	EnvTopicARN        = "ECSLOGFIX_TOPIC_ARN"         // notify
	EnvOwnRoleARNs     = "ECSLOGFIX_OWN_ROLE_ARNS"     // detect: comma-separated; registrations by these are ours (loop guard)
	EnvMemberRoleName  = "ECSLOGFIX_MEMBER_ROLE_NAME"  // detect, sweep in organization mode: the role assumed in member accounts
	EnvAllowedAccounts = "ECSLOGFIX_ALLOWED_ACCOUNTS"  // detect, sweep: optional comma-separated allow-list
	EnvRegions         = "ECSLOGFIX_REGIONS"           // sweep: comma-separated regions it covers
	EnvStartRate       = "ECSLOGFIX_START_RATE"        // sweep: workflow executions started per second, per account-region walked
	EnvReadRate        = "ECSLOGFIX_READ_RATE"         // sweep: ECS task-definition reads per second per account and region
	EnvSweepBucket     = "ECSLOGFIX_SWEEP_BUCKET"      // sweep: the bucket of its targets, results and reports
	EnvTargetOUs       = "ECSLOGFIX_TARGET_OUS"        // sweep in organization mode: the OUs (or root) whose accounts it covers
	EnvStackSetCallAs  = "ECSLOGFIX_STACKSET_CALL_AS"  // sweep in organization mode: SELF or DELEGATED_ADMIN
	EnvRoleStackSet    = "ECSLOGFIX_ROLE_STACKSET"     // sweep in organization mode: the member IAM StackSet
	EnvForwardStackSet = "ECSLOGFIX_FORWARD_STACKSET"  // sweep in organization mode: the regional member StackSet
	EnvRegisterRate    = "ECSLOGFIX_REGISTER_RATE"     // remediate: RegisterTaskDefinition calls per second, per function instance
	EnvRolloutRate     = "ECSLOGFIX_ROLLOUT_RATE"      // remediate: UpdateService, PutTargets and UpdateSchedule calls per second, per function instance
	EnvSlackWebhookARN = "ECSLOGFIX_SLACK_WEBHOOK_SECRET_ARN"
	// EnvDigestPoll (notify) is how many seconds the sweep waits between
	// asks for its digest while outcomes are missing (default: a minute).
	EnvDigestPoll = "ECSLOGFIX_DIGEST_POLL_SECONDS"
	// EnvEventBus (notify) is the bus every published notification is
	// also put on as an event: the default bus, or the hub's.
	EnvEventBus = "ECSLOGFIX_EVENT_BUS"
)

// EnvError names the environment variable that is missing or invalid.
type EnvError struct {
	Var     string
	Problem string
	Err     error // the cause, when there is one (e.g. a *policy.FieldError)
}

func (e *EnvError) Error() string { return "config: " + e.Var + ": " + e.Problem }
func (e *EnvError) Unwrap() error { return e.Err }

// StarterEnv is what the two functions that start remediation
// executions (detect and the sweep) both read: how they reach a target
// account, the policy they plan with, the state machine they start, the
// accounts they act in and the history of their decisions.
type StarterEnv struct {
	Mode            string
	Policy          policy.Policy
	StateMachineARN string
	MemberRoleName  string // organization mode
	AllowedAccounts []string
	History         config.HistoryEnv // compliant and exempt decisions (the sweep: also each target swept)
}

// DetectEnv is the detect function's environment.
type DetectEnv struct {
	StarterEnv
	OwnRoleARNs []string
}

// SweepEnv is the sweep function's environment.
type SweepEnv struct {
	StarterEnv
	Regions   []string
	StartRate float64 // executions started per second, per account-region walked
	ReadRate  float64 // ECS reads per second per account and region
	Bucket    string
	// Organization mode: what the inventory reads.
	TargetOUs          []string
	StackSetCallAs     string
	RoleStackSet       string
	ForwardingStackSet string
}

// RemediateEnv is the remediate function's environment.
type RemediateEnv struct {
	Policy       policy.Policy
	RegisterRate float64 // per function instance
	RolloutRate  float64 // per function instance
}

// NotifyEnv is the notify function's environment.
type NotifyEnv struct {
	TopicARN        string
	SlackWebhookARN string
	// SweepBucket holds the outcomes of the executions a sweep started,
	// for its digest (EnvSweepBucket).
	SweepBucket string
	// DigestPollSeconds: EnvDigestPoll (0: notify's default).
	DigestPollSeconds int
	// EventBus: EnvEventBus (a bus name or ARN; empty: no events).
	EventBus string
	History  config.HistoryEnv // workflow outcomes
	// Mode and MemberRoleName say how a member account is reached to
	// import its findings (organization mode with findings).
	Mode           string
	MemberRoleName string
}

// HookEnv is the CloudFormation Lambda Hook's environment: the policy
// only (the hook makes no AWS calls).
type HookEnv struct {
	Policy policy.Policy
}

// environ renders e as environment variables. Values may be CDK tokens:
// they are only concatenated, never parsed.
func (e StarterEnv) environ() environ {
	w := environ{}
	w.policy(e.Policy)
	w.set(EnvMode, e.Mode)
	w.set(EnvStateMachineARN, e.StateMachineARN)
	w.set(EnvMemberRoleName, e.MemberRoleName)
	w.list(EnvAllowedAccounts, e.AllowedAccounts)
	w.history(e.History)
	return w
}

// readStarter reads and validates what StarterEnv holds.
func (r *reader) readStarter() StarterEnv {
	e := StarterEnv{
		Mode:            r.mode(),
		Policy:          r.policy(),
		StateMachineARN: r.required(EnvStateMachineARN),
		MemberRoleName:  r.str(EnvMemberRoleName),
		AllowedAccounts: r.allowedAccounts(),
		History:         r.history(),
	}
	r.memberRole(e.Mode, e.MemberRoleName)
	return e
}

// Environ renders e as environment variables.
func (e DetectEnv) Environ() map[string]string {
	w := e.StarterEnv.environ()
	w.list(EnvOwnRoleARNs, e.OwnRoleARNs)
	return w
}

// Environ renders e as environment variables.
func (e SweepEnv) Environ() map[string]string {
	w := e.StarterEnv.environ()
	w.list(EnvRegions, e.Regions)
	w.rate(EnvStartRate, e.StartRate)
	w.rate(EnvReadRate, e.ReadRate)
	w.set(EnvSweepBucket, e.Bucket)
	w.list(EnvTargetOUs, e.TargetOUs)
	w.set(EnvStackSetCallAs, e.StackSetCallAs)
	w.set(EnvRoleStackSet, e.RoleStackSet)
	w.set(EnvForwardStackSet, e.ForwardingStackSet)
	return w
}

// Environ renders e as environment variables.
func (e RemediateEnv) Environ() map[string]string {
	w := environ{}
	w.policy(e.Policy)
	w.rate(EnvRegisterRate, e.RegisterRate)
	w.rate(EnvRolloutRate, e.RolloutRate)
	return w
}

// Environ renders e as environment variables.
func (e NotifyEnv) Environ() map[string]string {
	w := environ{}
	w.set(EnvTopicARN, e.TopicARN)
	w.set(EnvSlackWebhookARN, e.SlackWebhookARN)
	w.set(EnvSweepBucket, e.SweepBucket)
	w.set(EnvEventBus, e.EventBus)
	if e.DigestPollSeconds > 0 {
		w.set(EnvDigestPoll, strconv.Itoa(e.DigestPollSeconds))
	}
	w.history(e.History)
	if e.History.Findings {
		w.set(EnvMode, e.Mode)
		w.set(EnvMemberRoleName, e.MemberRoleName)
	}
	return w
}

// Environ renders e as environment variables.
func (e HookEnv) Environ() map[string]string {
	w := environ{}
	w.policy(e.Policy)
	return w
}

// ReadHookEnv reads and validates the hook's environment.
func ReadHookEnv(getenv func(string) string) (HookEnv, error) {
	r := reader{get: getenv}
	e := HookEnv{Policy: r.policy()}
	return e, r.err
}

// ReadDetectEnv reads and validates detect's environment; getenv is
// os.Getenv in production.
func ReadDetectEnv(getenv func(string) string) (DetectEnv, error) {
	r := reader{get: getenv}
	e := DetectEnv{StarterEnv: r.readStarter(),
		OwnRoleARNs: r.list(EnvOwnRoleARNs, func(s string) bool { _, ok := awsarn.ParseRole(s); return ok }, "an IAM role ARN")}
	return e, r.err
}

// ReadSweepEnv reads and validates the sweep's environment.
func ReadSweepEnv(getenv func(string) string) (SweepEnv, error) {
	r := reader{get: getenv}
	e := SweepEnv{
		StarterEnv: r.readStarter(),
		Regions:    r.list(EnvRegions, awsarn.ValidRegion, "a region name"),
		StartRate:  r.rate(EnvStartRate, config.DefaultRegisterRate),
		ReadRate:   r.readRate(EnvReadRate, awsclient.DefaultReadRate),
	}
	e.Bucket = r.required(EnvSweepBucket)
	e.TargetOUs = r.list(EnvTargetOUs, awsarn.ValidOU, "an OU or root ID")
	e.StackSetCallAs = r.str(EnvStackSetCallAs)
	e.RoleStackSet, e.ForwardingStackSet = r.str(EnvRoleStackSet), r.str(EnvForwardStackSet)
	if e.Mode == config.ModeOrganization {
		for _, v := range []struct {
			name string
			set  bool
		}{{EnvTargetOUs, len(e.TargetOUs) > 0}, {EnvRoleStackSet, e.RoleStackSet != ""}, {EnvForwardStackSet, e.ForwardingStackSet != ""}} {
			if !v.set {
				r.fail(v.name, "required in organization mode")
			}
		}
	}
	if c := e.StackSetCallAs; c != "" && c != "SELF" && c != "DELEGATED_ADMIN" {
		r.fail(EnvStackSetCallAs, fmt.Sprintf("%q is not SELF or DELEGATED_ADMIN", c))
	}
	return e, r.err
}

// ReadRemediateEnv reads and validates remediate's environment.
func ReadRemediateEnv(getenv func(string) string) (RemediateEnv, error) {
	r := reader{get: getenv}
	e := RemediateEnv{Policy: r.policy(), RegisterRate: r.rate(EnvRegisterRate, config.DefaultRegisterRate),
		RolloutRate: r.rate(EnvRolloutRate, config.DefaultRolloutRate)}
	return e, r.err
}

// ReadNotifyEnv reads and validates notify's environment.
func ReadNotifyEnv(getenv func(string) string) (NotifyEnv, error) {
	r := reader{get: getenv}
	e := NotifyEnv{TopicARN: r.required(EnvTopicARN), SlackWebhookARN: r.str(EnvSlackWebhookARN), SweepBucket: r.str(EnvSweepBucket), EventBus: r.str(EnvEventBus),
		DigestPollSeconds: int(math.Ceil(r.number(EnvDigestPoll, 0, func(v float64) bool { return v > 0 && v <= 3600 }, 3600))), History: r.history()}
	if e.History.Findings {
		e.Mode, e.MemberRoleName = r.mode(), r.str(EnvMemberRoleName)
		r.memberRole(e.Mode, e.MemberRoleName)
	}
	return e, r.err
}

// environ renders variables; empty values are left out.
type environ map[string]string

func (w environ) set(k, v string) {
	if v != "" {
		w[k] = v
	}
}

func (w environ) list(k string, vs []string) { w.set(k, strings.Join(vs, ",")) }

func (w environ) rate(k string, v float64) {
	if v != 0 {
		w[k] = strconv.FormatFloat(v, 'g', -1, 64)
	}
}

// policy is always present, as compact JSON.
func (w environ) policy(p policy.Policy) {
	b, err := json.Marshal(p)
	if err != nil { // policy.Policy holds only strings, numbers, slices and maps
		panic(fmt.Sprintf("config: marshal policy: %v", err))
	}
	w[EnvPolicy] = string(b)
}

// reader reads variables and keeps the first problem.
type reader struct {
	get func(string) string
	err error
}

func (r *reader) fail(name, problem string) {
	if r.err == nil {
		r.err = &EnvError{Var: name, Problem: problem}
	}
}

func (r *reader) str(name string) string { return strings.TrimSpace(r.get(name)) }

func (r *reader) required(name string) string {
	s := r.str(name)
	if s == "" {
		r.fail(name, "not set")
	}
	return s
}

// list splits a comma-separated list, trimming blanks and dropping empty
// items, and checks each item.
func (r *reader) list(name string, valid func(string) bool, what string) []string {
	var out []string
	for _, item := range contextvalue.SplitList(r.get(name)) {
		if !valid(item) {
			r.fail(name, fmt.Sprintf("%q is not %s", item, what))
		}
		out = append(out, item)
	}
	return out
}

// allowedAccounts reads the optional allow-list of detect and the sweep.
func (r *reader) allowedAccounts() []string {
	return r.list(EnvAllowedAccounts, awsarn.ValidAccount, "a 12-digit account ID")
}

func (r *reader) rate(name string, def float64) float64 {
	return r.number(name, def, awsclient.ValidRate, awsclient.MaxRate)
}

func (r *reader) readRate(name string, def float64) float64 {
	return r.number(name, def, awsclient.ValidReadRate, awsclient.MaxReadRate)
}

func (r *reader) number(name string, def float64, valid func(float64) bool, maximum float64) float64 {
	s := r.str(name)
	if s == "" {
		return def
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || !valid(f) {
		r.fail(name, fmt.Sprintf("%q is not a number in (0, %g]", s, maximum))
	}
	return f
}

func (r *reader) mode() string {
	switch m := r.str(EnvMode); m {
	case "":
		return config.ModeSingle
	case config.ModeSingle, config.ModeOrganization:
		return m
	default:
		r.fail(EnvMode, fmt.Sprintf("%q is not %q or %q", m, config.ModeSingle, config.ModeOrganization))
		return ""
	}
}

// policy goes through policy.Parse, so defaults apply to fields the JSON
// leaves out.
func (r *reader) policy() policy.Policy {
	raw := r.str(EnvPolicy)
	if raw == "" {
		r.fail(EnvPolicy, "not set")
		return policy.Policy{}
	}
	p, err := policy.Parse([]byte(raw))
	if err != nil && r.err == nil {
		r.err = &EnvError{Var: EnvPolicy, Problem: err.Error(), Err: err}
	}
	return p
}

func (r *reader) memberRole(mode, role string) {
	if mode == config.ModeOrganization && role == "" {
		r.fail(EnvMemberRoleName, "required in organization mode")
	}
}
