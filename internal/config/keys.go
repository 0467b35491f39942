package config

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/ecslogfix/ecslogfix/internal/awsarn"
	"github.com/ecslogfix/ecslogfix/internal/awsclient"
	"github.com/ecslogfix/ecslogfix/internal/config/contextvalue"
	"github.com/ecslogfix/ecslogfix/internal/config/naming"
	"github.com/ecslogfix/ecslogfix/internal/policy"
	"github.com/ecslogfix/ecslogfix/internal/policy/awslogs"
	"github.com/ecslogfix/ecslogfix/internal/workflow"
)

// Key documents one CDK context key: its name, type, default and meaning.
// The table Keys is the configuration reference (docs/configuration.md is
// generated from it by Markdown).
type Key struct {
	Name    string
	Type    string // string, list, bool, integer, number, object
	Default string // as documented
	Doc     string
	// apply parses the raw context value (nil when absent) into c,
	// applying the default. nil for keys Load handles itself (the policy).
	apply func(c *Config, v any) error
}

// Keys is every context key the CDK app reads, in documentation order.
var Keys = buildKeys()

func buildKeys() []Key {
	keys := []Key{
		{Name: ContextPrefix + "mode", Type: "string", Default: ModeSingle,
			Doc: "Deployment mode: `single` (one account: rule on the default bus, functions, workflow) or `organization` (hub stack plus a service-managed StackSet of member stacks).",
			apply: func(c *Config, v any) error {
				s, err := contextvalue.StringOr(v, ModeSingle)
				if err != nil {
					return err
				}
				if s != ModeSingle && s != ModeOrganization {
					return fmt.Errorf("%q is not %q or %q", s, ModeSingle, ModeOrganization)
				}
				c.Mode = s
				return nil
			}},
		{Name: ContextPrefix + "prefix", Type: "string", Default: DefaultPrefix,
			Doc: "Resource name prefix: functions, roles, the state machine, the topic, the hub bus and the member role are named `<prefix>-...`. Lower-case letters, digits and hyphens, at most 20 characters.",
			apply: func(c *Config, v any) error {
				s, err := contextvalue.StringOr(v, DefaultPrefix)
				if err != nil {
					return err
				}
				if !prefixRE.MatchString(s) {
					return fmt.Errorf("%q must match %s", s, prefixRE)
				}
				c.Prefix = s
				return nil
			}},
		{Name: ContextPrefix + "enforcement", Type: "string", Default: "enforce",
			Doc: "`enforce` (remediate) or `report` (notify with the plan, change nothing). Overrides the policy's `enforcement`."},
		{Name: PolicyKey, Type: "object", Default: "{}",
			Doc: "The whole policy as one JSON object with the policy file's field names, e.g. `{\"retentionDays\":90}`. Unset fields take the policy defaults below; each field can also be set alone with `ecslogfix:policy.<field>`, which wins over the object."},
	}
	for _, f := range policyFields {
		keys = append(keys, Key{Name: PolicyKey + "." + f.name, Type: f.typ, Default: f.def, Doc: f.doc})
	}
	keys = append(keys,
		listKey("notificationEmails", "[]", "Email addresses subscribed to the notification topic (each must confirm the subscription).",
			func(c *Config) *[]string { return &c.NotificationEmails }, contextvalue.ValidEmail, "an email address"),
		stringKey("slackWorkspaceId", "AWS Chatbot Slack workspace (team) ID; with `slackChannelId` the stack creates a Chatbot Slack channel configuration subscribed to the topic. The workspace must be authorized in the Chatbot console once.",
			func(c *Config) *string { return &c.SlackWorkspaceID }, contextvalue.ValidSlackID, slackIDWhat),
		stringKey("slackChannelId", "Slack channel ID for AWS Chatbot (see `slackWorkspaceId`).",
			func(c *Config) *string { return &c.SlackChannelID }, contextvalue.ValidSlackID, slackIDWhat),
		stringKey("teamsTenantId", "Microsoft Teams tenant ID (a GUID); with `teamsTeamId` and `teamsChannelId` the stack creates an AWS Chatbot Microsoft Teams channel configuration subscribed to the topic. The tenant must be authorized in the Chatbot console once (docs/notifications.md, \"Microsoft Teams\").",
			func(c *Config) *string { return &c.TeamsTenantID }, contextvalue.ValidGUID, "a Microsoft Teams tenant ID (GUID)"),
		stringKey("teamsTeamId", "Microsoft Teams team ID (a GUID, from the Chatbot console after the tenant's authorization; see `teamsTenantId`).",
			func(c *Config) *string { return &c.TeamsTeamID }, contextvalue.ValidGUID, "a Microsoft Teams team ID (GUID)"),
		stringKey("teamsChannelId", "Microsoft Teams channel ID, URL-encoded as Teams copies it (`19%3a…%40thread.tacv2`; see `teamsTenantId`).",
			func(c *Config) *string { return &c.TeamsChannelID }, contextvalue.ValidTeamsChannel, "a URL-encoded Microsoft Teams channel ID (19%3a…%40thread.tacv2)"),
		stringKey("slackWebhookSecretArn", "ARN of a Secrets Manager secret holding a Slack incoming-webhook URL; notify posts to it in addition to SNS. Only notify may read it.",
			func(c *Config) *string { return &c.SlackWebhookSecretARN }, contextvalue.ValidSecretARN, "a Secrets Manager secret ARN"),
		stringKey("organizationId", "AWS Organizations ID (`o-...`). Required in organization mode: the hub bus admits only this organization, and the member role trusts the hub only within it.",
			func(c *Config) *string { return &c.OrganizationID }, awsarn.ValidOrganization, "an organization ID (o-...)"),
		listKey("targetOUs", "[]", "Organization mode: the OUs (`ou-...`, or the root `r-...`) whose accounts receive the member stack; accounts joining them later are covered automatically.",
			func(c *Config) *[]string { return &c.TargetOUs }, awsarn.ValidOU, "an OU or root ID"),
		oneOfKey("stackSetCallAs", "Organization mode: `SELF` when the hub stack is deployed in the management account, `DELEGATED_ADMIN` when the hub account is a delegated administrator for CloudFormation StackSets.",
			func(c *Config) *string { return &c.StackSetCallAs }, "SELF", "SELF", "DELEGATED_ADMIN"),
		listKey("regions", "[] (the stack's region)", "Regions covered: where the member StackSet deploys (organization mode; required) and what the sweep scans. All in one partition.",
			func(c *Config) *[]string { return &c.Regions }, awsarn.ValidRegion, "a region name"),
		stringKey("iamRegion", "Organization mode (required): the one region, among `regions`, whose member stacks hold the member accounts' IAM roles (IAM is global). Set it once and never change it: moving it deletes and recreates the roles in every member account.",
			func(c *Config) *string { return &c.IAMRegion }, awsarn.ValidRegion, "a region name"),
		listKey("allowedAccounts", "[] (every account)", "Optional allow-list of 12-digit account IDs ecslogfix acts in; events from other accounts are ignored.",
			func(c *Config) *[]string { return &c.AllowedAccounts }, awsarn.ValidAccount, "a 12-digit account ID"),
		scheduleKey("sweepSchedule", DefaultSweepSchedule, "EventBridge schedule expression (`rate(...)` or `cron(...)`) of the sweep that re-checks every family's latest revision (CloudTrail delivery is best effort). `off` disables it.",
			func(c *Config) *string { return &c.SweepSchedule }),
		intKey("sweepMaxConcurrency", workflow.DefaultSweepConcurrency, 1, 10000, "How many account-regions the sweep walks at once (the Distributed Map's MaxConcurrency, 1 to 10000). ECS paces reads per account and region, so each walk keeps its own `readRate`; this bounds the concurrent sweep Lambdas and the starts of remediation executions across accounts.",
			func(c *Config) *int { return &c.SweepMaxConcurrency }),
		Key{Name: ContextPrefix + "sweepToleratedFailurePercentage", Type: "number", Default: strconv.FormatFloat(workflow.DefaultSweepToleratedFailurePercentage, 'g', -1, 64),
			Doc: "Percentage (0 to 100) of the account-regions whose walk may fail (an account being closed, a role an SCP denies) before the sweep fails; the sweep's summary lists the failed ones either way.",
			apply: func(c *Config, v any) error {
				f, err := contextvalue.Float(v, workflow.DefaultSweepToleratedFailurePercentage)
				if err == nil && (f < 0 || f > 100) {
					err = fmt.Errorf("%g is not in [0, 100]", f)
				}
				c.SweepToleratedFailurePercentage = f
				return err
			}},
		stringKey("sweepAccessLogBucket", "An S3 bucket of the stack's account and region (SSE-S3 encrypted: server access logs cannot be delivered to an SSE-KMS bucket) that receives the sweep bucket's server access logs. Unset, the sweep bucket logs no access and fails the Control Tower control CT.S3.PR.2 (infra/README.md, \"Governed organizations\").",
			func(c *Config) *string { return &c.SweepAccessLogBucket }, contextvalue.ValidBucket, "an S3 bucket name"),
		boolKey("createDefaultExecutionRole", true, "Create an ECS task execution role that may write to CloudWatch Logs (nothing else: no ECR pull, no secrets) and point the policy's `defaultExecutionRoleArn` at it, so Fargate and ECS Anywhere definitions without one can be fixed. The role is retained when ecslogfix is removed: revisions it fixed still name it. Ignored when the policy sets `defaultExecutionRoleArn`.",
			func(c *Config) *bool { return &c.CreateDefaultExecutionRole }),
		Key{Name: ContextPrefix + "logRetentionDays", Type: "integer", Default: strconv.Itoa(DefaultLogRetentionDays),
			Doc: "Retention (days) of ecslogfix's own log groups (functions, state machine); a CloudWatch Logs retention value. Below 365 the stack fails the Control Tower control CT.CLOUDWATCH.PR.2.",
			apply: func(c *Config, v any) error {
				n, err := contextvalue.Int(v, DefaultLogRetentionDays)
				if err == nil && !slices.Contains(policy.RetentionValues(), int32(n)) {
					err = fmt.Errorf("%d is not a CloudWatch Logs retention value", n)
				}
				c.LogRetentionDays = n
				return err
			}},
		Key{Name: ContextPrefix + "registerRate", Type: "number", Default: strconv.FormatFloat(DefaultRegisterRate, 'g', -1, 64),
			Doc:   "RegisterTaskDefinition calls per second ecslogfix makes (ECS allows 1/s sustained per account and region, shared with your pipelines), per attempt (SDK retries included): each remediate instance gets registerRate / remediateConcurrency, or the whole rate when no concurrency is reserved. The sweep starts executions at this rate too. The workflow's retries are sized for a burst of 300 executions at 0.5/s; a lower rate makes a burst of that size outlast them.",
			apply: func(c *Config, v any) error { return setRate(&c.RegisterRate, v, DefaultRegisterRate) }},
		Key{Name: ContextPrefix + "rolloutRate", Type: "number", Default: strconv.FormatFloat(DefaultRolloutRate, 'g', -1, 64),
			Doc:   "The rollout's writes per second (ECS UpdateService, EventBridge PutTargets, Scheduler UpdateSchedule), per attempt, shared by the remediate instances like `registerRate`. Each UpdateService starts a deployment that needs capacity for its new tasks: a low rate spreads a mass rollout out.",
			apply: func(c *Config, v any) error { return setRate(&c.RolloutRate, v, DefaultRolloutRate) }},
		intKey("remediateConcurrency", DefaultRemediateConcurrency, 0, 50, "Reserved concurrency of the remediate function; 0 (the default) reserves none. With N > 0 each instance registers at registerRate / N, so all of them stay within registerRate, and executions beyond N wait in the workflow's retry (Lambda.TooManyRequestsException). Lambda refuses a reservation that leaves the account less than its minimum unreserved concurrency: check the account's concurrency quota first (new accounts often have 10, which admits no reservation).",
			func(c *Config) *int { return &c.RemediateConcurrency }),
		boolKey("hook", false, "Deploy the CloudFormation Lambda Hook: before CloudFormation or Cloud Control API creates or updates an `AWS::ECS::TaskDefinition`, the hook judges it with the policy, as `ecslogfix check` does. Organization mode: the hub deploys the function and every member account and region gets the hook, which calls it.",
			func(c *Config) *bool { return &c.Hook }),
		oneOfKey("hookFailureMode", "The hook's `FailureMode`: `WARN` lets a non-compliant task definition deploy with a warning in the stack events; `FAIL` stops the operation.",
			func(c *Config) *string { return &c.HookFailureMode }, HookWarn, HookWarn, HookFail),
	)
	keys = append(keys,
		boolKey("history", false, "Keep evidence: every decision as a JSON line in an S3 bucket (`v1/account=…/region=…/date=…/`, KMS-encrypted, TLS only, versioned, Object Lock enabled, retained when the stack is deleted; Athena DDL in docs/history.md), the current state per (account, region, family) in a DynamoDB table, and a monthly report (`reportSchedule`). `ecslogfix report` reads it.",
			func(c *Config) *bool { return &c.History }),
		Key{Name: ContextPrefix + "historyObjectLockDays", Type: "integer", Default: "0",
			Doc:   "With `history`: the default Object Lock retention of every history object in compliance mode, in days (0: none). Nobody, not even the account root, can delete or overwrite a locked version before it ends, and it cannot be shortened.",
			apply: func(c *Config, v any) (err error) { c.HistoryObjectLockDays, err = objectLockDays(v); return err }},
		stringKey("historyAccessLogBucket", "With `history`: an existing bucket (e.g. the organization's log archive) that receives the history bucket's S3 server access logs; Control Tower's CT.S3.PR.2 requires it. The target bucket's policy must admit `logging.s3.amazonaws.com`.",
			func(c *Config) *string { return &c.HistoryAccessLogBucket }, contextvalue.ValidBucket, "an S3 bucket name"),
		oneOfKey("securityHub", "With `history`: `import` publishes ecslogfix's own findings (ASFF, one per family and reason, PASSED and archived once fixed, SUPPRESSED while exempt) in the account each task definition lives in (through the member role in organization mode); `notes` also adds a note to AWS's ECS.9 findings of a remediated revision, from this account, which must be the Security Hub administrator. Security Hub must be enabled where findings go; where it is not, they are skipped with a warning.",
			func(c *Config) *string { return &c.SecurityHub }, SecurityHubOff, SecurityHubOff, SecurityHubImport, SecurityHubNotes),
		scheduleKey("reportSchedule", DefaultReportSchedule, "With `history`: EventBridge schedule of the report function, which writes the previous month's compliance report (HTML, CSV, JSON) under `reports/` in the history bucket and announces it on the notification topic. `off` disables it.",
			func(c *Config) *string { return &c.ReportSchedule }),
	)
	keys = append(keys,
		listKey("vpcSubnetIds", "[]", "Subnets (`subnet-...`) to run the functions in, with `vpcSecurityGroupIds` (both or neither); Control Tower's CT.LAMBDA.PR.3 requires it. The subnets need a route to the AWS APIs the functions call (a NAT gateway, or interface endpoints for ECS, CloudWatch Logs, Step Functions, SNS, STS, Lambda and, with a Slack webhook, Secrets Manager).",
			func(c *Config) *[]string { return &c.VPCSubnetIDs }, contextvalue.ValidSubnet, "a subnet ID"),
		listKey("vpcSecurityGroupIds", "[]", "Security groups (`sg-...`) of the functions in the VPC (see `vpcSubnetIds`); they need outbound HTTPS only.",
			func(c *Config) *[]string { return &c.VPCSecurityGroupIDs }, contextvalue.ValidSecurityGroup, "a security group ID"),
	)
	for _, fn := range naming.Functions() {
		keys = append(keys, Key{Name: ContextPrefix + "memoryMB." + fn, Type: "integer", Default: strconv.Itoa(DefaultMemoryMB),
			Doc: "Memory size (MB) of the " + fn + " function.",
			apply: func(c *Config, v any) error {
				n, err := intIn(v, DefaultMemoryMB, 128, 10240)
				if c.MemoryMB == nil {
					c.MemoryMB = map[string]int{}
				}
				c.MemoryMB[fn] = n
				return err
			}})
	}
	return keys
}

