package stacks

import (
	"fmt"
	"slices"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awschatbot"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatchactions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/aws-cdk-go/awscdk/v2/awseventstargets"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awskms"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambdadestinations"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssns"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssnssubscriptions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsstepfunctions"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"

	"github.com/ecslogfix/ecslogfix/internal/awsarn"
	"github.com/ecslogfix/ecslogfix/internal/config"
	"github.com/ecslogfix/ecslogfix/internal/config/fnenv"
	"github.com/ecslogfix/ecslogfix/internal/metrics"
	"github.com/ecslogfix/ecslogfix/internal/policy"
	"github.com/ecslogfix/ecslogfix/internal/workflow/asl"
)

// RegisterEventPattern is the EventBridge pattern of successful
// RegisterTaskDefinition calls (scalar detail fields only; failed calls,
// which carry errorCode, are excluded).
func RegisterEventPattern() map[string]any {
	return map[string]any{
		"source":      []any{"aws.ecs"},
		"detail-type": []any{"AWS API Call via CloudTrail"},
		"detail": map[string]any{
			"eventSource": []any{"ecs.amazonaws.com"},
			"eventName":   []any{"RegisterTaskDefinition"},
			"errorCode":   []any{map[string]any{"exists": false}},
		},
	}
}

func registerEventPattern() *awsevents.EventPattern {
	return &awsevents.EventPattern{
		Source:     jsii.Strings("aws.ecs"),
		DetailType: jsii.Strings("AWS API Call via CloudTrail"),
		Detail: &map[string]any{
			"eventSource": []any{"ecs.amazonaws.com"},
			"eventName":   []any{"RegisterTaskDefinition"},
			"errorCode":   []any{map[string]any{"exists": false}},
		},
	}
}

// Function timeouts (seconds). The sweep's covers one stretch of one
// account-region's walk (it returns its checkpoint sweep.DefaultMargin
// before the deadline, and the sweep state machine invokes it again).
var functionTimeout = map[string]float64{
	config.FunctionDetect:    60,
	config.FunctionSweep:     300,
	config.FunctionRemediate: 120,
	config.FunctionNotify:    30,
}

// Event target retry policy.
const (
	targetRetryAttempts = 8
	targetMaxEventAge   = 6 // hours
)

// pipeline holds what the single-account stack and the hub stack share.
type pipeline struct {
	stack awscdk.Stack
	cfg   config.Config
	names config.Names
	root  string

	roles     map[string]awsiam.Role
	functions map[string]awslambda.Function
	sm        awsstepfunctions.StateMachine
	key       awskms.CfnKey // encrypts the topic and ecslogfix's own log groups
	topic     awssns.Topic
	dlq       awssqs.Queue // the EventBridge targets' dead-letter queue
	// detectFailures receives detect's asynchronous invocations that failed
	// after Lambda's retries.
	detectFailures awssqs.Queue
	// The sweep: its state machine, the state machine's role (the key
	// policy names it, so it exists before the state machine), and the
	// bucket of its targets, results and reports.
	sweepSM     awsstepfunctions.StateMachine
	sweepSMRole awsiam.Role
	bucket      awss3.Bucket
}

func arn(parts ...string) string { return strings.Join(parts, "") }

func partition() string { return *awscdk.Aws_PARTITION() }
func account() string   { return *awscdk.Aws_ACCOUNT_ID() }
func region() string    { return *awscdk.Aws_REGION() }

func statement(actions []string, resources []string, conditions map[string]any) awsiam.PolicyStatement {
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
func suppress(c any, id, reason string) {
	cdknag.NagSuppressions_AddResourceSuppressions(c, &[]*cdknag.NagPackSuppression{{Id: jsii.String(id), Reason: jsii.String(reason)}}, jsii.Bool(true))
}

// The calls the functions make on the task definition's account (directly
// in single mode, through the member role in organization mode): reading
// task definitions and the live facts every function judges with (the log
// groups, the account's defaultLogDriverMode), and creating log groups.
var (
	ecsReadActions        = []string{"ecs:DescribeTaskDefinition", "ecs:ListTaskDefinitionFamilies", "ecs:ListAccountSettings"}
	logGroupCreateActions = []string{"logs:CreateLogGroup", "logs:PutRetentionPolicy", "logs:TagResource", "logs:ListTagsForResource"}
)

// logGroupResources are the IAM resources of the log groups ecslogfix may
// create and change: one per pattern of the policy (policy.GroupPatterns),
// whose "*" means in IAM what it means to policy.MatchPattern.
func logGroupResources(pol policy.Policy, part, acct string) []string {
	var out []string
	for _, pat := range pol.GroupPatterns() {
		out = append(out, arn("arn:", part, ":logs:*:", acct, ":log-group:", pat))
	}
	return out
}

// describeLogGroups reads every group a task definition names. The
// Service Authorization Reference lists logs:DescribeLogGroups with no
// resource type: Resource "*" (AwsSolutions-IAM5 suppressed with that
// reason).
func describeLogGroups() map[string]any {
	return map[string]any{"Effect": "Allow", "Action": []string{"logs:DescribeLogGroups"}, "Resource": "*"}
}

// remediateStatements are the remediate function's permissions in the
// account that holds the task definitions, as policy statement JSON;
// partition/account may be tokens.
func remediateStatements(pol policy.Policy, part, acct string) []map[string]any {
	allow := func(actions []string, resource string) map[string]any {
		return map[string]any{"Effect": "Allow", "Action": actions, "Resource": resource}
	}
	passRole := allow([]string{"iam:PassRole"}, arn("arn:", part, ":iam::", acct, ":role/*"))
	passRole["Condition"] = map[string]any{"StringEquals": map[string]any{"iam:PassedToService": "ecs-tasks.amazonaws.com"}}
	create := map[string]any{"Effect": "Allow", "Action": logGroupCreateActions, "Resource": logGroupResources(pol, part, acct)}
	// PutTargets and UpdateSchedule resend the target's role, unchanged
	// (consumer.Move): passing it requires iam:PassRole on it, for
	// EventBridge or Scheduler only.
	passTargetRole := allow([]string{"iam:PassRole"}, arn("arn:", part, ":iam::", acct, ":role/*"))
	passTargetRole["Condition"] = map[string]any{"StringEquals": map[string]any{"iam:PassedToService": []string{"events.amazonaws.com", "scheduler.amazonaws.com"}}}
	// Tags are set on the registered revision only as it is created
	// (RegisterTaskDefinition with tags needs ecs:TagResource, with
	// ecs:CreateAction, "Grant permission to tag resources on creation",
	// https://docs.aws.amazon.com/AmazonECS/latest/developerguide/supported-iam-actions-tagging.html).
	tagOnCreate := allow([]string{"ecs:TagResource"}, arn("arn:", part, ":ecs:*:", acct, ":task-definition/*"))
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
		allow([]string{"ecs:RegisterTaskDefinition"}, arn("arn:", part, ":ecs:*:", acct, ":task-definition/*")),
		tagOnCreate,
		// Only the names the policy allows (logGroupPatterns): a missing
		// group outside them is NEEDS_HUMAN, never created.
		create,
		describeLogGroups(),
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
		allow([]string{"ecs:DescribeServices", "ecs:UpdateService"}, arn("arn:", part, ":ecs:*:", acct, ":service/*")),
		allow([]string{"events:ListEventBuses", "events:ListRules"}, "*"),
		allow([]string{"events:ListTargetsByRule", "events:PutTargets"}, arn("arn:", part, ":events:*:", acct, ":rule/*")),
		allow([]string{"scheduler:ListSchedules"}, "*"),
		allow([]string{"scheduler:GetSchedule", "scheduler:UpdateSchedule"}, arn("arn:", part, ":scheduler:*:", acct, ":schedule/*")),
		passTargetRole,
	}
}

