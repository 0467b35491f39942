package check

import (
	"bytes"
	"encoding/json"
	"flag"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ecslogfix/ecslogfix/internal/plan"
	"github.com/ecslogfix/ecslogfix/internal/policy"
	"github.com/ecslogfix/ecslogfix/internal/policy/awslogs"
	"github.com/ecslogfix/ecslogfix/internal/policy/reason"
	"github.com/ecslogfix/ecslogfix/internal/source"
	"github.com/ecslogfix/ecslogfix/test/goldenfile"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// inputs are the source package's own fixtures: one of each format.
var inputs = []string{"cfn-services.yaml", "cfn-api.json", "cdk.out", "tfplan.json", "register.yaml"}

func reportsOf(t *testing.T, name string) []Report {
	t.Helper()
	var out []Report
	for _, f := range source.ReadPath(filepath.Join("..", "source", "testdata", name), nil) {
		out = append(out, FileReports(f, policy.Default(), plan.Context{Partition: "aws", Account: "111122223333", Region: "us-east-1"})...)
	}
	for i := range out {
		out[i].File = filepath.ToSlash(strings.TrimPrefix(out[i].File, filepath.Join("..", "source")+string(filepath.Separator)))
	}
	return out
}

func TestGolden(t *testing.T) {
	for _, name := range inputs {
		t.Run(name, func(t *testing.T) {
			reports := reportsOf(t, name)
			var text, gh, js bytes.Buffer
			if err := WriteText(&text, reports); err != nil {
				t.Fatal(err)
			}
			if err := WriteGitHub(&gh, reports); err != nil {
				t.Fatal(err)
			}
			enc := json.NewEncoder(&js)
			enc.SetIndent("", "  ")
			if err := enc.Encode(reports); err != nil {
				t.Fatal(err)
			}
			base := filepath.Join("testdata", "golden", strings.ReplaceAll(name, "/", "_"))
			goldenfile.Check(t, base+".txt", text.Bytes(), *update)
			goldenfile.Check(t, base+".github.txt", gh.Bytes(), *update)
			goldenfile.Check(t, base+".json", js.Bytes(), *update)
		})
	}
}

func verdicts(reports []Report) map[string]Verdict {
	m := map[string]Verdict{}
	for _, r := range reports {
		m[r.Resource+r.Family] = r.Verdict
	}
	return m
}

func TestVerdictsOfTemplates(t *testing.T) {
	got := verdicts(reportsOf(t, "cfn-services.yaml"))
	want := map[string]Verdict{
		"OrdersTaskorders":   Compliant,    // Ref to the template's log group, Ref AWS::Region
		"BillingTaskbilling": NonCompliant, // no stream prefix; a container without logging
		"ReportsTask":        Unresolved,   // Ref to a parameter; a container under Fn::If
		"LegacyTasklegacy":   NonCompliant, // exempt, still reported
		"RouterTaskrouter":   NonCompliant, // awsfirelens app
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: %s, want %s", k, got[k], v)
		}
	}
	api := reportsOf(t, "cfn-api.json")[0]
	if api.Verdict != Unresolved || api.Containers[0].Verdict != Unresolved || api.Containers[1].Verdict != Unresolved {
		t.Errorf("api: %+v", api)
	}
	tf := verdicts(reportsOf(t, "tfplan.json"))
	if tf["aws_ecs_task_definition.webweb"] != Compliant || tf["aws_ecs_task_definition.apiapi"] != Unresolved ||
		tf["module.jobs.aws_ecs_task_definition.worker[0]worker"] != NonCompliant {
		t.Errorf("terraform: %v", tf)
	}
}

// TestUnresolvedIsJudgedBothWays pins the rule: a reason that holds
// whatever the unknown value is makes the container NON_COMPLIANT; an
// unknown that the policy does not read changes nothing.
func TestUnresolvedIsJudgedBothWays(t *testing.T) {
	tmpl := func(opts string) []Report {
		in := "Resources:\n  T:\n    Type: AWS::ECS::TaskDefinition\n    Properties:\n      Family: t\n      ContainerDefinitions:\n        - Name: a\n          LogConfiguration:\n            LogDriver: awslogs\n            Options: " + opts + "\n"
		return FileReports(source.Read("t.yaml", []byte(in)), policy.Default(), plan.Context{})
	}
	for opts, want := range map[string]Verdict{
		"{awslogs-group: !Ref G, awslogs-region: us-east-1}":                                     NonCompliant,
		"{awslogs-group: !Ref G, awslogs-region: us-east-1, awslogs-stream-prefix: p}":           Unresolved,
		"{awslogs-group: /g, awslogs-region: us-east-1, awslogs-stream-prefix: !Ref P}":          Unresolved,
		"{awslogs-group: /g, awslogs-region: !Sub '${AWS::Region}', awslogs-stream-prefix: p}":   Compliant,
		"{awslogs-group: /g, awslogs-region: eu-west-1, awslogs-stream-prefix: p, mode: !Ref M}": Compliant,
		"!If [c, {awslogs-group: /g}, {}]":                                                       Unresolved,
	} {
		r := tmpl(opts)[0]
		if r.Verdict != want {
			t.Errorf("%s: %s, want %s (%+v)", opts, r.Verdict, want, r.Containers)
		}
	}
	r := tmpl("{awslogs-group: !Ref G, awslogs-region: us-east-1}")[0]
	if c := r.Containers[0]; len(c.Reasons) != 1 || c.Reasons[0] != reason.MissingStreamPrefix || len(c.Unresolved) != 1 {
		t.Errorf("certain reasons %+v", c)
	}
}

