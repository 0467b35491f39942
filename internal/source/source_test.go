package source

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/ecslogfix/ecslogfix/internal/source/taskdoc"
	"github.com/ecslogfix/ecslogfix/test/goldenfile"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// dump shows what was read, one line per fact, for golden files.
func dump(files []File) string {
	var b strings.Builder
	for _, f := range files {
		fmt.Fprintf(&b, "file %s\n", filepath.ToSlash(f.Name))
		if f.Err != nil {
			fmt.Fprintf(&b, "  error %v\n", f.Err)
		}
		for _, r := range f.Resources {
			fmt.Fprintf(&b, "  %s %s line %d id=%q stack=%q path=%q family=%q tags=%d\n", filepath.ToSlash(r.File), r.Format, r.Line, r.ID, r.Stack,
				r.ConstructPath, aws.ToString(r.TaskDefinition.Family), len(r.Tags))
			for _, u := range r.Unresolved {
				fmt.Fprintf(&b, "    unresolved %s %s line %d %q key=%q\n", u.Slot, u.Field, u.Line, u.Expr, u.Key)
			}
			for i, c := range r.TaskDefinition.ContainerDefinitions {
				lc := "no logConfiguration"
				if c.LogConfiguration != nil {
					lc = fmt.Sprintf("%s %v", c.LogConfiguration.LogDriver, c.LogConfiguration.Options)
				}
				router := ""
				if c.FirelensConfiguration != nil {
					router = " router"
				}
				fmt.Fprintf(&b, "    container %q line %d: %s%s\n", aws.ToString(c.Name), r.Containers[i].Line, lc, router)
				for _, u := range r.Containers[i].Unresolved {
					fmt.Fprintf(&b, "      unresolved %s %s line %d %q\n", u.Slot, u.Field, u.Line, u.Expr)
				}
			}
		}
	}
	return b.String()
}

func TestReadFormats(t *testing.T) {
	for _, name := range []string{"cfn-services.yaml", "cfn-api.json", "cdk.out", "cdk.out/manifest.json", "tfplan.json", "register.yaml"} {
		t.Run(name, func(t *testing.T) {
			files := ReadPath(filepath.Join("testdata", name), nil)
			golden := filepath.Join("testdata", "golden", strings.ReplaceAll(name, "/", "_")+".txt")
			goldenfile.Check(t, golden, []byte(dump(files)), *update)
			for _, f := range files {
				if f.Err != nil {
					t.Errorf("%s: %v", f.Name, f.Err)
				}
			}
		})
	}
}

func TestReadTaskDefinitionShapes(t *testing.T) {
	for in, want := range map[string]Format{
		`{"taskDefinition": {"family": "a", "revision": 3, "containerDefinitions": []}, "tags": [], "ResponseMetadata": {"RequestId": "x"}}`:        taskdoc.FormatDescribe,
		`{"family": "a", "revision": 3, "taskDefinitionArn": "arn:aws:ecs:us-east-1:111122223333:task-definition/a:3", "containerDefinitions": []}`: taskdoc.FormatTaskDef,
		`{"family": "a", "containerDefinitions": [], "tags": [{"key": "k", "value": "v"}]}`:                                                         taskdoc.FormatRegister,
		"family: a\ncontainerDefinitions: []\n": taskdoc.FormatRegister,
	} {
		f := Read("x", []byte(in))
		if f.Err != nil || len(f.Resources) != 1 || f.Resources[0].Format != want {
			t.Errorf("Read(%s) = %+v, want %s", in, f, want)
		}
	}
}

func TestReadCaseSensitiveFieldNames(t *testing.T) {
	f := Read("x", []byte(`{"family": "a", "containerDefinitions": [{"name": "app", "logConfiguration": {"logDriver": "json-file"}, "image": "x"}]}`))
	if f.Err != nil || f.Resources[0].TaskDefinition.ContainerDefinitions[0].LogConfiguration.LogDriver != "json-file" {
		t.Fatalf("%+v", f)
	}
	// A shadowing key: the verdict would otherwise depend on which one wins.
	both := `{"family": "a", "containerDefinitions": [{"name": "app",` + "\n" +
		`  "logConfiguration": {"logDriver": "json-file"},` + "\n" +
		`  "LogConfiguration": {"logDriver": "awslogs"}}]}`
	f = Read("x", []byte(both))
	want := `line 3, column 3: keys "LogConfiguration" and "logConfiguration" (at line 2, column 3) differ only in case`
	if f.Err == nil || !strings.Contains(f.Err.Error(), want) {
		t.Errorf("both spellings: %v, want %q", f.Err, want)
	}
	// The wrong spelling alone is an error naming the right one.
	f = Read("x", []byte(`{"family": "a", "containerDefinitions": [{"name": "app", "LogConfiguration": {"logDriver": "awslogs"}}]}`))
	want = `containerDefinitions[0].LogConfiguration: not an ECS field: the API spells it "logConfiguration"`
	if f.Err == nil || !strings.Contains(f.Err.Error(), want) {
		t.Errorf("wrong case: %v, want %q", f.Err, want)
	}
}

