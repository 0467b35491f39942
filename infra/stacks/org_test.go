package stacks

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"

	"github.com/ecslogfix/ecslogfix/internal/config"
)

func stackSet(t *testing.T) map[string]any {
	t.Helper()
	sets := hub(t).Template.Resources("AWS::CloudFormation::StackSet")
	if len(sets) != 1 {
		t.Fatalf("%d StackSets", len(sets))
	}
	for _, p := range sets {
		return p
	}
	return nil
}

func memberBody(t *testing.T) string {
	t.Helper()
	body, ok := stackSet(t)["TemplateBody"].(string)
	if !ok {
		t.Fatal("TemplateBody is not a literal string")
	}
	return body
}

func TestStackSetServiceManagedAutoDeploy(t *testing.T) {
	p := stackSet(t)
	js := func(v any) string { b, _ := json.Marshal(v); return string(b) }
	for field, want := range map[string]string{
		"PermissionModel":     `"SERVICE_MANAGED"`,
		"StackSetName":        `"ecslogfix-member"`,
		"CallAs":              `"SELF"`,
		"AutoDeployment":      `{"Enabled":true,"RetainStacksOnAccountRemoval":false}`,
		"Capabilities":        `["CAPABILITY_NAMED_IAM"]`,
		"StackInstancesGroup": `[{"DeploymentTargets":{"OrganizationalUnitIds":["ou-ab12-abcdefgh","ou-ab12-ijklmnop"]},"Regions":["eu-west-1","us-east-1"]}]`,
		"Parameters":          `[{"ParameterKey":"HubAccountId","ParameterValue":{"Ref":"AWS::AccountId"}},{"ParameterKey":"HubRegion","ParameterValue":{"Ref":"AWS::Region"}}]`,
	} {
		if got := js(p[field]); got != want {
			t.Errorf("%s = %s, want %s", field, got, want)
		}
	}
	op := p["OperationPreferences"].(map[string]any)
	if op["RegionConcurrencyType"] != "SEQUENTIAL" || js(op["RegionOrder"]) != `["eu-west-1","us-east-1"]` {
		t.Errorf("operation preferences %v", op)
	}
	// The StackSet waits for the roles the member role trusts.
	deps := strs(hub(t).Template.Resource(mustID(t, hub(t).Template, "AWS::CloudFormation::StackSet", "StackSetName", "ecslogfix-member"))["DependsOn"])
	for _, role := range []string{"ecslogfix-detect", "ecslogfix-remediate"} {
		if !slices.Contains(deps, mustID(t, hub(t).Template, "AWS::IAM::Role", "RoleName", role)) {
			t.Errorf("StackSet does not depend on %s: %v", role, deps)
		}
	}
}

