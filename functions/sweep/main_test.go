package main

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"testing"

	"github.com/ecslogfix/ecslogfix/internal/config"
)

// A missing or invalid variable stops the function before any AWS call.
func TestBuildRefusesItsEnvironment(t *testing.T) {
	log := slog.New(slog.NewJSONHandler(io.Discard, nil))
	for _, tc := range []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{config.EnvStateMachineARN: "arn:aws:states:us-east-1:111122223333:stateMachine:x"}, config.EnvPolicy},
		{map[string]string{config.EnvPolicy: "{}"}, config.EnvStateMachineARN},
		{map[string]string{config.EnvPolicy: "{}", config.EnvStateMachineARN: "arn:sm", config.EnvStartRate: "50"}, config.EnvStartRate},
		{map[string]string{config.EnvPolicy: "{}", config.EnvStateMachineARN: "arn:sm", config.EnvMode: config.ModeOrganization}, config.EnvMemberRoleName},
		{map[string]string{config.EnvPolicy: "{}", config.EnvStateMachineARN: "arn:sm"}, config.EnvSweepBucket},
		{map[string]string{config.EnvPolicy: "{}", config.EnvStateMachineARN: "arn:sm", config.EnvSweepBucket: "b", config.EnvMode: config.ModeOrganization,
			config.EnvMemberRoleName: "ecslogfix-member"}, config.EnvTargetOUs},
	} {
		for _, k := range []string{config.EnvPolicy, config.EnvStateMachineARN, config.EnvStartRate, config.EnvMode, config.EnvMemberRoleName, config.EnvSweepBucket} {
			t.Setenv(k, tc.env[k])
		}
		t.Setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9") // never reached
		var ee *config.EnvError
		if _, err := build(context.Background(), log); !errors.As(err, &ee) || ee.Var != tc.want {
			t.Errorf("%v: got %v, want an error naming %s", tc.env, err, tc.want)
		}
	}
}
