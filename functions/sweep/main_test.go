package main

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"testing"

	"github.com/ecslogfix/ecslogfix/internal/config"
	"github.com/ecslogfix/ecslogfix/internal/config/fnenv"
)

// A missing or invalid variable stops the function before any AWS call.
func TestBuildRefusesItsEnvironment(t *testing.T) {
	log := slog.New(slog.NewJSONHandler(io.Discard, nil))
	for _, tc := range []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{fnenv.EnvStateMachineARN: "arn:aws:states:us-east-1:111122223333:stateMachine:x"}, fnenv.EnvPolicy},
		{map[string]string{fnenv.EnvPolicy: "{}"}, fnenv.EnvStateMachineARN},
		{map[string]string{fnenv.EnvPolicy: "{}", fnenv.EnvStateMachineARN: "arn:sm", fnenv.EnvStartRate: "50"}, fnenv.EnvStartRate},
		{map[string]string{fnenv.EnvPolicy: "{}", fnenv.EnvStateMachineARN: "arn:sm", fnenv.EnvMode: config.ModeOrganization}, fnenv.EnvMemberRoleName},
		{map[string]string{fnenv.EnvPolicy: "{}", fnenv.EnvStateMachineARN: "arn:sm"}, fnenv.EnvSweepBucket},
		{map[string]string{fnenv.EnvPolicy: "{}", fnenv.EnvStateMachineARN: "arn:sm", fnenv.EnvSweepBucket: "b", fnenv.EnvMode: config.ModeOrganization,
			fnenv.EnvMemberRoleName: "ecslogfix-member"}, fnenv.EnvTargetOUs},
	} {
		for _, k := range []string{fnenv.EnvPolicy, fnenv.EnvStateMachineARN, fnenv.EnvStartRate, fnenv.EnvMode, fnenv.EnvMemberRoleName, fnenv.EnvSweepBucket} {
			t.Setenv(k, tc.env[k])
		}
		t.Setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9") // never reached
		var ee *fnenv.EnvError
		if _, err := build(context.Background(), log); !errors.As(err, &ee) || ee.Var != tc.want {
			t.Errorf("%v: got %v, want an error naming %s", tc.env, err, tc.want)
		}
	}
}
