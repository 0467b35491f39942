package main

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"testing"

	"github.com/ecslogfix/ecslogfix/internal/config/fnenv"
)

func setenv(t *testing.T, env map[string]string) {
	t.Helper()
	for _, k := range []string{fnenv.EnvPolicy, fnenv.EnvStateMachineARN, fnenv.EnvMode, fnenv.EnvMemberRoleName, fnenv.EnvOwnRoleARNs} {
		t.Setenv(k, "")
	}
	base := map[string]string{
		"AWS_REGION":                  "us-east-1",
		"AWS_ACCESS_KEY_ID":           "test",
		"AWS_SECRET_ACCESS_KEY":       "test",
		"AWS_ENDPOINT_URL":            "http://127.0.0.1:9", // never called at startup in single mode
		"AWS_LAMBDA_FUNCTION_NAME":    "ecslogfix-detect",
		"AWS_CONFIG_FILE":             "/dev/null",
		"AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
	}
	for k, v := range base {
		t.Setenv(k, v)
	}
	for k, v := range env {
		t.Setenv(k, v)
	}
}

func TestBuild(t *testing.T) {
	log := slog.New(slog.NewJSONHandler(io.Discard, nil))
	t.Run("missing policy", func(t *testing.T) {
		setenv(t, map[string]string{fnenv.EnvStateMachineARN: "arn:aws:states:us-east-1:111122223333:stateMachine:x"})
		var ee *fnenv.EnvError
		if _, err := build(context.Background(), log); !errors.As(err, &ee) || ee.Var != fnenv.EnvPolicy {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("missing state machine", func(t *testing.T) {
		setenv(t, map[string]string{fnenv.EnvPolicy: "{}"})
		var ee *fnenv.EnvError
		if _, err := build(context.Background(), log); !errors.As(err, &ee) || ee.Var != fnenv.EnvStateMachineARN {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("complete", func(t *testing.T) {
		setenv(t, map[string]string{fnenv.EnvPolicy: "{}", fnenv.EnvStateMachineARN: "arn:aws:states:us-east-1:111122223333:stateMachine:x",
			fnenv.EnvOwnRoleARNs: "arn:aws:iam::111122223333:role/ecslogfix-remediate"})
		d, err := build(context.Background(), log)
		if err != nil {
			t.Fatal(err)
		}
		if d.Starter == nil || d.Starter.StateMachineARN == "" || d.Starter.SFN == nil || d.ECS == nil || len(d.OwnRoleARNs) != 1 || d.Reach.Organization {
			t.Fatalf("detector %+v", d)
		}
	})
}
