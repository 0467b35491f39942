// Package stacks defines ecslogfix's CDK stacks: the single-account stack,
// and for organization mode the hub stack with the member template it
// deploys through a service-managed StackSet.
//
// Where to read things in a synthesized template (for tests and the
// end-to-end harness):
//   - the state machine definitions (the remediation workflow and the
//     sweep): each AWS::StepFunctions::StateMachine resource's
//     Properties.DefinitionString, JSON whose only token is AWS::Partition
//     (the Tasks name the functions by name);
//     Template.StateMachineDefinition resolves one by name, and
//     asl.Definition and asl.SweepDefinition render the same
//     strings in Go;
//   - each function's environment: the AWS::Lambda::Function resource whose
//     Properties.FunctionName is Names.Function(fn), at
//     Properties.Environment.Variables (values may be Fn::Join/Ref objects
//     for ARNs of this stack; see FunctionEnvironment);
//   - each function's code: Properties.Code.S3Key "<hash>.zip" names the
//     directory cdk.out/asset.<hash> holding "bootstrap".
package stacks

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"

	"github.com/ecslogfix/ecslogfix/infra/grants"
	"github.com/ecslogfix/ecslogfix/infra/lambdahook"
	"github.com/ecslogfix/ecslogfix/infra/pipeline"
	"github.com/ecslogfix/ecslogfix/internal/config"
	"github.com/ecslogfix/ecslogfix/internal/config/naming"
)

// Options are the settings of a stack that do not come from the
// configuration.
type Options struct {
	// Root is the module root (holding go.mod and functions/).
	Root string
	// Env is the stack's account and region; nil for an environment-agnostic
	// stack.
	Env *awscdk.Environment
}

// NewSingleStack defines the single-account stack: the rule on the default
// bus, the functions, the workflow, the topic, the sweep, the default task
// execution role, alarms and the dashboard. cdk-nag's AwsSolutionsChecks
// runs on it.
func NewSingleStack(scope constructs.Construct, id string, cfg config.Config, opts Options) awscdk.Stack {
	stack := awscdk.NewStack(scope, jsii.String(id), &awscdk.StackProps{
		Env:         opts.Env,
		Description: jsii.String("ecslogfix: keeps every ECS task definition logging to CloudWatch Logs (single account)"),
	})
	if cfg.CreateDefaultExecutionRole && cfg.Policy.DefaultExecutionRoleARN == "" {
		role := newDefaultExecutionRole(stack, cfg.Names())
		cfg.Policy.DefaultExecutionRoleARN = *role.AttrArn()
	}
	p := pipeline.New(stack, cfg, opts.Root)
	p.AddFunctions()
	p.AddRule("RegisterRule", nil, cfg.Names().Rule("register"))
	p.AddSweep()
	p.AddAlarms()
	lambdahook.AddSingle(stack, cfg, opts.Root)
	addNag(stack)
	return stack
}

// addNag runs cdk-nag's AWS Solutions checks on stack.
func addNag(stack awscdk.Stack) {
	awscdk.Aspects_Of(stack).Add(cdknag.NewAwsSolutionsChecks(&cdknag.NagPackProps{Verbose: jsii.Bool(true)}), nil)
}

// newDefaultExecutionRole creates the ECS task execution role set on
// Fargate/EXTERNAL task definitions that have none. Revisions ecslogfix
// registered keep naming it after ecslogfix is removed (their next tasks
// could not start without it), so it is retained when its stack is
// deleted or replaced; infra/README.md ("Uninstall") says how to find the
// revisions that use it before deleting it, and how a reinstall adopts it.
func newDefaultExecutionRole(stack awscdk.Stack, names naming.Names) awsiam.CfnRole {
	role := awsiam.NewCfnRole(stack, jsii.String("DefaultExecutionRole"), &awsiam.CfnRoleProps{
		RoleName:                 jsii.String(names.DefaultExecutionRole()),
		Description:              jsii.String("ecslogfix default ECS task execution role (CloudWatch Logs only); kept when ecslogfix is removed"),
		AssumeRolePolicyDocument: grants.ExecutionRoleTrust(),
		Policies: []any{&awsiam.CfnRole_PolicyProperty{
			PolicyName: jsii.String("logs"),
			PolicyDocument: map[string]any{
				"Version":   "2012-10-17",
				"Statement": []any{grants.ExecutionRoleLogsStatement(grants.Partition(), grants.Account())},
			},
		}},
	})
	role.ApplyRemovalPolicy(awscdk.RemovalPolicy_RETAIN, &awscdk.RemovalPolicyOptions{ApplyToUpdateReplacePolicy: jsii.Bool(true)})
	// AwsSolutions-IAM5: containers log to log groups the task definition
	// names, which are not known in advance (existing groups are kept).
	grants.Suppress(role, "AwsSolutions-IAM5", "An execution role writes container logs to the log groups its task definitions name, which are not known in advance (log-group:* in this account).")
	return role
}
