// Package grants holds ecslogfix's IAM statements and the cdk-nag
// AwsSolutions-IAM5 suppression reasons that explain their wildcards: one
// place for each grant and its reason, used by the pipeline construct and
// the stacks.
package grants

import (
	"slices"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"

	"github.com/ecslogfix/ecslogfix/internal/config"
	"github.com/ecslogfix/ecslogfix/internal/config/naming"
	"github.com/ecslogfix/ecslogfix/internal/policy"
)

func ARN(parts ...string) string { return strings.Join(parts, "") }

func Partition() string { return *awscdk.Aws_PARTITION() }

func Account() string { return *awscdk.Aws_ACCOUNT_ID() }

func Region() string { return *awscdk.Aws_REGION() }

func Statement(actions []string, resources []string, conditions map[string]any) awsiam.PolicyStatement {
	props := &awsiam.PolicyStatementProps{
		Effect:    awsiam.Effect_ALLOW,
		Actions:   jsii.Strings(actions...),
		Resources: jsii.Strings(resources...),
	}
	if conditions != nil {
		props.Conditions = &conditions
	}
	return awsiam.NewPolicyStatement(props)
}

// suppress records cdk-nag suppressions on c and its children; every call
// site states the rule and the reason.
func Suppress(c any, id, reason string) {
	cdknag.NagSuppressions_AddResourceSuppressions(c, &[]*cdknag.NagPackSuppression{{Id: jsii.String(id), Reason: jsii.String(reason)}}, jsii.Bool(true))
}

// The calls the functions make on the task definition's account (directly
// in single mode, through the member role in organization mode): reading
// task definitions and the live facts every function judges with (the log
// groups, the account's defaultLogDriverMode), and creating log groups.
var (
	ECSReadActions        = []string{"ecs:DescribeTaskDefinition", "ecs:ListTaskDefinitionFamilies", "ecs:ListAccountSettings"}
	LogGroupCreateActions = []string{"logs:CreateLogGroup", "logs:PutRetentionPolicy", "logs:TagResource", "logs:ListTagsForResource"}
)

// LogGroupResources are the IAM resources of the log groups ecslogfix may
// create and change: one per pattern of the policy (policy.GroupPatterns),
// whose "*" means in IAM what it means to awslogs.MatchPattern.
func LogGroupResources(pol policy.Policy, part, acct string) []string {
	var out []string
	for _, pat := range pol.GroupPatterns() {
		out = append(out, ARN("arn:", part, ":logs:*:", acct, ":log-group:", pat))
	}
	return out
}

// DescribeLogGroups reads every group a task definition names. The
// Service Authorization Reference lists logs:DescribeLogGroups with no
// resource type: Resource "*" (AwsSolutions-IAM5 suppressed with that
// reason).
func DescribeLogGroups() map[string]any {
	return map[string]any{"Effect": "Allow", "Action": []string{"logs:DescribeLogGroups"}, "Resource": "*"}
}

