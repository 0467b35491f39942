package pipeline

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsdynamodb"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3"
	"github.com/aws/jsii-runtime-go"

	"github.com/ecslogfix/ecslogfix/infra/assets"
	"github.com/ecslogfix/ecslogfix/infra/grants"
	"github.com/ecslogfix/ecslogfix/internal/config"
	"github.com/ecslogfix/ecslogfix/internal/config/fnenv"
	"github.com/ecslogfix/ecslogfix/internal/config/naming"
	"github.com/ecslogfix/ecslogfix/internal/history"
)

// The history (ecslogfix:history): the bucket of decision lines and the
// table of the state per family. Both are retained when the stack is
// deleted: they are the evidence.

// historyBucketName is the bucket's name: bucket names are global, so it
// carries the account and region.
func historyBucketName(n naming.Names) string {
	return n.Prefix + "-history-" + grants.Account() + "-" + grants.Region()
}

func stateTableName(n naming.Names) string { return n.Prefix + "-state" }

func (p *Pipeline) historyBucketARN() string {
	return grants.ARN("arn:", grants.Partition(), ":s3:::", historyBucketName(p.names))
}

func (p *Pipeline) stateTableARN() string {
	return grants.ARN("arn:", grants.Partition(), ":dynamodb:", grants.Region(), ":", grants.Account(), ":table/", stateTableName(p.names))
}

// historyEnv is what writer fn's environment says about the history. Only
// notify notes AWS's findings (asff.Note: of a remediation or a backout,
// which detect and the sweep never record), so only its environment asks
// for notes, and only its role may add them.
func (p *Pipeline) historyEnv(fn string) config.HistoryEnv {
	h := p.cfg.HistoryEnv(historyBucketName(p.names), stateTableName(p.names))
	h.Notes = h.Notes && fn == naming.FunctionNotify
	return h
}

