package main

import (
	"context"
	"maps"
	"testing"

	"github.com/ecslogfix/ecslogfix/internal/config/fnenv"
	"github.com/ecslogfix/ecslogfix/internal/lambdarun/lambdaruntest"
)

const stateMachine = "arn:aws:states:us-east-1:111122223333:stateMachine:x"

// setenv is detect's environment for a test: every variable it reads
// unset but those in env.
func setenv(t *testing.T, env map[string]string) {
	t.Helper()
	all := map[string]string{fnenv.EnvPolicy: "", fnenv.EnvStateMachineARN: "", fnenv.EnvMode: "", fnenv.EnvMemberRoleName: "",
		fnenv.EnvOwnRoleARNs: "", "AWS_LAMBDA_FUNCTION_NAME": "ecslogfix-detect"}
	maps.Copy(all, env)
	lambdaruntest.Env(t, all)
}

func TestBuild(t *testing.T) {
	for _, tc := range []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{fnenv.EnvStateMachineARN: stateMachine}, fnenv.EnvPolicy},
		{map[string]string{fnenv.EnvPolicy: "{}"}, fnenv.EnvStateMachineARN},
	} {
		t.Run("missing "+tc.want, func(t *testing.T) {
			setenv(t, tc.env)
			_, err := build(context.Background(), lambdaruntest.Logger())
			lambdaruntest.WantEnvError(t, err, tc.want)
		})
	}
	t.Run("complete", func(t *testing.T) {
		setenv(t, map[string]string{fnenv.EnvPolicy: "{}", fnenv.EnvStateMachineARN: stateMachine,
			fnenv.EnvOwnRoleARNs: "arn:aws:iam::111122223333:role/ecslogfix-remediate"})
		d, err := build(context.Background(), lambdaruntest.Logger())
		if err != nil {
			t.Fatal(err)
		}
		if d.Starter == nil || d.Starter.StateMachineARN == "" || d.Starter.SFN == nil || d.ECS == nil || len(d.OwnRoleARNs) != 1 || d.Reach.Organization {
			t.Fatalf("detector %+v", d)
		}
	})
}