func TestUnresolvedDriverTakesAnyAllowedDriver(t *testing.T) {
	in := `{"Resources":{"T":{"Type":"AWS::ECS::TaskDefinition","Properties":{"ContainerDefinitions":[{"Name":"a","LogConfiguration":{"LogDriver":{"Ref":"Driver"}}}]}}}}`
	pol := policy.Default()
	r := FileReports(source.Read("t.json", []byte(in)), pol, plan.Context{})[0]
	if r.Verdict != NonCompliant { // awslogs without options: certain reasons
		t.Errorf("default policy: %s", r.Verdict)
	}
	pol.AllowedDrivers = []string{awslogs.DriverAwslogs, "splunk"}
	r = FileReports(source.Read("t.json", []byte(in)), pol, plan.Context{})[0]
	if r.Verdict != Unresolved || !strings.Contains(r.Containers[0].Unresolved[0].CompliantWhen, "awslogs or splunk") {
		t.Errorf("splunk allowed: %s %+v", r.Verdict, r.Containers[0].Unresolved)
	}
}

func TestFailing(t *testing.T) {
	for r, want := range map[*Report]bool{
		{Verdict: Compliant}:                  false,
		{Verdict: NonCompliant}:               true,
		{Verdict: Unresolved}:                 true,
		{Verdict: NonCompliant, Exempt: true}: false,
		{Error: "x"}:                          true,
	} {
		if r.Failing() != want {
			t.Errorf("%+v: Failing %v", *r, !want)
		}
	}
}

// Input errors, not verdicts: two containers of one name anywhere; no
// container at all in a task definition file (a template may leave the
// list to CloudFormation's own validation, or to an unresolved value).
// The new rules' findings name their option keys.
func TestInputErrorsAndNewRules(t *testing.T) {
	read := func(name, in string) Report {
		return FileReports(source.Read(name, []byte(in)), policy.Default(), plan.Context{Region: "us-east-1"})[0]
	}
	for name, in := range map[string]string{
		"dup.json":   `{"family":"f","containerDefinitions":[{"name":"a"},{"name":"a"}]}`,
		"null.json":  `{"family":"f","containerDefinitions":null}`,
		"empty.json": `{"family":"f","containerDefinitions":[]}`,
		"dup.yaml":   "Resources:\n  T:\n    Type: AWS::ECS::TaskDefinition\n    Properties:\n      ContainerDefinitions:\n        - Name: a\n        - Name: a\n",
	} {
		if r := read(name, in); !strings.Contains(r.Error, "containerDefinitions") || r.Verdict != "" || !r.Failing() {
			t.Errorf("%s: %+v", name, r)
		}
	}
	if r := read("none.yaml", "Resources:\n  T:\n    Type: AWS::ECS::TaskDefinition\n    Properties: {}\n"); r.Error != "" {
		t.Errorf("a template without ContainerDefinitions: %+v", r)
	}
	r := read("rules.json", `{"family":"f","requiresCompatibilities":["FARGATE"],"containerDefinitions":[
		{"name":"a","logConfiguration":{"logDriver":"awslogs","options":{"awslogs-group":"/ecs/f","awslogs-region":"<aws_region>","awslogs-stream-prefix":"a:b","awslogs-endpoint":"x","mode":"sync"}}}]}`)
	c := r.Containers[0]
	want := []reason.Code{reason.InvalidRegion, reason.InvalidStreamPrefix, reason.InvalidMode, reason.UnknownOption, reason.ExecutionRoleMissing}
	if r.Verdict != NonCompliant || !equalReasons(c.Reasons, want) || strings.Join(c.Keys, " ") != "awslogs-region awslogs-stream-prefix mode awslogs-endpoint" {
		t.Errorf("new rules: %+v", c)
	}
}

func equalReasons(a, b []reason.Code) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