// policyField is one field of the policy JSON settable as its own key.
type policyField struct {
	name, typ, def, doc string
	parse               func(v any) (any, error)
}

var policyFields = []policyField{
	{"allowedDrivers", "list", `["awslogs"]`, "Log drivers that count as compliant.", listValue},
	{"logGroupTemplate", "string", "/ecs/{family}", "Log group added to a container; placeholders `{family}`, `{account}`, `{region}`, `{container}`.", stringValue},
	{"streamPrefix", "string", "ecs", "`awslogs-stream-prefix` added where missing.", stringValue},
	{"logRegion", "string", "(the task definition's region)", "`awslogs-region` added, for central logging.", stringValue},
	{"retentionDays", "integer", "365", "Retention of log groups ecslogfix creates, and the one `existingGroupRetention` sets on existing groups. 365 meets Control Tower's CT.CLOUDWATCH.PR.2.", intValue},
	{"kmsKeyArn", "string", "", "KMS key ARN for log groups ecslogfix creates (its key policy must admit CloudWatch Logs).", stringValue},
	{"logGroupClass", "string", "(STANDARD)", "`STANDARD` or `INFREQUENT_ACCESS` for created log groups.", stringValue},
	{"mode", "string", "", "awslogs `mode` added where absent (`blocking` or `non-blocking`); an explicit mode is never changed.", stringValue},
	{"maxBufferSize", "string", "", "awslogs `max-buffer-size` added with `mode` non-blocking, e.g. `25m`.", stringValue},
	{"otherDrivers", "string", "replace", "`replace` or `report` containers using a driver the policy does not allow (awsfirelens is always reported).", stringValue},
	{"exemptionTag", "object", `{"key":"ecslogfix:exempt","value":"true"}`, "Tag that exempts a task definition. An object in cdk.json and in policy files; on the command line (`-c`) also `key=value`.", tagValue},
	{"defaultExecutionRoleArn", "string", "(the created role, see createDefaultExecutionRole)", "Execution role set on Fargate/EXTERNAL definitions that have none.", stringValue},
	{"logGroupTags", "object", "{}", "Tags added to created log groups. An object in cdk.json and in policy files; on the command line (`-c`) also `k=v,k2=v2`.", tagsValue},
	{"logGroupPatterns", "list", "(the template's literal prefix and *: /ecs/*)", "Log group names ecslogfix may create and set retention on (`*` matches any characters, as in IAM). The remediate role's CloudWatch Logs permissions are scoped to exactly these; a missing group outside them is reported NEEDS_HUMAN, never created. Must admit every name `logGroupTemplate` yields.", listValue},
	{"existingGroupRetention", "string", string(policy.RetentionSetIfNeverExpire), "What ecslogfix does to the retention of an existing group a revision it fixes writes to (within `logGroupPatterns`): `keep` (never touch), `setIfNeverExpire` (set `retentionDays` on a group that never expires, as `awslogs-create-group` and the console make them; leave any chosen retention) or `enforce` (set `retentionDays` on every group, never shortening one unless `allowShorten`).", stringValue},
	{"allowShorten", "bool", "false", "With `existingGroupRetention` `enforce`: also lower a retention longer than `retentionDays` (events older than the new retention are deleted).", boolValue},
	{"deletionProtection", "bool", "true", "Deletion protection on the log groups ecslogfix creates (CloudWatch Logs refuses to delete them until it is lifted; `ecslogfix backout` lifts it first).", boolValue},
	{"requiredMode", "string", awslogs.ModeAny, "Delivery mode every awslogs container must have in effect: `any`, `blocking` or `non-blocking`. The effective mode is the container's `mode`, else the account's `defaultLogDriverMode` setting (read live), else `non-blocking` (AWS's default since 2025-06-25). The fix adds the required `mode` where a container has none; an explicit other mode is reported (INVALID_AWSLOGS_MODE).", stringValue},
	{"minBufferSize", "string", "", "Smallest `max-buffer-size` (e.g. `25m`) of a container in non-blocking mode (ECS's default is 10m); the fix adds it where a container sets none.", stringValue},
	{"rollout", "string", "none", "Which consumers of a remediated revision ecslogfix moves to the new revision: `none` (only list them in the notification), `services` (ECS services with the ECS deployment controller) or `all` (also EventBridge rule targets and Scheduler schedules). A task definition's `ecslogfix:rollout` tag overrides it. CODE_DEPLOY and EXTERNAL services are never moved (the notification gives the command). The default moves nothing: a new revision reaches running tasks through your deploy process, as before.", stringValue},
	{"deregisterSource", "string", "never", "`never`, or `afterRollout`: deregister the source revision once every consumer moved and its deployment completed. Backout then cannot point consumers back at it (ECS refuses an INACTIVE revision), so the default keeps it.", stringValue},
	{"rolloutTimeoutMinutes", "integer", "30", "How long the workflow watches the services' deployments (1-1440); a deployment still running then is reported TIMED_OUT and left to ECS.", intValue},
	{"rolloutPollSeconds", "integer", "30", "Seconds between two looks at the deployments (1-300).", intValue},
	{"exemptions", "object", "{}", "Exemptions besides the tag: `maxDays` (longest term, default 365), `requireExpiry` (the tag exempts only with an `ecslogfix:exempt-until=YYYY-MM-DD` end date), `backoutDays` (how long a backout exempts, default 30) and `register`, at most 12 entries of `scope` (`account`, `region`, `familyPrefix`, `container`, `reasonCode`; an account or a family prefix is required), `reason`, `approver`, `ticket`, `approved` and `expires` (YYYY-MM-DD). An expired entry stops exempting, and the next notification says so; the deployment refuses a malformed one.", objectValue},
}

