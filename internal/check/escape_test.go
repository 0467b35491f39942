package check

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"unicode"

	"github.com/ecslogfix/ecslogfix/internal/plan"
	"github.com/ecslogfix/ecslogfix/internal/policy"
	"github.com/ecslogfix/ecslogfix/internal/source"
	"github.com/ecslogfix/ecslogfix/internal/source/taskdoc"
)

// hostile is what a pull request author can put in every string: terminal
// escapes, line breaks that forge a verdict, and workflow commands.
const hostile = "::add-mask::x\x1b[2K\rapp COMPLIANT\n::error file=ok.json::forged\u202e"

// hostileReports has hostile text in every field each format prints,
// read through the real reader where the field comes from a file.
func hostileReports(t *testing.T) []Report {
	t.Helper()
	q, err := json.Marshal(hostile)
	if err != nil {
		t.Fatal(err)
	}
	s := string(q)
	cfn := `{"Resources": {` + s + `: {"Type": "AWS::ECS::TaskDefinition", "Metadata": {"aws:cdk:path": ` + s + `},
  "Properties": {"Family": ` + s + `, "ContainerDefinitions": [
    {"Name": ` + s + `},
    {"Name": ` + s + `, "LogConfiguration": {"LogDriver": "awslogs", "Options": {"awslogs-group": {"Ref": ` + s + `}, "awslogs-region": "eu-west-1", "awslogs-stream-prefix": "p"}}}]}}}}`
	td := `{"family": ` + s + `, "containerDefinitions": [{"name": ` + s + `, "logConfiguration": {"logDriver": ` + s + `, "options": {"awslogs-group": ` + s + `}}}]}`
	pol, ctx := policy.Default(), plan.Context{Partition: "aws", Account: "111122223333", Region: "us-east-1"}
	var out []Report
	for _, in := range []string{cfn, td} {
		f := source.Read(hostile, []byte(in))
		if f.Err != nil {
			t.Fatalf("read: %v", f.Err)
		}
		out = append(out, FileReports(f, pol, ctx)...)
	}
	out = append(out, Report{File: hostile, Line: 2, Error: hostile},
		Report{File: hostile, Format: taskdoc.FormatCDK, Resource: hostile, Stack: hostile, Family: hostile, Verdict: Unresolved,
			Unresolved: []Value{{Field: hostile, Line: 1, Expr: hostile, CompliantWhen: "x"}}})
	return out
}

// unsafeRune is a character no output may carry raw.
func unsafeRune(r rune) bool {
	return r != '\n' && (unicode.IsControl(r) || unicode.Is(unicode.Cf, r))
}

func checkLines(t *testing.T, format, out string, lineOK func(string) bool) {
	t.Helper()
	for _, r := range out {
		if unsafeRune(r) {
			t.Errorf("%s: raw %U in output", format, r)
		}
	}
	for _, line := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
		if !lineOK(line) {
			t.Errorf("%s: forged line %q", format, line)
		}
	}
}

func TestEveryFieldIsEscapedInEveryFormat(t *testing.T) {
	reports := hostileReports(t)
	var text bytes.Buffer
	if err := WriteText(&text, reports); err != nil {
		t.Fatal(err)
	}
	checkLines(t, "text", text.String(), func(l string) bool {
		t := strings.TrimLeft(l, " ")
		return !strings.HasPrefix(t, "::") && !strings.HasPrefix(t, "app COMPLIANT")
	})
	if !strings.Contains(text.String(), `:\x3aadd-mask::x\x1b[2K\rapp COMPLIANT\n::error file=ok.json::forged\u202e`) {
		t.Errorf("text does not show the escaped value:\n%s", text.String())
	}

	var gh bytes.Buffer
	if err := WriteGitHub(&gh, reports); err != nil {
		t.Fatal(err)
	}
	checkLines(t, "github", gh.String(), func(l string) bool {
		if strings.HasPrefix(l, "ecslogfix check: ") {
			return true
		}
		level, rest, ok := strings.Cut(strings.TrimPrefix(l, "::"), " ")
		props, _, ok2 := strings.Cut(rest, "::")
		return strings.HasPrefix(l, "::") && ok && ok2 && (level == "error" || level == "warning" || level == "notice") &&
			!strings.Contains(props, ":") && strings.Count(props, ",") <= 2
	})

	log, _ := writeSARIF(t, reports, "v1")
	for _, res := range log.Runs[0].Results {
		strs := []string{res.Message.Text}
		for _, ll := range res.Locations[0].LogicalLocations {
			strs = append(strs, ll.Name, ll.FullyQualifiedName)
		}
		for _, s := range strs {
			checkLines(t, "sarif", s, func(l string) bool { return !strings.Contains(s, "\n") })
		}
	}
}