func newPipeline(stack awscdk.Stack, cfg config.Config, root string) *pipeline {
	p := &pipeline{stack: stack, cfg: cfg, names: cfg.Names(), root: root,
		roles: map[string]awsiam.Role{}, functions: map[string]awslambda.Function{}}
	p.dlq = deadLetterQueue(stack, "TargetDLQ", "the dead-letter queue of the EventBridge rule targets")
	p.detectFailures = deadLetterQueue(stack, "DetectFailures", "the on-failure destination of detect's asynchronous invocations")
	fns := config.Functions
	if reportOn(cfg) {
		fns = append(slices.Clone(fns), config.FunctionReport)
	}
	for _, fn := range fns {
		p.roles[fn] = awsiam.NewRole(stack, jsii.String(roleID(fn)), &awsiam.RoleProps{
			RoleName:    jsii.String(p.names.FunctionRole(fn)),
			AssumedBy:   awsiam.NewServicePrincipal(jsii.String("lambda.amazonaws.com"), nil),
			Description: jsii.String("ecslogfix " + fn + " function"),
		})
	}
	p.sweepSMRole = awsiam.NewRole(stack, jsii.String("SweepStateMachineRole"), &awsiam.RoleProps{
		AssumedBy:   awsiam.NewServicePrincipal(jsii.String("states.amazonaws.com"), nil),
		Description: jsii.String("ecslogfix sweep state machine"),
	})
	p.key = p.newKey()
	p.topic = p.newTopic()
	p.bucket = p.newSweepBucket()
	p.assertPolicyKeyRegion()
	return p
}

// assertPolicyKeyRegion: KMS keys are regional, and CloudWatch Logs uses
// only a key of the log group's region. Config checks the policy's key
// against the regions it knows; when groups are created in the stack's own
// region, known only at deploy time, the template asserts it.
func (p *pipeline) assertPolicyKeyRegion() {
	pol := p.cfg.Policy
	if pol.KMSKeyARN == "" || pol.LogRegion != "" || len(p.cfg.Regions) > 0 {
		return
	}
	key, err := awsarn.Parse(pol.KMSKeyARN)
	if err != nil {
		return // config.Load refuses it
	}
	awscdk.NewCfnRule(p.stack, jsii.String("PolicyKeyRegion"), &awscdk.CfnRuleProps{
		Assertions: &[]*awscdk.CfnRuleAssertion{{
			Assert:            awscdk.Fn_ConditionEquals(awscdk.Aws_REGION(), jsii.String(key.Region)),
			AssertDescription: jsii.String("ecslogfix:policy.kmsKeyArn is a key of " + key.Region + ": KMS keys are regional, so deploy in " + key.Region + ", or set policy.logRegion to it for central logging."),
		}},
	})
}

// deadLetterQueue is an encrypted, SSL-only queue that holds failed
// deliveries for 14 days. It declares itself a dead-letter queue with
// redrivePermission allowAll, SQS's default ("Amazon SQS dead-letter
// queues", RedriveAllowPolicy:
// https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-dead-letter-queues.html),
// which the Control Tower control CT.SQS.PR.1 takes as "this queue is a
// DLQ" instead of asking it for a DLQ of its own.
func deadLetterQueue(stack awscdk.Stack, id, what string) awssqs.Queue {
	q := awssqs.NewQueue(stack, jsii.String(id), &awssqs.QueueProps{
		Encryption:         awssqs.QueueEncryption_SQS_MANAGED,
		EnforceSSL:         jsii.Bool(true),
		RetentionPeriod:    awscdk.Duration_Days(jsii.Number(14)),
		RedriveAllowPolicy: &awssqs.RedriveAllowPolicy{RedrivePermission: awssqs.RedrivePermission_ALLOW_ALL},
	})
	// AwsSolutions-SQS3: a DLQ of a DLQ adds nothing.
	suppress(q, "AwsSolutions-SQS3", "This queue is itself "+what+".")
	return q
}