// addHistory creates the bucket (KMS-encrypted with the stack's key, TLS
// only, versioned, Object Lock enabled with the configured compliance-mode
// retention, public access blocked, no ACLs, event notifications to
// EventBridge, incomplete uploads cleaned up) and the table (on demand,
// point-in-time recovery, encrypted), and grants each writer exactly what
// the store calls.
func (p *Pipeline) addHistory() {
	if !p.cfg.History {
		return
	}
	name := historyBucketName(p.names)
	props := &awss3.CfnBucketProps{
		BucketName: jsii.String(name),
		BucketEncryption: &awss3.CfnBucket_BucketEncryptionProperty{ServerSideEncryptionConfiguration: &[]any{
			&awss3.CfnBucket_ServerSideEncryptionRuleProperty{
				BucketKeyEnabled: jsii.Bool(true), // one KMS request per object key per period, not per object
				ServerSideEncryptionByDefault: &awss3.CfnBucket_ServerSideEncryptionByDefaultProperty{
					SseAlgorithm: jsii.String("aws:kms"), KmsMasterKeyId: p.key.AttrArn(),
				},
			},
		}},
		VersioningConfiguration: &awss3.CfnBucket_VersioningConfigurationProperty{Status: jsii.String("Enabled")},
		ObjectLockEnabled:       jsii.Bool(true),
		PublicAccessBlockConfiguration: &awss3.CfnBucket_PublicAccessBlockConfigurationProperty{
			BlockPublicAcls: jsii.Bool(true), BlockPublicPolicy: jsii.Bool(true), IgnorePublicAcls: jsii.Bool(true), RestrictPublicBuckets: jsii.Bool(true),
		},
		OwnershipControls: &awss3.CfnBucket_OwnershipControlsProperty{Rules: &[]any{
			&awss3.CfnBucket_OwnershipControlsRuleProperty{ObjectOwnership: jsii.String("BucketOwnerEnforced")},
		}},
		LifecycleConfiguration: &awss3.CfnBucket_LifecycleConfigurationProperty{Rules: &[]any{
			&awss3.CfnBucket_RuleProperty{Id: jsii.String("abort-incomplete-uploads"), Status: jsii.String("Enabled"),
				AbortIncompleteMultipartUpload: &awss3.CfnBucket_AbortIncompleteMultipartUploadProperty{DaysAfterInitiation: jsii.Number(7)}},
		}},
		NotificationConfiguration: &awss3.CfnBucket_NotificationConfigurationProperty{
			EventBridgeConfiguration: &awss3.CfnBucket_EventBridgeConfigurationProperty{EventBridgeEnabled: jsii.Bool(true)},
		},
	}
	if days := p.cfg.HistoryObjectLockDays; days > 0 {
		props.ObjectLockConfiguration = &awss3.CfnBucket_ObjectLockConfigurationProperty{
			ObjectLockEnabled: jsii.String("Enabled"),
			Rule: &awss3.CfnBucket_ObjectLockRuleProperty{DefaultRetention: &awss3.CfnBucket_DefaultRetentionProperty{
				Mode: jsii.String("COMPLIANCE"), Days: jsii.Number(float64(days)),
			}},
		}
	}
	if p.cfg.HistoryAccessLogBucket != "" {
		props.LoggingConfiguration = &awss3.CfnBucket_LoggingConfigurationProperty{
			DestinationBucketName: jsii.String(p.cfg.HistoryAccessLogBucket), LogFilePrefix: jsii.String(name + "/"),
		}
	}
	bucket := awss3.NewCfnBucket(p.stack, jsii.String("HistoryBucket"), props)
	bucket.ApplyRemovalPolicy(awscdk.RemovalPolicy_RETAIN, &awscdk.RemovalPolicyOptions{ApplyToUpdateReplacePolicy: jsii.Bool(true)})
	if p.cfg.HistoryAccessLogBucket == "" {
		// AwsSolutions-S1: object-level access is also in CloudTrail data
		// events where the organization records them.
		grants.Suppress(bucket, "AwsSolutions-S1", "Server access logs go to the bucket named by ecslogfix:historyAccessLogBucket (an existing log archive) when it is set; ecslogfix does not create a log bucket of its own, which would itself need one.")
	}
	awss3.NewCfnBucketPolicy(p.stack, jsii.String("HistoryBucketPolicy"), &awss3.CfnBucketPolicyProps{
		Bucket: bucket.Ref(),
		PolicyDocument: map[string]any{
			"Version": "2012-10-17",
			"Statement": []any{map[string]any{
				"Sid": "TLSOnly", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
				"Resource":  []string{*bucket.AttrArn(), *bucket.AttrArn() + "/*"},
				"Condition": map[string]any{"Bool": map[string]any{"aws:SecureTransport": "false"}},
			}},
		},
	})

	table := awsdynamodb.NewCfnTable(p.stack, jsii.String("StateTable"), &awsdynamodb.CfnTableProps{
		TableName:   jsii.String(stateTableName(p.names)),
		BillingMode: jsii.String("PAY_PER_REQUEST"),
		AttributeDefinitions: &[]any{
			&awsdynamodb.CfnTable_AttributeDefinitionProperty{AttributeName: jsii.String(history.KeyScope), AttributeType: jsii.String("S")},
			&awsdynamodb.CfnTable_AttributeDefinitionProperty{AttributeName: jsii.String(history.KeyFamily), AttributeType: jsii.String("S")},
		},
		KeySchema: &[]any{
			&awsdynamodb.CfnTable_KeySchemaProperty{AttributeName: jsii.String(history.KeyScope), KeyType: jsii.String("HASH")},
			&awsdynamodb.CfnTable_KeySchemaProperty{AttributeName: jsii.String(history.KeyFamily), KeyType: jsii.String("RANGE")},
		},
		PointInTimeRecoverySpecification: &awsdynamodb.CfnTable_PointInTimeRecoverySpecificationProperty{PointInTimeRecoveryEnabled: jsii.Bool(true)},
		SseSpecification:                 &awsdynamodb.CfnTable_SSESpecificationProperty{SseEnabled: jsii.Bool(true)},
	})
	table.ApplyRemovalPolicy(awscdk.RemovalPolicy_RETAIN, &awscdk.RemovalPolicyOptions{ApplyToUpdateReplacePolicy: jsii.Bool(true)})

	for _, fn := range grants.HistoryWriters {
		role := p.roles[fn]
		role.AddToPolicy(grants.Statement([]string{"s3:PutObject"}, []string{p.historyBucketARN() + "/v1/*"}, nil))
		role.AddToPolicy(grants.Statement([]string{"dynamodb:GetItem", "dynamodb:PutItem"}, []string{p.stateTableARN()}, nil))
		if p.cfg.SecurityHub != config.SecurityHubOff {
			// The default product of the account the finding is about: the
			// hub's own here, a member's through the member role.
			role.AddToPolicy(grants.Statement([]string{"securityhub:BatchImportFindings"}, []string{grants.SecurityHubProduct(grants.Partition(), grants.Account())}, nil))
		}
	}
	if p.cfg.SecurityHub == config.SecurityHubNotes {
		p.roles[naming.FunctionNotify].AddToPolicy(grants.Statement([]string{"securityhub:GetFindings", "securityhub:BatchUpdateFindings"},
			[]string{grants.ARN("arn:", grants.Partition(), ":securityhub:*:", grants.Account(), ":hub/default")}, nil))
	}
	p.addReport()
}

