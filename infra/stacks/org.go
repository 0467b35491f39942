package stacks

import (
	"encoding/json"
	"fmt"
	"os"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudformation"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/ecslogfix/ecslogfix/infra/grants"
	"github.com/ecslogfix/ecslogfix/infra/lambdahook"
	"github.com/ecslogfix/ecslogfix/infra/pipeline"
	"github.com/ecslogfix/ecslogfix/internal/awsarn"
	"github.com/ecslogfix/ecslogfix/internal/config"
	"github.com/ecslogfix/ecslogfix/internal/config/naming"
	"github.com/ecslogfix/ecslogfix/internal/policy"
)

// Member template parameters, set by the StackSets.
const (
	ParamHubAccountID = "HubAccountId"
	ParamHubRegion    = "HubRegion"
)

// MaxTemplateBody is CloudFormation's limit on a StackSet TemplateBody.
const MaxTemplateBody = 51200

// NewHubStack defines the organization mode hub stack: the functions, the
// workflow and the topic as in single mode, a custom event bus that admits
// only the organization, and the member StackSets (service-managed,
// auto-deployment to the target OUs; see MemberSets).
func NewHubStack(scope constructs.Construct, id string, cfg config.Config, opts Options) awscdk.Stack {
	stack := awscdk.NewStack(scope, jsii.String(id), &awscdk.StackProps{
		Env:         opts.Env,
		Description: jsii.String("ecslogfix hub: keeps every ECS task definition of the organization logging to CloudWatch Logs"),
	})
	// The default execution role lives in each member account (the member
	// execution-role StackSet creates it); the policy names it with the
	// {account} placeholder, which the plan expands for the account it fixes.
	if cfg.CreateDefaultExecutionRole && cfg.Policy.DefaultExecutionRoleARN == "" {
		cfg.Policy.DefaultExecutionRoleARN = "arn:" + *awscdk.Aws_PARTITION() + ":iam::" + policy.AccountPlaceholder + ":role/" + cfg.Names().DefaultExecutionRole()
	}
	p := pipeline.New(stack, cfg, opts.Root)
	p.AddFunctions()
	names := cfg.Names()
	// StackSets cannot use trusted access with AWS Organizations in the
	// China regions (StackSets prerequisites,
	// https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/stacksets-prereqs.html).
	// Config refuses it when the regions say so; this refuses it where the
	// stack's own partition is known only at deploy time.
	awscdk.NewCfnRule(stack, jsii.String("OrganizationModePartition"), &awscdk.CfnRuleProps{
		Assertions: &[]*awscdk.CfnRuleAssertion{{
			Assert:            awscdk.Fn_ConditionNot(awscdk.Fn_ConditionEquals(awscdk.Aws_PARTITION(), jsii.String("aws-cn"))),
			AssertDescription: jsii.String("ecslogfix organization mode needs StackSets trusted access with AWS Organizations, which the China regions do not offer: deploy single mode per account there."),
		}},
	})
	// The hub's role names equal a single-mode stack's of the same prefix:
	// both cannot live in one account.
	pipeline.Warn(stack, fmt.Sprintf("IAM role names (%s, %s, %s) and the regional names of the functions, topic and state machine are those a single-mode stack with prefix %q uses: "+
		"remove a single-mode pilot from the hub account first, or give the hub another ecslogfix:prefix (infra/README.md, \"Migrating from a single-mode pilot\")",
		names.FunctionRole(naming.FunctionDetect), names.FunctionRole(naming.FunctionRemediate), names.FunctionRole(naming.FunctionNotify), cfg.Prefix))

	bus := awsevents.NewEventBus(stack, jsii.String("HubBus"), &awsevents.EventBusProps{
		EventBusName: jsii.String(names.EventBus()),
		Description:  jsii.String("ecslogfix: RegisterTaskDefinition events forwarded by the organization's accounts"),
	})
	bus.AddToResourcePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:        jsii.String("OrganizationPutEvents"),
		Principals: &[]awsiam.IPrincipal{awsiam.NewAnyPrincipal()},
		Actions:    jsii.Strings("events:PutEvents"),
		Resources:  jsii.Strings(*bus.EventBusArn()),
		Conditions: &map[string]any{"StringEquals": map[string]any{"aws:PrincipalOrgID": cfg.OrganizationID}},
	}))
	p.AddRule("RegisterRule", bus, names.Rule("register"))
	p.AddSweep()
	p.AddAlarms()
	lambdahook.AddHub(stack, cfg, opts.Root)

	sets, nagErrs, nagWarns, err := MemberSets(cfg)
	if err != nil {
		panic(fmt.Sprintf("member templates: %v", err))
	}
	created := map[string]awscloudformation.CfnStackSet{}
	for _, ms := range sets {
		set := newMemberStackSet(stack, cfg, ms)
		created[ms.Name] = set
		// The member role trusts the hub's function roles, which must exist
		// when member accounts create it.
		if ms.Name == names.StackSetIAM() {
			for _, fn := range grants.MemberRoleUsers(cfg) {
				set.Node().AddDependency(p.Role(fn))
			}
		}
		if ms.Name == names.StackSet() {
			set.Node().AddDependency(bus)
		}
	}
	// On the first rollout, create the forwarder roles before the rules
	// that use them. Auto-deployment to accounts that join later follows
	// no such order (StackSetOperationPreferences "don't apply to
	// AutoDeployment"; RegionOrder is not followed either:
	// https://github.com/aws-cloudformation/cloudformation-coverage-roadmap/issues/2158);
	// a rule whose role does not exist yet retries and dead-letters its
	// events, and the sweep covers them.
	created[names.StackSet()].Node().AddDependency(created[names.StackSetIAM()])
	// The member templates are checked by cdk-nag in apps of their own;
	// report their findings here so the hub's gate sees them.
	for _, e := range nagErrs {
		awscdk.Annotations_Of(created[names.StackSet()]).AddError(jsii.String("member template: " + e))
	}
	for _, w := range nagWarns {
		awscdk.Annotations_Of(created[names.StackSet()]).AddWarning(jsii.String("member template: " + w))
	}
	addNag(stack)
	return stack
}

