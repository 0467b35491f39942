package config

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws/arn"

	"github.com/ecslogfix/ecslogfix/internal/awsarn"
	"github.com/ecslogfix/ecslogfix/internal/awsclient"
	"github.com/ecslogfix/ecslogfix/internal/config/contextvalue"
	"github.com/ecslogfix/ecslogfix/internal/config/naming"
	"github.com/ecslogfix/ecslogfix/internal/policy"
)

// ContextPrefix starts every CDK context key ecslogfix reads.
const ContextPrefix = "ecslogfix:"

// PolicyKey is the context key holding the whole policy as one JSON object
// (the same field names as the policy file). Individual fields can be
// overridden with PolicyKey + "." + field, e.g. ecslogfix:policy.retentionDays.
const PolicyKey = ContextPrefix + "policy"

// Defaults of the deployment configuration.
const (
	DefaultPrefix        = "ecslogfix"
	DefaultSweepSchedule = "rate(1 day)"
	// DefaultLogRetentionDays keeps ecslogfix's own logs a year, what the
	// Control Tower proactive control CT.CLOUDWATCH.PR.2 requires.
	DefaultLogRetentionDays = 365
	DefaultMemoryMB         = 128
	// DefaultRemediateConcurrency reserves no concurrency for remediate:
	// Lambda refuses a reservation that leaves the account less than its
	// minimum unreserved concurrency, and new accounts often have a quota of
	// 10 ("Configuring reserved concurrency",
	// https://docs.aws.amazon.com/lambda/latest/dg/configuration-concurrency.html),
	// so any reservation can roll back the first deployment there.
	DefaultRemediateConcurrency = 0
)

