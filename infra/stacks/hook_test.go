package stacks

import (
	"debug/elf"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/ecslogfix/ecslogfix/infra/lambdahook"
	"github.com/ecslogfix/ecslogfix/internal/config"
	"github.com/ecslogfix/ecslogfix/internal/config/fnenv"
)

var singleHookSynth, hubHookSynth synthOnce

func singleHook(t *testing.T) *Synthesized {
	return synthContext(t, &singleHookSynth, "single-hook", map[string]any{"ecslogfix:hook": "true", "ecslogfix:hookFailureMode": "FAIL"})
}

func hubHookConfig(t *testing.T) config.Config {
	return mustLoad(t, orgCDKContext(map[string]any{"ecslogfix:hook": "true"}))
}

func hubHook(t *testing.T) *Synthesized {
	return synth(t, &hubHookSynth, "hub-hook", hubHookConfig)
}

func onlyResource(t *testing.T, tmpl Template, typ string) map[string]any {
	t.Helper()
	rs := tmpl.Resources(typ)
	if len(rs) != 1 {
		t.Fatalf("%d %s, want 1", len(rs), typ)
	}
	for _, p := range rs {
		return p
	}
	return nil
}

func checkLambdaHook(t *testing.T, p map[string]any, failureMode, function string) {
	t.Helper()
	if p["Alias"] != "Ecslogfix::ECS::TaskDefinitionLogging" || p["FailureMode"] != failureMode || p["HookStatus"] != "ENABLED" ||
		!reflect.DeepEqual(strs(p["TargetOperations"]), []string{"RESOURCE", "CLOUD_CONTROL"}) || Flatten(p["LambdaFunction"]) != function {
		t.Errorf("hook %v", p)
	}
	f := Flatten(p["TargetFilters"])
	if f != `{"Targets":[{"Action":"CREATE","InvocationPoint":"PRE_PROVISION","TargetName":"AWS::ECS::TaskDefinition"},{"Action":"UPDATE","InvocationPoint":"PRE_PROVISION","TargetName":"AWS::ECS::TaskDefinition"}]}` {
		t.Errorf("target filters %s", f)
	}
}

func TestHookOffByDefault(t *testing.T) {
	for name, s := range map[string]*Synthesized{"single": single(t), "hub": hub(t)} {
		if n := len(s.Template.Resources("AWS::CloudFormation::LambdaHook")); n != 0 {
			t.Errorf("%s: %d hooks without ecslogfix:hook", name, n)
		}
		if _, err := s.Template.FunctionEnvironment("ecslogfix-hook"); err == nil {
			t.Errorf("%s: hook function without ecslogfix:hook", name)
		}
	}
	for name := range stackSets(t) {
		_, tmpl := memberTemplateOf(t, name)
		if n := len(tmpl.Resources("AWS::CloudFormation::LambdaHook")); n != 0 {
			t.Errorf("member %s: %d hooks", name, n)
		}
	}
}

