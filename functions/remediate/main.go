// Command remediate is the remediate Lambda, called by the workflow's
// EnsureLogGroups and Register states (internal/remediate). This adapter
// reads the environment, makes the clients and starts the runtime.
package main

import (
	"context"
	"log/slog"
	"os"

	"github.com/ecslogfix/ecslogfix/internal/awsclient"
	"github.com/ecslogfix/ecslogfix/internal/config/fnenv"
	"github.com/ecslogfix/ecslogfix/internal/config/naming"
	"github.com/ecslogfix/ecslogfix/internal/lambdarun"
	"github.com/ecslogfix/ecslogfix/internal/metrics"
	"github.com/ecslogfix/ecslogfix/internal/remediate"
)

func main() {
	// Strict: the input is our own contract (workflow.Request).
	lambdarun.Strict(naming.FunctionRemediate, build, (*remediate.Remediator).Handle)
}

func build(ctx context.Context, log *slog.Logger) (*remediate.Remediator, error) {
	env, err := fnenv.ReadRemediateEnv(os.Getenv)
	if err != nil {
		return nil, err
	}
	f, err := awsclient.Load(ctx, awsclient.Options{RegisterRate: env.RegisterRate, RolloutRate: env.RolloutRate})
	if err != nil {
		return nil, err
	}
	return &remediate.Remediator{
		Policy:  env.Policy,
		Clients: remediate.ClientsFrom(f),
		Logger:  log,
		Metrics: &metrics.Metrics{W: os.Stdout},
	}, nil
}