func roleID(fn string) string     { return strings.ToUpper(fn[:1]) + fn[1:] + "Role" }
func functionID(fn string) string { return strings.ToUpper(fn[:1]) + fn[1:] + "Function" }

// roleARN is the ARN of one of our roles in this stack's account, built from
// its name (no reference, so no dependency cycles).
func (p *pipeline) roleARN(name string) string {
	return awsarn.RoleARN(partition(), account(), name)
}

// newKey creates the customer managed key of the notification topic and
// of ecslogfix's own log groups. Its policy admits the notify role and
// CloudWatch alarms as users of the topic, CloudWatch Logs for ecslogfix's
// log groups only, the account for key administration, and denies grants
// to anything but AWS resources.
func (p *pipeline) newKey() awskms.CfnKey {
	adminActions := []string{
		"kms:DescribeKey", "kms:GetKeyPolicy", "kms:PutKeyPolicy", "kms:GetKeyRotationStatus", "kms:EnableKeyRotation",
		"kms:DisableKeyRotation", "kms:ListResourceTags", "kms:TagResource", "kms:UntagResource", "kms:UpdateKeyDescription",
		"kms:EnableKey", "kms:DisableKey", "kms:ScheduleKeyDeletion", "kms:CancelKeyDeletion", "kms:ListGrants",
		"kms:RevokeGrant", "kms:ListKeyPolicies",
	}
	var ownLogGroups []string
	for _, name := range p.ownLogGroupNames() {
		ownLogGroups = append(ownLogGroups, arn("arn:", partition(), ":logs:", region(), ":", account(), ":log-group:", name))
	}
	statements := []any{}
	if p.cfg.History {
		statements = append(statements, p.historyKeyStatements()...)
	}
	key := awskms.NewCfnKey(p.stack, jsii.String("TopicKey"), &awskms.CfnKeyProps{
		Description:       jsii.String("ecslogfix notification topic and ecslogfix's own log groups"),
		EnableKeyRotation: jsii.Bool(true),
		KeyPolicy: map[string]any{
			"Version": "2012-10-17",
			"Statement": append([]any{
				map[string]any{
					"Sid": "KeyAdministration", "Effect": "Allow",
					"Principal": map[string]any{"AWS": arn("arn:", partition(), ":iam::", account(), ":root")},
					"Action":    adminActions, "Resource": "*",
				},
				map[string]any{
					"Sid": "NotifyPublishes", "Effect": "Allow",
					"Principal": map[string]any{"AWS": *p.roles[config.FunctionNotify].RoleArn()},
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
					"Principal": map[string]any{"Service": "logs." + region() + "." + *awscdk.Aws_URL_SUFFIX()},
					"Action":    []string{"kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*"},
					"Resource":  "*",
					"Condition": map[string]any{"ArnLike": map[string]any{"kms:EncryptionContext:aws:logs:arn": ownLogGroups}},
				},
				// The sweep's objects in S3 (SSE-KMS with a bucket key): the
				// sweep function, the sweep state machine's ItemReader and
				// ResultWriter, and notify (the outcomes for the digest),
				// through S3 only.
				map[string]any{
					"Sid": "SweepObjects", "Effect": "Allow",
					"Principal": map[string]any{"AWS": []string{*p.roles[config.FunctionSweep].RoleArn(), *p.sweepSMRole.RoleArn(), *p.roles[config.FunctionNotify].RoleArn()}},
					"Action":    []string{"kms:GenerateDataKey", "kms:Decrypt"}, "Resource": "*",
					"Condition": map[string]any{"StringEquals": map[string]any{"kms:ViaService": "s3." + region() + "." + *awscdk.Aws_URL_SUFFIX()}},
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
			}, statements...),
		},
	})
	// Retained on stack deletion and replacement (messages and logs it
	// encrypted stay readable), but deleted when the stack's first creation
	// rolls back (RetainExceptOnCreate): a failed first deploy leaves no
	// key behind. infra/README.md ("Uninstall") schedules its deletion.
	key.ApplyRemovalPolicy(awscdk.RemovalPolicy_RETAIN_ON_UPDATE_OR_DELETE, &awscdk.RemovalPolicyOptions{ApplyToUpdateReplacePolicy: jsii.Bool(true)})
	return key
}

// ownLogGroupNames are the log groups the stack creates for itself.
func (p *pipeline) ownLogGroupNames() []string {
	var out []string
	for _, fn := range config.Functions {
		out = append(out, p.names.FunctionLogGroup(fn))
	}
	if reportOn(p.cfg) {
		out = append(out, p.names.FunctionLogGroup(config.FunctionReport))
	}
	return append(out, p.names.StateMachineLogGroup(), p.names.SweepStateMachineLogGroup())
}

// newTopic creates the notification topic, encrypted with the stack's key,
// with its subscriptions.
func (p *pipeline) newTopic() awssns.Topic {
	stack := p.stack
	topic := awssns.NewTopic(stack, jsii.String("Topic"), &awssns.TopicProps{
		TopicName:  jsii.String(p.names.Topic()),
		MasterKey:  awskms.Key_FromKeyArn(stack, jsii.String("TopicKeyRef"), p.key.AttrArn()),
		EnforceSSL: jsii.Bool(true),
	})
	// A topic policy replaces SNS's default one: admit CloudWatch alarms of
	// this account explicitly (notify publishes through its IAM policy).
	topic.AddToResourcePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:        jsii.String("AlarmsPublish"),
		Principals: &[]awsiam.IPrincipal{awsiam.NewServicePrincipal(jsii.String("cloudwatch.amazonaws.com"), nil)},
		Actions:    jsii.Strings("sns:Publish"),
		Resources:  jsii.Strings(*topic.TopicArn()),
		Conditions: &map[string]any{"StringEquals": map[string]any{"aws:SourceAccount": account()}},
	}))
	for _, email := range p.cfg.NotificationEmails {
		topic.AddSubscription(awssnssubscriptions.NewEmailSubscription(jsii.String(email), nil))
	}
	if p.cfg.SlackWorkspaceID != "" {
		// Chatbot configuration names are global in the account: the
		// stack's name keeps a hub and a single-mode stack apart.
		awschatbot.NewSlackChannelConfiguration(stack, jsii.String("Slack"), &awschatbot.SlackChannelConfigurationProps{
			SlackChannelConfigurationName: jsii.String(StackName(p.cfg)),
			SlackWorkspaceId:              jsii.String(p.cfg.SlackWorkspaceID),
			SlackChannelId:                jsii.String(p.cfg.SlackChannelID),
			NotificationTopics:            &[]awssns.ITopic{topic},
			LoggingLevel:                  awschatbot.LoggingLevel_ERROR,
			// The channel role has no permissions; the guardrail caps what
			// a channel member could ever do to reading CloudWatch.
			GuardrailPolicies: &[]awsiam.IManagedPolicy{awsiam.ManagedPolicy_FromAwsManagedPolicyName(jsii.String("CloudWatchReadOnlyAccess"))},
		})
	}
	if p.cfg.TeamsTeamID != "" {
		p.teamsChannel(topic)
	}
	if p.cfg.SlackWorkspaceID != "" || p.cfg.TeamsTeamID != "" {
		// AWS Chatbot's regions are all in the commercial partition
		// (https://docs.aws.amazon.com/chatbot/latest/adminguide/chatbot-regions.html).
		// Config refuses Slack and Teams when the regions say otherwise;
		// this refuses them where the stack's partition is known only at
		// deploy time.
		awscdk.NewCfnRule(stack, jsii.String("ChatbotPartition"), &awscdk.CfnRuleProps{
			Assertions: &[]*awscdk.CfnRuleAssertion{{
				Assert:            awscdk.Fn_ConditionEquals(awscdk.Aws_PARTITION(), jsii.String("aws")),
				AssertDescription: jsii.String("AWS Chatbot (Slack, Microsoft Teams) exists only in the aws partition: unset ecslogfix:slackWorkspaceId, ecslogfix:slackChannelId and the ecslogfix:teams* keys here (email and the Slack webhook work everywhere)."),
			}},
		})
	}
	return topic
}

