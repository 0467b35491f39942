// Command sweep is the sweep Lambda, the Tasks of the sweep state machine:
// inventory, walk one account-region, summarize (internal/sweep). This
// adapter reads the environment, makes the clients and starts the runtime.
package main

import (
	"context"
	"log/slog"
	"os"

	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"golang.org/x/time/rate"

	"github.com/ecslogfix/ecslogfix/internal/awsclient"
	"github.com/ecslogfix/ecslogfix/internal/config"
	"github.com/ecslogfix/ecslogfix/internal/config/fnenv"
	"github.com/ecslogfix/ecslogfix/internal/config/naming"
	"github.com/ecslogfix/ecslogfix/internal/evidence"
	"github.com/ecslogfix/ecslogfix/internal/execution"
	"github.com/ecslogfix/ecslogfix/internal/inventory"
	"github.com/ecslogfix/ecslogfix/internal/lambdarun"
	"github.com/ecslogfix/ecslogfix/internal/loggroup"
	"github.com/ecslogfix/ecslogfix/internal/metrics"
	"github.com/ecslogfix/ecslogfix/internal/sweep"
	"github.com/ecslogfix/ecslogfix/internal/workflow"
)

func main() {
	// Strict: the input is our own contract (workflow.SweepRequest).
	lambdarun.Strict(naming.FunctionSweep, build, (*sweep.Sweeper).Handle)
}

func build(ctx context.Context, log *slog.Logger) (*sweep.Sweeper, error) {
	env, err := fnenv.ReadSweepEnv(os.Getenv)
	if err != nil {
		return nil, err
	}
	f, err := awsclient.Load(ctx, awsclient.Options{ReadRate: env.ReadRate})
	if err != nil {
		return nil, err
	}
	reach := execution.Reach{Organization: env.Mode == config.ModeOrganization, MemberRoleName: env.MemberRoleName}
	if reach.HomeAccount, reach.Partition, err = f.CallerAccount(ctx); err != nil {
		return nil, err // the home account is always a target
	}
	history, err := evidence.Recorder(f, env.History, reach, log)
	if err != nil {
		return nil, err
	}
	cfg, err := f.Config(awsclient.Scope{})
	if err != nil {
		return nil, err
	}
	s := &sweep.Sweeper{
		// The start rate is per walk: each child execution walks one
		// account-region, whose registrations ECS budgets on their own.
		Starter: &execution.Starter{SFN: f.SFN(), StateMachineARN: env.StateMachineARN, Policy: env.Policy, Partition: reach.Partition,
			Limiter: rate.NewLimiter(rate.Limit(env.StartRate), 1), History: history},
		History: history,
		ECS: func(t workflow.Target) (inventory.ECS, error) {
			return f.ECS(awsclient.Scope{Region: t.Region, RoleARN: t.RoleARN})
		},
		Reach: reach, S3: s3.NewFromConfig(cfg), Bucket: env.Bucket,
		Regions: env.Regions, AllowedAccounts: env.AllowedAccounts, Region: f.Region(),
		Logger: log, Metrics: &metrics.Metrics{W: os.Stdout},
		Observe: func() *loggroup.Observer { return loggroup.ObserverFrom(f) },
	}
	if reach.Organization {
		s.Organization = &sweep.Organization{Organizations: organizations.NewFromConfig(cfg), StackSets: cloudformation.NewFromConfig(cfg),
			TargetOUs: env.TargetOUs, RoleStackSet: env.RoleStackSet, ForwardingStackSet: env.ForwardingStackSet, CallAs: env.StackSetCallAs}
	}
	return s, nil
}