func TestMemberTemplate(t *testing.T) {
	body := memberBody(t)
	if len(body) > MaxTemplateBody {
		t.Fatalf("member template is %d bytes, limit %d", len(body), MaxTemplateBody)
	}
	t.Logf("member template: %d bytes", len(body))
	var tmpl Template
	if err := json.Unmarshal([]byte(body), &tmpl); err != nil {
		t.Fatal(err)
	}
	res := tmpl["Resources"].(map[string]any)
	types := map[string]int{}
	for _, r := range res {
		types[r.(map[string]any)["Type"].(string)]++
	}
	want := map[string]int{"AWS::IAM::Role": 3, "AWS::SQS::Queue": 1, "AWS::SQS::QueuePolicy": 1, "AWS::Events::Rule": 1}
	if !reflect.DeepEqual(types, want) {
		t.Errorf("member resources %v, want %v", types, want)
	}
	for _, bad := range []string{"AWS::Lambda", "BootstrapVersion", "AWS::CDK::Metadata", "cdk-hnb659fds", "S3Key"} {
		if strings.Contains(body, bad) {
			t.Errorf("member template contains %q (must have no assets or bootstrap needs)", bad)
		}
	}
	if got := keys(tmpl["Parameters"].(map[string]any)); !reflect.DeepEqual(got, []string{ParamHubAccountID, ParamHubRegion}) {
		t.Errorf("parameters %v", got)
	}
	// IAM (global) only in the first region.
	cond := tmpl["Conditions"].(map[string]any)["IsRoleRegion"]
	if Flatten(cond) != `{"Fn::Equals":[{"Ref":"AWS::Region"},"eu-west-1"]}` {
		t.Errorf("IsRoleRegion %v", Flatten(cond))
	}
	for id, r := range res {
		m := r.(map[string]any)
		if m["Type"] == "AWS::IAM::Role" && m["Condition"] != "IsRoleRegion" {
			t.Errorf("role %s without the IsRoleRegion condition", id)
		}
	}

	// The rule forwards the register pattern to the hub bus, with role,
	// DLQ and retries.
	for _, p := range tmpl.Resources("AWS::Events::Rule") {
		got, _ := json.Marshal(p["EventPattern"])
		want, _ := json.Marshal(RegisterEventPattern())
		if string(got) != string(want) {
			t.Errorf("forward pattern %s", got)
		}
		tg := p["Targets"].([]any)[0].(map[string]any)
		if Flatten(tg["Arn"]) != "arn:${AWS::Partition}:events:${HubRegion}:${HubAccountId}:event-bus/ecslogfix-hub" ||
			tg["DeadLetterConfig"] == nil || tg["RetryPolicy"] == nil ||
			Flatten(tg["RoleArn"]) != "${If:IsRoleRegion:${ForwarderRole.Arn}|arn:${AWS::Partition}:iam::${AWS::AccountId}:role/ecslogfix-forwarder}" {
			t.Errorf("forward target %v", tg)
		}
	}

	// The member role trusts only the hub's detect, sweep and remediate
	// roles, within the organization.
	member := tmpl.Resources("AWS::IAM::Role")["MemberRole"]
	if member["RoleName"] != "ecslogfix-member" {
		t.Fatalf("member role %v", member["RoleName"])
	}
	trust := statements(member["AssumeRolePolicyDocument"])
	if len(trust) != 1 || !reflect.DeepEqual(strs(trust[0]["Principal"].(map[string]any)["AWS"]), []string{"arn:${AWS::Partition}:iam::${HubAccountId}:role/ecslogfix-detect", "arn:${AWS::Partition}:iam::${HubAccountId}:role/ecslogfix-sweep", "arn:${AWS::Partition}:iam::${HubAccountId}:role/ecslogfix-remediate"}) ||
		Flatten(trust[0]["Condition"]) != `{"StringEquals":{"aws:PrincipalOrgID":"o-abcdefghij"}}` {
		t.Errorf("member trust %v", trust)
	}
	got := actionsOf(roleStatements(t, tmpl, "ecslogfix-member"))
	wantActions := []string{"ecs:DeregisterTaskDefinition", "ecs:DescribeTaskDefinition", "ecs:ListTaskDefinitionFamilies", "ecs:RegisterTaskDefinition", "ecs:TagResource",
		"iam:PassRole", "logs:CreateLogGroup", "logs:DescribeLogGroups", "logs:ListTagsForResource", "logs:PutRetentionPolicy", "logs:TagResource"}
	if !reflect.DeepEqual(keys(got), wantActions) {
		t.Errorf("member role actions %v, want %v", keys(got), wantActions)
	}
	if got := actionsOf(roleStatements(t, tmpl, "ecslogfix-forwarder")); !reflect.DeepEqual(got, map[string][]string{
		"events:PutEvents": {"arn:${AWS::Partition}:events:${HubRegion}:${HubAccountId}:event-bus/ecslogfix-hub"}}) {
		t.Errorf("forwarder %v", got)
	}
	roleStatements(t, tmpl, "ecslogfix-task-execution")
	assertNoStarActions(t, tmpl)
}

func TestHubBusAdmitsOnlyTheOrganization(t *testing.T) {
	tmpl := hub(t).Template
	bus := mustID(t, tmpl, "AWS::Events::EventBus", "Name", "ecslogfix-hub")
	pols := tmpl.Resources("AWS::Events::EventBusPolicy")
	if len(pols) != 1 {
		t.Fatalf("%d bus policies", len(pols))
	}
	for _, p := range pols {
		s := p["Statement"].(map[string]any)
		if s["Effect"] != "Allow" || s["Action"] != "events:PutEvents" || Flatten(s["Resource"]) != "${"+bus+".Arn}" ||
			Flatten(s["Condition"]) != `{"StringEquals":{"aws:PrincipalOrgID":"o-abcdefghij"}}` {
			t.Errorf("bus policy %v", s)
		}
	}
	for _, p := range tmpl.Resources("AWS::Events::Rule") {
		if p["EventPattern"] != nil && Flatten(p["EventBusName"]) != "${"+bus+"}" {
			t.Errorf("register rule on %v, want the hub bus", p["EventBusName"])
		}
	}
}