// Config is the deployment configuration the CDK app reads from cdk.json
// context (overridable with -c key=value). Keys lists every key.
type Config struct {
	// Mode is ModeSingle or ModeOrganization.
	Mode string
	// Prefix starts the physical name of every resource; see Names.
	Prefix string
	// Policy is the compliance policy, with defaults applied. When
	// CreateDefaultExecutionRole is set and the policy names no
	// defaultExecutionRoleArn, the infrastructure fills it in.
	Policy policy.Policy
	// PolicySet reports whether any policy key was given (otherwise Policy
	// is policy.Default()).
	PolicySet bool
	// NotificationEmails are subscribed to the topic (they must confirm).
	NotificationEmails []string
	// SlackWorkspaceID and SlackChannelID configure an AWS Chatbot Slack
	// channel subscribed to the topic; both or neither.
	SlackWorkspaceID string
	SlackChannelID   string
	// TeamsTenantID, TeamsTeamID and TeamsChannelID configure an AWS
	// Chatbot Microsoft Teams channel configuration subscribed to the
	// topic (all three, or none).
	TeamsTenantID  string
	TeamsTeamID    string
	TeamsChannelID string
	// SlackWebhookSecretARN names a Secrets Manager secret holding a Slack
	// incoming-webhook URL that notify posts to.
	SlackWebhookSecretARN string
	// OrganizationID (o-...) is required in organization mode.
	OrganizationID string
	// TargetOUs (ou-... or the root r-...) receive the member StackSet.
	TargetOUs []string
	// StackSetCallAs is SELF (the hub is the management account) or
	// DELEGATED_ADMIN (the hub is a delegated StackSets administrator).
	StackSetCallAs string
	// Regions: the member StackSet's regions (organization mode) and the
	// regions the sweep covers. Empty means the stack's own region.
	Regions []string
	// AllowedAccounts, when set, limits the accounts ecslogfix acts in.
	AllowedAccounts []string
	// SweepSchedule is an EventBridge schedule expression, or "" to disable.
	SweepSchedule string
	// SweepMaxConcurrency is how many account-regions the sweep's
	// Distributed Map walks at once.
	SweepMaxConcurrency int
	// SweepToleratedFailurePercentage of the account-regions may fail to be
	// walked before the sweep fails.
	SweepToleratedFailurePercentage float64
	// SweepAccessLogBucket, when set, receives the sweep bucket's server
	// access logs (a bucket of the stack's account and region).
	SweepAccessLogBucket string
	// CreateDefaultExecutionRole creates an ECS task execution role that the
	// policy's defaultExecutionRoleArn points to.
	CreateDefaultExecutionRole bool
	// LogRetentionDays is the retention of ecslogfix's own log groups.
	LogRetentionDays int
	// RegisterRate is the RegisterTaskDefinition calls per second ecslogfix
	// makes in all (per account and region at most): each of the
	// RemediateConcurrency remediate instances gets an equal share.
	RegisterRate float64
	// RolloutRate is the rollout's writes (UpdateService, PutTargets,
	// UpdateSchedule) per second in all, shared like RegisterRate.
	RolloutRate float64
	// RemediateConcurrency is the remediate function's reserved
	// concurrency; 0 reserves none.
	RemediateConcurrency int
	// MemoryMB is each function's memory size, by function name.
	MemoryMB map[string]int
	// IAMRegion is the one region whose member stacks hold the member
	// accounts' IAM roles (organization mode). It must never change.
	IAMRegion string
	// VPCSubnetIDs and VPCSecurityGroupIDs, both or neither, put the
	// functions in a customer-managed VPC.
	VPCSubnetIDs        []string
	VPCSecurityGroupIDs []string
	// Hook deploys the CloudFormation Lambda Hook that judges every
	// AWS::ECS::TaskDefinition before CloudFormation or Cloud Control API
	// creates or updates it (organization mode: in every member account
	// and region, calling the hub's function).
	Hook bool
	// HookFailureMode is the hook's FailureMode: WARN (proceed with a
	// warning) or FAIL (stop the operation).
	HookFailureMode string
	// History keeps every decision in an S3 bucket (Object Lock enabled)
	// and the state per family in a DynamoDB table.
	History bool
	// HistoryObjectLockDays, when > 0, is the default retention of every
	// history object in compliance mode: nobody can delete or overwrite a
	// version for that long.
	HistoryObjectLockDays int
	// HistoryAccessLogBucket, when set, receives the bucket's server
	// access logs (an existing log-archive bucket).
	HistoryAccessLogBucket string
	// SecurityHub is off, import (ecslogfix's findings in each account) or
	// notes (also notes on AWS's ECS.9 findings, from the administrator).
	SecurityHub string
	// ReportSchedule runs the report function (monthly by default); ""
	// disables it.
	ReportSchedule string
}

// Security Hub settings.
const (
	SecurityHubOff    = "off"
	SecurityHubImport = "import"
	SecurityHubNotes  = "notes"
)

// DefaultReportSchedule runs the report at 06:00 UTC on the first of each
// month, for the month before.
const DefaultReportSchedule = "cron(0 6 1 * ? *)"

// HistoryEnv is the history configuration the functions receive; bucket
// and table are the stack's (tokens are fine).
func (c Config) HistoryEnv(bucket, table string) HistoryEnv {
	if !c.History {
		return HistoryEnv{}
	}
	return HistoryEnv{Bucket: bucket, Table: table,
		Findings: c.SecurityHub == SecurityHubImport || c.SecurityHub == SecurityHubNotes, Notes: c.SecurityHub == SecurityHubNotes}
}

// Hook failure modes (AWS::CloudFormation::LambdaHook FailureMode).
const (
	HookWarn = "WARN"
	HookFail = "FAIL"
)

// RegisterRatePerInstance is the share of RegisterRate each remediate
// instance may use. With reserved concurrency N, each of the N instances
// gets 1/N, so together they stay within RegisterRate. Without a
// reservation the number of instances is not bounded: each gets the whole
// rate, and ECS's own throttling (retried by the SDK and the workflow)
// bounds a burst.
func (c Config) RegisterRatePerInstance() float64 { return c.perInstance(c.RegisterRate) }

// RolloutRatePerInstance is the share of RolloutRate each remediate
// instance may use (see RegisterRatePerInstance).
func (c Config) RolloutRatePerInstance() float64 { return c.perInstance(c.RolloutRate) }

