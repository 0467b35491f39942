package check

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/owenrumney/go-sarif/v3/pkg/report/v210/sarif"

	"github.com/ecslogfix/ecslogfix/internal/policy/reason"
)

// validateSARIF checks a log against the SARIF 2.1.0 JSON schema that the
// go-sarif module embeds (the OASIS schema, sarif-schema-2.1.0.json). The
// module validates its own Report type, so the log is decoded into it
// twice: once with unknown fields refused (every field written must be one
// the schema defines), once as the module reads a log, which is then
// validated against the schema.
func validateSARIF(data []byte) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(new(sarif.Report)); err != nil {
		return fmt.Errorf("not SARIF 2.1.0: %w", err)
	}
	rep, err := sarif.FromBytes(data)
	if err != nil {
		return err
	}
	return rep.Validate()
}

// writeSARIF writes reports as SARIF with WriteSARIF, checks the log
// against the schema (validateSARIF) and returns it, decoded and as text.
func writeSARIF(t *testing.T, reports []Report, version string) (sarifLog, string) {
	t.Helper()
	var buf bytes.Buffer
	if err := WriteSARIF(&buf, reports, version); err != nil {
		t.Fatal(err)
	}
	if err := validateSARIF(buf.Bytes()); err != nil {
		t.Fatal(err)
	}
	var log sarifLog
	if err := json.Unmarshal(buf.Bytes(), &log); err != nil {
		t.Fatal(err)
	}
	return log, buf.String()
}

func TestValidateSARIFRefusesInvalidLogs(t *testing.T) {
	_, valid := writeSARIF(t, reportsOf(t, "cfn-services.yaml"), "v1")
	for name, bad := range map[string]string{
		"level":         strings.Replace(valid, `"level": "error"`, `"level": "fatal"`, 1),
		"unknown field": strings.Replace(valid, `"ruleId"`, `"rule": "x", "ruleId"`, 1),
		"start line":    strings.Replace(valid, `"startLine": 37`, `"startLine": 0`, 1),
		"version":       strings.Replace(valid, `"version": "2.1.0"`, `"version": "2.0.0"`, 1),
	} {
		if bad == valid {
			t.Fatalf("%s: the mutation did not apply", name)
		}
		if err := validateSARIF([]byte(bad)); err == nil {
			t.Errorf("%s: an invalid log passed", name)
		}
	}
}

func TestSARIFValidatesAgainstTheSchema(t *testing.T) {
	var all []Report
	for _, name := range inputs {
		all = append(all, reportsOf(t, name)...)
	}
	all = append(all, Report{File: "broken.json", Line: 3, Error: "line 3, column 7: invalid JSON"}, Report{File: "-", Error: "no such file"})
	log, text := writeSARIF(t, all, "v1.2.3")
	run := log.Runs[0]
	if len(run.Tool.Driver.Rules) != len(reason.All())+2 || run.Invocations[0].ExecutionSuccessful {
		t.Errorf("rules %d, invocation %+v", len(run.Tool.Driver.Rules), run.Invocations)
	}
	for _, r := range run.Tool.Driver.Rules {
		if r.Help.Text == "" || r.ShortDescription.Text == "" {
			t.Errorf("rule %s without help", r.ID)
		}
	}
	byRule := map[string]int{}
	for _, res := range run.Results {
		byRule[res.RuleID]++
		if run.Tool.Driver.Rules[res.RuleIndex].ID != res.RuleID {
			t.Errorf("result %s points at rule %d", res.RuleID, res.RuleIndex)
		}
		loc := res.Locations[0].PhysicalLocation
		if loc.ArtifactLocation.URI == "" || (loc.Region != nil && loc.Region.StartLine < 1) {
			t.Errorf("location %+v", loc)
		}
	}
	if byRule[string(reason.MissingLogConfiguration)] == 0 || byRule[RuleUnresolved] == 0 || byRule[RuleInputError] != 2 {
		t.Errorf("results by rule %v", byRule)
	}
	if !strings.Contains(text, `"uri": "testdata/cfn-services.yaml"`) || !strings.Contains(text, `"startLine": 37`) {
		t.Errorf("locations missing from\n%s", text)
	}
}

func TestSARIFArtifactURIs(t *testing.T) {
	for file, want := range map[string]sarifArtifact{
		"infra/my stack.yaml": {URI: "infra/my%20stack.yaml", URIBaseID: "%SRCROOT%"},
		"./a.json":            {URI: "a.json", URIBaseID: "%SRCROOT%"},
		"c:x.json":            {URI: "./c:x.json", URIBaseID: "%SRCROOT%"},
		"/abs/t.json":         {URI: "file:///abs/t.json"},
		"-":                   {URI: "stdin"},
	} {
		if got := artifact(file); got != want {
			t.Errorf("artifact(%q) = %+v, want %+v", file, got, want)
		}
	}
}