// Markdown renders the configuration reference.
func Markdown() string {
	var b strings.Builder
	b.WriteString("<!-- Generated by `go test ./internal/config -update` from internal/config/keys.go. Do not edit. -->\n")
	b.WriteString("# Configuration reference\n\n")
	b.WriteString("The CDK app reads its configuration from the `context` of `cdk.json`; any key can be overridden on the\n")
	b.WriteString("command line with `-c key=value` (e.g. `npx cdk deploy -c ecslogfix:enforcement=report`).\n")
	b.WriteString("In `cdk.json` use JSON types; on the command line, lists are a JSON array or comma-separated\n")
	b.WriteString("(`-c ecslogfix:regions=eu-west-1,eu-central-1`), numbers and booleans their plain text, objects JSON.\n")
	b.WriteString("Unknown `ecslogfix:` keys are an error. The functions receive the resulting runtime configuration\n")
	b.WriteString("as environment variables (`ECSLOGFIX_*`, one set per function, see `internal/config/fnenv/env.go`); the policy travels as JSON in `ECSLOGFIX_POLICY`.\n\n")
	b.WriteString("| Key | Type | Default | Description |\n|---|---|---|---|\n")
	for _, k := range Keys {
		def := k.Default
		if def == "" {
			def = "(none)"
		}
		fmt.Fprintf(&b, "| `%s` | %s | `%s` | %s |\n", k.Name, k.Type, strings.ReplaceAll(def, "|", `\|`), strings.ReplaceAll(k.Doc, "|", `\|`))
	}
	return b.String()
}

