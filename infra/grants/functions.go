package grants

import (
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"

	"github.com/ecslogfix/ecslogfix/internal/config"
)

// ReadAndStartStatements are detect's and the sweep's grants on the home
// account: read task definitions and their log groups, start the
// remediation workflow (smARN, named smName) and tell its executions apart.
func ReadAndStartStatements(smARN, smName string) []awsiam.PolicyStatement {
	return []awsiam.PolicyStatement{
		// ECS Describe/ListTaskDefinitionFamilies support no
		// resource-level permissions.
		Statement(ECSReadActions, []string{"*"}, nil),
		// A revision compliant on paper is judged on whether its log
		// groups exist (the home account's; members' through the role).
		awsiam.PolicyStatement_FromJson(DescribeLogGroups()),
		Statement([]string{"states:StartExecution"}, []string{smARN}, nil),
		// Tell a failed earlier execution (start the next attempt) from
		// a running or successful one (a duplicate).
		Statement([]string{"states:DescribeExecution"}, []string{ARN("arn:", Partition(), ":states:", Region(), ":", Account(), ":execution:", smName, ":*")}, nil),
	}
}

// SweepStatements are the sweep function's grants beyond detect's: its
// objects in the sweep's bucket (bucketARN), and in organization mode
// reading the organization and the member StackSets' instances.
func SweepStatements(cfg config.Config, bucketARN string) []awsiam.PolicyStatement {
	out := []awsiam.PolicyStatement{
		Statement([]string{"s3:PutObject", "s3:GetObject", "s3:AbortMultipartUpload"}, []string{bucketARN + "/sweeps/*"}, nil),
		Statement([]string{"s3:ListBucket"}, []string{bucketARN}, map[string]any{"StringLike": map[string]any{"s3:prefix": "sweeps/*"}}),
	}
	if cfg.Mode != config.ModeOrganization {
		return out
	}
	org := cfg.OrganizationID
	// The OUs and the root of this organization, in its management account
	// (which a delegated administrator does not know in advance).
	out = append(out, Statement([]string{"organizations:ListAccountsForParent", "organizations:ListOrganizationalUnitsForParent"},
		[]string{ARN("arn:", Partition(), ":organizations::*:ou/", org, "/*"), ARN("arn:", Partition(), ":organizations::*:root/", org, "/*")}, nil))
	// The member StackSets live in this account when it is the management
	// account (SELF); a delegated administrator's live in the management
	// account ("Register a delegated administrator",
	// https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/stacksets-orgs-delegated-admin.html).
	owner := Account()
	if cfg.StackSetCallAs == "DELEGATED_ADMIN" {
		owner = "*"
	}
	names := cfg.Names()
	var sets []string
	for _, name := range []string{names.StackSet(), names.StackSetIAM()} {
		sets = append(sets, ARN("arn:", Partition(), ":cloudformation:", Region(), ":", owner, ":stackset/", name, ":*"))
	}
	return append(out, Statement([]string{"cloudformation:ListStackInstances"}, sets, nil))
}

// NotifyStatements are the notify function's grants: publish to the topic
// (the key policy admits this role for the topic key), read the Slack
// webhook's secret when one is configured, put the neutral event on that
// one bus, and of the sweep's bucket (bucketARN) only the outcomes of a
// sweep's executions and the digest marker (workflow.SweepOutcomeKey,
// SweepDigestKey).
func NotifyStatements(cfg config.Config, topicARN, busARN, bucketARN string) []awsiam.PolicyStatement {
	out := []awsiam.PolicyStatement{Statement([]string{"sns:Publish"}, []string{topicARN}, nil)}
	if cfg.SlackWebhookSecretARN != "" {
		out = append(out, Statement([]string{"secretsmanager:GetSecretValue"}, []string{cfg.SlackWebhookSecretARN}, nil))
	}
	return append(out,
		Statement([]string{"events:PutEvents"}, []string{busARN}, nil),
		Statement([]string{"s3:PutObject", "s3:GetObject"}, []string{bucketARN + "/sweeps/*/outcomes/*", bucketARN + "/sweeps/*/digest.json"}, nil),
		Statement([]string{"s3:ListBucket"}, []string{bucketARN}, map[string]any{"StringLike": map[string]any{"s3:prefix": "sweeps/*/outcomes/*"}}),
	)
}
