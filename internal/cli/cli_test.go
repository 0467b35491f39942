package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/ecslogfix/ecslogfix/internal/check"
	"github.com/ecslogfix/ecslogfix/internal/cli/scan"
	"github.com/ecslogfix/ecslogfix/test/goldenfile"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// result is one in-process run of the program.
type result struct {
	code           int
	stdout, stderr string
}

// runApp runs the program offline: no AWS configuration can load.
func runApp(t *testing.T, stdin string, args ...string) result {
	t.Helper()
	a, out, errb := offlineApp(t, stdin)
	code := a.Run(context.Background(), args)
	return result{code: code, stdout: out.String(), stderr: errb.String()}
}

// offlineApp is the program on stdin and in-memory streams, with
// AWS_REGION=us-east-1 and no AWS configuration: loading one fails the test.
func offlineApp(t *testing.T, stdin string) (a *App, stdout, stderr *bytes.Buffer) {
	t.Helper()
	var out, errb bytes.Buffer
	a = &App{
		Stdin:  strings.NewReader(stdin),
		Stdout: &out,
		Stderr: &errb,
		Getenv: func(k string) string {
			if k == "AWS_REGION" {
				return "us-east-1"
			}
			return ""
		},
		LoadAWS: func(context.Context, string, string) (aws.Config, error) {
			t.Fatal("offline test tried to load AWS configuration")
			return aws.Config{}, nil
		},
		IsTerminal: func(io.Writer) bool { return false },
	}
	return a, &out, &errb
}

// golden compares got with testdata/golden/name, or rewrites it with -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	goldenfile.Check(t, filepath.Join("testdata", "golden", name), []byte(got), *update)
}

// transcript renders a run as the golden files (and docs/cli.md) show it.
func transcript(args []string, r result) string {
	var b strings.Builder
	b.WriteString("$ ecslogfix " + strings.Join(args, " ") + "\n")
	b.WriteString(r.stdout)
	if r.stderr != "" {
		b.WriteString("--- stderr\n" + r.stderr)
	}
	b.WriteString("--- exit " + itoa(r.code) + "\n")
	return b.String()
}

func itoa(i int) string { return strconv.Itoa(i) }

var stackTrace = regexp.MustCompile(`goroutine \d+|panic:|\.go:\d+`)

func TestArguments(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		code int
	}{
		{"no-args", nil, 0},
		{"help", []string{"--help"}, 0},
		{"version", []string{"version"}, 0},
		{"unknown-command", []string{"frobnicate"}, 2},
		{"unknown-flag", []string{"check", "--frob", "x.json"}, 2},
		{"check-no-files", []string{"check"}, 2},
		{"check-bad-output", []string{"check", "-o", "yaml", "x.json"}, 2},
		{"check-two-regions", []string{"check", "--region", "a", "--region", "b", "x.json"}, 2},
		{"check-bad-policy", []string{"check", "--policy", "testdata/inputs/policy-bad.yaml", "testdata/taskdefs/td11-compliant-fargate.json"}, 2},
		{"check-missing-policy", []string{"check", "--policy", "testdata/inputs/nope.yaml", "testdata/taskdefs/td11-compliant-fargate.json"}, 2},
		{"scan-bad-output", []string{"scan", "--output", "xml"}, 2},
		{"scan-args", []string{"scan", "extra"}, 2},
		{"scan-bad-read-rate", []string{"scan", "--read-rate", "0"}, 2},
		{"scan-role-without-organization", []string{"scan", "--role", "OrganizationAccountAccessRole"}, 2},
		{"scan-bad-role", []string{"scan", "--organization", "--role", "arn:aws:iam::111122223333:role/x"}, 2},
		{"scan-bad-ou", []string{"scan", "--organization", "--ou", "ou-1\nforged row"}, 2},
		{"scan-bad-concurrency", []string{"scan", "--organization", "--concurrency", "0"}, 2},
		{"fix-nothing", []string{"fix"}, 2},
		{"fix-both", []string{"fix", "--all", "--task-definition", "a"}, 2},
		{"fix-prefix-without-all", []string{"fix", "--task-definition", "a", "--family-prefix", "p"}, 2},
		{"fix-bad-rate", []string{"fix", "--all", "--rate", "0"}, 2},
		{"fix-bad-revision", []string{"fix", "--task-definition", "orders-api:0x1"}, 2},
		{"fix-bad-family", []string{"fix", "--task-definition", "orders api"}, 2},
		{"fix-bad-arn", []string{"fix", "--task-definition", "arn:aws:ecs:us-east-1:111122223333:service/x"}, 2},
		{"backout-no-td", []string{"backout"}, 2},
		{"backout-no-revision", []string{"backout", "--task-definition", "orders-api"}, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := runApp(t, "", tc.args...)
			if r.code != tc.code {
				t.Errorf("exit %d, want %d; stderr %q", r.code, tc.code, r.stderr)
			}
			if stackTrace.MatchString(r.stderr) {
				t.Errorf("stderr has a stack trace: %s", r.stderr)
			}
			golden(t, "args/"+tc.name+".txt", transcript(tc.args, r))
		})
	}
}