// MemberSet is one member StackSet: its name, its template, the regions it
// deploys to and whether its stacks stay in an account that leaves the
// target OUs.
type MemberSet struct {
	Name         string
	TemplateBody string
	Regions      []string
	// RetainStacks keeps the stacks (and so their resources) when an
	// account leaves the target OUs.
	RetainStacks bool
	// Parameters are the hub parameters the template declares.
	Parameters []string
}

// MemberSets synthesizes the member templates, each in an app of its own
// (no assets, no bootstrap requirements), and returns them with their
// unsuppressed cdk-nag errors and warnings. Global and regional resources
// have separate lifecycles, so no region depends on another's stack:
//
//   - <prefix>-member, every region: the rule forwarding RegisterTaskDefinition
//     events to the hub bus (DLQ, retries); it names the forwarder role by
//     ARN;
//   - <prefix>-member-iam, cfg.IAMRegion only: the role the hub assumes and
//     the forwarder role (IAM is global);
//   - <prefix>-member-execution-role, cfg.IAMRegion only, when
//     createDefaultExecutionRole is set: the default ECS task execution
//     role, which revisions ecslogfix fixed name, so it outlives ecslogfix
//     (retained on deletion and when an account leaves the OUs).
func MemberSets(cfg config.Config) (sets []MemberSet, nagErrs, nagWarns []string, err error) {
	names := cfg.Names()
	type member struct {
		set   MemberSet
		build func(scope constructs.Construct, id string, cfg config.Config) awscdk.Stack
	}
	members := []member{
		{MemberSet{Name: names.StackSet(), Regions: cfg.Regions, Parameters: []string{ParamHubAccountID, ParamHubRegion}}, NewMemberForwardStack},
		{MemberSet{Name: names.StackSetIAM(), Regions: []string{cfg.IAMRegion}, Parameters: []string{ParamHubAccountID, ParamHubRegion}}, NewMemberIAMStack},
	}
	if cfg.CreateDefaultExecutionRole {
		members = append(members, member{MemberSet{Name: names.StackSetExecutionRole(), Regions: []string{cfg.IAMRegion}, RetainStacks: true}, NewMemberExecutionRoleStack})
	}
	for _, m := range members {
		body, errs, warns, err := memberTemplate(cfg, m.set.Name, m.build)
		if err != nil {
			return nil, nil, nil, err
		}
		m.set.TemplateBody = body
		sets = append(sets, m.set)
		for _, e := range errs {
			nagErrs = append(nagErrs, m.set.Name+": "+e)
		}
		for _, w := range warns {
			nagWarns = append(nagWarns, m.set.Name+": "+w)
		}
	}
	return sets, nagErrs, nagWarns, nil
}