// RemediateStatements are the remediate function's permissions in the
// account that holds the task definitions, as policy statement JSON;
// partition/account may be tokens.
func RemediateStatements(pol policy.Policy, part, acct string) []map[string]any {
	allow := func(actions []string, resource string) map[string]any {
		return map[string]any{"Effect": "Allow", "Action": actions, "Resource": resource}
	}
	passRole := allow([]string{"iam:PassRole"}, ARN("arn:", part, ":iam::", acct, ":role/*"))
	passRole["Condition"] = map[string]any{"StringEquals": map[string]any{"iam:PassedToService": "ecs-tasks.amazonaws.com"}}
	create := map[string]any{"Effect": "Allow", "Action": LogGroupCreateActions, "Resource": LogGroupResources(pol, part, acct)}
	// PutTargets and UpdateSchedule resend the target's role, unchanged
	// (consumer.Move): passing it requires iam:PassRole on it, for
	// EventBridge or Scheduler only.
	passTargetRole := allow([]string{"iam:PassRole"}, ARN("arn:", part, ":iam::", acct, ":role/*"))
	passTargetRole["Condition"] = map[string]any{"StringEquals": map[string]any{"iam:PassedToService": []string{"events.amazonaws.com", "scheduler.amazonaws.com"}}}
	// Tags are set on the registered revision only as it is created
	// (RegisterTaskDefinition with tags needs ecs:TagResource, with
	// ecs:CreateAction, "Grant permission to tag resources on creation",
	// https://docs.aws.amazon.com/AmazonECS/latest/developerguide/supported-iam-actions-tagging.html).
	tagOnCreate := allow([]string{"ecs:TagResource"}, ARN("arn:", part, ":ecs:*:", acct, ":task-definition/*"))
	tagOnCreate["Condition"] = map[string]any{"StringEquals": map[string]any{"ecs:CreateAction": "RegisterTaskDefinition"}}
	return append([]map[string]any{
		// The Service Authorization Reference lists DescribeTaskDefinition,
		// DeregisterTaskDefinition and ListAccountSettings with no resource
		// type (Resource "*"; AwsSolutions-IAM5 suppressed with that
		// reason). Deregister withdraws a revision ecslogfix registered
		// when newer content overtook it (never a user's revision).
		allow([]string{"ecs:DescribeTaskDefinition", "ecs:DeregisterTaskDefinition", "ecs:ListAccountSettings"}, "*"),
		// RegisterTaskDefinition takes the task-definition resource type:
		// limited to this account's task definitions.
		allow([]string{"ecs:RegisterTaskDefinition"}, ARN("arn:", part, ":ecs:*:", acct, ":task-definition/*")),
		tagOnCreate,
		// Only the names the policy allows (logGroupPatterns): a missing
		// group outside them is NEEDS_HUMAN, never created.
		create,
		DescribeLogGroups(),
		passRole,
	}, rolloutStatements(part, acct, allow, passTargetRole)...)
}

// rolloutStatements are the Rollout and Watch steps' permissions
// (internal/consumer: find and move what runs a revision). The list calls
// support no resource-level permissions; the rest name the account's
// services, rules and schedules.
func rolloutStatements(part, acct string, allow func([]string, string) map[string]any, passTargetRole map[string]any) []map[string]any {
	return []map[string]any{
		allow([]string{"ecs:ListClusters", "ecs:ListServices"}, "*"),
		allow([]string{"ecs:DescribeServices", "ecs:UpdateService"}, ARN("arn:", part, ":ecs:*:", acct, ":service/*")),
		allow([]string{"events:ListEventBuses", "events:ListRules"}, "*"),
		allow([]string{"events:ListTargetsByRule", "events:PutTargets"}, ARN("arn:", part, ":events:*:", acct, ":rule/*")),
		allow([]string{"scheduler:ListSchedules"}, "*"),
		allow([]string{"scheduler:GetSchedule", "scheduler:UpdateSchedule"}, ARN("arn:", part, ":scheduler:*:", acct, ":schedule/*")),
		passTargetRole,
	}
}

// VPCActions are what Lambda needs to attach a function to a VPC
// ("Giving Lambda functions access to resources in an Amazon VPC",
// https://docs.aws.amazon.com/lambda/latest/dg/configuration-vpc.html).
var VPCActions = []string{"ec2:CreateNetworkInterface", "ec2:DescribeNetworkInterfaces", "ec2:DescribeSubnets",
	"ec2:DeleteNetworkInterface", "ec2:AssignPrivateIpAddresses", "ec2:UnassignPrivateIpAddresses"}