// --- the policy fields' value parsers (contextvalue) ---

const slackIDWhat = "a Slack ID (upper-case letters and digits)"

// stringKey is a string key without a default: unset, or valid (what
// names a valid value in the error).
func stringKey(name, doc string, field func(*Config) *string, valid func(string) bool, what string) Key {
	return Key{Name: ContextPrefix + name, Type: "string", Doc: doc,
		apply: func(c *Config, v any) error { return setString(field(c), v, valid, what) }}
}

// listKey is a list key whose every item must be valid.
func listKey(name, def, doc string, field func(*Config) *[]string, valid func(string) bool, what string) Key {
	return Key{Name: ContextPrefix + name, Type: "list", Default: def, Doc: doc,
		apply: func(c *Config, v any) error { return setList(field(c), v, valid, what) }}
}

// valueKey is a key of type typ, documented default def, whose value
// parse reads (applying the default) into the field of Config field names.
func valueKey[T any](name, typ, def, doc string, field func(*Config) *T, parse func(v any) (T, error)) Key {
	return Key{Name: ContextPrefix + name, Type: typ, Default: def, Doc: doc,
		apply: func(c *Config, v any) (err error) { *field(c), err = parse(v); return err }}
}

// boolKey is a boolean key with the default def.
func boolKey(name string, def bool, doc string, field func(*Config) *bool) Key {
	return valueKey(name, "bool", strconv.FormatBool(def), doc, field, func(v any) (bool, error) { return contextvalue.Bool(v, def) })
}

