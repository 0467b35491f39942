// Package notifications defines the notification topic, encrypted with
// the stack's key, with its email subscriptions and AWS Chatbot channels
// (Slack, Microsoft Teams).
package notifications

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awschatbot"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awskms"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssns"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssnssubscriptions"
	"github.com/aws/jsii-runtime-go"

	"github.com/ecslogfix/ecslogfix/infra/grants"
	"github.com/ecslogfix/ecslogfix/internal/config"
)

// NewTopic creates the notification topic, encrypted with the stack's key,
// with its subscriptions.
func NewTopic(stack awscdk.Stack, cfg config.Config, key awskms.CfnKey) awssns.Topic {
	topic := awssns.NewTopic(stack, jsii.String("Topic"), &awssns.TopicProps{
		TopicName:  jsii.String(cfg.Names().Topic()),
		MasterKey:  awskms.Key_FromKeyArn(stack, jsii.String("TopicKeyRef"), key.AttrArn()),
		EnforceSSL: jsii.Bool(true),
	})
	// A topic policy replaces SNS's default one: admit CloudWatch alarms of
	// this account explicitly (notify publishes through its IAM policy).
	topic.AddToResourcePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:        jsii.String("AlarmsPublish"),
		Principals: &[]awsiam.IPrincipal{awsiam.NewServicePrincipal(jsii.String("cloudwatch.amazonaws.com"), nil)},
		Actions:    jsii.Strings("sns:Publish"),
		Resources:  jsii.Strings(*topic.TopicArn()),
		Conditions: &map[string]any{"StringEquals": map[string]any{"aws:SourceAccount": grants.Account()}},
	}))
	for _, email := range cfg.NotificationEmails {
		topic.AddSubscription(awssnssubscriptions.NewEmailSubscription(jsii.String(email), nil))
	}
	if cfg.SlackWorkspaceID != "" {
		// Chatbot configuration names are global in the account: the
		// stack's name keeps a hub and a single-mode stack apart.
		awschatbot.NewSlackChannelConfiguration(stack, jsii.String("Slack"), &awschatbot.SlackChannelConfigurationProps{
			SlackChannelConfigurationName: jsii.String(*stack.StackName()),
			SlackWorkspaceId:              jsii.String(cfg.SlackWorkspaceID),
			SlackChannelId:                jsii.String(cfg.SlackChannelID),
			NotificationTopics:            &[]awssns.ITopic{topic},
			LoggingLevel:                  awschatbot.LoggingLevel_ERROR,
			// The channel role has no permissions; the guardrail caps what
			// a channel member could ever do to reading CloudWatch.
			GuardrailPolicies: &[]awsiam.IManagedPolicy{awsiam.ManagedPolicy_FromAwsManagedPolicyName(jsii.String("CloudWatchReadOnlyAccess"))},
		})
	}
	if cfg.TeamsTeamID != "" {
		teamsChannel(stack, cfg, topic)
	}
	if cfg.SlackWorkspaceID != "" || cfg.TeamsTeamID != "" {
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
func teamsChannel(stack awscdk.Stack, cfg config.Config, topic awssns.Topic) {
	role := awsiam.NewRole(stack, jsii.String("TeamsChannelRole"), &awsiam.RoleProps{
		AssumedBy:   awsiam.NewServicePrincipal(jsii.String("chatbot.amazonaws.com"), nil),
		Description: jsii.String("AWS Chatbot's Microsoft Teams channel role: no permissions (the guardrail caps it to reading CloudWatch)"),
	})
	awschatbot.NewCfnMicrosoftTeamsChannelConfiguration(stack, jsii.String("Teams"), &awschatbot.CfnMicrosoftTeamsChannelConfigurationProps{
		ConfigurationName: jsii.String(*stack.StackName()),
		IamRoleArn:        role.RoleArn(),
		TeamsTenantId:     jsii.String(cfg.TeamsTenantID),
		TeamId:            jsii.String(cfg.TeamsTeamID),
		TeamsChannelId:    jsii.String(cfg.TeamsChannelID),
		SnsTopicArns:      jsii.Strings(*topic.TopicArn()),
		LoggingLevel:      jsii.String("ERROR"),
		GuardrailPolicies: jsii.Strings(*awsiam.ManagedPolicy_FromAwsManagedPolicyName(jsii.String("CloudWatchReadOnlyAccess")).ManagedPolicyArn()),
		UserRoleRequired:  jsii.Bool(false),
	})
}