// teamsChannel subscribes an AWS Chatbot Microsoft Teams channel to the
// topic, like the Slack one: a channel role with no permissions of its own
// and the CloudWatch read-only guardrail, so a channel member can never do
// more than read CloudWatch. The tenant must have been authorized in the
// Chatbot console once ("Tutorial: Get started with Microsoft Teams",
// https://docs.aws.amazon.com/chatbot/latest/adminguide/teams-setup.html;
// docs/notifications.md, "Microsoft Teams").
func (p *pipeline) teamsChannel(topic awssns.Topic) {
	role := awsiam.NewRole(p.stack, jsii.String("TeamsChannelRole"), &awsiam.RoleProps{
		AssumedBy:   awsiam.NewServicePrincipal(jsii.String("chatbot.amazonaws.com"), nil),
		Description: jsii.String("AWS Chatbot's Microsoft Teams channel role: no permissions (the guardrail caps it to reading CloudWatch)"),
	})
	awschatbot.NewCfnMicrosoftTeamsChannelConfiguration(p.stack, jsii.String("Teams"), &awschatbot.CfnMicrosoftTeamsChannelConfigurationProps{
		ConfigurationName: jsii.String(StackName(p.cfg)),
		IamRoleArn:        role.RoleArn(),
		TeamsTenantId:     jsii.String(p.cfg.TeamsTenantID),
		TeamId:            jsii.String(p.cfg.TeamsTeamID),
		TeamsChannelId:    jsii.String(p.cfg.TeamsChannelID),
		SnsTopicArns:      jsii.Strings(*topic.TopicArn()),
		LoggingLevel:      jsii.String("ERROR"),
		GuardrailPolicies: jsii.Strings(*awsiam.ManagedPolicy_FromAwsManagedPolicyName(jsii.String("CloudWatchReadOnlyAccess")).ManagedPolicyArn()),
		UserRoleRequired:  jsii.Bool(false),
	})
}

// logGroup creates one of our own log groups with the configured retention,
// encrypted with the stack's key.
func (p *pipeline) logGroup(id, name string) awslogs.LogGroup {
	lg := awslogs.NewLogGroup(p.stack, jsii.String(id), &awslogs.LogGroupProps{
		LogGroupName:  jsii.String(name),
		RemovalPolicy: awscdk.RemovalPolicy_DESTROY,
	})
	cfn := lg.Node().DefaultChild().(awslogs.CfnLogGroup)
	cfn.SetRetentionInDays(jsii.Number(float64(p.cfg.LogRetentionDays)))
	cfn.SetKmsKeyId(p.key.AttrArn())
	return lg
}

