package stacks

import (
	"encoding/json"
	"fmt"
	"os"

	"github.com/aws/constructs-go/constructs/v10"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudformation"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/jsii-runtime-go"

	"github.com/ecslogfix/ecslogfix/internal/awsarn"
	"github.com/ecslogfix/ecslogfix/internal/config"
	"github.com/ecslogfix/ecslogfix/internal/policy"
)

// Member template parameters, set by the StackSet.
const (
	ParamHubAccountID = "HubAccountId"
	ParamHubRegion    = "HubRegion"
)

// MaxTemplateBody is CloudFormation's limit on a StackSet TemplateBody.
const MaxTemplateBody = 51200

// NewHubStack defines the organization mode hub stack: the functions, the
// workflow and the topic as in single mode, a custom event bus that admits
// only the organization, and a service-managed StackSet (auto-deployment to
// the target OUs and regions) of the member template.
func NewHubStack(scope constructs.Construct, id string, cfg config.Config, opts Options) awscdk.Stack {
	stack := awscdk.NewStack(scope, jsii.String(id), &awscdk.StackProps{
		Env:         opts.Env,
		Description: jsii.String("ecslogfix hub: keeps every ECS task definition of the organization logging to CloudWatch Logs"),
	})
	// The default execution role lives in each member account (the member
	// template creates it); the policy names it with the {account}
	// placeholder, which the plan expands for the account it fixes.
	if cfg.CreateDefaultExecutionRole && cfg.Policy.DefaultExecutionRoleARN == "" {
		cfg.Policy.DefaultExecutionRoleARN = "arn:" + *awscdk.Aws_PARTITION() + ":iam::" + policy.AccountPlaceholder + ":role/" + cfg.Names().DefaultExecutionRole()
	}
	p := newPipeline(stack, cfg, opts.Root)
	p.addFunctions()
	names := p.names

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
	p.addRule("RegisterRule", bus, names.Rule("register"))
	p.addSweep()
	p.addAlarms()
	addHubHook(stack, cfg, opts.Root)

	body, nagErrs, nagWarns, err := MemberTemplate(cfg)
	if err != nil {
		panic(fmt.Sprintf("member template: %v", err))
	}
	set := awscloudformation.NewCfnStackSet(stack, jsii.String("MemberStackSet"), &awscloudformation.CfnStackSetProps{
		StackSetName:    jsii.String(names.StackSet()),
		Description:     jsii.String("ecslogfix member: forwards RegisterTaskDefinition events to the hub; role the hub assumes"),
		PermissionModel: jsii.String("SERVICE_MANAGED"),
		CallAs:          jsii.String(cfg.StackSetCallAs),
		AutoDeployment: &awscloudformation.CfnStackSet_AutoDeploymentProperty{
			Enabled:                      jsii.Bool(true),
			RetainStacksOnAccountRemoval: jsii.Bool(false),
		},
		ManagedExecution: map[string]any{"Active": true},
		Capabilities:     jsii.Strings("CAPABILITY_NAMED_IAM"),
		OperationPreferences: &awscloudformation.CfnStackSet_OperationPreferencesProperty{
			// The first region holds the member's IAM roles: deploy it first.
			RegionConcurrencyType:      jsii.String("SEQUENTIAL"),
			RegionOrder:                jsii.Strings(cfg.Regions...),
			MaxConcurrentPercentage:    jsii.Number(25),
			FailureTolerancePercentage: jsii.Number(10),
		},
		Parameters: []any{
			&awscloudformation.CfnStackSet_ParameterProperty{ParameterKey: jsii.String(ParamHubAccountID), ParameterValue: awscdk.Aws_ACCOUNT_ID()},
			&awscloudformation.CfnStackSet_ParameterProperty{ParameterKey: jsii.String(ParamHubRegion), ParameterValue: awscdk.Aws_REGION()},
		},
		StackInstancesGroup: []any{&awscloudformation.CfnStackSet_StackInstancesProperty{
			DeploymentTargets: &awscloudformation.CfnStackSet_DeploymentTargetsProperty{
				OrganizationalUnitIds: jsii.Strings(cfg.TargetOUs...),
			},
			Regions: jsii.Strings(cfg.Regions...),
		}},
		TemplateBody: jsii.String(body),
	})
	// The member role trusts the hub's function roles, which must exist
	// when member accounts create it; the hub bus must exist for forwarding.
	for _, fn := range []string{config.FunctionDetect, config.FunctionSweep, config.FunctionRemediate} {
		set.Node().AddDependency(p.roles[fn])
	}
	set.Node().AddDependency(bus)
	// The member template is checked by cdk-nag in its own app; report its
	// findings here so the hub's gate sees them.
	for _, e := range nagErrs {
		awscdk.Annotations_Of(set).AddError(jsii.String("member template: " + e))
	}
	for _, w := range nagWarns {
		awscdk.Annotations_Of(set).AddWarning(jsii.String("member template: " + w))
	}
	addNag(stack)
	return stack
}

