package pipeline

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awskms"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsstepfunctions"
	"github.com/aws/jsii-runtime-go"

	"github.com/ecslogfix/ecslogfix/infra/grants"
	"github.com/ecslogfix/ecslogfix/internal/config"
	"github.com/ecslogfix/ecslogfix/internal/config/fnenv"
	"github.com/ecslogfix/ecslogfix/internal/config/naming"
	"github.com/ecslogfix/ecslogfix/internal/workflow/asl"
)

// The sweep: a state machine (asl.SweepDefinition) whose Distributed
// Map walks every account-region the inventory covers, and its bucket.
// Single-account mode runs the same state machine over the stack's own
// account and regions.

// sweepObjectDays is how long the sweep's objects (targets, results,
// reports) are kept; a sweep runs daily, so a quarter of reports.
const sweepObjectDays = 90

// newSweepBucket creates the bucket of the sweep's objects: encrypted with
// the stack's key (SSE-KMS, bucket key), TLS only, no public access, no
// ACLs, versioned with Object Lock activated (no default retention, so the
// lifecycle rules remove what is due), EventBridge notifications on (S3's
// events to the account's default bus, which nothing here consumes), and
// kept when the stack is deleted (infra/README.md, "Uninstall"). These are
// the Control Tower proactive controls for S3 (CT.S3.PR.1, 3, 4, 5, 6, 8,
// 9, 10, 11); CT.S3.PR.2 (server access logging) passes when
// ecslogfix:sweepAccessLogBucket names a bucket for the logs.
func (p *Pipeline) newSweepBucket() awss3.Bucket {
	props := &awss3.BucketProps{
		Encryption:        awss3.BucketEncryption_KMS,
		EncryptionKey:     awskms.Key_FromKeyArn(p.stack, jsii.String("SweepBucketKeyRef"), p.key.AttrArn()),
		BucketKeyEnabled:  jsii.Bool(true),
		EnforceSSL:        jsii.Bool(true),
		BlockPublicAccess: awss3.BlockPublicAccess_BLOCK_ALL(),
		ObjectOwnership:   awss3.ObjectOwnership_BUCKET_OWNER_ENFORCED,
		Versioned:         jsii.Bool(true),
		ObjectLockEnabled: jsii.Bool(true),
		RemovalPolicy:     awscdk.RemovalPolicy_RETAIN,
		LifecycleRules: &[]*awss3.LifecycleRule{{
			Id:                                  jsii.String("sweeps"),
			Prefix:                              jsii.String("sweeps/"),
			Expiration:                          awscdk.Duration_Days(jsii.Number(sweepObjectDays)),
			NoncurrentVersionExpiration:         awscdk.Duration_Days(jsii.Number(1)),
			AbortIncompleteMultipartUploadAfter: awscdk.Duration_Days(jsii.Number(1)),
		}, {
			Id:                        jsii.String("delete-markers"),
			ExpiredObjectDeleteMarker: jsii.Bool(true),
		}},
	}
	if p.cfg.SweepAccessLogBucket != "" {
		props.ServerAccessLogsBucket = awss3.Bucket_FromBucketName(p.stack, jsii.String("SweepAccessLogs"), jsii.String(p.cfg.SweepAccessLogBucket))
		props.ServerAccessLogsPrefix = jsii.String(p.names.SweepStateMachine() + "/")
	}
	b := awss3.NewBucket(p.stack, jsii.String("SweepBucket"), props)
	// EventBridge notifications as the bucket's own property: the L2's
	// EventBridgeEnabled deploys a custom-resource Lambda for it.
	b.Node().DefaultChild().(awss3.CfnBucket).SetNotificationConfiguration(&awss3.CfnBucket_NotificationConfigurationProperty{
		EventBridgeConfiguration: &awss3.CfnBucket_EventBridgeConfigurationProperty{EventBridgeEnabled: jsii.Bool(true)},
	})
	if p.cfg.SweepAccessLogBucket == "" {
		// AwsSolutions-S1: a documented choice (CT.S3.PR.2 likewise).
		grants.Suppress(b, "AwsSolutions-S1", "Server access logs need a bucket of this account and region with SSE-S3 (S3 cannot deliver them to this SSE-KMS bucket): set ecslogfix:sweepAccessLogBucket to one. Only ecslogfix's roles write here; CloudTrail records the bucket's management events.")
	}
	return b
}