func (c Config) perInstance(r float64) float64 {
	if c.RemediateConcurrency < 1 {
		return r
	}
	return r / float64(c.RemediateConcurrency)
}

// Partition is the AWS partition of the configured regions ("" when none
// is configured: the stack's own, known only at deploy time).
func (c Config) Partition() string {
	if len(c.Regions) == 0 {
		return ""
	}
	return awsarn.PartitionOr(c.Regions[0], "aws")
}

// Names returns the resource names derived from c.Prefix.
func (c Config) Names() naming.Names { return naming.Names{Prefix: c.Prefix} }

// KeyError names the context key whose value is invalid.
type KeyError struct {
	Key     string
	Problem string
}

func (e *KeyError) Error() string { return "config: context key " + e.Key + ": " + e.Problem }

// Load reads the deployment configuration through lookup (in the CDK app,
// Node.TryGetContext), applies the defaults and validates it. Values may be
// typed JSON (from cdk.json) or strings (from -c key=value): lists accept a
// JSON array or a comma-separated string, numbers and booleans their
// string forms, objects a JSON string. Unknown keys with the ecslogfix:
// prefix are reported by UnknownKeys.
func Load(lookup func(key string) (any, bool)) (Config, error) {
	c := Config{}
	for _, k := range Keys {
		if k.apply == nil {
			continue
		}
		v, ok := lookup(k.Name)
		if !ok || v == nil {
			v = nil
		}
		if err := k.apply(&c, v); err != nil {
			return Config{}, &KeyError{Key: k.Name, Problem: err.Error()}
		}
	}
	if err := c.loadPolicy(lookup); err != nil {
		return Config{}, err
	}
	return c, c.validate()
}

// loadPolicy merges the policy object with the individual policy keys and
// the enforcement key, then parses the result.
func (c *Config) loadPolicy(lookup func(string) (any, bool)) error {
	doc := map[string]any{}
	if v, ok := lookup(PolicyKey); ok && v != nil {
		m, err := contextvalue.Object(v)
		if err != nil {
			return &KeyError{PolicyKey, err.Error()}
		}
		doc = m
	}
	for _, f := range policyFields {
		key := PolicyKey + "." + f.name
		v, ok := lookup(key)
		if !ok || v == nil {
			continue
		}
		val, err := f.parse(v)
		if err != nil {
			return &KeyError{key, err.Error()}
		}
		doc[f.name] = val
	}
	if v, ok := lookup(ContextPrefix + "enforcement"); ok && v != nil {
		s, err := contextvalue.String(v)
		if err != nil {
			return &KeyError{ContextPrefix + "enforcement", err.Error()}
		}
		if s != string(policy.Enforce) && s != string(policy.Report) {
			return &KeyError{ContextPrefix + "enforcement", fmt.Sprintf("%q is not %q or %q", s, policy.Enforce, policy.Report)}
		}
		doc["enforcement"] = s
	}
	if len(doc) == 0 {
		c.Policy = policy.Default()
		return nil
	}
	data, err := json.Marshal(doc)
	if err != nil {
		return &KeyError{PolicyKey, err.Error()}
	}
	p, err := policy.Parse(data)
	if err != nil {
		return &KeyError{PolicyKey, err.Error()}
	}
	c.Policy, c.PolicySet = p, true
	return nil
}

var prefixRE = regexp.MustCompile(`^[a-z][a-z0-9-]{0,19}$`)