// reportOn reports whether the stack has the monthly report function.
func reportOn(cfg config.Config) bool { return cfg.History && cfg.ReportSchedule != "" }

// reportTimeoutSeconds covers reading a month of records (eight at a time).
const reportTimeoutSeconds = 900

// addReport creates the report function and its schedule: it reads the
// history's records, writes reports/ and publishes the digest.
func (p *Pipeline) addReport() {
	if !reportOn(p.cfg) {
		return
	}
	fn := naming.FunctionReport
	role := p.roles[fn]
	lg := p.logGroup(FunctionID(fn)+"Logs", p.names.FunctionLogGroup(fn))
	role.AddToPolicy(grants.Statement([]string{"logs:CreateLogStream", "logs:PutLogEvents"}, []string{*lg.LogGroupArn()}, nil))
	role.AddToPolicy(grants.Statement([]string{"s3:ListBucket"}, []string{p.historyBucketARN()}, map[string]any{"StringLike": map[string]any{"s3:prefix": "v1/*"}}))
	role.AddToPolicy(grants.Statement([]string{"s3:GetObject"}, []string{p.historyBucketARN() + "/v1/*"}, nil))
	role.AddToPolicy(grants.Statement([]string{"s3:PutObject"}, []string{p.historyBucketARN() + "/" + fnenv.DefaultReportPrefix + "/*"}, nil))
	role.AddToPolicy(grants.Statement([]string{"sns:Publish"}, []string{*p.topic.TopicArn()}, nil))
	grants.Suppress(role, "AwsSolutions-IAM5", "logs:CreateLogStream/PutLogEvents on the log streams of the function's own log group (log-group:NAME:*); s3:GetObject on the history's records (BUCKET/v1/*) and s3:PutObject on its reports (BUCKET/reports/*), one object each, not known in advance")
	f := awslambda.NewFunction(p.stack, jsii.String(FunctionID(fn)), &awslambda.FunctionProps{
		FunctionName:  jsii.String(p.names.Function(fn)),
		Description:   jsii.String("ecslogfix monthly compliance report"),
		Runtime:       awslambda.Runtime_PROVIDED_AL2023(),
		Architecture:  awslambda.Architecture_ARM_64(),
		Handler:       jsii.String("bootstrap"),
		Code:          assets.FunctionCode(p.root, fn),
		MemorySize:    jsii.Number(float64(config.DefaultMemoryMB)),
		Timeout:       awscdk.Duration_Seconds(jsii.Number(reportTimeoutSeconds)),
		Role:          role,
		LogGroup:      lg,
		LoggingFormat: awslambda.LoggingFormat_JSON,
		Environment: ToEnv(fnenv.ReportEnv{History: config.HistoryEnv{Bucket: historyBucketName(p.names)},
			TopicARN: *p.topic.TopicArn(), ReportPrefix: fnenv.DefaultReportPrefix}.Environ()),
	})
	if len(p.cfg.VPCSubnetIDs) > 0 {
		role.AddToPolicy(grants.Statement(grants.VPCActions, []string{"*"}, nil))
		f.Node().DefaultChild().(awslambda.CfnFunction).SetVpcConfig(&awslambda.CfnFunction_VpcConfigProperty{
			SubnetIds: jsii.Strings(p.cfg.VPCSubnetIDs...), SecurityGroupIds: jsii.Strings(p.cfg.VPCSecurityGroupIDs...),
		})
	}
	p.functions[fn] = f
	rule := awsevents.NewRule(p.stack, jsii.String("ReportRule"), &awsevents.RuleProps{
		RuleName:    jsii.String(p.names.Rule("report")),
		Description: jsii.String("ecslogfix: the monthly compliance report"),
		Schedule:    awsevents.Schedule_Expression(jsii.String(p.cfg.ReportSchedule)),
	})
	rule.AddTarget(p.target(fn, awsevents.RuleTargetInput_FromObject(map[string]any{})))
}

// historyKeyStatements are the key policy's statements of the history's
// writers and the report (grants.HistoryKeyStatements).
func (p *Pipeline) historyKeyStatements() []any {
	var writers []string
	for _, fn := range grants.HistoryWriters {
		writers = append(writers, *p.roles[fn].RoleArn())
	}
	report := ""
	if r, ok := p.roles[naming.FunctionReport]; ok {
		report = *r.RoleArn()
	}
	return grants.HistoryKeyStatements(writers, report)
}