// environ is each function's environment: only the variables it reads.
func (p *pipeline) environ(smARN string) map[string]map[string]string {
	own := []string{p.roleARN(p.names.FunctionRole(config.FunctionRemediate))}
	memberRole := ""
	if p.cfg.Mode == config.ModeOrganization {
		memberRole = p.names.MemberRole()
		own = append(own, awsarn.RoleARN(partition(), "*", memberRole))
	}
	return map[string]map[string]string{
		config.FunctionDetect: fnenv.DetectEnv{Mode: p.cfg.Mode, Policy: p.cfg.Policy, StateMachineARN: smARN,
			OwnRoleARNs: own, MemberRoleName: memberRole, AllowedAccounts: p.cfg.AllowedAccounts, History: p.historyEnv(config.FunctionDetect)}.Environ(),
		config.FunctionSweep:     p.sweepEnv(smARN, memberRole).Environ(),
		config.FunctionRemediate: fnenv.RemediateEnv{Policy: p.cfg.Policy, RegisterRate: p.cfg.RegisterRatePerInstance(), RolloutRate: p.cfg.RolloutRatePerInstance()}.Environ(),
		config.FunctionNotify: fnenv.NotifyEnv{TopicARN: *p.topic.TopicArn(), SlackWebhookARN: p.cfg.SlackWebhookSecretARN,
			SweepBucket: *p.bucket.BucketName(), EventBus: p.eventBusARN(), History: p.historyEnv(config.FunctionNotify), Mode: p.cfg.Mode, MemberRoleName: memberRole}.Environ(),
	}
}

// eventBusARN is the bus notify puts the neutral event on: the account's
// default bus, or in organization mode the hub's bus, where the
// organization's events already are (docs/notifications.md, "The neutral
// event").
func (p *pipeline) eventBusARN() string {
	bus := "default"
	if p.cfg.Mode == config.ModeOrganization {
		bus = p.names.EventBus()
	}
	return arn("arn:", partition(), ":events:", region(), ":", account(), ":event-bus/", bus)
}

// reservedConcurrency caps remediate at cfg.RemediateConcurrency when one
// is configured; nothing else is capped.
func reservedConcurrency(cfg config.Config, fn string) *float64 {
	if fn != config.FunctionRemediate || cfg.RemediateConcurrency < 1 {
		return nil
	}
	return jsii.Number(float64(cfg.RemediateConcurrency))
}

// vpcActions are what Lambda needs to attach a function to a VPC
// ("Giving Lambda functions access to resources in an Amazon VPC",
// https://docs.aws.amazon.com/lambda/latest/dg/configuration-vpc.html).
var vpcActions = []string{"ec2:CreateNetworkInterface", "ec2:DescribeNetworkInterfaces", "ec2:DescribeSubnets",
	"ec2:DeleteNetworkInterface", "ec2:AssignPrivateIpAddresses", "ec2:UnassignPrivateIpAddresses"}

func toEnv(m map[string]string) *map[string]*string {
	out := map[string]*string{}
	for k, v := range m {
		out[k] = jsii.String(v)
	}
	return &out
}

// rolloutWildcards explains the rollout's wildcards (rolloutStatements).
const rolloutWildcards = "the rollout: ecs:ListClusters, ecs:ListServices, events:ListEventBuses, events:ListRules and scheduler:ListSchedules support no resource-level permissions (Resource *);" +
	" ecs:DescribeServices/UpdateService are limited to the account's services (service/*), events:ListTargetsByRule/PutTargets to its rules (rule/*), scheduler:GetSchedule/UpdateSchedule to its schedules (schedule/*): the consumers of a task definition are not known in advance;" +
	" iam:PassRole for the targets' own roles, which PutTargets and UpdateSchedule resend unchanged, only to events.amazonaws.com and scheduler.amazonaws.com"

// roleWildcards explains the wildcards in fn's role (cdk-nag
// AwsSolutions-IAM5 suppression reason).
func roleWildcards(fn, mode string, vpc bool) string {
	r := "logs:CreateLogStream/PutLogEvents on the log streams of the function's own log group (log-group:NAME:*)"
	switch fn {
	case config.FunctionDetect, config.FunctionSweep:
		r += "; ecs:DescribeTaskDefinition, ecs:ListTaskDefinitionFamilies, ecs:ListAccountSettings and logs:DescribeLogGroups support no resource-level permissions (Resource *);" +
			" states:DescribeExecution on the executions of ecslogfix's own state machine (execution:NAME:*; execution names are per revision)"
		if fn == config.FunctionSweep {
			r += "; its own objects in its bucket (sweeps/*: one prefix per sweep) and ListBucket limited to that prefix"
			if mode == config.ModeOrganization {
				r += "; organizations:ListAccountsForParent/ListOrganizationalUnitsForParent on the OUs and root of the organization (ou/o-ID/*, root/o-ID/*: the management account and the OU IDs below the targets are not known in advance);" +
					" cloudformation:ListStackInstances on the two member StackSets (stackset/NAME:*: CloudFormation generates the StackSet ID)"
			}
		}
	case config.FunctionRemediate:
		r += "; ecs:DescribeTaskDefinition, ecs:DeregisterTaskDefinition, ecs:ListAccountSettings and logs:DescribeLogGroups support no resource-level permissions (Resource *);" +
			" ecs:RegisterTaskDefinition and ecs:TagResource (on creation only) are limited to this account's task definitions (task-definition/*); logs:CreateLogGroup/PutRetentionPolicy/TagResource/ListTagsForResource to the policy's logGroupPatterns in any region (central logging);" +
			" iam:PassRole is limited to roles passed to ecs-tasks.amazonaws.com (the task definitions' own execution and task roles, not known in advance); " + rolloutWildcards
	}
	if mode == config.ModeOrganization && fn != config.FunctionNotify {
		r += "; sts:AssumeRole on the ecslogfix member role in any account of the organization (arn:...:iam::*:role/NAME with aws:ResourceOrgID; the member role's trust policy requires the organization too)"
	}
	if vpc {
		r += "; the EC2 network-interface actions Lambda needs to run a function in a VPC support no resource-level permissions for Describe* and are documented with Resource *"
	}
	return r
}