// RolloutWildcards explains the rollout's wildcards (rolloutStatements).
const RolloutWildcards = "the rollout: ecs:ListClusters, ecs:ListServices, events:ListEventBuses, events:ListRules and scheduler:ListSchedules support no resource-level permissions (Resource *);" +
	" ecs:DescribeServices/UpdateService are limited to the account's services (service/*), events:ListTargetsByRule/PutTargets to its rules (rule/*), scheduler:GetSchedule/UpdateSchedule to its schedules (schedule/*): the consumers of a task definition are not known in advance;" +
	" iam:PassRole for the targets' own roles, which PutTargets and UpdateSchedule resend unchanged, only to events.amazonaws.com and scheduler.amazonaws.com"

// RoleWildcards explains the wildcards in fn's role (cdk-nag
// AwsSolutions-IAM5 suppression reason).
func RoleWildcards(fn, mode string, vpc bool) string {
	r := "logs:CreateLogStream/PutLogEvents on the log streams of the function's own log group (log-group:NAME:*)"
	switch fn {
	case naming.FunctionDetect, naming.FunctionSweep:
		r += "; ecs:DescribeTaskDefinition, ecs:ListTaskDefinitionFamilies, ecs:ListAccountSettings and logs:DescribeLogGroups support no resource-level permissions (Resource *);" +
			" states:DescribeExecution on the executions of ecslogfix's own state machine (execution:NAME:*; execution names are per revision)"
		if fn == naming.FunctionSweep {
			r += "; its own objects in its bucket (sweeps/*: one prefix per sweep) and ListBucket limited to that prefix"
			if mode == config.ModeOrganization {
				r += "; organizations:ListAccountsForParent/ListOrganizationalUnitsForParent on the OUs and root of the organization (ou/o-ID/*, root/o-ID/*: the management account and the OU IDs below the targets are not known in advance);" +
					" cloudformation:ListStackInstances on the two member StackSets (stackset/NAME:*: CloudFormation generates the StackSet ID)"
			}
		}
	case naming.FunctionRemediate:
		r += "; ecs:DescribeTaskDefinition, ecs:DeregisterTaskDefinition, ecs:ListAccountSettings and logs:DescribeLogGroups support no resource-level permissions (Resource *);" +
			" ecs:RegisterTaskDefinition and ecs:TagResource (on creation only) are limited to this account's task definitions (task-definition/*); logs:CreateLogGroup/PutRetentionPolicy/TagResource/ListTagsForResource to the policy's logGroupPatterns in any region (central logging);" +
			" iam:PassRole is limited to roles passed to ecs-tasks.amazonaws.com (the task definitions' own execution and task roles, not known in advance); " + RolloutWildcards
	}
	if mode == config.ModeOrganization && fn != naming.FunctionNotify {
		r += "; sts:AssumeRole on the ecslogfix member role in any account of the organization (arn:...:iam::*:role/NAME with aws:ResourceOrgID; the member role's trust policy requires the organization too)"
	}
	if vpc {
		r += "; the EC2 network-interface actions Lambda needs to run a function in a VPC support no resource-level permissions for Describe* and are documented with Resource *"
	}
	return r
}

// MemberRoleUsers are the functions that assume the member role: notify
// too when it imports findings into member accounts.
func MemberRoleUsers(cfg config.Config) []string {
	fns := []string{naming.FunctionDetect, naming.FunctionSweep, naming.FunctionRemediate}
	if cfg.History && cfg.SecurityHub != config.SecurityHubOff {
		fns = append(fns, naming.FunctionNotify)
	}
	return fns
}

// HistoryWriters are the functions that record decisions.
var HistoryWriters = []string{naming.FunctionDetect, naming.FunctionSweep, naming.FunctionNotify}

// SecurityHubProduct is the default product ARN of acct in every region.
func SecurityHubProduct(part, acct string) string {
	return ARN("arn:", part, ":securityhub:*:", acct, ":product/", acct, "/default")
}