func TestHubFunctionsAssumeMemberRole(t *testing.T) {
	tmpl := hub(t).Template
	member := "arn:${AWS::Partition}:iam::*:role/ecslogfix-member"
	for _, fn := range config.Functions {
		got := actionsOf(roleStatements(t, tmpl, "ecslogfix-"+fn))
		if fn == config.FunctionNotify {
			if _, ok := got["sts:AssumeRole"]; ok {
				t.Error("notify may assume the member role")
			}
			continue
		}
		if !reflect.DeepEqual(got["sts:AssumeRole"], []string{member}) {
			t.Errorf("%s assumes %v", fn, got["sts:AssumeRole"])
		}
		for a := range got {
			if strings.HasPrefix(a, "ecs:Register") || strings.HasPrefix(a, "iam:") {
				t.Errorf("hub %s has %s directly", fn, a)
			}
		}
		env, err := tmpl.FunctionEnvironment("ecslogfix-" + fn)
		if err != nil {
			t.Fatal(err)
		}
		switch fn {
		case config.FunctionDetect:
			if env[config.EnvMode] != "organization" || env[config.EnvMemberRoleName] != "ecslogfix-member" ||
				env[config.EnvOwnRoleARNs] != "arn:${AWS::Partition}:iam::${AWS::AccountId}:role/ecslogfix-remediate,"+member {
				t.Errorf("%s env %v", fn, env)
			}
		case config.FunctionSweep:
			if env[config.EnvMode] != "organization" || env[config.EnvMemberRoleName] != "ecslogfix-member" ||
				env[config.EnvRegions] != "eu-west-1,us-east-1" {
				t.Errorf("%s env %v", fn, env)
			}
		}
		// Fargate fixes in member accounts use the execution role the
		// member template creates there.
		if want := `"defaultExecutionRoleArn":"arn:${AWS::Partition}:iam::{account}:role/ecslogfix-task-execution"`; !strings.Contains(env[config.EnvPolicy], want) {
			t.Errorf("%s policy %s lacks %s", fn, env[config.EnvPolicy], want)
		}
	}
	assertNoStarActions(t, tmpl)
}

func TestConfigFromAppRefusesUnknownKeys(t *testing.T) {
	app := awscdk.NewApp(&awscdk.AppProps{Context: &map[string]any{"ecslogfix:regoins": "eu-west-1"}})
	if _, err := ConfigFromApp(app); err == nil || !strings.Contains(err.Error(), "ecslogfix:regoins") {
		t.Fatalf("got %v", err)
	}
	// -c values arrive as strings.
	app = awscdk.NewApp(&awscdk.AppProps{Context: &map[string]any{"ecslogfix:regions": "eu-west-1,us-east-1", "ecslogfix:registerRate": "0.25"}})
	cfg, err := ConfigFromApp(app)
	if err != nil || !reflect.DeepEqual(cfg.Regions, []string{"eu-west-1", "us-east-1"}) || cfg.RegisterRate != 0.25 {
		t.Fatalf("got %+v, %v", cfg, err)
	}
}

func TestCDKJSON(t *testing.T) {
	root, err := ModuleRoot(".")
	if err != nil {
		t.Fatal(err)
	}
	ctx, err := CDKJSONContext(root)
	if err != nil {
		t.Fatal(err)
	}
	app := awscdk.NewApp(&awscdk.AppProps{Context: &ctx})
	cfg, err := ConfigFromApp(app)
	if err != nil {
		t.Fatalf("cdk.json context: %v", err)
	}
	if cfg.Mode != config.ModeSingle || cfg.Prefix != config.DefaultPrefix {
		t.Errorf("cdk.json config %+v", cfg)
	}
	var doc map[string]any
	data, _ := os.ReadFile(filepath.Join(root, "cdk.json"))
	if err := json.Unmarshal(data, &doc); err != nil || doc["app"] != "go run ./infra" {
		t.Errorf("cdk.json app %v (%v)", doc["app"], err)
	}
}
