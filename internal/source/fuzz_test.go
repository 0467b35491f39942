package source

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzRead feeds arbitrary documents to the reader, seeded with a template,
// a plan and a task definition of each shape (testdata/fuzz/FuzzRead holds
// more). Whatever the input: no panic, an error is one line, a result is
// well formed, and reading twice gives the same answer.
func FuzzRead(f *testing.F) {
	for _, name := range []string{"cfn-services.yaml", "cfn-api.json", "tfplan.json", "register.yaml",
		"cdk.out/OrdersStack.template.json", "taskdefs/describe-localised-time.json"} {
		data, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		a, b := Read("in", data), Read("in", data)
		if dump([]File{a}) != dump([]File{b}) {
			t.Fatalf("two reads differ:\n%s\n%s", dump([]File{a}), dump([]File{b}))
		}
		if a.Err != nil {
			if strings.Contains(a.Err.Error(), "\n") {
				t.Fatalf("error spans lines: %q", a.Err)
			}
			return
		}
		for _, r := range a.Resources {
			if r.TaskDefinition == nil || len(r.Containers) != len(r.TaskDefinition.ContainerDefinitions) || r.File != "in" {
				t.Fatalf("malformed resource %+v", r)
			}
		}
	})
}

// FuzzProperties is FuzzRead for the hook's input: resource properties as
// CloudFormation passes them.
func FuzzProperties(f *testing.F) {
	f.Add([]byte(`{"Family":"a","ContainerDefinitions":[{"Name":"x","LogConfiguration":{"LogDriver":"awslogs","Options":{"awslogs-group":"/g"}}}],"Tags":[{"Key":"k","Value":"v"}]}`))
	f.Add([]byte(`{"ContainerDefinitions":[{"Fn::If":["c",{"Name":"x"},{"Ref":"AWS::NoValue"}]}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := Properties(data)
		if err != nil {
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("error spans lines: %q", err)
			}
			return
		}
		if r.TaskDefinition == nil || len(r.Containers) != len(r.TaskDefinition.ContainerDefinitions) {
			t.Fatalf("malformed %+v", r)
		}
	})
}