// addFunctions creates the three functions, the state machine and their
// permissions.
func (p *pipeline) addFunctions() {
	stack := p.stack
	smName := p.names.StateMachine()
	smARN := arn("arn:", partition(), ":states:", region(), ":", account(), ":stateMachine:", smName)
	envs := p.environ(smARN)

	if p.cfg.RemediateConcurrency > 0 {
		warn(stack, fmt.Sprintf("remediate reserves %d concurrent executions: Lambda refuses the deployment unless the account's concurrency quota leaves its minimum unreserved (new accounts often have a quota of 10, which admits no reservation); check `aws lambda get-account-settings` first", p.cfg.RemediateConcurrency))
	}
	if p.cfg.RegisterRate < asl.BudgetRegisterRate {
		warn(stack, fmt.Sprintf("registerRate %g is below the %g/s the workflow's retries are sized for: a burst of %d executions outlasts them (about %d would drain in time)",
			p.cfg.RegisterRate, asl.BudgetRegisterRate, asl.BudgetBurst, int(float64(asl.BudgetBurst)*p.cfg.RegisterRate/asl.BudgetRegisterRate)))
	}
	for _, fn := range config.Functions {
		lg := p.logGroup(functionID(fn)+"Logs", p.names.FunctionLogGroup(fn))
		role := p.roles[fn]
		role.AddToPolicy(statement([]string{"logs:CreateLogStream", "logs:PutLogEvents"}, []string{*lg.LogGroupArn()}, nil))
		if len(p.cfg.VPCSubnetIDs) > 0 {
			role.AddToPolicy(statement(vpcActions, []string{"*"}, nil))
		}
		var onFailure awslambda.IDestination
		if fn == config.FunctionDetect {
			// EventBridge invokes detect asynchronously; after Lambda's two
			// retries a failed event would be discarded (the targets' DLQ
			// only sees delivery failures). It lands here instead, and an
			// alarm says so. (The sweep state machine invokes the sweep
			// synchronously and retries it itself.)
			onFailure = awslambdadestinations.NewSqsDestination(p.detectFailures)
		}
		p.functions[fn] = awslambda.NewFunction(stack, jsii.String(functionID(fn)), &awslambda.FunctionProps{
			OnFailure:     onFailure,
			FunctionName:  jsii.String(p.names.Function(fn)),
			Description:   jsii.String("ecslogfix " + fn),
			Runtime:       awslambda.Runtime_PROVIDED_AL2023(),
			Architecture:  awslambda.Architecture_ARM_64(),
			Handler:       jsii.String("bootstrap"),
			Code:          functionCode(p.root, fn),
			MemorySize:    jsii.Number(float64(p.cfg.MemoryMB[fn])),
			Timeout:       awscdk.Duration_Seconds(jsii.Number(functionTimeout[fn])),
			Role:          role,
			LogGroup:      lg,
			LoggingFormat: awslambda.LoggingFormat_JSON,
			Environment:   toEnv(envs[fn]),
			// remediate's instances share the registration budget.
			ReservedConcurrentExecutions: reservedConcurrency(p.cfg, fn),
		})
		if len(p.cfg.VPCSubnetIDs) > 0 {
			// Control Tower control CT.LAMBDA.PR.3: functions in a
			// customer-managed VPC.
			p.functions[fn].Node().DefaultChild().(awslambda.CfnFunction).SetVpcConfig(&awslambda.CfnFunction_VpcConfigProperty{
				SubnetIds:        jsii.Strings(p.cfg.VPCSubnetIDs...),
				SecurityGroupIds: jsii.Strings(p.cfg.VPCSecurityGroupIDs...),
			})
		}
		// AwsSolutions-IAM5: see roleWildcards for each role's reason.
		suppress(role, "AwsSolutions-IAM5", roleWildcards(fn, p.cfg.Mode, len(p.cfg.VPCSubnetIDs) > 0)+historyWildcards(p.cfg, fn))
	}

	// detect and sweep: read task definitions, start the workflow.
	for _, fn := range []string{config.FunctionDetect, config.FunctionSweep} {
		statements := []awsiam.PolicyStatement{
			// ECS Describe/ListTaskDefinitionFamilies support no
			// resource-level permissions.
			statement(ecsReadActions, []string{"*"}, nil),
			// A revision compliant on paper is judged on whether its log
			// groups exist (the home account's; members' through the role).
			awsiam.PolicyStatement_FromJson(describeLogGroups()),
			statement([]string{"states:StartExecution"}, []string{smARN}, nil),
			// Tell a failed earlier execution (start the next attempt) from
			// a running or successful one (a duplicate).
			statement([]string{"states:DescribeExecution"}, []string{arn("arn:", partition(), ":states:", region(), ":", account(), ":execution:", smName, ":*")}, nil),
		}
		if fn == config.FunctionSweep {
			statements = append(statements, p.sweepStatements()...)
		}
		for _, s := range statements {
			p.roles[fn].AddToPolicy(s)
		}
	}
	// remediate: ensure log groups, register, tag, pass the task's roles,
	// in this stack's own account. In organization mode that is the hub's:
	// the hub account's task definitions are fixed with these grants (the
	// function's own credentials, as execution.Reach targets the home
	// account), member accounts' through the member role. Service-managed
	// StackSets never deploy to the management account, where a SELF hub
	// lives, so the hub could not carry the member role itself.
	remediate := p.roles[config.FunctionRemediate]
	for _, s := range remediateStatements(p.cfg.Policy, partition(), account()) {
		remediate.AddToPolicy(awsiam.PolicyStatement_FromJson(s))
	}
	// notify: publish; the key policy admits this role for the topic key.
	notify := p.roles[config.FunctionNotify]
	notify.AddToPolicy(statement([]string{"sns:Publish"}, []string{*p.topic.TopicArn()}, nil))
	if p.cfg.SlackWebhookSecretARN != "" {
		notify.AddToPolicy(statement([]string{"secretsmanager:GetSecretValue"}, []string{p.cfg.SlackWebhookSecretARN}, nil))
	}
	// notify: the neutral event, on that one bus.
	notify.AddToPolicy(statement([]string{"events:PutEvents"}, []string{p.eventBusARN()}, nil))
	// notify: the outcomes of a sweep's executions and the digest marker
	// (workflow.SweepOutcomeKey, SweepDigestKey), nothing else of the sweep.
	notify.AddToPolicy(statement([]string{"s3:PutObject", "s3:GetObject"}, []string{p.sweepObjects("sweeps/*/outcomes/*"), p.sweepObjects("sweeps/*/digest.json")}, nil))
	notify.AddToPolicy(statement([]string{"s3:ListBucket"}, []string{*p.bucket.BucketArn()}, map[string]any{"StringLike": map[string]any{"s3:prefix": "sweeps/*/outcomes/*"}}))
	if p.cfg.Mode == config.ModeOrganization {
		// The member role of accounts of the organization only: a relayed
		// event naming an account outside it cannot be acted on, allow-list
		// or none (aws:ResourceOrgID, "AWS global condition context keys",
		// https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html#condition-keys-resourceorgid).
		memberRole := awsarn.RoleARN(partition(), "*", p.names.MemberRole())
		inOrg := map[string]any{"StringEquals": map[string]any{"aws:ResourceOrgID": p.cfg.OrganizationID}}
		for _, fn := range memberRoleUsers(p.cfg) {
			p.roles[fn].AddToPolicy(statement([]string{"sts:AssumeRole"}, []string{memberRole}, inOrg))
		}
	}
	p.addHistory()

	smLogs := p.logGroup("StateMachineLogs", p.names.StateMachineLogGroup())
	p.sm = awsstepfunctions.NewStateMachine(stack, jsii.String("StateMachine"), &awsstepfunctions.StateMachineProps{
		StateMachineName: jsii.String(smName),
		StateMachineType: awsstepfunctions.StateMachineType_STANDARD,
		DefinitionBody:   awsstepfunctions.DefinitionBody_FromString(jsii.String(asl.Definition(partition(), p.names.Function(config.FunctionRemediate), p.names.Function(config.FunctionNotify)))),
		TracingEnabled:   jsii.Bool(true),
		Logs: &awsstepfunctions.LogOptions{
			Destination:          smLogs,
			Level:                awsstepfunctions.LogLevel_ALL,
			IncludeExecutionData: jsii.Bool(false), // privacy: no inputs/outputs in logs
		},
	})
	p.functions[config.FunctionRemediate].GrantInvoke(p.sm)
	p.functions[config.FunctionNotify].GrantInvoke(p.sm)
	// AwsSolutions-IAM5: CDK grants lambda:InvokeFunction on "ARN:*" (the
	// function's versions/aliases); Step Functions log delivery and X-Ray
	// actions support no resource-level permissions.
	suppress(p.sm, "AwsSolutions-IAM5", "lambda:InvokeFunction on our two functions' versions (ARN:*); CloudWatch Logs delivery (logs:*LogDelivery*, DescribeLogGroups...) and X-Ray trace actions support only Resource \"*\".")
	p.addSweepStateMachine()
}

