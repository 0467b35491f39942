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

	"github.com/ecslogfix/ecslogfix/infra/pipeline"
	"github.com/ecslogfix/ecslogfix/internal/config"
	"github.com/ecslogfix/ecslogfix/internal/config/fnenv"
	"github.com/ecslogfix/ecslogfix/internal/config/naming"
)

// stackSets returns the hub's StackSets by name.
func stackSets(t *testing.T) map[string]map[string]any {
	t.Helper()
	return stackSetsOf(t, hub(t))
}

// stackSetsOf returns the StackSets of a hub stack by name.
func stackSetsOf(t *testing.T, s *Synthesized) map[string]map[string]any {
	t.Helper()
	out := map[string]map[string]any{}
	for _, p := range s.Template.Resources("AWS::CloudFormation::StackSet") {
		out[p["StackSetName"].(string)] = p
	}
	if got := keys(out); !reflect.DeepEqual(got, []string{"ecslogfix-member", "ecslogfix-member-execution-role", "ecslogfix-member-iam"}) {
		t.Fatalf("StackSets %v", got)
	}
	return out
}

// memberTemplateOf returns the TemplateBody of the StackSet name.
func memberTemplateOf(t *testing.T, name string) (string, Template) {
	t.Helper()
	return memberTemplateIn(t, hub(t), name)
}

// memberTemplateIn returns the TemplateBody of the StackSet name of a hub
// stack.
func memberTemplateIn(t *testing.T, s *Synthesized, name string) (string, Template) {
	t.Helper()
	body, ok := stackSetsOf(t, s)[name]["TemplateBody"].(string)
	if !ok {
		t.Fatalf("%s: TemplateBody is not a literal string", name)
	}
	var tmpl Template
	if err := json.Unmarshal([]byte(body), &tmpl); err != nil {
		t.Fatal(err)
	}
	return body, tmpl
}

// Each member StackSet is service-managed with auto-deployment; the
// regional one covers every region, the two global ones only the IAM
// region; the execution role's stacks stay when an account leaves the OUs.
func TestStackSetsServiceManagedAutoDeploy(t *testing.T) {
	js := func(v any) string { b, _ := json.Marshal(v); return string(b) }
	params := `[{"ParameterKey":"HubAccountId","ParameterValue":{"Ref":"AWS::AccountId"}},{"ParameterKey":"HubRegion","ParameterValue":{"Ref":"AWS::Region"}}]`
	for name, want := range map[string]map[string]string{
		"ecslogfix-member": {
			"AutoDeployment": `{"Enabled":true,"RetainStacksOnAccountRemoval":false}`, "Parameters": params,
			"StackInstancesGroup": `[{"DeploymentTargets":{"OrganizationalUnitIds":["ou-ab12-abcdefgh","ou-ab12-ijklmnop"]},"Regions":["eu-west-1","us-east-1"]}]`,
		},
		"ecslogfix-member-iam": {
			"AutoDeployment": `{"Enabled":true,"RetainStacksOnAccountRemoval":false}`, "Parameters": params,
			"StackInstancesGroup": `[{"DeploymentTargets":{"OrganizationalUnitIds":["ou-ab12-abcdefgh","ou-ab12-ijklmnop"]},"Regions":["eu-west-1"]}]`,
		},
		"ecslogfix-member-execution-role": {
			"AutoDeployment": `{"Enabled":true,"RetainStacksOnAccountRemoval":true}`, "Parameters": `null`,
			"StackInstancesGroup": `[{"DeploymentTargets":{"OrganizationalUnitIds":["ou-ab12-abcdefgh","ou-ab12-ijklmnop"]},"Regions":["eu-west-1"]}]`,
		},
	} {
		p := stackSets(t)[name]
		want["PermissionModel"], want["CallAs"], want["Capabilities"] = `"SERVICE_MANAGED"`, `"SELF"`, `["CAPABILITY_NAMED_IAM"]`
		// One account's failure (an SCP, a region not enabled, a suspended
		// account, a pilot's role) fails its instance only, never the hub.
		want["OperationPreferences"] = `{"ConcurrencyMode":"SOFT_FAILURE_TOLERANCE","FailureTolerancePercentage":100,"MaxConcurrentPercentage":25,"RegionConcurrencyType":"PARALLEL"}`
		for field, w := range want {
			if got := js(p[field]); got != w {
				t.Errorf("%s.%s = %s, want %s", name, field, got, w)
			}
		}
	}
	// The IAM StackSet waits for the roles the member role trusts; the
	// forwarding one for the bus and, on the first rollout, the roles.
	tmpl := hub(t).Template
	deps := func(name string) []string {
		return strs(tmpl.Resource(mustID(t, tmpl, "AWS::CloudFormation::StackSet", "StackSetName", name))["DependsOn"])
	}
	for _, role := range []string{"ecslogfix-detect", "ecslogfix-remediate"} {
		if !slices.Contains(deps("ecslogfix-member-iam"), mustID(t, tmpl, "AWS::IAM::Role", "RoleName", role)) {
			t.Errorf("the IAM StackSet does not depend on %s", role)
		}
	}
	if d := deps("ecslogfix-member"); !slices.Contains(d, mustID(t, tmpl, "AWS::CloudFormation::StackSet", "StackSetName", "ecslogfix-member-iam")) ||
		!slices.Contains(d, mustID(t, tmpl, "AWS::Events::EventBus", "Name", "ecslogfix-hub")) {
		t.Errorf("the forwarding StackSet depends on %v", d)
	}
	// Organization mode cannot work in China: the template refuses it.
	rules, _ := tmpl["Rules"].(map[string]any)
	if got := Flatten(rules["OrganizationModePartition"]); !strings.Contains(got, `{"Fn::Not":[{"Fn::Equals":[{"Ref":"AWS::Partition"},"aws-cn"]}]}`) {
		t.Errorf("OrganizationModePartition rule %s", got)
	}
}