// MemberTemplate synthesizes the member stack in an app of its own (no
// assets, no bootstrap requirements) and returns its template as compact
// JSON, with its unsuppressed cdk-nag errors and warnings.
func MemberTemplate(cfg config.Config) (body string, nagErrs, nagWarns []string, err error) {
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
	stack := NewMemberStack(app, cfg.Prefix+"-member", cfg)
	tmpl := assertions.Template_FromStack(stack, nil).ToJSON()
	data, err := json.Marshal(tmpl)
	if err != nil {
		return "", nil, nil, err
	}
	nagErrs, nagWarns = NagFindings(stack)
	return string(data), nagErrs, nagWarns, nil
}

// NewMemberStack defines the member stack (L1 resources only, no assets):
// a rule forwarding RegisterTaskDefinition events to the hub bus (role,
// DLQ, retries) in every region, and, in the first configured region only
// (IAM is global), the role the hub assumes, the forwarder role and the
// default execution role.
func NewMemberStack(scope constructs.Construct, id string, cfg config.Config) awscdk.Stack {
	stack := awscdk.NewStack(scope, jsii.String(id), &awscdk.StackProps{
		Synthesizer:        awscdk.NewBootstraplessSynthesizer(&awscdk.BootstraplessSynthesizerProps{}),
		AnalyticsReporting: jsii.Bool(false),
		Description:        jsii.String("ecslogfix member (deployed by the hub's StackSet)"),
	})
	names := cfg.Names()
	hubAccount := awscdk.NewCfnParameter(stack, jsii.String(ParamHubAccountID), &awscdk.CfnParameterProps{
		Type: jsii.String("String"), AllowedPattern: jsii.String(`^\d{12}$`),
		Description: jsii.String("Account of the ecslogfix hub"),
	}).ValueAsString()
	hubRegion := awscdk.NewCfnParameter(stack, jsii.String(ParamHubRegion), &awscdk.CfnParameterProps{
		Type: jsii.String("String"), Description: jsii.String("Region of the ecslogfix hub bus"),
	}).ValueAsString()
	roleRegion := awscdk.NewCfnCondition(stack, jsii.String("IsRoleRegion"), &awscdk.CfnConditionProps{
		Expression: awscdk.Fn_ConditionEquals(awscdk.Aws_REGION(), jsii.String(cfg.Regions[0])),
	})
	part, acct := partition(), account()
	hubBusARN := arn("arn:", part, ":events:", *hubRegion, ":", *hubAccount, ":event-bus/", names.EventBus())
	doc := func(statements ...any) map[string]any {
		return map[string]any{"Version": "2012-10-17", "Statement": statements}
	}
	// The role the hub's detect and remediate functions assume.
	var perms []any
	perms = append(perms, map[string]any{"Effect": "Allow", "Action": ecsReadActions, "Resource": "*"})
	for _, s := range remediateStatements(cfg.Policy, part, acct) {
		perms = append(perms, s)
	}
	member := awsiam.NewCfnRole(stack, jsii.String("MemberRole"), &awsiam.CfnRoleProps{
		RoleName:    jsii.String(names.MemberRole()),
		Description: jsii.String("Assumed by the ecslogfix hub's detect, sweep and remediate functions"),
		AssumeRolePolicyDocument: doc(map[string]any{
			"Effect": "Allow",
			"Principal": map[string]any{"AWS": []string{
				awsarn.RoleARN(part, *hubAccount, names.FunctionRole(config.FunctionDetect)),
				awsarn.RoleARN(part, *hubAccount, names.FunctionRole(config.FunctionSweep)),
				awsarn.RoleARN(part, *hubAccount, names.FunctionRole(config.FunctionRemediate)),
			}},
			"Action":    "sts:AssumeRole",
			"Condition": map[string]any{"StringEquals": map[string]any{"aws:PrincipalOrgID": cfg.OrganizationID}},
		}),
		Policies: []any{&awsiam.CfnRole_PolicyProperty{PolicyName: jsii.String("ecslogfix"), PolicyDocument: doc(perms...)}},
	})
	member.CfnOptions().SetCondition(roleRegion)
	// AwsSolutions-IAM5: ECS Describe/Register/ListTaskDefinitionFamilies
	// support no resource-level permissions; TagResource is limited to task
	// definitions, log actions to the policy's log group names, PassRole to
	// roles passed to ECS tasks (the task definitions' own roles).
	suppress(member, "AwsSolutions-IAM5", "ECS Describe/Register/ListTaskDefinitionFamilies support no resource-level permissions; ecs:TagResource is limited to task-definition/*, logs actions to the policy's log group name pattern, iam:PassRole to roles passed to ecs-tasks.amazonaws.com (the task definitions' own roles, not known in advance).")

	forwarder := awsiam.NewCfnRole(stack, jsii.String("ForwarderRole"), &awsiam.CfnRoleProps{
		RoleName:    jsii.String(names.MemberForwarderRole()),
		Description: jsii.String("Lets this account's ecslogfix rules put events on the hub bus"),
		AssumeRolePolicyDocument: doc(map[string]any{
			"Effect":    "Allow",
			"Principal": map[string]any{"Service": "events.amazonaws.com"},
			"Action":    "sts:AssumeRole",
			"Condition": map[string]any{"StringEquals": map[string]any{"aws:SourceAccount": acct}},
		}),
		Policies: []any{&awsiam.CfnRole_PolicyProperty{PolicyName: jsii.String("put-events"), PolicyDocument: doc(
			map[string]any{"Effect": "Allow", "Action": "events:PutEvents", "Resource": hubBusARN},
		)}},
	})
	forwarder.CfnOptions().SetCondition(roleRegion)
	if cfg.CreateDefaultExecutionRole {
		exec := newDefaultExecutionRole(stack, names)
		exec.CfnOptions().SetCondition(roleRegion)
	}

	dlq := awssqs.NewCfnQueue(stack, jsii.String("ForwardDLQ"), &awssqs.CfnQueueProps{
		SqsManagedSseEnabled:   jsii.Bool(true),
		MessageRetentionPeriod: jsii.Number(14 * 24 * 3600),
	})
	// AwsSolutions-SQS3: this queue is the forwarding rule's dead-letter queue.
	suppress(dlq, "AwsSolutions-SQS3", "This queue is the dead-letter queue of the forwarding rule's target.")
	ruleName := names.Rule("forward")
	ruleARN := arn("arn:", part, ":events:", region(), ":", acct, ":rule/", ruleName)
	awssqs.NewCfnQueuePolicy(stack, jsii.String("ForwardDLQPolicy"), &awssqs.CfnQueuePolicyProps{
		Queues: jsii.Strings(*dlq.Ref()),
		PolicyDocument: doc(
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
	forwarderARN := awscdk.Token_AsString(awscdk.Fn_ConditionIf(roleRegion.LogicalId(), forwarder.AttrArn(),
		jsii.String(awsarn.RoleARN(part, acct, names.MemberForwarderRole()))), nil)
	awsevents.NewCfnRule(stack, jsii.String("ForwardRule"), &awsevents.CfnRuleProps{
		Name:         jsii.String(ruleName),
		Description:  jsii.String("ecslogfix: forward successful RegisterTaskDefinition calls to the hub"),
		EventPattern: RegisterEventPattern(),
		State:        jsii.String("ENABLED"),
		Targets: []any{&awsevents.CfnRule_TargetProperty{
			Id:               jsii.String("hub"),
			Arn:              jsii.String(hubBusARN),
			RoleArn:          forwarderARN,
			DeadLetterConfig: &awsevents.CfnRule_DeadLetterConfigProperty{Arn: dlq.AttrArn()},
			RetryPolicy: &awsevents.CfnRule_RetryPolicyProperty{
				MaximumRetryAttempts:     jsii.Number(targetRetryAttempts),
				MaximumEventAgeInSeconds: jsii.Number(targetMaxEventAge * 3600),
			},
		}},
	})
	addMemberHook(stack, cfg, *hubAccount, *hubRegion, roleRegion)
	addNag(stack)
	return stack
}