// HistoryWildcards explains the history's wildcards in fn's role (cdk-nag
// AwsSolutions-IAM5 suppression reason).
func HistoryWildcards(cfg config.Config, fn string) string {
	if !cfg.History || !slices.Contains(HistoryWriters, fn) {
		return ""
	}
	r := "; s3:PutObject on the history's record keys (BUCKET/v1/*: one object per decision, under account, region and day partitions)"
	if cfg.SecurityHub != config.SecurityHubOff {
		r += "; securityhub:BatchImportFindings on this account's default product in any region (product/ACCOUNT/default: findings are imported in the task definition's region)"
	}
	if cfg.SecurityHub == config.SecurityHubNotes && fn == naming.FunctionNotify {
		r += "; securityhub:GetFindings and BatchUpdateFindings on this account's hub in any region (hub/default)"
	}
	return r
}

// ExecutionRoleLogsStatement lets ECS write container logs to any log group
// of the account in any region: task definitions keep their own (compliant)
// log groups, and central logging may use another region.
func ExecutionRoleLogsStatement(part, acct string) map[string]any {
	return map[string]any{
		"Effect":   "Allow",
		"Action":   []string{"logs:CreateLogStream", "logs:PutLogEvents"},
		"Resource": ARN("arn:", part, ":logs:*:", acct, ":log-group:*"),
	}
}

// ExecutionRoleTrust is the default execution role's trust policy, exactly
// as the ECS documentation gives it for a task execution role ("Amazon ECS
// task execution IAM role",
// https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task_execution_IAM_role.html).
// The aws:SourceAccount/aws:SourceArn conditions ECS documents for *task*
// roles are not documented for the execution role: if ECS did not supply
// them when it assumes the role, every task of a revision ecslogfix fixed
// would fail to start.
func ExecutionRoleTrust() map[string]any {
	return map[string]any{
		"Version": "2012-10-17",
		"Statement": []any{map[string]any{
			"Effect":    "Allow",
			"Principal": map[string]any{"Service": "ecs-tasks.amazonaws.com"},
			"Action":    "sts:AssumeRole",
		}},
	}
}

func PolicyDoc(statements ...any) map[string]any {
	return map[string]any{"Version": "2012-10-17", "Statement": statements}
}

// KeyUsers are the principals of the stack key's policy besides the
// account and the AWS services.
type KeyUsers struct {
	Notify       string   // publishes to the encrypted topic
	SweepObjects []string // read and write the sweep's objects, through S3
	OwnLogGroups []string // the log groups CloudWatch Logs encrypts with it
}