// The IAM region is explicit: reordering the regions, adding one in front
// or removing one (other than the IAM region) leaves every global resource
// where it is, and no member template depends on the region it runs in.
func TestIAMRegionDoesNotFollowTheRegionOrder(t *testing.T) {
	base := orgConfig(t)
	sets := func(regions ...string) map[string]MemberSet {
		cfg := base
		cfg.Regions = regions
		ms, _, _, err := MemberSets(cfg)
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]MemberSet{}
		for _, m := range ms {
			out[m.Name] = m
		}
		return out
	}
	before := sets("eu-west-1", "us-east-1")
	for _, regions := range [][]string{{"us-east-1", "eu-west-1"}, {"ap-south-1", "eu-west-1", "us-east-1"}, {"eu-west-1"}} {
		after := sets(regions...)
		for _, name := range []string{"ecslogfix-member-iam", "ecslogfix-member-execution-role"} {
			if !reflect.DeepEqual(after[name], before[name]) {
				t.Errorf("regions %v change %s", regions, name)
			}
		}
		if after["ecslogfix-member"].TemplateBody != before["ecslogfix-member"].TemplateBody {
			t.Errorf("regions %v change the forwarding template", regions)
		}
	}
	for name, m := range before {
		if strings.Contains(m.TemplateBody, `"Conditions"`) || strings.Contains(m.TemplateBody, "eu-west-1") {
			t.Errorf("%s depends on the region it runs in:\n%s", name, m.TemplateBody)
		}
	}
	// Removing the IAM region would delete the roles everywhere: refused.
	ctx := orgCDKContext(map[string]any{"ecslogfix:regions": "us-east-1"})
	if _, err := config.Load(func(k string) (any, bool) { v, ok := ctx[k]; return v, ok }); err == nil || !strings.Contains(err.Error(), "ecslogfix:iamRegion") {
		t.Errorf("removing the IAM region: %v", err)
	}
}

