// Package lambdahook defines the CloudFormation Lambda Hook
// (ecslogfix:hook) of the single, hub and member stacks.
package lambdahook

import (
	"strings"
	"unicode"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudformation"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/jsii-runtime-go"

	"github.com/ecslogfix/ecslogfix/infra/assets"
	"github.com/ecslogfix/ecslogfix/infra/grants"
	"github.com/ecslogfix/ecslogfix/infra/pipeline"
	"github.com/ecslogfix/ecslogfix/internal/awsarn"
	"github.com/ecslogfix/ecslogfix/internal/config"
	"github.com/ecslogfix/ecslogfix/internal/config/fnenv"
	"github.com/ecslogfix/ecslogfix/internal/config/naming"
	"github.com/ecslogfix/ecslogfix/internal/source"
)

// The CloudFormation Lambda Hook (ecslogfix:hook): the deploy-time gate
// with the same reader and policy as `ecslogfix check`. Single mode: the
// function, the role CloudFormation Hooks assume to invoke it, and the
// hook, in one stack. Organization mode: the hub holds the function (its
// resource policy admits the organization) and the member template, which
// cannot carry assets, activates a hook in every member account and
// region that calls it.

// TimeoutSeconds stays under the 30 seconds Hooks wait for a Lambda.
const TimeoutSeconds = 25

// hookAlias is the hook's type name, Org::Service::Hook, from the resource
// prefix (letters and digits only, as the alias requires).
func hookAlias(prefix string) string {
	var b strings.Builder
	for _, r := range prefix {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			b.WriteRune(r)
		}
	}
	s := b.String()
	if s == "" || !unicode.IsLetter(rune(s[0])) {
		s = "Ecslogfix" + s
	}
	return strings.ToUpper(s[:1]) + s[1:] + "::ECS::TaskDefinitionLogging"
}

func hookRoleName(n naming.Names) string { return n.Prefix + "-hook-invoke" }

// addHookFunction creates the hook's Lambda function with its own log
// group; the environment carries the policy only (the hook makes no AWS
// calls).
func addHookFunction(stack awscdk.Stack, cfg config.Config, root string) awslambda.Function {
	names := cfg.Names()
	fn := naming.FunctionHook
	lg := awslogs.NewLogGroup(stack, jsii.String(pipeline.FunctionID(fn)+"Logs"), &awslogs.LogGroupProps{
		LogGroupName:  jsii.String(names.FunctionLogGroup(fn)),
		RemovalPolicy: awscdk.RemovalPolicy_DESTROY,
	})
	lg.Node().DefaultChild().(awslogs.CfnLogGroup).SetRetentionInDays(jsii.Number(float64(cfg.LogRetentionDays)))
	role := awsiam.NewRole(stack, jsii.String(pipeline.RoleID(fn)), &awsiam.RoleProps{
		RoleName:    jsii.String(names.FunctionRole(fn)),
		AssumedBy:   awsiam.NewServicePrincipal(jsii.String("lambda.amazonaws.com"), nil),
		Description: jsii.String("ecslogfix " + fn + " function"),
	})
	role.AddToPolicy(grants.Statement([]string{"logs:CreateLogStream", "logs:PutLogEvents"}, []string{*lg.LogGroupArn()}, nil))
	grants.Suppress(role, "AwsSolutions-IAM5", "logs:CreateLogStream/PutLogEvents on the log streams of the function's own log group (log-group:NAME:*)")
	memory := cfg.MemoryMB[fn]
	if memory == 0 {
		memory = config.DefaultMemoryMB
	}
	return awslambda.NewFunction(stack, jsii.String(pipeline.FunctionID(fn)), &awslambda.FunctionProps{
		FunctionName:  jsii.String(names.Function(fn)),
		Description:   jsii.String("ecslogfix CloudFormation Lambda Hook for AWS::ECS::TaskDefinition"),
		Runtime:       awslambda.Runtime_PROVIDED_AL2023(),
		Architecture:  awslambda.Architecture_ARM_64(),
		Handler:       jsii.String("bootstrap"),
		Code:          assets.FunctionCode(root, fn),
		MemorySize:    jsii.Number(float64(memory)),
		Timeout:       awscdk.Duration_Seconds(jsii.Number(TimeoutSeconds)),
		Role:          role,
		LogGroup:      lg,
		LoggingFormat: awslambda.LoggingFormat_JSON,
		Environment:   pipeline.ToEnv(fnenv.HookEnv{Policy: cfg.Policy}.Environ()),
	})
}