func TestSingleStackHook(t *testing.T) {
	s := singleHook(t)
	tmpl := s.Template
	fnARN := "${" + mustFn(t, tmpl, "ecslogfix-hook") + ".Arn}"
	checkLambdaHook(t, onlyResource(t, tmpl, "AWS::CloudFormation::LambdaHook"), "FAIL", fnARN)

	// CloudFormation Hooks of this account may invoke the function, and
	// nothing else.
	role := tmpl.Resources("AWS::IAM::Role")
	var trust []map[string]any
	for _, p := range role {
		if p["RoleName"] == "ecslogfix-hook-invoke" {
			trust = statements(p["AssumeRolePolicyDocument"])
		}
	}
	if len(trust) != 1 || Flatten(trust[0]["Principal"]) != `{"Service":"hooks.cloudformation.amazonaws.com"}` ||
		Flatten(trust[0]["Condition"]) != `{"StringEquals":{"aws:SourceAccount":{"Ref":"AWS::AccountId"}}}` {
		t.Errorf("invoke role trust %s %s", Flatten(trust[0]["Principal"]), Flatten(trust[0]["Condition"]))
	}
	if got := actionsOf(roleStatements(t, tmpl, "ecslogfix-hook-invoke")); !reflect.DeepEqual(got, map[string][]string{"lambda:InvokeFunction": {fnARN}}) {
		t.Errorf("invoke role %v", got)
	}
	// The function only writes its own logs; it makes no AWS calls.
	if got := keys(actionsOf(roleStatements(t, tmpl, "ecslogfix-hook"))); !reflect.DeepEqual(got, []string{"logs:CreateLogStream", "logs:PutLogEvents"}) {
		t.Errorf("hook function role %v", got)
	}
	env, err := tmpl.FunctionEnvironment("ecslogfix-hook")
	if err != nil {
		t.Fatal(err)
	}
	if len(env) != 1 || env[fnenv.EnvPolicy] == "" {
		t.Errorf("hook environment %v", env)
	}
	id := mustFn(t, tmpl, "ecslogfix-hook")
	if to := tmpl.Resource(id)["Properties"].(map[string]any)["Timeout"]; to != float64(lambdahook.TimeoutSeconds) {
		t.Errorf("timeout %v", to)
	}
	dir, err := s.AssetDir("ecslogfix-hook")
	if err != nil {
		t.Fatal(err)
	}
	f, err := elf.Open(filepath.Join(dir, "bootstrap"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if f.Machine != elf.EM_AARCH64 {
		t.Errorf("bootstrap is %v", f.Machine)
	}
	errs, _ := NagFindings(s.Stack)
	for _, e := range errs {
		t.Errorf("cdk-nag error: %s", e)
	}
}

func TestOrganizationHook(t *testing.T) {
	s := hubHook(t)
	var org []map[string]any
	for _, p := range s.Template.Resources("AWS::Lambda::Permission") {
		if p["PrincipalOrgID"] != nil {
			org = append(org, p)
		}
	}
	if len(org) != 1 || org[0]["Principal"] != "*" || org[0]["PrincipalOrgID"] != "o-abcdefghij" || org[0]["Action"] != "lambda:InvokeFunction" ||
		Flatten(org[0]["FunctionName"]) != "${"+mustFn(t, s.Template, "ecslogfix-hook")+"}" {
		t.Errorf("organization permission %v", org)
	}
	if n := len(s.Template.Resources("AWS::CloudFormation::LambdaHook")); n != 0 {
		t.Errorf("the hub itself has %d hooks (its own account is a member if targeted)", n)
	}
	cfg := hubHookConfig(t)
	sets, nagErrs, _, err := MemberSets(cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range nagErrs {
		t.Errorf("member cdk-nag: %s", e)
	}
	bodies := map[string]Template{}
	var body string // the regional template, for cfn-lint below
	for _, ms := range sets {
		if len(ms.TemplateBody) > MaxTemplateBody {
			t.Errorf("member template %s: %d bytes", ms.Name, len(ms.TemplateBody))
		}
		var tmpl Template
		if err := json.Unmarshal([]byte(ms.TemplateBody), &tmpl); err != nil {
			t.Fatal(err)
		}
		bodies[ms.Name] = tmpl
		if ms.Name == cfg.Names().StackSet() {
			body = ms.TemplateBody
		}
	}
	// The hook in every region, naming the invoke role the IAM region's
	// stack creates (IAM is global).
	h := onlyResource(t, bodies[cfg.Names().StackSet()], "AWS::CloudFormation::LambdaHook")
	checkLambdaHook(t, h, "WARN", "arn:${AWS::Partition}:lambda:${HubRegion}:${HubAccountId}:function:ecslogfix-hook")
	if Flatten(h["ExecutionRole"]) != "arn:${AWS::Partition}:iam::${AWS::AccountId}:role/ecslogfix-hook-invoke" {
		t.Errorf("execution role %s", Flatten(h["ExecutionRole"]))
	}
	if n := len(bodies[cfg.Names().StackSet()].Resources("AWS::IAM::Role")); n != 0 {
		t.Errorf("the regional member template creates %d roles", n)
	}
	var invoke bool
	for _, p := range bodies[cfg.Names().StackSetIAM()].Resources("AWS::IAM::Role") {
		invoke = invoke || p["RoleName"] == "ecslogfix-hook-invoke"
	}
	if !invoke {
		t.Error("the member IAM template lacks the hook's invoke role")
	}
	errs, _ := NagFindings(s.Stack)
	for _, e := range errs {
		t.Errorf("hub cdk-nag error: %s", e)
	}
	if bin, err := exec.LookPath("cfn-lint"); err == nil {
		files := []string{filepath.Join(s.Dir, *s.Stack.TemplateFile()), filepath.Join(singleHook(t).Dir, *singleHook(t).Stack.TemplateFile())}
		member := filepath.Join(t.TempDir(), "member.template.json")
		if err := os.WriteFile(member, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		for _, f := range append(files, member) {
			if out, err := exec.Command(bin, "--ignore-checks", "W3005", "--", f).CombinedOutput(); err != nil {
				t.Errorf("cfn-lint %s: %v\n%s", filepath.Base(f), err, out)
			}
		}
	} else {
		requireTool(t, "cfn-lint")
	}
}