func TestMemberTemplates(t *testing.T) {
	want := map[string]map[string]int{
		"ecslogfix-member":                {"AWS::SQS::Queue": 1, "AWS::SQS::QueuePolicy": 1, "AWS::Events::Rule": 1},
		"ecslogfix-member-iam":            {"AWS::IAM::Role": 2},
		"ecslogfix-member-execution-role": {"AWS::IAM::Role": 1},
	}
	for name, wantTypes := range want {
		body, tmpl := memberTemplateOf(t, name)
		if len(body) > MaxTemplateBody {
			t.Errorf("%s: %d bytes, limit %d", name, len(body), MaxTemplateBody)
		}
		types := map[string]int{}
		for _, r := range tmpl["Resources"].(map[string]any) {
			types[r.(map[string]any)["Type"].(string)]++
		}
		if !reflect.DeepEqual(types, wantTypes) {
			t.Errorf("%s resources %v, want %v", name, types, wantTypes)
		}
		for _, bad := range []string{"AWS::Lambda", "BootstrapVersion", "AWS::CDK::Metadata", "cdk-hnb659fds", "S3Key"} {
			if strings.Contains(body, bad) {
				t.Errorf("%s contains %q (must have no assets or bootstrap needs)", name, bad)
			}
		}
	}

	// The rule forwards the register pattern to the hub bus, with the
	// forwarder role (by name), DLQ and retries.
	_, fwd := memberTemplateOf(t, "ecslogfix-member")
	if got := keys(fwd["Parameters"].(map[string]any)); !reflect.DeepEqual(got, []string{ParamHubAccountID, ParamHubRegion}) {
		t.Errorf("parameters %v", got)
	}
	for _, p := range fwd.Resources("AWS::Events::Rule") {
		got, _ := json.Marshal(p["EventPattern"])
		want, _ := json.Marshal(pipeline.RegisterEventPattern())
		if string(got) != string(want) {
			t.Errorf("forward pattern %s", got)
		}
		tg := p["Targets"].([]any)[0].(map[string]any)
		if Flatten(tg["Arn"]) != "arn:${AWS::Partition}:events:${HubRegion}:${HubAccountId}:event-bus/ecslogfix-hub" ||
			tg["DeadLetterConfig"] == nil || tg["RetryPolicy"] == nil ||
			Flatten(tg["RoleArn"]) != "arn:${AWS::Partition}:iam::${AWS::AccountId}:role/ecslogfix-forwarder" {
			t.Errorf("forward target %v", tg)
		}
	}
	for id, p := range fwd.Resources("AWS::SQS::Queue") {
		if p["SqsManagedSseEnabled"] != true || Flatten(p["RedriveAllowPolicy"]) != `{"redrivePermission":"allowAll"}` {
			t.Errorf("forward DLQ %s: %v", id, p)
		}
	}

	// The member role trusts only the hub's detect, sweep and remediate
	// roles, within the organization.
	_, iam := memberTemplateOf(t, "ecslogfix-member-iam")
	member := iam.Resources("AWS::IAM::Role")["MemberRole"]
	if member["RoleName"] != "ecslogfix-member" {
		t.Fatalf("member role %v", member["RoleName"])
	}
	trust := statements(member["AssumeRolePolicyDocument"])
	if len(trust) != 1 || !reflect.DeepEqual(strs(trust[0]["Principal"].(map[string]any)["AWS"]), []string{"arn:${AWS::Partition}:iam::${HubAccountId}:role/ecslogfix-detect", "arn:${AWS::Partition}:iam::${HubAccountId}:role/ecslogfix-sweep", "arn:${AWS::Partition}:iam::${HubAccountId}:role/ecslogfix-remediate"}) ||
		Flatten(trust[0]["Condition"]) != `{"StringEquals":{"aws:PrincipalOrgID":"o-abcdefghij"}}` {
		t.Errorf("member trust %v", trust)
	}
	got := actionsOf(roleStatements(t, iam, "ecslogfix-member"))
	wantActions := []string{"ecs:DeregisterTaskDefinition", "ecs:DescribeServices", "ecs:DescribeTaskDefinition", "ecs:ListAccountSettings", "ecs:ListClusters", "ecs:ListServices",
		"ecs:ListTaskDefinitionFamilies", "ecs:RegisterTaskDefinition", "ecs:TagResource", "ecs:UpdateService",
		"events:ListEventBuses", "events:ListRules", "events:ListTargetsByRule", "events:PutTargets",
		"iam:PassRole", "logs:CreateLogGroup", "logs:DescribeLogGroups", "logs:ListTagsForResource", "logs:PutRetentionPolicy", "logs:TagResource",
		"scheduler:GetSchedule", "scheduler:ListSchedules", "scheduler:UpdateSchedule"}
	if !reflect.DeepEqual(keys(got), wantActions) {
		t.Errorf("member role actions %v, want %v", keys(got), wantActions)
	}
	if got := actionsOf(roleStatements(t, iam, "ecslogfix-forwarder")); !reflect.DeepEqual(got, map[string][]string{
		"events:PutEvents": {"arn:${AWS::Partition}:events:${HubRegion}:${HubAccountId}:event-bus/ecslogfix-hub"}}) {
		t.Errorf("forwarder %v", got)
	}
	assertNoStarActions(t, iam)

	// The default execution role outlives the member stack.
	_, exec := memberTemplateOf(t, "ecslogfix-member-execution-role")
	checkExecutionRole(t, exec)
}