// newHookRole is the role CloudFormation Hooks assume to invoke the
// function: this account's hooks only.
func newHookRole(stack awscdk.Stack, names naming.Names, functionARN string) awsiam.CfnRole {
	return awsiam.NewCfnRole(stack, jsii.String("HookInvokeRole"), &awsiam.CfnRoleProps{
		RoleName:    jsii.String(hookRoleName(names)),
		Description: jsii.String("Assumed by CloudFormation Hooks to invoke the ecslogfix hook function"),
		AssumeRolePolicyDocument: map[string]any{
			"Version": "2012-10-17",
			"Statement": []any{map[string]any{
				"Effect":    "Allow",
				"Principal": map[string]any{"Service": "hooks.cloudformation.amazonaws.com"},
				"Action":    "sts:AssumeRole",
				"Condition": map[string]any{"StringEquals": map[string]any{"aws:SourceAccount": grants.Account()}},
			}},
		},
		Policies: []any{&awsiam.CfnRole_PolicyProperty{
			PolicyName: jsii.String("invoke"),
			PolicyDocument: map[string]any{
				"Version":   "2012-10-17",
				"Statement": []any{map[string]any{"Effect": "Allow", "Action": "lambda:InvokeFunction", "Resource": functionARN}},
			},
		}},
	})
}

// newLambdaHook activates the hook for task definition creates and
// updates, through CloudFormation and Cloud Control API alike.
func newLambdaHook(stack awscdk.Stack, cfg config.Config, functionARN, roleARN string) awscloudformation.CfnLambdaHook {
	var targets []any
	for _, action := range []string{"CREATE", "UPDATE"} {
		targets = append(targets, &awscloudformation.CfnLambdaHook_HookTargetProperty{
			Action: jsii.String(action), InvocationPoint: jsii.String("PRE_PROVISION"), TargetName: jsii.String(source.TypeTaskDefinition),
		})
	}
	return awscloudformation.NewCfnLambdaHook(stack, jsii.String("TaskDefinitionHook"), &awscloudformation.CfnLambdaHookProps{
		Alias:            jsii.String(hookAlias(cfg.Prefix)),
		LambdaFunction:   jsii.String(functionARN),
		ExecutionRole:    jsii.String(roleARN),
		FailureMode:      jsii.String(cfg.HookFailureMode),
		HookStatus:       jsii.String("ENABLED"),
		TargetOperations: jsii.Strings("RESOURCE", "CLOUD_CONTROL"),
		// The Targets form alone: the schema takes it or the
		// Actions/InvocationPoints/TargetNames form, not both.
		TargetFilters: &awscloudformation.CfnLambdaHook_TargetFiltersProperty{Targets: targets},
	})
}

// AddSingle adds the hook to the single-account stack when enabled.
func AddSingle(stack awscdk.Stack, cfg config.Config, root string) {
	if !cfg.Hook {
		return
	}
	fn := addHookFunction(stack, cfg, root)
	role := newHookRole(stack, cfg.Names(), *fn.FunctionArn())
	newLambdaHook(stack, cfg, *fn.FunctionArn(), *role.AttrArn())
}

// AddHub adds the hook function to the hub when enabled: the member
// accounts' hooks invoke it, within the organization only.
func AddHub(stack awscdk.Stack, cfg config.Config, root string) {
	if !cfg.Hook {
		return
	}
	fn := addHookFunction(stack, cfg, root)
	awslambda.NewCfnPermission(stack, jsii.String("HookInvokeFromOrganization"), &awslambda.CfnPermissionProps{
		Action:         jsii.String("lambda:InvokeFunction"),
		FunctionName:   fn.FunctionName(),
		Principal:      jsii.String("*"),
		PrincipalOrgId: jsii.String(cfg.OrganizationID),
	})
}

// AddMember activates the hook in a member account and region, calling
// the hub's function, with the invoke role the member IAM stack creates
// (IAM is global: AddMemberRole, in the IAM region only).
func AddMember(stack awscdk.Stack, cfg config.Config, hubAccount, hubRegion string) {
	if !cfg.Hook {
		return
	}
	names := cfg.Names()
	fnARN := grants.ARN("arn:", grants.Partition(), ":lambda:", hubRegion, ":", hubAccount, ":function:", names.Function(naming.FunctionHook))
	newLambdaHook(stack, cfg, fnARN, awsarn.RoleARN(grants.Partition(), grants.Account(), hookRoleName(names)))
}

// AddMemberRole creates the hook's invoke role in the member IAM stack.
func AddMemberRole(stack awscdk.Stack, cfg config.Config, hubAccount, hubRegion string) {
	if !cfg.Hook {
		return
	}
	names := cfg.Names()
	fnARN := grants.ARN("arn:", grants.Partition(), ":lambda:", hubRegion, ":", hubAccount, ":function:", names.Function(naming.FunctionHook))
	newHookRole(stack, names, fnARN)
}
