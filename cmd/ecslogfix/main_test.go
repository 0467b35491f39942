package main

import (
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestMain lets the tests run this test binary as the real program: with
// ECSLOGFIX_RUN_MAIN=1 it is main().
func TestMain(m *testing.M) {
	if os.Getenv("ECSLOGFIX_RUN_MAIN") == "1" {
		main()
		return
	}
	os.Exit(m.Run())
}

// TestProcessExitCodes checks main's exit status and streams as a shell
// (or a CI job) sees them.
func TestProcessExitCodes(t *testing.T) {
	for _, tc := range []struct {
		args       []string
		code       int
		stdout     string
		stderrLine string
	}{
		{[]string{"version"}, 0, "ecslogfix ", ""},
		{[]string{"check", "testdata/td11-compliant-fargate.json"}, 0, "COMPLIANT", ""},
		{[]string{"check", "testdata/td01-fargate-no-logconfig.json"}, 1, "NON_COMPLIANT", ""},
		{[]string{"check", "testdata/missing.json"}, 2, "ERROR", "ecslogfix: check: testdata/missing.json: no such file"},
		{[]string{"scan", "--output", "xml"}, 2, "", `ecslogfix: invalid argument "xml" for "-o, --output" flag: must be text, json or csv`},
	} {
		cmd := exec.Command(os.Args[0], tc.args...)
		cmd.Env = append(os.Environ(), "ECSLOGFIX_RUN_MAIN=1")
		var out, errb strings.Builder
		cmd.Stdout, cmd.Stderr = &out, &errb
		err := cmd.Run()
		code := 0
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		if code != tc.code || !strings.Contains(out.String(), tc.stdout) || !strings.HasPrefix(errb.String(), tc.stderrLine) {
			t.Errorf("%v: exit %d (want %d)\nstdout %q\nstderr %q", tc.args, code, tc.code, out.String(), errb.String())
		}
	}
}