// checkExecutionRole: the default execution role trusts ECS tasks exactly
// as the ECS documentation's execution-role trust policy does (no
// conditions), may only write logs, and is retained on deletion and
// replacement (revisions ecslogfix fixed still name it).
func checkExecutionRole(t *testing.T, tmpl Template) {
	t.Helper()
	id := mustID(t, tmpl, "AWS::IAM::Role", "RoleName", "ecslogfix-task-execution")
	r := tmpl.Resource(id)
	if r["DeletionPolicy"] != "Retain" || r["UpdateReplacePolicy"] != "Retain" {
		t.Errorf("execution role deletion %v, update-replace %v", r["DeletionPolicy"], r["UpdateReplacePolicy"])
	}
	props := r["Properties"].(map[string]any)
	if got := Flatten(props["AssumeRolePolicyDocument"]); got != `{"Statement":[{"Action":"sts:AssumeRole","Effect":"Allow","Principal":{"Service":"ecs-tasks.amazonaws.com"}}],"Version":"2012-10-17"}` {
		t.Errorf("execution role trust %s", got)
	}
	if got := keys(actionsOf(roleStatements(t, tmpl, "ecslogfix-task-execution"))); !reflect.DeepEqual(got, []string{"logs:CreateLogStream", "logs:PutLogEvents"}) {
		t.Errorf("execution role actions %v", got)
	}
}

