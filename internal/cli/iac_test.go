package cli

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/ecslogfix/ecslogfix/test/goldenfile"
)

// TestCheckInfrastructureAsCode pins check's output for each input format
// on the reader's own fixtures (internal/source/testdata); docs/cli.md
// shows these transcripts.
func TestCheckInfrastructureAsCode(t *testing.T) {
	goldenDir, err := filepath.Abs(filepath.Join("testdata", "golden", "check-iac"))
	if err != nil {
		t.Fatal(err)
	}
	t.Chdir(filepath.Join("..", "source", "testdata"))
	for _, tc := range []struct {
		name string
		args []string
		code int
	}{
		{"cloudformation", []string{"check", "cfn-services.yaml"}, ExitViolation},
		{"intrinsics", []string{"check", "cfn-api.json"}, ExitViolation},
		{"cdk", []string{"check", "cdk.out"}, ExitViolation},
		{"terraform", []string{"check", "tfplan.json"}, ExitViolation},
		{"yaml-taskdef", []string{"check", "register.yaml"}, ExitOK},
		{"github", []string{"check", "--output", "github", "cfn-services.yaml"}, ExitViolation},
		{"sarif", []string{"check", "--output", "sarif", "cdk.out/assembly-Prod"}, ExitOK},
		{"json", []string{"check", "--output", "json", "cfn-api.json"}, ExitViolation},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := runApp(t, "", tc.args...)
			if r.code != tc.code {
				t.Errorf("exit %d, want %d\n%s%s", r.code, tc.code, r.stdout, r.stderr)
			}
			goldenfile.Check(t, filepath.Join(goldenDir, tc.name+".txt"), []byte(transcript(tc.args, r)), *update)
		})
	}
}

func TestCheckErrorsAreOneLine(t *testing.T) {
	for _, tc := range []struct {
		stdin, want string
	}{
		{"family: web\ncontainerDefinitions:\n  - name: app\n    logConfiguration: [awslogs]\n", "ecslogfix: check: <stdin>: line 4, column 23: containerDefinitions[0].logConfiguration: expected an object, got an array\n"},
		{`{"data": {"taskDefinition": {"family": "a"}}}`, "ecslogfix: check: <stdin>: line 1, column 1: a recorded API response wrapping describe-task-definition output: check its data member (jq .data)\n"},
		{`{"eventSource": "ecs.amazonaws.com", "eventName": "RegisterTaskDefinition", "requestParameters": {"family": "a"}}`,
			"ecslogfix: check: <stdin>: line 1, column 1: a CloudTrail record of \"RegisterTaskDefinition\", not a task definition: check its requestParameters (jq .requestParameters)\n"},
		{"{\"family\": \"caf\xe9\", \"containerDefinitions\": []}", "ecslogfix: check: <stdin>: line 1, column 16: not UTF-8 (byte 0xe9); save the file as UTF-8\n"},
		{`{"fam\u001bily": 1, "fam\u001bily": 2}`, "ecslogfix: check: <stdin>: line 1, column 21: duplicate key \"fam\\x1bily\" (first at line 1, column 2)\n"},
	} {
		r := runApp(t, tc.stdin, "check", "-")
		if r.code != ExitError || r.stderr != tc.want {
			t.Errorf("check < %q: exit %d\nstderr %q\nwant   %q", tc.stdin, r.code, r.stderr, tc.want)
		}
	}
	r := runApp(t, `{"family": "café-api", "containerDefinitions": [{"name": "app"}]}`, "check", "-")
	if !strings.HasPrefix(r.stdout, "<stdin>: café-api NON_COMPLIANT\n") {
		t.Errorf("non-ASCII family: %q", r.stdout)
	}
	r = runApp(t, "", "check")
	if r.code != ExitError || r.stderr != "ecslogfix: requires at least 1 arg(s), only received 0\nRun 'ecslogfix check --help' for usage.\n" {
		t.Errorf("no arguments: %q", r.stderr)
	}
}
