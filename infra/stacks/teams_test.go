package stacks

import (
	"slices"
	"strings"
	"testing"
)

var teamsSynth synthOnce

// The ecslogfix:teams* keys subscribe an AWS Chatbot Microsoft Teams
// channel to the topic, like the Slack one: the tenant, team and channel
// configured, a channel role only Chatbot assumes, with no permissions of
// its own, the CloudWatch read-only guardrail, the aws partition only, and
// cdk-nag clean.
func TestTeamsChannelConfiguration(t *testing.T) {
	s := synthContext(t, &teamsSynth, "teams", map[string]any{
		"ecslogfix:teamsTenantId":  "0f1e2d3c-4b5a-6978-8695-a4b3c2d1e0f9",
		"ecslogfix:teamsTeamId":    "1a2b3c4d-5e6f-4a8b-9c0d-1e2f3a4b5c6d",
		"ecslogfix:teamsChannelId": "19%3ab6ef35dc342d56ba5654e6fc6d25a071%40thread.tacv2",
	})
	tmpl := s.Template
	teams := tmpl.Resources("AWS::Chatbot::MicrosoftTeamsChannelConfiguration")
	if len(teams) != 1 || len(tmpl.Resources("AWS::Chatbot::SlackChannelConfiguration")) != 0 {
		t.Fatalf("%d Teams configurations", len(teams))
	}
	topic := "${" + mustID(t, tmpl, "AWS::SNS::Topic", "TopicName", "ecslogfix-notifications") + "}"
	for _, p := range teams {
		if p["TeamsTenantId"] != "0f1e2d3c-4b5a-6978-8695-a4b3c2d1e0f9" || p["TeamId"] != "1a2b3c4d-5e6f-4a8b-9c0d-1e2f3a4b5c6d" ||
			p["TeamsChannelId"] != "19%3ab6ef35dc342d56ba5654e6fc6d25a071%40thread.tacv2" || p["ConfigurationName"] != "ecslogfix" ||
			!slices.Equal(strs(p["SnsTopicArns"]), []string{topic}) || p["LoggingLevel"] != "ERROR" || p["UserRoleRequired"] != false {
			t.Errorf("teams %s", Flatten(p))
		}
		if g := Flatten(p["GuardrailPolicies"]); !strings.Contains(g, ":iam::aws:policy/CloudWatchReadOnlyAccess") || strings.Count(g, "arn:") != 1 {
			t.Errorf("guardrails %s", g)
		}
		roleID := strings.TrimSuffix(strings.TrimPrefix(Flatten(p["IamRoleArn"]), "${"), ".Arn}")
		role := tmpl.Resource(roleID)["Properties"].(map[string]any)
		if trust := Flatten(role["AssumeRolePolicyDocument"]); !strings.Contains(trust, `"Service":"chatbot.amazonaws.com"`) {
			t.Errorf("the channel role trusts %s", trust)
		}
		if role["Policies"] != nil || role["ManagedPolicyArns"] != nil {
			t.Errorf("the channel role has permissions: %s", Flatten(role))
		}
		for _, pol := range tmpl.Resources("AWS::IAM::Policy") {
			if strings.Contains(Flatten(pol["Roles"]), roleID) {
				t.Errorf("a policy is attached to the channel role: %s", Flatten(pol))
			}
		}
	}
	rules, _ := tmpl["Rules"].(map[string]any)
	if got := Flatten(rules["ChatbotPartition"]); !strings.Contains(got, `"Assert":{"Fn::Equals":[{"Ref":"AWS::Partition"},"aws"]}`) {
		t.Errorf("ChatbotPartition rule %s", got)
	}
	errs, _ := NagFindings(s.Stack)
	for _, e := range errs {
		t.Errorf("cdk-nag error: %s", e)
	}
}
