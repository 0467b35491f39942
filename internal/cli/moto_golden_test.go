package cli

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"

	"github.com/ecslogfix/ecslogfix/internal/cli/command"
)

// TestMotoTranscripts pins scan, fix and backout output on a small account
// (one family of each kind) in golden files; docs/cli.md shows them.
func TestMotoTranscripts(t *testing.T) {
	c, logs := needMoto(t)
	ctx := context.Background()
	for i, kind := range kinds {
		if kind == kindHistorical {
			continue
		}
		family := fmt.Sprintf("%s-%03d", kind, i)
		if _, err := c.RegisterTaskDefinition(ctx, seedInput(kind, family)); err != nil {
			t.Fatal(err)
		}
		seedGroup(t, logs, kind, family)
	}
	step := func(name string, code int, args ...string) result {
		t.Helper()
		begin := time.Now()
		r := goldenRun(t, name, code, args...)
		t.Logf("%s: %v", name, time.Since(begin).Round(time.Millisecond))
		return r
	}
	step("scan-table", 1, "scan")
	step("scan-two-regions", 1, "scan", "--region", "us-east-1", "--region", "eu-west-1", "--family-prefix", "no")
	step("scan-json", 1, "scan", "--output", "json")
	step("scan-csv", 1, "scan", "--output", "csv", "--show-compliant")
	step("fix-one-dry-run", 1, "fix", "--task-definition", "nolog-001")
	step("fix-all-dry-run", 1, "fix", "--all")
	step("fix-all-apply", 1, "fix", "--all", "--apply")
	step("fix-all-apply-again", 1, "fix", "--all", "--apply")
	if _, err := c.CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String("prod")}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateService(ctx, &ecs.CreateServiceInput{Cluster: aws.String("prod"), ServiceName: aws.String("checkout"),
		TaskDefinition: aws.String("nolog-001:2"), DesiredCount: aws.Int32(0)}); err != nil {
		t.Fatal(err)
	}
	step("backout-dry-run", 0, "backout", "--task-definition", "nolog-001:2", "--cluster", "prod", "--delete-log-group")
	step("backout-apply", 0, "backout", "--task-definition", "nolog-001:2", "--cluster", "prod", "--delete-log-group", "--apply")
	r := step("backout-refused", 2, "backout", "--task-definition", "ok-000:1")
	if !strings.Contains(r.stderr, "not registered by ecslogfix") {
		t.Errorf("backout-refused: %s", r.stderr)
	}
	step("fix-unknown-family", 2, "fix", "--task-definition", "no-such-family")

	// The same commands in the other formats, on a family registered now.
	if _, err := c.RegisterTaskDefinition(ctx, seedInput(kindAdd, "nolog-007")); err != nil {
		t.Fatal(err)
	}
	step("fix-all-csv", 1, "fix", "--all", "--output", "csv")
	step("fix-apply-json", 0, "fix", "--task-definition", "nolog-007", "--apply", "--output", "json")
	if _, err := c.CreateService(ctx, &ecs.CreateServiceInput{Cluster: aws.String("prod"), ServiceName: aws.String("orders"),
		TaskDefinition: aws.String("nolog-007:2"), DesiredCount: aws.Int32(0)}); err != nil {
		t.Fatal(err)
	}
	step("backout-json", 0, "backout", "--task-definition", "nolog-007:2", "--cluster", "prod", "--delete-log-group", "--output", "json")
	step("backout-apply-csv", 0, "backout", "--task-definition", "nolog-007:2", "--cluster", "prod", "--delete-log-group", "--apply", "--output", "csv")

	// On a terminal scan draws a progress bar on stderr; stdout is the same.
	var out, errb bytes.Buffer
	a := &App{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errb, Getenv: os.Getenv, LoadAWS: command.LoadAWS, Now: motoNow,
		IsTerminal: func(io.Writer) bool { return true }}
	if code := a.Run(ctx, []string{"scan", "--output", "csv"}); code != ExitViolation {
		t.Errorf("scan on a terminal: exit %d: %s", code, errb.String())
	}
	if !strings.Contains(errb.String(), "scanning us-east-1") || !strings.HasPrefix(out.String(), "region,family,") {
		t.Errorf("scan on a terminal:\nstdout %q\nstderr %q", out.String(), errb.String())
	}
}

// goldenRun runs the program against moto, checks its exit code and pins
// its transcript (the rate of the summary masked) in
// testdata/golden/aws/NAME.txt.
func goldenRun(t *testing.T, name string, code int, args ...string) result {
	t.Helper()
	r := runAWS(t, args...)
	if r.code != code {
		t.Errorf("%s: exit %d, want %d\n%s%s", name, r.code, code, r.stdout, r.stderr)
	}
	r.stdout = rateRE.ReplaceAllString(r.stdout, "(N families/s)")
	r.stderr = rateRE.ReplaceAllString(r.stderr, "(N families/s)")
	golden(t, "aws/"+name+".txt", transcript(args, r))
	return r
}

// TestMotoProfile shows --profile selecting credentials and region from
// the shared files (no credentials in the environment).
func TestMotoProfile(t *testing.T) {
	needMoto(t)
	dir := t.TempDir()
	cfgFile, credFile := dir+"/config", dir+"/credentials"
	if err := os.WriteFile(cfgFile, []byte("[profile audit]\nregion = eu-west-1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(credFile, []byte("[audit]\naws_access_key_id = AKIDAUDIT\naws_secret_access_key = secret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for k, v := range map[string]string{"AWS_CONFIG_FILE": cfgFile, "AWS_SHARED_CREDENTIALS_FILE": credFile,
		"AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": "", "AWS_REGION": "", "AWS_DEFAULT_REGION": ""} {
		t.Setenv(k, v)
	}
	r := runAWS(t, "scan", "--profile", "audit")
	if r.code != ExitOK || !strings.Contains(r.stdout, "0 families in 1 region(s)") {
		t.Errorf("scan --profile audit: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	r = runAWS(t, "scan", "--profile", "nope")
	if r.code != ExitError || !strings.Contains(r.stderr, "nope") {
		t.Errorf("scan --profile nope: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	t.Log(strings.TrimSpace(r.stderr))
}