func TestReadErrorsAreOneLineWithAPath(t *testing.T) {
	for _, tc := range []struct{ name, in, want string }{
		{"secretOptions object", `{"family":"a","containerDefinitions":[{"name":"x","logConfiguration":{"logDriver":"splunk","secretOptions":{"name":"k"}}}]}`,
			"line 1, column 108: containerDefinitions[0].logConfiguration.secretOptions: expected an array, got an object"},
		{"logConfiguration array", `{"family":"a","containerDefinitions":[{"name":"x","logConfiguration":[]}]}`,
			"containerDefinitions[0].logConfiguration: expected an object, got an array"},
		{"containerDefinitions object", `{"family":"a","containerDefinitions":{}}`, "containerDefinitions: expected an array, got an object"},
		{"cpu number in JSON", `{"family":"a","cpu":256,"containerDefinitions":[]}`, "cpu: expected a string, got a number"},
		{"memory float", `{"family":"a","containerDefinitions":[{"name":"x","memory":1.5}]}`, "containerDefinitions[0].memory: expected an integer of at most 32 bits, got 1.5"},
		{"family number", `{"family":7,"containerDefinitions":[]}`, "family: expected a string, got a number"},
		{"no family", `{"containerDefinitions":[]}`, `task definition with no "family"`},
		{"empty family", `{"family":"","containerDefinitions":[]}`, "family: empty"},
		{"no containers", `{"family":"a"}`, `task definition with no "containerDefinitions"`},
		{"null taskDefinition", `{"taskDefinition":null}`, "taskDefinition: null"},
		{"tag without key", `{"family":"a","containerDefinitions":[],"tags":[{"value":"v"}]}`, `tags[0]: no "key"`},
		{"null container", `{"family":"a","containerDefinitions":[null]}`, "containerDefinitions[0]: null in a list"},
		{"yaml task definition type", "family: a\ncontainerDefinitions:\n  - name: x\n    logConfiguration: [1]\n", "line 4, column 23: containerDefinitions[0].logConfiguration: expected an object, got an array"},
		{"cloudtrail record", `{"eventVersion":"1.09","eventSource":"ecs.amazonaws.com","eventName":"RegisterTaskDefinition","requestParameters":{"family":"a","containerDefinitions":[]}}`,
			`a CloudTrail record of "RegisterTaskDefinition", not a task definition: check its requestParameters (jq .requestParameters)`},
		{"eventbridge event", `{"version":"0","detail-type":"AWS API Call via CloudTrail","source":"aws.ecs","detail":{}}`, `an EventBridge event ("AWS API Call via CloudTrail")`},
		{"placebo wrapper", `{"status_code":200,"data":{"taskDefinition":{"family":"a"}}}`, "a placebo recording (status_code, data) wrapping describe-task-definition output: check its data member (jq .data)"},
		{"data wrapper", `{"data":{"taskDefinition":{"family":"a"}}}`, "a recorded API response wrapping describe-task-definition output"},
		{"describe-tasks", `{"tasks":[]}`, "describe-tasks output (tasks), not a task definition"},
		{"terraform state", `{"format_version":"1.0","values":{}}`, "a Terraform state"},
		{"tf.json", `{"resource":{"aws_ecs_task_definition":{}}}`, "Terraform configuration (.tf.json), not a plan"},
		{"container list", `[{"name":"x","image":"y"}]`, "a list of container definitions, not a task definition"},
		{"unknown", `{"foo":1,"bar":2}`, `top-level keys: "foo", "bar"`},
		{"fragment", `"containerDefinitions": []`, "a fragment"},
		{"cdk manifest without directory", `{"version":"48.0.0","artifacts":{}}`, "a CDK cloud assembly manifest: give its directory"},
		{"cfn wrong case", "Resources:\n  T:\n    Type: AWS::ECS::TaskDefinition\n    Properties:\n      ContainerDefinitions:\n        - Name: a\n          logConfiguration: {}\n",
			`line 7, column 29: Resources.T.Properties.ContainerDefinitions[0].logConfiguration: not a CloudFormation property: it is spelled "LogConfiguration"`},
		{"cfn options list", "Resources:\n  T:\n    Type: AWS::ECS::TaskDefinition\n    Properties:\n      ContainerDefinitions:\n        - LogConfiguration: {LogDriver: awslogs, Options: [1]}\n",
			"Resources.T.Properties.ContainerDefinitions[0].LogConfiguration.Options: expected an object, got an array"},
		{"terraform bad container_definitions", `{"format_version":"1.2","resource_changes":[{"address":"aws_ecs_task_definition.a","type":"aws_ecs_task_definition","mode":"managed","change":{"after":{"family":"a","container_definitions":"[{\"name\":1}]"}}}]}`,
			"resource_changes[0].change.after.container_definitions: in its JSON: line 1, column 10: [0].name: expected a string, got a number"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := Read("in.json", []byte(tc.in))
			if f.Err == nil || !strings.Contains(f.Err.Error(), tc.want) {
				t.Fatalf("Read(%s) = %v, want %q", tc.in, f.Err, tc.want)
			}
			if strings.Contains(f.Err.Error(), "\n") || strings.Contains(f.Err.Error(), "types.") {
				t.Errorf("not one clear line: %q", f.Err)
			}
		})
	}
}