// memberRoleUsers are the functions that assume the member role: notify
// too when it imports findings into member accounts.
func memberRoleUsers(cfg config.Config) []string {
	fns := []string{config.FunctionDetect, config.FunctionSweep, config.FunctionRemediate}
	if cfg.History && cfg.SecurityHub != config.SecurityHubOff {
		fns = append(fns, config.FunctionNotify)
	}
	return fns
}

// addRule routes matching events on bus (nil: the default bus) to detect,
// with the shared DLQ and a retry policy.
func (p *pipeline) addRule(id string, bus awsevents.IEventBus, name string) awsevents.Rule {
	rule := awsevents.NewRule(p.stack, jsii.String(id), &awsevents.RuleProps{
		RuleName:     jsii.String(name),
		Description:  jsii.String("ecslogfix: successful RegisterTaskDefinition calls"),
		EventBus:     bus,
		EventPattern: registerEventPattern(),
	})
	rule.AddTarget(p.target(config.FunctionDetect, nil))
	return rule
}

// target makes fn an EventBridge target with the shared DLQ and a retry
// policy.
func (p *pipeline) target(fn string, input awsevents.RuleTargetInput) awsevents.IRuleTarget {
	return awseventstargets.NewLambdaFunction(p.functions[fn], &awseventstargets.LambdaFunctionProps{
		DeadLetterQueue: p.dlq,
		RetryAttempts:   jsii.Number(targetRetryAttempts),
		MaxEventAge:     awscdk.Duration_Hours(jsii.Number(targetMaxEventAge)),
		Event:           input,
	})
}

// addSweep schedules the sweep state machine.
func (p *pipeline) addSweep() {
	if p.cfg.SweepSchedule == "" {
		return
	}
	rule := awsevents.NewRule(p.stack, jsii.String("SweepRule"), &awsevents.RuleProps{
		RuleName:    jsii.String(p.names.Rule("sweep")),
		Description: jsii.String("ecslogfix: scheduled sweep of every family's latest revision"),
		Schedule:    awsevents.Schedule_Expression(jsii.String(p.cfg.SweepSchedule)),
	})
	rule.AddTarget(awseventstargets.NewSfnStateMachine(p.sweepSM, &awseventstargets.SfnStateMachineProps{
		Input:           awsevents.RuleTargetInput_FromObject(map[string]any{}),
		DeadLetterQueue: p.dlq,
		RetryAttempts:   jsii.Number(targetRetryAttempts),
		MaxEventAge:     awscdk.Duration_Hours(jsii.Number(targetMaxEventAge)),
	}))
}