// intKey is an integer key with the default def, in [lo, hi].
func intKey(name string, def, lo, hi int, doc string, field func(*Config) *int) Key {
	return valueKey(name, "integer", strconv.Itoa(def), doc, field, func(v any) (int, error) { return intIn(v, def, lo, hi) })
}

// oneOfKey is a string key with the default def that must be one of
// allowed.
func oneOfKey(name, doc string, field func(*Config) *string, def string, allowed ...string) Key {
	return valueKey(name, "string", def, doc, field, func(v any) (string, error) { return oneOf(v, def, allowed...) })
}

// scheduleKey is a schedule expression key with the default def, or off.
func scheduleKey(name, def, doc string, field func(*Config) *string) Key {
	return valueKey(name, "string", def, doc, field, func(v any) (string, error) { return schedule(v, def) })
}

// setString sets *dst to the optional string v (default empty); a
// non-empty value must be valid, else the error says it is not what.
func setString(dst *string, v any, valid func(string) bool, what string) error {
	s, err := contextvalue.StringOr(v, "")
	if err == nil && s != "" && !valid(s) {
		err = fmt.Errorf("%q is not %s", s, what)
	}
	*dst = s
	return err
}

// setList sets *dst to the list v when every element is valid; the error
// names the first that is not what.
func setList(dst *[]string, v any, valid func(string) bool, what string) error {
	l, err := contextvalue.List(v)
	for _, e := range l {
		if !valid(e) {
			return fmt.Errorf("%q is not %s", e, what)
		}
	}
	*dst = l
	return err
}