// memberTemplate synthesizes one member stack in an app of its own and
// returns its template as compact JSON with its cdk-nag findings.
func memberTemplate(cfg config.Config, id string, build func(constructs.Construct, string, config.Config) awscdk.Stack) (string, []string, []string, error) {
	dir, err := os.MkdirTemp("", "ecslogfix-member-")
	if err != nil {
		return "", nil, nil, err
	}
	defer os.RemoveAll(dir)
	app := awscdk.NewApp(&awscdk.AppProps{
		Outdir:             jsii.String(dir),
		AnalyticsReporting: jsii.Bool(false),
		Context:            &map[string]any{"aws:cdk:enable-path-metadata": false},
	})
	stack := build(app, id, cfg)
	data, err := json.Marshal(assertions.Template_FromStack(stack, nil).ToJSON())
	if err != nil {
		return "", nil, nil, err
	}
	errs, warns := NagFindings(stack)
	return string(data), errs, warns, nil
}

// memberStackSetPreferences keep one account's failure from failing the
// hub: a region-deny SCP, an opt-in region not enabled, a suspended
// account or a name left by a single-mode pilot fails that stack instance
// only. SOFT_FAILURE_TOLERANCE keeps the concurrency whatever fails, and a
// tolerance of 100% lets the operation finish everywhere else
// (StackSetOperationPreferences,
// https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_StackSetOperationPreferences.html);
// failed instances are listed by the command in infra/README.md. Regions
// deploy in parallel: no region depends on another's stack.
func memberStackSetPreferences() *awscloudformation.CfnStackSet_OperationPreferencesProperty {
	return &awscloudformation.CfnStackSet_OperationPreferencesProperty{
		ConcurrencyMode:            jsii.String("SOFT_FAILURE_TOLERANCE"),
		RegionConcurrencyType:      jsii.String("PARALLEL"),
		MaxConcurrentPercentage:    jsii.Number(25),
		FailureTolerancePercentage: jsii.Number(100),
	}
}

func newMemberStackSet(stack awscdk.Stack, cfg config.Config, ms MemberSet) awscloudformation.CfnStackSet {
	params := map[string]*string{ParamHubAccountID: awscdk.Aws_ACCOUNT_ID(), ParamHubRegion: awscdk.Aws_REGION()}
	var parameters []any
	for _, name := range ms.Parameters {
		parameters = append(parameters, &awscloudformation.CfnStackSet_ParameterProperty{ParameterKey: jsii.String(name), ParameterValue: params[name]})
	}
	props := &awscloudformation.CfnStackSetProps{
		StackSetName:    jsii.String(ms.Name),
		Description:     jsii.String("ecslogfix member stacks (" + ms.Name + ")"),
		PermissionModel: jsii.String("SERVICE_MANAGED"),
		CallAs:          jsii.String(cfg.StackSetCallAs),
		AutoDeployment: &awscloudformation.CfnStackSet_AutoDeploymentProperty{
			Enabled:                      jsii.Bool(true),
			RetainStacksOnAccountRemoval: jsii.Bool(ms.RetainStacks),
		},
		ManagedExecution:     map[string]any{"Active": true},
		Capabilities:         jsii.Strings("CAPABILITY_NAMED_IAM"),
		OperationPreferences: memberStackSetPreferences(),
		StackInstancesGroup: []any{&awscloudformation.CfnStackSet_StackInstancesProperty{
			DeploymentTargets: &awscloudformation.CfnStackSet_DeploymentTargetsProperty{
				OrganizationalUnitIds: jsii.Strings(cfg.TargetOUs...),
			},
			Regions: jsii.Strings(ms.Regions...),
		}},
		TemplateBody: jsii.String(ms.TemplateBody),
	}
	if len(parameters) > 0 {
		props.Parameters = parameters
	}
	return awscloudformation.NewCfnStackSet(stack, jsii.String(stackSetID(ms.Name, cfg.Names())), props)
}

// stackSetID is the logical ID of a member StackSet.
func stackSetID(name string, n naming.Names) string {
	switch name {
	case n.StackSetIAM():
		return "MemberIAMStackSet"
	case n.StackSetExecutionRole():
		return "MemberExecutionRoleStackSet"
	}
	return "MemberStackSet"
}

// newMemberStackBase is a member stack: L1 resources only, no assets, no
// bootstrap requirements.
func newMemberStackBase(scope constructs.Construct, id, description string) awscdk.Stack {
	return awscdk.NewStack(scope, jsii.String(id), &awscdk.StackProps{
		Synthesizer:        awscdk.NewBootstraplessSynthesizer(&awscdk.BootstraplessSynthesizerProps{}),
		AnalyticsReporting: jsii.Bool(false),
		Description:        jsii.String(description),
	})
}

