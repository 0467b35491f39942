package taskfile

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
)

func TestParseForms(t *testing.T) {
	for file, form := range map[string]string{
		"testdata/td01-fargate-no-logconfig.json": FormDescribe,
		"testdata/bare-epoch-time.json":           FormTaskDef,
		"testdata/register-cli-input.json":        FormRegister,
		"testdata/describe-localised-time.json":   FormDescribe,
	} {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		doc, err := Parse(data)
		if err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		if doc.Form != form || doc.TaskDefinition == nil || aws.ToString(doc.TaskDefinition.Family) == "" {
			t.Errorf("%s: form %q, want %q", file, doc.Form, form)
		}
		if form == FormRegister && (len(doc.Tags) != 1 || aws.ToString(doc.Tags[0].Key) != "team") {
			t.Errorf("%s: tags %+v", file, doc.Tags)
		}
	}
}

func TestParseErrors(t *testing.T) {
	for in, want := range map[string]string{
		``:                             "invalid JSON",
		`{"family": "a",`:              "invalid JSON at line 1",
		"{\n  \"family\": ]":           "line 2",
		`null`:                         "expected a JSON object",
		`[]`:                           "expected a JSON object, got JSON array",
		`{"taskDefinition": null}`:     "taskDefinition is null",
		`{"containerDefinitions": []}`: `no "family"`,
		`{"family": "a"}`:              `no "containerDefinitions"`,
		`{"family": "a", "containerDefinitions": [], "tags": 3}`:                "tags:",
		`{"family": "a", "containerDefinitions": [], "tags": [{"value": "v"}]}`: "tags[0]: no key",
		`{"family": 7, "containerDefinitions": []}`:                             "expected string",
	} {
		_, err := Parse([]byte(in))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Parse(%q) = %v, want %q", in, err, want)
		}
	}
}

func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.json")
	for _, p := range files[:min(5, len(files))] {
		data, _ := os.ReadFile(p)
		f.Add(data)
	}
	f.Add([]byte(`{"family":"a","containerDefinitions":[{"name":"x"}],"tags":[{"key":"k"}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		doc, err := Parse(data)
		if err == nil && (doc.TaskDefinition == nil || aws.ToString(doc.TaskDefinition.Family) == "") {
			t.Fatalf("no error but no task definition: %+v", doc)
		}
	})
}