func TestHelpHasExamples(t *testing.T) {
	for _, cmd := range []string{"check", "scan", "fix", "backout", "version"} {
		r := runApp(t, "", cmd, "--help")
		if r.code != 0 || !strings.Contains(r.stdout, "Examples:\n  ecslogfix "+cmd) && !strings.Contains(r.stdout, "Examples:\n  # ") {
			t.Errorf("%s --help: exit %d, no examples:\n%s", cmd, r.code, r.stdout)
		}
		golden(t, "help/"+cmd+".txt", transcript([]string{cmd, "--help"}, r))
	}
}

// TestCheckCorpus runs check on every task definition of the corpus, in
// text and JSON, and pins the verdicts, reasons, plans and exit codes.
func TestCheckCorpus(t *testing.T) {
	files, _ := filepath.Glob("testdata/taskdefs/*.json")
	inputs, _ := filepath.Glob("testdata/inputs/*.json")
	files = append(files, inputs...)
	if len(files) < 20 {
		t.Fatalf("only %d corpus files", len(files))
	}
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".json")
		t.Run(name, func(t *testing.T) {
			text := runApp(t, "", "check", f)
			js := runApp(t, "", "check", "--output", "json", f)
			if text.code != js.code {
				t.Errorf("text exit %d, json exit %d", text.code, js.code)
			}
			if stackTrace.MatchString(text.stderr) {
				t.Errorf("stack trace: %s", text.stderr)
			}
			var reports []FileReport
			if err := json.Unmarshal([]byte(js.stdout), &reports); err != nil || len(reports) != 1 {
				t.Fatalf("json output: %v\n%s", err, js.stdout)
			}
			r := reports[0]
			want := ExitOK
			switch {
			case r.Error != "":
				want = ExitError
				if !strings.Contains(text.stderr, f+": ") {
					t.Errorf("error message does not name the file: %q", text.stderr)
				}
			case r.Verdict == scan.VerdictNonCompliant && !r.Exempt:
				want = ExitViolation
			}
			if js.code != want {
				t.Errorf("exit %d, want %d for %+v", js.code, want, r)
			}
			golden(t, "check/"+name+".txt", transcript([]string{"check", f}, text)+"\n"+transcript([]string{"check", "--output", "json", f}, js))
		})
	}
}

func TestCheckSeveralFilesAndStdin(t *testing.T) {
	stdin, err := os.ReadFile("testdata/taskdefs/td08-awslogs-missing-prefix-ec2.json")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		args []string
		code int
	}{
		{"all-compliant", []string{"check", "testdata/taskdefs/td11-compliant-fargate.json", "-"}, 1},
		{"mixed", []string{"check", "-o", "json", "testdata/taskdefs/td11-compliant-fargate.json", "testdata/taskdefs/td01-fargate-no-logconfig.json"}, 1},
		{"error-wins", []string{"check", "testdata/inputs/truncated.json", "testdata/taskdefs/td01-fargate-no-logconfig.json"}, 2},
		{"stdin-twice", []string{"check", "-", "-"}, 2},
		{"policy", []string{"check", "--policy", "testdata/inputs/policy-report.yaml", "testdata/taskdefs/td03-splunk.json", "testdata/taskdefs/td02-one-of-three-missing.json"}, 1},
		{"csv", []string{"check", "-o", "csv", "testdata/taskdefs/td11-compliant-fargate.json", "testdata/taskdefs/td02-one-of-three-missing.json", "testdata/taskdefs/td12-fargate-no-execution-role.json", "testdata/inputs/truncated.json"}, 2},
		{"no-arn-region-account", []string{"check", "--region", "eu-west-1", "--account", "444455556666", "--policy", "testdata/inputs/policy-report.yaml", "testdata/inputs/register-cli-input.json"}, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := runApp(t, string(stdin), tc.args...)
			if r.code != tc.code {
				t.Errorf("exit %d, want %d\n%s%s", r.code, tc.code, r.stdout, r.stderr)
			}
			golden(t, "check-multi/"+tc.name+".txt", transcript(tc.args, r))
		})
	}
}

func TestVerdictsAreChecks(t *testing.T) {
	if scan.VerdictCompliant != check.Compliant || scan.VerdictNonCompliant != check.NonCompliant {
		t.Error("cli and check spell the verdicts differently")
	}
}