// hubParameters declares the parameters the StackSets set.
func hubParameters(stack awscdk.Stack) (hubAccount, hubRegion string) {
	hubAccount = *awscdk.NewCfnParameter(stack, jsii.String(ParamHubAccountID), &awscdk.CfnParameterProps{
		Type: jsii.String("String"), AllowedPattern: jsii.String(`^\d{12}$`),
		Description: jsii.String("Account of the ecslogfix hub"),
	}).ValueAsString()
	hubRegion = *awscdk.NewCfnParameter(stack, jsii.String(ParamHubRegion), &awscdk.CfnParameterProps{
		Type: jsii.String("String"), Description: jsii.String("Region of the ecslogfix hub bus"),
	}).ValueAsString()
	return hubAccount, hubRegion
}

func hubBusARN(names naming.Names, hubAccount, hubRegion string) string {
	return grants.ARN("arn:", grants.Partition(), ":events:", hubRegion, ":", hubAccount, ":event-bus/", names.EventBus())
}

// NewMemberForwardStack defines the regional member stack: a rule
// forwarding successful RegisterTaskDefinition calls to the hub bus with
// the forwarder role (named by ARN: the IAM StackSet creates it), an
// encrypted dead-letter queue and retries.
func NewMemberForwardStack(scope constructs.Construct, id string, cfg config.Config) awscdk.Stack {
	stack := newMemberStackBase(scope, id, "ecslogfix member: forwards RegisterTaskDefinition events to the hub (deployed by the hub's StackSet)")
	names := cfg.Names()
	hubAccount, hubRegion := hubParameters(stack)
	part, acct := grants.Partition(), grants.Account()

	dlq := awssqs.NewCfnQueue(stack, jsii.String("ForwardDLQ"), &awssqs.CfnQueueProps{
		SqsManagedSseEnabled:   jsii.Bool(true),
		MessageRetentionPeriod: jsii.Number(14 * 24 * 3600),
		RedriveAllowPolicy:     map[string]any{"redrivePermission": "allowAll"},
	})
	// AwsSolutions-SQS3: this queue is the forwarding rule's dead-letter queue.
	grants.Suppress(dlq, "AwsSolutions-SQS3", "This queue is the dead-letter queue of the forwarding rule's target.")
	ruleName := names.Rule("forward")
	ruleARN := grants.ARN("arn:", part, ":events:", grants.Region(), ":", acct, ":rule/", ruleName)
	awssqs.NewCfnQueuePolicy(stack, jsii.String("ForwardDLQPolicy"), &awssqs.CfnQueuePolicyProps{
		Queues: jsii.Strings(*dlq.Ref()),
		PolicyDocument: grants.PolicyDoc(
			map[string]any{
				"Sid": "EnforceSSL", "Effect": "Deny", "Principal": map[string]any{"AWS": "*"}, "Action": "sqs:*",
				"Resource":  *dlq.AttrArn(),
				"Condition": map[string]any{"Bool": map[string]any{"aws:SecureTransport": "false"}},
			},
			map[string]any{
				"Sid": "ForwardRuleDeadLetters", "Effect": "Allow", "Principal": map[string]any{"Service": "events.amazonaws.com"},
				"Action": "sqs:SendMessage", "Resource": *dlq.AttrArn(),
				"Condition": map[string]any{"ArnEquals": map[string]any{"aws:SourceArn": ruleARN}},
			},
		),
	})
	awsevents.NewCfnRule(stack, jsii.String("ForwardRule"), &awsevents.CfnRuleProps{
		Name:         jsii.String(ruleName),
		Description:  jsii.String("ecslogfix: forward successful RegisterTaskDefinition calls to the hub"),
		EventPattern: pipeline.RegisterEventPattern(),
		State:        jsii.String("ENABLED"),
		Targets: []any{&awsevents.CfnRule_TargetProperty{
			Id:               jsii.String("hub"),
			Arn:              jsii.String(hubBusARN(names, hubAccount, hubRegion)),
			RoleArn:          jsii.String(awsarn.RoleARN(part, acct, names.MemberForwarderRole())),
			DeadLetterConfig: &awsevents.CfnRule_DeadLetterConfigProperty{Arn: dlq.AttrArn()},
			RetryPolicy: &awsevents.CfnRule_RetryPolicyProperty{
				MaximumRetryAttempts:     jsii.Number(pipeline.TargetRetryAttempts),
				MaximumEventAgeInSeconds: jsii.Number(pipeline.TargetMaxEventAge * 3600),
			},
		}},
	})
	lambdahook.AddMember(stack, cfg, hubAccount, hubRegion)
	addNag(stack)
	return stack
}