// sweepObjects is the ARN of the sweep's objects (keys under prefix).
func (p *Pipeline) sweepObjects(prefix string) string {
	return *p.bucket.BucketArn() + "/" + prefix
}

// sweepEnv is the sweep function's environment.
func (p *Pipeline) sweepEnv(smARN, memberRole string) fnenv.SweepEnv {
	e := fnenv.SweepEnv{StarterEnv: p.starterEnv(naming.FunctionSweep, smARN, memberRole), Regions: p.cfg.Regions,
		StartRate: p.cfg.RegisterRate, Bucket: *p.bucket.BucketName()}
	if p.cfg.Mode == config.ModeOrganization {
		e.TargetOUs, e.StackSetCallAs = p.cfg.TargetOUs, p.cfg.StackSetCallAs
		e.RoleStackSet, e.ForwardingStackSet = p.names.StackSetIAM(), p.names.StackSet()
	}
	return e
}

// addSweepStateMachine creates the sweep state machine with its role's
// grants: invoke the sweep function, run the Distributed Map's child
// executions, read the targets object and write the Map's results.
func (p *Pipeline) addSweepStateMachine() {
	name := p.names.SweepStateMachine()
	smARN := grants.ARN("arn:", grants.Partition(), ":states:", grants.Region(), ":", grants.Account(), ":stateMachine:", name)
	role := p.sweepSMRole
	// Distributed Map child executions ("IAM policies for using Distributed
	// Map states", https://docs.aws.amazon.com/step-functions/latest/dg/iam-policies-eg-dist-map.html).
	role.AddToPolicy(grants.Statement([]string{"states:StartExecution"}, []string{smARN}, nil))
	role.AddToPolicy(grants.Statement([]string{"states:DescribeExecution", "states:StopExecution"},
		[]string{grants.ARN("arn:", grants.Partition(), ":states:", grants.Region(), ":", grants.Account(), ":execution:", name, "/*")}, nil))
	role.AddToPolicy(grants.Statement([]string{"s3:GetObject"}, []string{p.sweepObjects("sweeps/*/targets.jsonl")}, nil))
	role.AddToPolicy(grants.Statement([]string{"s3:PutObject", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"}, []string{p.sweepObjects(asl.SweepMapResultPrefix + "/*")}, nil))
	p.sweepSM = awsstepfunctions.NewStateMachine(p.stack, jsii.String("SweepStateMachine"), &awsstepfunctions.StateMachineProps{
		StateMachineName: jsii.String(name),
		StateMachineType: awsstepfunctions.StateMachineType_STANDARD,
		DefinitionBody: awsstepfunctions.DefinitionBody_FromString(jsii.String(asl.SweepDefinition(grants.Partition(), p.names.Function(naming.FunctionSweep),
			p.names.Function(naming.FunctionNotify), *p.bucket.BucketName(), asl.SweepOptions{MaxConcurrency: p.cfg.SweepMaxConcurrency, ToleratedFailurePercentage: p.cfg.SweepToleratedFailurePercentage}))),
		Role:           role,
		TracingEnabled: jsii.Bool(true),
		Logs: &awsstepfunctions.LogOptions{
			Destination:          p.logGroup("SweepStateMachineLogs", p.names.SweepStateMachineLogGroup()),
			Level:                awsstepfunctions.LogLevel_ALL,
			IncludeExecutionData: jsii.Bool(false), // privacy: no inputs/outputs in logs
		},
	})
	p.functions[naming.FunctionSweep].GrantInvoke(role)
	p.functions[naming.FunctionNotify].GrantInvoke(role) // PublishDigest
	grants.Suppress(role, "AwsSolutions-IAM5", "lambda:InvokeFunction on the sweep function's versions (ARN:*); the Distributed Map's child executions (execution:NAME/*, named by Step Functions); the sweep's targets objects (sweeps/*/targets.jsonl: one prefix per sweep) and the Map's result objects (sweeps/map/*: Step Functions names them); CloudWatch Logs delivery and X-Ray trace actions support only Resource \"*\".")
}
