// Command hook is the CloudFormation Lambda Hook: CloudFormation and Cloud
// Control API call it before they create or update an
// AWS::ECS::TaskDefinition, and it answers with the policy's verdict. The
// logic lives in internal/hook; this adapter reads the environment (the
// policy only: the hook makes no AWS calls) and starts the runtime.
package main

import (
	"context"
	"log/slog"
	"os"

	"github.com/ecslogfix/ecslogfix/internal/config/fnenv"
	"github.com/ecslogfix/ecslogfix/internal/config/naming"
	"github.com/ecslogfix/ecslogfix/internal/hook"
	"github.com/ecslogfix/ecslogfix/internal/lambdarun"
)

func main() {
	// Lenient: the request is CloudFormation's, which may grow fields.
	lambdarun.Lenient(naming.FunctionHook, func(_ context.Context, log *slog.Logger) (*hook.Handler, error) {
		return build(os.Getenv, log)
	}, (*hook.Handler).Handle)
}

func build(getenv func(string) string, log *slog.Logger) (*hook.Handler, error) {
	env, err := fnenv.ReadHookEnv(getenv)
	if err != nil {
		return nil, err
	}
	return &hook.Handler{Policy: env.Policy, Logger: log}, nil
}