func (c Config) validate() error {
	key := func(k string) string { return ContextPrefix + k }
	if c.Mode == ModeOrganization {
		if c.OrganizationID == "" {
			return &KeyError{key("organizationId"), "required in organization mode"}
		}
		if len(c.TargetOUs) == 0 {
			return &KeyError{key("targetOUs"), "required in organization mode (ou-... or the root r-...)"}
		}
		if len(c.Regions) == 0 {
			return &KeyError{key("regions"), "required in organization mode: the regions the member StackSet covers"}
		}
	}
	if (c.SlackWorkspaceID == "") != (c.SlackChannelID == "") {
		return &KeyError{key("slackChannelId"), "slackWorkspaceId and slackChannelId must be set together"}
	}
	if teams := []string{c.TeamsTenantID, c.TeamsTeamID, c.TeamsChannelID}; slices.Contains(teams, "") && slices.ContainsFunc(teams, func(s string) bool { return s != "" }) {
		return &KeyError{key("teamsChannelId"), "teamsTenantId, teamsTeamId and teamsChannelId must be set together"}
	}
	if (len(c.VPCSubnetIDs) == 0) != (len(c.VPCSecurityGroupIDs) == 0) {
		return &KeyError{key("vpcSecurityGroupIds"), "vpcSubnetIds and vpcSecurityGroupIds must be set together"}
	}
	if err := c.validatePartition(); err != nil {
		return err
	}
	if err := c.validateIAMRegion(); err != nil {
		return err
	}
	if err := c.validateEvidence(); err != nil {
		return err
	}
	return c.validateKMSKeyRegion()
}

// MaxPolicyBytes keeps the policy, which travels in each function's
// environment, inside Lambda's 4 KB for all variables together with the
// others.
const MaxPolicyBytes = 2560

// validateEvidence: findings and the report need the history, and the
// deployment refuses a malformed exemption (at run time one only stops
// exempting) and a policy too large for Lambda's environment.
func (c Config) validateEvidence() error {
	key := func(k string) string { return ContextPrefix + k }
	if !c.History {
		switch {
		case c.SecurityHub != SecurityHubOff:
			return &KeyError{key("securityHub"), "needs ecslogfix:history (findings follow the state the history keeps)"}
		case c.HistoryObjectLockDays > 0:
			return &KeyError{key("historyObjectLockDays"), "needs ecslogfix:history"}
		case c.HistoryAccessLogBucket != "":
			return &KeyError{key("historyAccessLogBucket"), "needs ecslogfix:history"}
		}
	}
	if probs := c.Policy.Exemptions.Problems(); len(probs) > 0 {
		return &KeyError{PolicyKey + ".exemptions", strings.Join(probs, "; ")}
	}
	if b, err := json.Marshal(c.Policy); err == nil && len(b) > MaxPolicyBytes {
		return &KeyError{PolicyKey, fmt.Sprintf("the policy is %d bytes of JSON, more than %d: it travels in every function's environment, which Lambda limits to 4 KB in all (shorten the exemption register)", len(b), MaxPolicyBytes)}
	}
	return nil
}

// validatePartition refuses what cannot work in the regions' partition:
// regions of two partitions, AWS Chatbot outside the commercial partition
// (its supported regions, https://docs.aws.amazon.com/chatbot/latest/adminguide/chatbot-regions.html,
// are all in "aws"), and organization mode in China, where StackSets cannot
// use trusted access with AWS Organizations
// (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/stacksets-prereqs.html).
// With no regions configured the stack's template asserts the same at
// deploy time.
func (c Config) validatePartition() error {
	part := c.Partition()
	for _, r := range c.Regions {
		if p := awsarn.PartitionOr(r, "aws"); p != part {
			return &KeyError{ContextPrefix + "regions", fmt.Sprintf("%s is in partition %s, %s in %s: one deployment covers one partition", c.Regions[0], part, r, p)}
		}
	}
	if part != "" && part != "aws" && c.SlackWorkspaceID != "" {
		return &KeyError{ContextPrefix + "slackWorkspaceId", fmt.Sprintf("AWS Chatbot is not available in partition %s (regions %s)", part, strings.Join(c.Regions, ","))}
	}
	if part != "" && part != "aws" && c.TeamsTeamID != "" {
		return &KeyError{ContextPrefix + "teamsTeamId", fmt.Sprintf("AWS Chatbot is not available in partition %s (regions %s)", part, strings.Join(c.Regions, ","))}
	}
	if part == "aws-cn" && c.Mode == ModeOrganization {
		return &KeyError{ContextPrefix + "mode", "organization mode needs StackSets trusted access with AWS Organizations, which the China regions do not offer"}
	}
	return nil
}

