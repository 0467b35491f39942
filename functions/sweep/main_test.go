package main

import (
	"context"
	"testing"

	"github.com/ecslogfix/ecslogfix/internal/config"
	"github.com/ecslogfix/ecslogfix/internal/config/fnenv"
	"github.com/ecslogfix/ecslogfix/internal/lambdarun/lambdaruntest"
)

// A missing or invalid variable stops the function before any AWS call.
func TestBuildRefusesItsEnvironment(t *testing.T) {
	// Each case sets these, unset when it does not name them.
	vars := []string{fnenv.EnvPolicy, fnenv.EnvStateMachineARN, fnenv.EnvStartRate, fnenv.EnvMode, fnenv.EnvMemberRoleName, fnenv.EnvSweepBucket}
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
		t.Run(tc.want, func(t *testing.T) {
			env := map[string]string{}
			for _, k := range vars {
				env[k] = tc.env[k]
			}
			lambdaruntest.Env(t, env)
			_, err := build(context.Background(), lambdaruntest.Logger())
			lambdaruntest.WantEnvError(t, err, tc.want)
		})
	}
}
