// Command detect is the detect Lambda: CloudTrail RegisterTaskDefinition
// events in, remediation workflow executions out (internal/detect). This
// adapter reads the environment, makes the clients and starts the runtime.
package main

import (
	"context"
	"encoding/json"
	"log/slog"
	"os"

	"github.com/ecslogfix/ecslogfix/internal/awsclient"
	"github.com/ecslogfix/ecslogfix/internal/config"
	"github.com/ecslogfix/ecslogfix/internal/config/fnenv"
	"github.com/ecslogfix/ecslogfix/internal/config/naming"
	"github.com/ecslogfix/ecslogfix/internal/detect"
	"github.com/ecslogfix/ecslogfix/internal/evidence"
	"github.com/ecslogfix/ecslogfix/internal/execution"
	"github.com/ecslogfix/ecslogfix/internal/lambdarun"
	"github.com/ecslogfix/ecslogfix/internal/loggroup"
	"github.com/ecslogfix/ecslogfix/internal/metrics"
	"github.com/ecslogfix/ecslogfix/internal/workflow"
)

func main() {
	// Lenient: the event is AWS's, and it grows fields; Handle parses the
	// raw event itself (internal/cloudtrail).
	lambdarun.Lenient(naming.FunctionDetect, build, func(d *detect.Detector, ctx context.Context, raw json.RawMessage) (execution.Response, error) {
		return d.Handle(ctx, raw)
	})
}

func build(ctx context.Context, log *slog.Logger) (*detect.Detector, error) {
	env, err := fnenv.ReadDetectEnv(os.Getenv)
	if err != nil {
		return nil, err
	}
	f, err := awsclient.Load(ctx, awsclient.Options{})
	if err != nil {
		return nil, err
	}
	reach := execution.Reach{Organization: env.Mode == config.ModeOrganization, MemberRoleName: env.MemberRoleName}
	if reach.Organization {
		// Events from the hub's own account need no role assumption.
		if reach.HomeAccount, reach.Partition, err = f.CallerAccount(ctx); err != nil {
			log.Warn("cannot read own account; every target will be reached through the member role", "error", err.Error())
		}
	}
	history, err := evidence.Recorder(f, env.History, reach, log)
	if err != nil {
		return nil, err
	}
	return &detect.Detector{
		Starter: &execution.Starter{SFN: f.SFN(), StateMachineARN: env.StateMachineARN, Policy: env.Policy, Partition: reach.Partition, History: history},
		ECS: func(t workflow.Target) (detect.ECS, error) {
			return f.ECS(awsclient.Scope{Region: t.Region, RoleARN: t.RoleARN})
		},
		Reach:           reach,
		OwnRoleARNs:     env.OwnRoleARNs,
		AllowedAccounts: env.AllowedAccounts,
		Logger:          log,
		Metrics:         &metrics.Metrics{W: os.Stdout},
		Observe:         func() *loggroup.Observer { return loggroup.ObserverFrom(f) },
	}, nil
}