// NewMemberIAMStack defines the member stack of the IAM region: the role
// the hub's detect and remediate functions assume, and the role the
// forwarding rules of every region use.
func NewMemberIAMStack(scope constructs.Construct, id string, cfg config.Config) awscdk.Stack {
	stack := newMemberStackBase(scope, id, "ecslogfix member IAM roles (deployed by the hub's StackSet to one region)")
	names := cfg.Names()
	hubAccount, hubRegion := hubParameters(stack)
	part, acct := grants.Partition(), grants.Account()
	var perms []any
	perms = append(perms, map[string]any{"Effect": "Allow", "Action": grants.ECSReadActions, "Resource": "*"})
	for _, s := range grants.RemediateStatements(cfg.Policy, part, acct) {
		perms = append(perms, s)
	}
	if cfg.History && cfg.SecurityHub != config.SecurityHubOff {
		// Findings are imported by the account they are about.
		perms = append(perms, map[string]any{"Effect": "Allow", "Action": []string{"securityhub:BatchImportFindings"}, "Resource": grants.SecurityHubProduct(part, acct)})
	}
	var trusted []string
	for _, fn := range grants.MemberRoleUsers(cfg) {
		trusted = append(trusted, awsarn.RoleARN(part, hubAccount, names.FunctionRole(fn)))
	}
	member := awsiam.NewCfnRole(stack, jsii.String("MemberRole"), &awsiam.CfnRoleProps{
		RoleName:    jsii.String(names.MemberRole()),
		Description: jsii.String("Assumed by the ecslogfix hub's detect, sweep and remediate functions"),
		AssumeRolePolicyDocument: grants.PolicyDoc(map[string]any{
			"Effect":    "Allow",
			"Principal": map[string]any{"AWS": trusted},
			"Action":    "sts:AssumeRole",
			"Condition": map[string]any{"StringEquals": map[string]any{"aws:PrincipalOrgID": cfg.OrganizationID}},
		}),
		Policies: []any{&awsiam.CfnRole_PolicyProperty{PolicyName: jsii.String("ecslogfix"), PolicyDocument: grants.PolicyDoc(perms...)}},
	})
	// AwsSolutions-IAM5: see the reason.
	grants.Suppress(member, "AwsSolutions-IAM5", "ecs:DescribeTaskDefinition, DeregisterTaskDefinition, ListTaskDefinitionFamilies, ListAccountSettings and logs:DescribeLogGroups support no resource-level permissions (Resource *); ecs:RegisterTaskDefinition and ecs:TagResource (on creation only) are limited to this account's task-definition/*, logs actions to the policy's logGroupPatterns, iam:PassRole to roles passed to ecs-tasks.amazonaws.com (the task definitions' own roles, not known in advance); "+grants.RolloutWildcards+".")

	awsiam.NewCfnRole(stack, jsii.String("ForwarderRole"), &awsiam.CfnRoleProps{
		RoleName:    jsii.String(names.MemberForwarderRole()),
		Description: jsii.String("Lets this account's ecslogfix rules put events on the hub bus"),
		AssumeRolePolicyDocument: grants.PolicyDoc(map[string]any{
			"Effect":    "Allow",
			"Principal": map[string]any{"Service": "events.amazonaws.com"},
			"Action":    "sts:AssumeRole",
			"Condition": map[string]any{"StringEquals": map[string]any{"aws:SourceAccount": acct}},
		}),
		Policies: []any{&awsiam.CfnRole_PolicyProperty{PolicyName: jsii.String("put-events"), PolicyDocument: grants.PolicyDoc(
			map[string]any{"Effect": "Allow", "Action": "events:PutEvents", "Resource": hubBusARN(names, hubAccount, hubRegion)},
		)}},
	})
	lambdahook.AddMemberRole(stack, cfg, hubAccount, hubRegion)
	addNag(stack)
	return stack
}

// NewMemberExecutionRoleStack defines the member stack holding the default
// ECS task execution role (see newDefaultExecutionRole).
func NewMemberExecutionRoleStack(scope constructs.Construct, id string, cfg config.Config) awscdk.Stack {
	stack := newMemberStackBase(scope, id, "ecslogfix default ECS task execution role (deployed by the hub's StackSet to one region; retained)")
	newDefaultExecutionRole(stack, cfg.Names())
	addNag(stack)
	return stack
}