func TestReadNonASCIIAndLatin1(t *testing.T) {
	f := Read("x", []byte(`{"family":"café-api","containerDefinitions":[{"name":"nähe"}]}`))
	if f.Err != nil || aws.ToString(f.Resources[0].TaskDefinition.Family) != "café-api" {
		t.Fatalf("%+v", f)
	}
	f = Read("x", []byte("{\"family\":\"caf\xe9\",\"containerDefinitions\":[]}"))
	if f.Err == nil || !strings.Contains(f.Err.Error(), "line 1, column 15: not UTF-8 (byte 0xe9); save the file as UTF-8") {
		t.Errorf("latin-1: %v", f.Err)
	}
}

func TestReadPathWalksADirectory(t *testing.T) {
	dir := t.TempDir()
	write := func(name, s string) {
		t.Helper()
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("package.json", `{"name": "app", "version": "1.0.0"}`)
	write("infra/service.yaml", "Resources:\n  T:\n    Type: AWS::ECS::TaskDefinition\n    Properties:\n      Family: t\n")
	write("infra/broken.json", `{"family": `)
	write("README.md", "# not read")
	write(".git/config.json", `{"family": "hidden"}`)
	data, err := os.ReadFile("testdata/cfn-api.json")
	if err != nil {
		t.Fatal(err)
	}
	write("deploy/cdk.out/manifest.json", `{"version":"48.0.0","artifacts":{"S":{"type":"aws:cloudformation:stack","properties":{"templateFile":"S.template.json"}}}}`)
	write("deploy/cdk.out/S.template.json", string(data))
	files := ReadPath(dir, nil)
	var got []string
	for _, f := range files {
		rel, _ := filepath.Rel(dir, f.Name)
		s := filepath.ToSlash(rel)
		if f.Err != nil {
			s += " error"
		}
		s += fmt.Sprintf(" %d", len(f.Resources))
		got = append(got, s)
	}
	want := "deploy/cdk.out/manifest.json 1,infra/broken.json error 0,infra/service.yaml 1"
	if strings.Join(got, ",") != want {
		t.Errorf("got %v, want %s", got, want)
	}
}

func TestReadPathAssemblyStaysInside(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "manifest.json"), []byte(`{"version":"48.0.0","artifacts":{"S":{"type":"aws:cloudformation:stack","properties":{"templateFile":"../../etc/passwd"}}}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	f := ReadPath(dir, nil)
	if len(f) != 1 || f[0].Err == nil || !strings.Contains(f[0].Err.Error(), `"../../etc/passwd" is outside the cloud assembly`) {
		t.Errorf("%+v", f)
	}
}

func TestReadSizeCap(t *testing.T) {
	big := strings.NewReader(`{"family":"` + strings.Repeat("x", taskdoc.MaxBytes) + `"}`)
	f := ReadReader("-", big)
	if f.Err == nil || !strings.Contains(f.Err.Error(), "larger than the 8 MiB limit per file") {
		t.Errorf("%v", f.Err)
	}
}

func TestProperties(t *testing.T) {
	res, err := Properties([]byte(`{"Family":"web","ContainerDefinitions":[{"Name":"web","Image":"x","Essential":"true","LogConfiguration":{"LogDriver":"awslogs","Options":{"awslogs-group":"/ecs/web","awslogs-region":"us-east-1","awslogs-stream-prefix":"web"}}}],"Tags":[{"Key":"team","Value":"web"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	c := res.TaskDefinition.ContainerDefinitions[0]
	if aws.ToString(c.Name) != "web" || c.LogConfiguration.Options["awslogs-stream-prefix"] != "web" || len(res.Tags) != 1 {
		t.Errorf("%+v", res)
	}
}

// Timestamps come as ISO 8601 (the AWS CLI), epoch seconds (older tools)
// or localised text (CloudTrail); no verdict depends on them.
func TestReadTimestampsInAnyFormat(t *testing.T) {
	for file, form := range map[string]Format{
		"bare-epoch-time.json":         taskdoc.FormatTaskDef,
		"describe-localised-time.json": taskdoc.FormatDescribe,
		"register-cli-input.json":      taskdoc.FormatRegister,
	} {
		f := ReadPath(filepath.Join("testdata", "taskdefs", file), nil)[0]
		if f.Err != nil || f.Resources[0].Format != form || aws.ToString(f.Resources[0].TaskDefinition.Family) == "" {
			t.Errorf("%s: %v %+v", file, f.Err, f.Resources)
		}
	}
}