func TestSingleExecutionRoleRetainedWithDocumentedTrust(t *testing.T) {
	checkExecutionRole(t, single(t).Template)
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

// Account-global names of a hub differ from a single-mode stack's of the
// same prefix where they can (dashboard, Chatbot), and the synth warns
// about the role names, which the member role's trust policy fixes.
func TestHubNamesAndWarnings(t *testing.T) {
	tmpl := hub(t).Template
	for _, p := range tmpl.Resources("AWS::CloudWatch::Dashboard") {
		if p["DashboardName"] != "ecslogfix-hub" {
			t.Errorf("hub dashboard %v", p["DashboardName"])
		}
	}
	warns := Warnings(hub(t).Stack)
	if len(warns) != 1 || !strings.Contains(warns[0], "ecslogfix-detect") || !strings.Contains(warns[0], "single-mode") {
		t.Errorf("hub warnings %v", warns)
	}
	if w := Warnings(single(t).Stack); len(w) != 0 {
		t.Errorf("single warnings %v", w)
	}
}

// The hub's detect, sweep and remediate assume the member role of accounts
// of the organization only; remediate fixes the hub account's own task
// definitions with the grants single mode has, on the hub account's
// resources only; detect and sweep never register or pass a role.
func TestHubFunctionsAssumeMemberRole(t *testing.T) {
	tmpl := hub(t).Template
	member := "arn:${AWS::Partition}:iam::*:role/ecslogfix-member"
	singleRemediate := actionsOf(roleStatements(t, single(t).Template, "ecslogfix-remediate"))
	for _, fn := range naming.Functions() {
		stmts := roleStatements(t, tmpl, "ecslogfix-"+fn)
		got := actionsOf(stmts)
		if fn == naming.FunctionNotify {
			if _, ok := got["sts:AssumeRole"]; ok {
				t.Error("notify may assume the member role")
			}
			continue
		}
		if !reflect.DeepEqual(got["sts:AssumeRole"], []string{member}) {
			t.Errorf("%s assumes %v", fn, got["sts:AssumeRole"])
		}
		for _, s := range stmts {
			if slices.Contains(strs(s["Action"]), "sts:AssumeRole") && Flatten(s["Condition"]) != `{"StringEquals":{"aws:ResourceOrgID":"o-abcdefghij"}}` {
				t.Errorf("%s assumes the member role without aws:ResourceOrgID: %v", fn, s["Condition"])
			}
		}
		for a, res := range got {
			if !strings.HasPrefix(a, "ecs:Register") && !strings.HasPrefix(a, "iam:") && !strings.HasPrefix(a, "ecs:Deregister") {
				continue
			}
			if fn != naming.FunctionRemediate {
				t.Errorf("hub %s has %s", fn, a)
			} else if !reflect.DeepEqual(res, singleRemediate[a]) {
				t.Errorf("hub remediate has %s on %v, want %v (the hub account's only)", a, res, singleRemediate[a])
			}
		}
		if fn == naming.FunctionRemediate {
			for a, res := range singleRemediate {
				if !strings.HasPrefix(a, "logs:CreateLogStream") && !strings.HasPrefix(a, "logs:PutLogEvents") && !reflect.DeepEqual(got[a], res) {
					t.Errorf("hub remediate has %s on %v, want single mode's %v", a, got[a], res)
				}
			}
		}
		env, err := tmpl.FunctionEnvironment("ecslogfix-" + fn)
		if err != nil {
			t.Fatal(err)
		}
		switch fn {
		case naming.FunctionDetect:
			if env[fnenv.EnvMode] != "organization" || env[fnenv.EnvMemberRoleName] != "ecslogfix-member" ||
				env[fnenv.EnvOwnRoleARNs] != "arn:${AWS::Partition}:iam::${AWS::AccountId}:role/ecslogfix-remediate,"+member {
				t.Errorf("%s env %v", fn, env)
			}
		case naming.FunctionSweep:
			if env[fnenv.EnvMode] != "organization" || env[fnenv.EnvMemberRoleName] != "ecslogfix-member" ||
				env[fnenv.EnvRegions] != "eu-west-1,us-east-1" || env[fnenv.EnvTargetOUs] != "ou-ab12-abcdefgh,ou-ab12-ijklmnop" ||
				env[fnenv.EnvStackSetCallAs] != "SELF" || env[fnenv.EnvRoleStackSet] != "ecslogfix-member-iam" || env[fnenv.EnvForwardStackSet] != "ecslogfix-member" {
				t.Errorf("%s env %v", fn, env)
			}
			// Reading the organization: this organization's OUs and root,
			// and the member StackSets this account holds (SELF).
			want := map[string][]string{
				"organizations:ListAccountsForParent":            {"arn:${AWS::Partition}:organizations::*:ou/o-abcdefghij/*", "arn:${AWS::Partition}:organizations::*:root/o-abcdefghij/*"},
				"organizations:ListOrganizationalUnitsForParent": {"arn:${AWS::Partition}:organizations::*:ou/o-abcdefghij/*", "arn:${AWS::Partition}:organizations::*:root/o-abcdefghij/*"},
				"cloudformation:ListStackInstances": {"arn:${AWS::Partition}:cloudformation:${AWS::Region}:${AWS::AccountId}:stackset/ecslogfix-member:*",
					"arn:${AWS::Partition}:cloudformation:${AWS::Region}:${AWS::AccountId}:stackset/ecslogfix-member-iam:*"},
			}
			for a, res := range want {
				if !reflect.DeepEqual(got[a], res) {
					t.Errorf("sweep %s on %v, want %v", a, got[a], res)
				}
			}
		}
		// Fargate fixes in member accounts use the execution role the
		// member execution-role StackSet creates there.
		if want := `"defaultExecutionRoleArn":"arn:${AWS::Partition}:iam::{account}:role/ecslogfix-task-execution"`; !strings.Contains(env[fnenv.EnvPolicy], want) {
			t.Errorf("%s policy %s lacks %s", fn, env[fnenv.EnvPolicy], want)
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
	if cfg.Mode != config.ModeSingle || cfg.Prefix != config.DefaultPrefix || cfg.LogRetentionDays < 365 {
		t.Errorf("cdk.json config %+v", cfg)
	}
	var doc map[string]any
	data, _ := os.ReadFile(filepath.Join(root, "cdk.json"))
	if err := json.Unmarshal(data, &doc); err != nil || doc["app"] != "go run ./infra" {
		t.Errorf("cdk.json app %v (%v)", doc["app"], err)
	}
}