// addAlarms alarms on failed executions, DLQ depth and function errors, and
// adds the dashboard.
func (p *pipeline) addAlarms() {
	action := awscloudwatchactions.NewSnsAction(p.topic)
	five := awscdk.Duration_Minutes(jsii.Number(5))
	alarm := func(id, desc string, m awscloudwatch.IMetric) {
		a := awscloudwatch.NewAlarm(p.stack, jsii.String(id), &awscloudwatch.AlarmProps{
			AlarmDescription:   jsii.String(desc),
			Metric:             m,
			Threshold:          jsii.Number(1),
			EvaluationPeriods:  jsii.Number(1),
			ComparisonOperator: awscloudwatch.ComparisonOperator_GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
			TreatMissingData:   awscloudwatch.TreatMissingData_NOT_BREACHING,
		})
		a.AddAlarmAction(action)
	}
	alarm("ExecutionsFailedAlarm", "ecslogfix: remediation workflow executions failed",
		p.sm.MetricFailed(&awscloudwatch.MetricOptions{Period: five, Statistic: jsii.String("Sum")}))
	alarm("SweepFailedAlarm", "ecslogfix: a sweep failed (its summary in the sweep bucket says which account-regions)",
		p.sweepSM.MetricFailed(&awscloudwatch.MetricOptions{Period: five, Statistic: jsii.String("Sum")}))
	// The sweep's summary writes its coverage gaps: accounts in scope
	// whose member stacks are missing, OUTDATED or INOPERABLE.
	alarm("CoverageGapsAlarm", "ecslogfix: accounts in scope are not covered by the member stacks (the sweep's summary lists them)",
		awscloudwatch.NewMetric(&awscloudwatch.MetricProps{
			Namespace: jsii.String(metrics.Namespace), MetricName: jsii.String(metrics.CoverageGaps),
			DimensionsMap: &map[string]*string{"Mode": jsii.String("sweep")}, Statistic: jsii.String("Maximum"),
			Period: awscdk.Duration_Days(jsii.Number(1)),
		}))
	alarm("DLQDepthAlarm", "ecslogfix: events could not be delivered to detect (dead-letter queue not empty)",
		p.dlq.MetricApproximateNumberOfMessagesVisible(&awscloudwatch.MetricOptions{Period: five, Statistic: jsii.String("Maximum")}))
	alarm("DetectFailuresAlarm", "ecslogfix: detect failed on an event or a sweep after Lambda's retries (on-failure queue not empty)",
		p.detectFailures.MetricApproximateNumberOfMessagesVisible(&awscloudwatch.MetricOptions{Period: five, Statistic: jsii.String("Maximum")}))
	// "AWS API Call via CloudTrail" events exist only with a trail logging
	// management events (EventBridge User Guide, "Events from AWS services").
	// A deployment without one still remediates through the sweep, silently
	// late: alarm when a day's sweeps found violations while the register
	// rule never triggered.
	day := awscdk.Duration_Days(jsii.Number(1))
	alarm("NoCloudTrailEventsAlarm", "ecslogfix: the sweep found non-compliant task definitions but no RegisterTaskDefinition event arrived in a day: is a CloudTrail trail logging management events in this account and region?",
		awscloudwatch.NewMathExpression(&awscloudwatch.MathExpressionProps{
			Label:      jsii.String("sweep found violations, no event arrived"),
			Expression: jsii.String("IF(FILL(swept, 0) > 0 AND FILL(triggered, 0) == 0, 1, 0)"),
			Period:     day,
			UsingMetrics: &map[string]awscloudwatch.IMetric{
				// The sweep's EMF document carries the dimension Mode=sweep.
				"swept": awscloudwatch.NewMetric(&awscloudwatch.MetricProps{
					Namespace: jsii.String(metrics.Namespace), MetricName: jsii.String(metrics.Detections),
					DimensionsMap: &map[string]*string{"Mode": jsii.String("sweep")}, Statistic: jsii.String("Sum"), Period: day,
				}),
				"triggered": awscloudwatch.NewMetric(&awscloudwatch.MetricProps{
					Namespace: jsii.String("AWS/Events"), MetricName: jsii.String("TriggeredRules"),
					DimensionsMap: &map[string]*string{"RuleName": jsii.String(p.names.Rule("register"))}, Statistic: jsii.String("Sum"), Period: day,
				}),
			},
		}))
	for _, fn := range config.Functions {
		alarm(functionID(fn)+"ErrorsAlarm", "ecslogfix: "+fn+" function errors",
			p.functions[fn].MetricErrors(&awscloudwatch.MetricOptions{Period: five, Statistic: jsii.String("Sum")}))
	}

	metric := func(name string) awscloudwatch.IMetric {
		return awscloudwatch.NewMetric(&awscloudwatch.MetricProps{
			Namespace: jsii.String(metrics.Namespace), MetricName: jsii.String(name),
			Statistic: jsii.String("Sum"), Period: awscdk.Duration_Hours(jsii.Number(1)),
		})
	}
	graph := func(title string, ms ...awscloudwatch.IMetric) awscloudwatch.IWidget {
		return awscloudwatch.NewGraphWidget(&awscloudwatch.GraphWidgetProps{
			Title: jsii.String(title), Left: &ms, Width: jsii.Number(12), Height: jsii.Number(6),
		})
	}
	// Dashboard names are global in the account: the stack's name keeps a
	// hub and a single-mode stack apart.
	awscloudwatch.NewDashboard(p.stack, jsii.String("Dashboard"), &awscloudwatch.DashboardProps{
		DashboardName: jsii.String(StackName(p.cfg)),
		Widgets: &[]*[]awscloudwatch.IWidget{
			{graph("Detections and remediations", metric(metrics.Detections), metric(metrics.Remediations)),
				graph("Blocked and failed", metric(metrics.Blocked), metric(metrics.Failures))},
			{graph("Workflow executions", p.sm.MetricSucceeded(nil), p.sm.MetricFailed(nil)),
				graph("Dead-letter queues", p.dlq.MetricApproximateNumberOfMessagesVisible(nil), p.detectFailures.MetricApproximateNumberOfMessagesVisible(nil))},
		},
	})
}
