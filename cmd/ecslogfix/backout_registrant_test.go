package main

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/ecslogfix/ecslogfix/internal/config/naming"
	"github.com/ecslogfix/ecslogfix/test/faultproxy"
	"github.com/ecslogfix/ecslogfix/test/localaws"
)

// Backout refuses a revision that ECS says another principal registered
// (registeredBy, docs/cli.md "backout"), and accepts one registered by
// ecslogfix's remediate or member role or by the caller itself, with the
// same tags on all of them: each revision is a real `fix --apply` run as
// that principal. moto drops registeredBy; the fault proxy's stand-in
// reports it as ECS does (docs/reliability.md "Stand-ins"), so the program
// runs against moto through it.
func TestBackoutChecksTheRegisteringPrincipal(t *testing.T) {
	env := localaws.Start(t, localaws.Options{Faults: &faultproxy.Config{StandIns: true}})
	ctx := context.Background()
	names := naming.Names{Prefix: "ecslogfix"}
	// as is the environment of the program run with credentials of role,
	// assumed through the proxy; the caller's own (moto's static
	// credentials) when role is "".
	as := func(role string) map[string]string {
		e := env.LambdaEnv()
		if role == "" {
			return e
		}
		out, err := sts.NewFromConfig(env.Config()).AssumeRole(ctx, &sts.AssumeRoleInput{
			RoleArn: aws.String("arn:aws:iam::" + localaws.Account + ":role/" + role), RoleSessionName: aws.String("session-" + role)})
		if err != nil {
			t.Fatal(err)
		}
		e["AWS_ACCESS_KEY_ID"] = aws.ToString(out.Credentials.AccessKeyId)
		e["AWS_SECRET_ACCESS_KEY"] = aws.ToString(out.Credentials.SecretAccessKey)
		e["AWS_SESSION_TOKEN"] = aws.ToString(out.Credentials.SessionToken)
		return e
	}
	direct := ecs.NewFromConfig(env.Direct())
	for _, tc := range []struct {
		name, registrant string // registrant: the role that ran fix --apply; "" the caller
		code             int
		stderr           string
	}{
		{"another-principal", "deployer", 2, "registered by arn:aws:sts::" + localaws.Account + ":assumed-role/deployer/session-deployer, neither ecslogfix's"},
		{"remediate-role", names.FunctionRole(naming.FunctionRemediate), 0, ""},
		{"member-role", names.MemberRole(), 0, ""},
		{"caller", "", 0, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := direct.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{Family: aws.String(tc.name),
				ContainerDefinitions: []types.ContainerDefinition{{Name: aws.String("app"), Image: aws.String("nginx"), Memory: aws.Int32(128)}}}); err != nil {
				t.Fatal(err)
			}
			if code, out, errb := runProgram(t, as(tc.registrant), "fix", "--task-definition", tc.name, "--apply"); code != 0 {
				t.Fatalf("fix --apply as %q: exit %d\n%s%s", tc.registrant, code, out, errb)
			}
			code, out, errb := runProgram(t, as(""), "backout", "--task-definition", tc.name+":2")
			if code != tc.code || !strings.Contains(errb, tc.stderr) {
				t.Errorf("backout of a revision %q registered: exit %d, want %d with %q\n%s%s", tc.registrant, code, tc.code, tc.stderr, out, errb)
			}
			if tc.code == 0 && !strings.Contains(out, "DeregisterTaskDefinition") && !strings.Contains(out, "deregister-task-definition") {
				t.Errorf("backout planned no deregistration:\n%s", out)
			}
		})
	}
}

// runProgram runs this test binary as the program (TestMain) with the
// environment env on top of a neutral AWS configuration, and returns its
// exit status and streams.
func runProgram(t *testing.T, env map[string]string, args ...string) (int, string, string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), "ECSLOGFIX_RUN_MAIN=1", "AWS_PROFILE=", "AWS_CONFIG_FILE="+os.DevNull, "AWS_SHARED_CREDENTIALS_FILE="+os.DevNull)
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	var out, errb strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode(), out.String(), errb.String()
	} else if err != nil {
		t.Fatal(err)
	}
	return 0, out.String(), errb.String()
}
