// Package pipeline is ecslogfix's pipeline as one construct the stacks
// compose: the functions and their roles, the remediation workflow, the
// rule to detect, the sweep, the history and the report, the key, the
// topic (infra/notifications), alarms and the dashboard. The grants and
// their reasons are in infra/grants.
package pipeline

import (
	"fmt"
	"slices"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
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
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsstepfunctions"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/ecslogfix/ecslogfix/infra/assets"
	"github.com/ecslogfix/ecslogfix/infra/grants"
	"github.com/ecslogfix/ecslogfix/infra/notifications"
	"github.com/ecslogfix/ecslogfix/internal/awsarn"
	"github.com/ecslogfix/ecslogfix/internal/config"
	"github.com/ecslogfix/ecslogfix/internal/config/fnenv"
	"github.com/ecslogfix/ecslogfix/internal/config/naming"
	"github.com/ecslogfix/ecslogfix/internal/metrics"
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
var FunctionTimeout = map[string]float64{
	naming.FunctionDetect:    60,
	naming.FunctionSweep:     300,
	naming.FunctionRemediate: 120,
	naming.FunctionNotify:    30,
}

// Event target retry policy.
const (
	TargetRetryAttempts = 8
	TargetMaxEventAge   = 6 // hours
)

// Pipeline holds what the single-account stack and the hub stack share.
type Pipeline struct {
	stack awscdk.Stack
	cfg   config.Config
	names naming.Names
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

// Role is the role of function fn.
func (p *Pipeline) Role(fn string) awsiam.Role { return p.roles[fn] }

// New creates what every stack of the pipeline holds first: the
// functions' roles, the dead-letter queues, the key, the topic and the
// sweep's bucket. AddFunctions, AddRule, AddSweep and AddAlarms add the
// rest.
func New(stack awscdk.Stack, cfg config.Config, root string) *Pipeline {
	p := &Pipeline{stack: stack, cfg: cfg, names: cfg.Names(), root: root,
		roles: map[string]awsiam.Role{}, functions: map[string]awslambda.Function{}}
	p.dlq = deadLetterQueue(stack, "TargetDLQ", "the dead-letter queue of the EventBridge rule targets")
	p.detectFailures = deadLetterQueue(stack, "DetectFailures", "the on-failure destination of detect's asynchronous invocations")
	fns := naming.Functions()
	if reportOn(cfg) {
		fns = append(slices.Clone(fns), naming.FunctionReport)
	}
	for _, fn := range fns {
		p.roles[fn] = awsiam.NewRole(stack, jsii.String(RoleID(fn)), &awsiam.RoleProps{
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
	p.topic = notifications.NewTopic(stack, cfg, p.key)
	p.bucket = p.newSweepBucket()
	p.assertPolicyKeyRegion()
	return p
}

// assertPolicyKeyRegion: KMS keys are regional, and CloudWatch Logs uses
// only a key of the log group's region. Config checks the policy's key
// against the regions it knows; when groups are created in the stack's own
// region, known only at deploy time, the template asserts it.
func (p *Pipeline) assertPolicyKeyRegion() {
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
	grants.Suppress(q, "AwsSolutions-SQS3", "This queue is itself "+what+".")
	return q
}

// RoleID and FunctionID are the logical IDs of fn's role and function.
func RoleID(fn string) string     { return strings.ToUpper(fn[:1]) + fn[1:] + "Role" }
func FunctionID(fn string) string { return strings.ToUpper(fn[:1]) + fn[1:] + "Function" }

// roleARN is the ARN of one of our roles in this stack's account, built from
// its name (no reference, so no dependency cycles).
func (p *Pipeline) roleARN(name string) string {
	return awsarn.RoleARN(grants.Partition(), grants.Account(), name)
}

// newKey creates the customer managed key of the notification topic and
// of ecslogfix's own log groups. Its policy admits the notify role and
// CloudWatch alarms as users of the topic, CloudWatch Logs for ecslogfix's
// log groups only, the account for key administration, and denies grants
// to anything but AWS resources.
func (p *Pipeline) newKey() awskms.CfnKey {
	var ownLogGroups []string
	for _, name := range p.ownLogGroupNames() {
		ownLogGroups = append(ownLogGroups, grants.ARN("arn:", grants.Partition(), ":logs:", grants.Region(), ":", grants.Account(), ":log-group:", name))
	}
	var extra []any
	if p.cfg.History {
		extra = p.historyKeyStatements()
	}
	key := awskms.NewCfnKey(p.stack, jsii.String("TopicKey"), &awskms.CfnKeyProps{
		Description:       jsii.String("ecslogfix notification topic and ecslogfix's own log groups"),
		EnableKeyRotation: jsii.Bool(true),
		KeyPolicy: grants.KeyPolicy(grants.KeyUsers{
			Notify:       *p.roles[naming.FunctionNotify].RoleArn(),
			SweepObjects: []string{*p.roles[naming.FunctionSweep].RoleArn(), *p.sweepSMRole.RoleArn(), *p.roles[naming.FunctionNotify].RoleArn()},
			OwnLogGroups: ownLogGroups,
		}, extra...),
	})
	// Retained on stack deletion and replacement (messages and logs it
	// encrypted stay readable), but deleted when the stack's first creation
	// rolls back (RetainExceptOnCreate): a failed first deploy leaves no
	// key behind. infra/README.md ("Uninstall") schedules its deletion.
	key.ApplyRemovalPolicy(awscdk.RemovalPolicy_RETAIN_ON_UPDATE_OR_DELETE, &awscdk.RemovalPolicyOptions{ApplyToUpdateReplacePolicy: jsii.Bool(true)})
	return key
}

// ownLogGroupNames are the log groups the stack creates for itself.
func (p *Pipeline) ownLogGroupNames() []string {
	var out []string
	for _, fn := range naming.Functions() {
		out = append(out, p.names.FunctionLogGroup(fn))
	}
	if reportOn(p.cfg) {
		out = append(out, p.names.FunctionLogGroup(naming.FunctionReport))
	}
	return append(out, p.names.StateMachineLogGroup(), p.names.SweepStateMachineLogGroup())
}

// logGroup creates one of our own log groups with the configured retention,
// encrypted with the stack's key.
func (p *Pipeline) logGroup(id, name string) awslogs.LogGroup {
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
func (p *Pipeline) environ(smARN string) map[string]map[string]string {
	own := []string{p.roleARN(p.names.FunctionRole(naming.FunctionRemediate))}
	memberRole := ""
	if p.cfg.Mode == config.ModeOrganization {
		memberRole = p.names.MemberRole()
		own = append(own, awsarn.RoleARN(grants.Partition(), "*", memberRole))
	}
	return map[string]map[string]string{
		naming.FunctionDetect:    fnenv.DetectEnv{StarterEnv: p.starterEnv(naming.FunctionDetect, smARN, memberRole), OwnRoleARNs: own}.Environ(),
		naming.FunctionSweep:     p.sweepEnv(smARN, memberRole).Environ(),
		naming.FunctionRemediate: fnenv.RemediateEnv{Policy: p.cfg.Policy, RegisterRate: p.cfg.RegisterRatePerInstance(), RolloutRate: p.cfg.RolloutRatePerInstance()}.Environ(),
		naming.FunctionNotify: fnenv.NotifyEnv{TopicARN: *p.topic.TopicArn(), SlackWebhookARN: p.cfg.SlackWebhookSecretARN,
			SweepBucket: *p.bucket.BucketName(), EventBus: p.eventBusARN(), History: p.historyEnv(naming.FunctionNotify), Mode: p.cfg.Mode, MemberRoleName: memberRole}.Environ(),
	}
}

// starterEnv is what function, detect or the sweep, reads to start
// remediation executions of the state machine smARN.
func (p *Pipeline) starterEnv(function, smARN, memberRole string) fnenv.StarterEnv {
	return fnenv.StarterEnv{Mode: p.cfg.Mode, Policy: p.cfg.Policy, StateMachineARN: smARN, MemberRoleName: memberRole,
		AllowedAccounts: p.cfg.AllowedAccounts, History: p.historyEnv(function)}
}

// eventBusARN is the bus notify puts the neutral event on: the account's
// default bus, or in organization mode the hub's bus, where the
// organization's events already are (docs/notifications.md, "The neutral
// event").
func (p *Pipeline) eventBusARN() string {
	bus := "default"
	if p.cfg.Mode == config.ModeOrganization {
		bus = p.names.EventBus()
	}
	return grants.ARN("arn:", grants.Partition(), ":events:", grants.Region(), ":", grants.Account(), ":event-bus/", bus)
}

// reservedConcurrency caps remediate at cfg.RemediateConcurrency when one
// is configured; nothing else is capped.
func reservedConcurrency(cfg config.Config, fn string) *float64 {
	if fn != naming.FunctionRemediate || cfg.RemediateConcurrency < 1 {
		return nil
	}
	return jsii.Number(float64(cfg.RemediateConcurrency))
}

// ToEnv is a function environment as jsii takes it.
func ToEnv(m map[string]string) *map[string]*string {
	out := map[string]*string{}
	for k, v := range m {
		out[k] = jsii.String(v)
	}
	return &out
}

// addFunctions creates the three functions, the state machine and their
// permissions.
func (p *Pipeline) AddFunctions() {
	stack := p.stack
	smName := p.names.StateMachine()
	smARN := grants.ARN("arn:", grants.Partition(), ":states:", grants.Region(), ":", grants.Account(), ":stateMachine:", smName)
	envs := p.environ(smARN)

	if p.cfg.RemediateConcurrency > 0 {
		Warn(stack, fmt.Sprintf("remediate reserves %d concurrent executions: Lambda refuses the deployment unless the account's concurrency quota leaves its minimum unreserved (new accounts often have a quota of 10, which admits no reservation); check `aws lambda get-account-settings` first", p.cfg.RemediateConcurrency))
	}
	if p.cfg.RegisterRate < asl.BudgetRegisterRate {
		Warn(stack, fmt.Sprintf("registerRate %g is below the %g/s the workflow's retries are sized for: a burst of %d executions outlasts them (about %d would drain in time)",
			p.cfg.RegisterRate, asl.BudgetRegisterRate, asl.BudgetBurst, int(float64(asl.BudgetBurst)*p.cfg.RegisterRate/asl.BudgetRegisterRate)))
	}
	for _, fn := range naming.Functions() {
		lg := p.logGroup(FunctionID(fn)+"Logs", p.names.FunctionLogGroup(fn))
		role := p.roles[fn]
		role.AddToPolicy(grants.Statement([]string{"logs:CreateLogStream", "logs:PutLogEvents"}, []string{*lg.LogGroupArn()}, nil))
		if len(p.cfg.VPCSubnetIDs) > 0 {
			role.AddToPolicy(grants.Statement(grants.VPCActions, []string{"*"}, nil))
		}
		var onFailure awslambda.IDestination
		if fn == naming.FunctionDetect {
			// EventBridge invokes detect asynchronously; after Lambda's two
			// retries a failed event would be discarded (the targets' DLQ
			// only sees delivery failures). It lands here instead, and an
			// alarm says so. (The sweep state machine invokes the sweep
			// synchronously and retries it itself.)
			onFailure = awslambdadestinations.NewSqsDestination(p.detectFailures)
		}
		p.functions[fn] = awslambda.NewFunction(stack, jsii.String(FunctionID(fn)), &awslambda.FunctionProps{
			OnFailure:     onFailure,
			FunctionName:  jsii.String(p.names.Function(fn)),
			Description:   jsii.String("ecslogfix " + fn),
			Runtime:       awslambda.Runtime_PROVIDED_AL2023(),
			Architecture:  awslambda.Architecture_ARM_64(),
			Handler:       jsii.String("bootstrap"),
			Code:          assets.FunctionCode(p.root, fn),
			MemorySize:    jsii.Number(float64(p.cfg.MemoryMB[fn])),
			Timeout:       awscdk.Duration_Seconds(jsii.Number(FunctionTimeout[fn])),
			Role:          role,
			LogGroup:      lg,
			LoggingFormat: awslambda.LoggingFormat_JSON,
			Environment:   ToEnv(envs[fn]),
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
		// AwsSolutions-IAM5: see grants.RoleWildcards for each role's reason.
		grants.Suppress(role, "AwsSolutions-IAM5", grants.RoleWildcards(fn, p.cfg.Mode, len(p.cfg.VPCSubnetIDs) > 0)+grants.HistoryWildcards(p.cfg, fn))
	}

	// detect and sweep: read task definitions, start the workflow.
	for _, fn := range []string{naming.FunctionDetect, naming.FunctionSweep} {
		statements := grants.ReadAndStartStatements(smARN, smName)
		if fn == naming.FunctionSweep {
			statements = append(statements, grants.SweepStatements(p.cfg, *p.bucket.BucketArn())...)
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
	remediate := p.roles[naming.FunctionRemediate]
	for _, s := range grants.RemediateStatements(p.cfg.Policy, grants.Partition(), grants.Account()) {
		remediate.AddToPolicy(awsiam.PolicyStatement_FromJson(s))
	}
	for _, s := range grants.NotifyStatements(p.cfg, *p.topic.TopicArn(), p.eventBusARN(), *p.bucket.BucketArn()) {
		p.roles[naming.FunctionNotify].AddToPolicy(s)
	}
	if p.cfg.Mode == config.ModeOrganization {
		// The member role of accounts of the organization only: a relayed
		// event naming an account outside it cannot be acted on, allow-list
		// or none (aws:ResourceOrgID, "AWS global condition context keys",
		// https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html#condition-keys-resourceorgid).
		memberRole := awsarn.RoleARN(grants.Partition(), "*", p.names.MemberRole())
		inOrg := map[string]any{"StringEquals": map[string]any{"aws:ResourceOrgID": p.cfg.OrganizationID}}
		for _, fn := range grants.MemberRoleUsers(p.cfg) {
			p.roles[fn].AddToPolicy(grants.Statement([]string{"sts:AssumeRole"}, []string{memberRole}, inOrg))
		}
	}
	p.addHistory()

	smLogs := p.logGroup("StateMachineLogs", p.names.StateMachineLogGroup())
	p.sm = awsstepfunctions.NewStateMachine(stack, jsii.String("StateMachine"), &awsstepfunctions.StateMachineProps{
		StateMachineName: jsii.String(smName),
		StateMachineType: awsstepfunctions.StateMachineType_STANDARD,
		DefinitionBody:   awsstepfunctions.DefinitionBody_FromString(jsii.String(asl.Definition(grants.Partition(), p.names.Function(naming.FunctionRemediate), p.names.Function(naming.FunctionNotify)))),
		TracingEnabled:   jsii.Bool(true),
		Logs: &awsstepfunctions.LogOptions{
			Destination:          smLogs,
			Level:                awsstepfunctions.LogLevel_ALL,
			IncludeExecutionData: jsii.Bool(false), // privacy: no inputs/outputs in logs
		},
	})
	p.functions[naming.FunctionRemediate].GrantInvoke(p.sm)
	p.functions[naming.FunctionNotify].GrantInvoke(p.sm)
	// AwsSolutions-IAM5: CDK grants lambda:InvokeFunction on "ARN:*" (the
	// function's versions/aliases); Step Functions log delivery and X-Ray
	// actions support no resource-level permissions.
	grants.Suppress(p.sm, "AwsSolutions-IAM5", "lambda:InvokeFunction on our two functions' versions (ARN:*); CloudWatch Logs delivery (logs:*LogDelivery*, DescribeLogGroups...) and X-Ray trace actions support only Resource \"*\".")
	p.addSweepStateMachine()
}

// addRule routes matching events on bus (nil: the default bus) to detect,
// with the shared DLQ and a retry policy.
func (p *Pipeline) AddRule(id string, bus awsevents.IEventBus, name string) awsevents.Rule {
	rule := awsevents.NewRule(p.stack, jsii.String(id), &awsevents.RuleProps{
		RuleName:     jsii.String(name),
		Description:  jsii.String("ecslogfix: successful RegisterTaskDefinition calls"),
		EventBus:     bus,
		EventPattern: registerEventPattern(),
	})
	rule.AddTarget(p.target(naming.FunctionDetect, nil))
	return rule
}

// target makes fn an EventBridge target with the shared DLQ and a retry
// policy.
func (p *Pipeline) target(fn string, input awsevents.RuleTargetInput) awsevents.IRuleTarget {
	return awseventstargets.NewLambdaFunction(p.functions[fn], &awseventstargets.LambdaFunctionProps{
		DeadLetterQueue: p.dlq,
		RetryAttempts:   jsii.Number(TargetRetryAttempts),
		MaxEventAge:     awscdk.Duration_Hours(jsii.Number(TargetMaxEventAge)),
		Event:           input,
	})
}

// addSweep schedules the sweep state machine.
func (p *Pipeline) AddSweep() {
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
		RetryAttempts:   jsii.Number(TargetRetryAttempts),
		MaxEventAge:     awscdk.Duration_Hours(jsii.Number(TargetMaxEventAge)),
	}))
}

// addAlarms alarms on failed executions, DLQ depth and function errors, and
// adds the dashboard.
func (p *Pipeline) AddAlarms() {
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
	for _, fn := range naming.Functions() {
		alarm(FunctionID(fn)+"ErrorsAlarm", "ecslogfix: "+fn+" function errors",
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
		DashboardName: jsii.String(*p.stack.StackName()),
		Widgets: &[]*[]awscloudwatch.IWidget{
			{graph("Detections and remediations", metric(metrics.Detections), metric(metrics.Remediations)),
				graph("Blocked and failed", metric(metrics.Blocked), metric(metrics.Failures))},
			{graph("Workflow executions", p.sm.MetricSucceeded(nil), p.sm.MetricFailed(nil)),
				graph("Dead-letter queues", p.dlq.MetricApproximateNumberOfMessagesVisible(nil), p.detectFailures.MetricApproximateNumberOfMessagesVisible(nil))},
		},
	})
}

// WarnPrefix starts the synth warnings ecslogfix adds itself (Warnings
// returns them; the app prints them).
const WarnPrefix = "ecslogfix: "

// Warn adds a synth warning a deployer must read.
func Warn(scope constructs.Construct, msg string) {
	awscdk.Annotations_Of(scope).AddWarning(jsii.String(WarnPrefix + msg))
}