// KeyPolicy is the policy of the customer managed key of the notification
// topic and of ecslogfix's own log groups: the notify role and CloudWatch
// alarms use it for the topic, CloudWatch Logs for ecslogfix's log groups
// only, the sweep's roles through S3, the account administers it, and no
// one may create grants but for AWS resources; extra statements follow.
func KeyPolicy(u KeyUsers, extra ...any) map[string]any {
	adminActions := []string{
		"kms:DescribeKey", "kms:GetKeyPolicy", "kms:PutKeyPolicy", "kms:GetKeyRotationStatus", "kms:EnableKeyRotation",
		"kms:DisableKeyRotation", "kms:ListResourceTags", "kms:TagResource", "kms:UntagResource", "kms:UpdateKeyDescription",
		"kms:EnableKey", "kms:DisableKey", "kms:ScheduleKeyDeletion", "kms:CancelKeyDeletion", "kms:ListGrants",
		"kms:RevokeGrant", "kms:ListKeyPolicies",
	}
	return map[string]any{
		"Version": "2012-10-17",
		"Statement": append([]any{
			map[string]any{
				"Sid": "KeyAdministration", "Effect": "Allow",
				"Principal": map[string]any{"AWS": ARN("arn:", Partition(), ":iam::", Account(), ":root")},
				"Action":    adminActions, "Resource": "*",
			},
			map[string]any{
				"Sid": "NotifyPublishes", "Effect": "Allow",
				"Principal": map[string]any{"AWS": u.Notify},
				"Action":    []string{"kms:GenerateDataKey", "kms:Decrypt"}, "Resource": "*",
			},
			// The statement the SNS developer guide gives for AWS
			// services that publish to an encrypted topic ("Enable
			// compatibility between event sources from AWS services and
			// encrypted topics", https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html),
			// without conditions: it documents none for the key policy.
			// The topic policy limits publishing to this account's alarms.
			map[string]any{
				"Sid": "AlarmsPublish", "Effect": "Allow",
				"Principal": map[string]any{"Service": "cloudwatch.amazonaws.com"},
				"Action":    []string{"kms:GenerateDataKey*", "kms:Decrypt"}, "Resource": "*",
			},
			// CloudWatch Logs encrypts ecslogfix's own log groups
			// (Control Tower control CT.CLOUDWATCH.PR.3). The statement
			// is the one "Encrypt log data in CloudWatch Logs using AWS
			// KMS" gives, limited to our groups by the encryption
			// context (https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/encrypt-log-data-kms.html),
			// less its kms:Describe*: DescribeKey carries no encryption
			// context (the Service Authorization Reference lists no such
			// key for it), so under this condition it is never granted.
			map[string]any{
				"Sid": "LogsEncrypt", "Effect": "Allow",
				"Principal": map[string]any{"Service": "logs." + Region() + "." + *awscdk.Aws_URL_SUFFIX()},
				"Action":    []string{"kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*"},
				"Resource":  "*",
				"Condition": map[string]any{"ArnLike": map[string]any{"kms:EncryptionContext:aws:logs:arn": u.OwnLogGroups}},
			},
			// The sweep's objects in S3 (SSE-KMS with a bucket key): the
			// sweep function, the sweep state machine's ItemReader and
			// ResultWriter, and notify (the outcomes for the digest),
			// through S3 only.
			map[string]any{
				"Sid": "SweepObjects", "Effect": "Allow",
				"Principal": map[string]any{"AWS": u.SweepObjects},
				"Action":    []string{"kms:GenerateDataKey", "kms:Decrypt"}, "Resource": "*",
				"Condition": map[string]any{"StringEquals": map[string]any{"kms:ViaService": "s3." + Region() + "." + *awscdk.Aws_URL_SUFFIX()}},
			},
			// Only AWS services may create grants on this key, for AWS
			// resources (Control Tower control CT.KMS.PR.3); no one
			// here needs a grant.
			map[string]any{
				"Sid": "GrantsOnlyForAWSResources", "Effect": "Deny",
				"Principal": map[string]any{"AWS": "*"},
				"Action":    []string{"kms:CreateGrant"}, "Resource": "*",
				"Condition": map[string]any{"BoolIfExists": map[string]any{"kms:GrantIsForAWSResource": "false", "aws:PrincipalIsAWSService": "false"}},
			},
		}, extra...),
	}
}

// HistoryKeyStatements let the history's writers (and the report, which
// also reads and publishes to the encrypted topic) use the stack's key,
// through S3 (and SNS) only; report is "" when there is no report
// function.
func HistoryKeyStatements(writers []string, report string) []any {
	via := func(svc ...string) map[string]any {
		var vs []string
		for _, s := range svc {
			vs = append(vs, s+"."+Region()+"."+*awscdk.Aws_URL_SUFFIX())
		}
		return map[string]any{"StringEquals": map[string]any{"kms:ViaService": vs}}
	}
	out := []any{map[string]any{
		"Sid": "HistoryWriters", "Effect": "Allow", "Principal": map[string]any{"AWS": writers},
		"Action": []string{"kms:GenerateDataKey", "kms:Decrypt"}, "Resource": "*", "Condition": via("s3"),
	}}
	if report != "" {
		out = append(out, map[string]any{
			"Sid": "Report", "Effect": "Allow", "Principal": map[string]any{"AWS": report},
			"Action": []string{"kms:GenerateDataKey", "kms:Decrypt"}, "Resource": "*", "Condition": via("s3", "sns"),
		})
	}
	return out
}