// oneOf returns the string v (default def) when it is one of allowed.
func oneOf(v any, def string, allowed ...string) (string, error) {
	s, err := contextvalue.StringOr(v, def)
	if err == nil && !slices.Contains(allowed, s) {
		last := len(allowed) - 1
		err = fmt.Errorf("%q is not %s or %s", s, strings.Join(allowed[:last], ", "), allowed[last])
	}
	return s, err
}

// intIn returns the integer v (default def) when it is in [lo, hi].
func intIn(v any, def, lo, hi int) (int, error) {
	n, err := contextvalue.Int(v, def)
	if err == nil && (n < lo || n > hi) {
		err = fmt.Errorf("%d is not in [%d, %d]", n, lo, hi)
	}
	return n, err
}

// schedule returns the schedule expression v (default def), or "" for off.
func schedule(v any, def string) (string, error) {
	s, err := contextvalue.StringOr(v, def)
	if err != nil || s == "off" {
		return "", err
	}
	return s, contextvalue.ValidSchedule(s)
}

// setRate sets *dst to the write rate v (default def), in (0, MaxRate].
func setRate(dst *float64, v any, def float64) error {
	f, err := contextvalue.Float(v, def)
	if err == nil && !awsclient.ValidRate(f) {
		err = fmt.Errorf("%g is not in (0, %g]", f, awsclient.MaxRate)
	}
	*dst = f
	return err
}

func stringValue(v any) (any, error) { return contextvalue.String(v) }

func objectValue(v any) (any, error) { return contextvalue.Object(v) }

func listValue(v any) (any, error) {
	l, err := contextvalue.List(v)
	if l == nil {
		l = []string{}
	}
	return l, err
}

func intValue(v any) (any, error) { return contextvalue.Int(v, 0) }

func boolValue(v any) (any, error) { return contextvalue.Bool(v, false) }

func tagValue(v any) (any, error) { return contextvalue.Tag(v) }

func tagsValue(v any) (any, error) { return contextvalue.Tags(v) }
