package main

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"testing"

	"github.com/ecslogfix/ecslogfix/internal/config"
)

func setenv(t *testing.T, env map[string]string) {
	t.Helper()
	for _, k := range []string{config.EnvPolicy, config.EnvStateMachineARN, config.EnvMode, config.EnvMemberRoleName, config.EnvOwnRoleARNs} {
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
		setenv(t, map[string]string{config.EnvStateMachineARN: "arn:aws:states:us-east-1:111122223333:stateMachine:x"})
		var ee *config.EnvError
		if _, err := build(context.Background(), log); !errors.As(err, &ee) || ee.Var != config.EnvPolicy {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("missing state machine", func(t *testing.T) {
		setenv(t, map[string]string{config.EnvPolicy: "{}"})
		var ee *config.EnvError
		if _, err := build(context.Background(), log); !errors.As(err, &ee) || ee.Var != config.EnvStateMachineARN {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("complete", func(t *testing.T) {
		setenv(t, map[string]string{config.EnvPolicy: "{}", config.EnvStateMachineARN: "arn:aws:states:us-east-1:111122223333:stateMachine:x",
			config.EnvOwnRoleARNs: "arn:aws:iam::111122223333:role/ecslogfix-remediate"})
		d, err := build(context.Background(), log)
		if err != nil {
			t.Fatal(err)
		}
		if d.Starter == nil || d.Starter.StateMachineARN == "" || d.Starter.SFN == nil || d.ECS == nil || len(d.OwnRoleARNs) != 1 || d.Reach.Organization {
			t.Fatalf("detector %+v", d)
		}
	})
}