// validateIAMRegion: in organization mode the member roles live in one
// explicitly named region. Deriving it from the order of regions would move
// the roles (deleting them in every member account) when a region is added
// in front, the list reordered or the first region removed.
func (c Config) validateIAMRegion() error {
	key := ContextPrefix + "iamRegion"
	if c.Mode != ModeOrganization {
		if c.IAMRegion != "" {
			return &KeyError{key, "only used in organization mode"}
		}
		return nil
	}
	if c.IAMRegion == "" {
		return &KeyError{key, "required in organization mode: the region (one of ecslogfix:regions) whose member stacks hold the IAM roles; set it once and never change it"}
	}
	if !slices.Contains(c.Regions, c.IAMRegion) {
		return &KeyError{key, fmt.Sprintf("%s is not in ecslogfix:regions (%s): removing the IAM region would delete the member roles in every account", c.IAMRegion, strings.Join(c.Regions, ","))}
	}
	return nil
}

// validateKMSKeyRegion: KMS keys are regional, and CloudWatch Logs can only
// use a key of the log group's own region. ecslogfix creates groups in the
// policy's logRegion, or else in each covered region; the key must be in
// every one of them.
func (c Config) validateKMSKeyRegion() error {
	keyARN := c.Policy.KMSKeyARN
	if keyARN == "" {
		return nil
	}
	a, err := arn.Parse(keyARN)
	if err != nil {
		return &KeyError{PolicyKey + ".kmsKeyArn", err.Error()}
	}
	groups := c.Regions
	if c.Policy.LogRegion != "" {
		groups = []string{c.Policy.LogRegion}
	}
	for _, r := range groups {
		if r != a.Region {
			return &KeyError{PolicyKey + ".kmsKeyArn", fmt.Sprintf("the key is in %s but log groups are created in %s: KMS keys are regional (set policy.logRegion to %s for central logging, or use a key of each region)", a.Region, r, a.Region)}
		}
	}
	return nil
}

// UnknownKeys returns the context keys starting with ContextPrefix that
// Load does not know, sorted; the CDK app fails on them so a typo is not
// silently ignored.
func UnknownKeys(keys []string) []string {
	known := map[string]bool{PolicyKey: true}
	for _, k := range Keys {
		known[k.Name] = true
	}
	var out []string
	for _, k := range keys {
		if strings.HasPrefix(k, ContextPrefix) && !known[k] {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}

// Deployment modes.
const (
	ModeSingle       = "single"
	ModeOrganization = "organization"
)

// DefaultRegisterRate is the RegisterTaskDefinition rate in all when none
// is configured: half of ECS's sustained 1/s per account, leaving room for
// the account's own pipelines.
const DefaultRegisterRate = awsclient.DefaultRegisterRate

// DefaultRolloutRate is the rollout's write rate in all when none is
// configured.
const DefaultRolloutRate = awsclient.DefaultRolloutRate

// HistoryEnv is where the history is written and what goes to Security
// Hub; the zero value writes none.
type HistoryEnv struct {
	Bucket, Prefix, Table string
	// Findings imports Security Hub findings of state changes; Notes also
	// notes AWS's ECS.9 findings (the function runs in the Security Hub
	// administrator account).
	Findings, Notes bool
}

// On reports whether a history is configured.
func (h HistoryEnv) On() bool { return h.Bucket != "" }

// MaxObjectLockDays bounds historyObjectLockDays: S3 Object Lock retention
// is at most 100 years; ten are plenty for any audit.
const MaxObjectLockDays = 3653

func objectLockDays(v any) (int, error) {
	n, err := contextvalue.Int(v, 0)
	if err == nil && (n < 0 || n > MaxObjectLockDays) {
		err = fmt.Errorf("%d is not in [0, %d]", n, MaxObjectLockDays)
	}
	return n, err
}
