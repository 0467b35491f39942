// Package awsclient is the one place AWS SDK clients are made, for the
// Lambda functions and every CLI command alike: the region and credentials
// of a scope (AssumeRole into a member account, cached per role), the
// retry rules (the SDK's standard lists plus awserr's extras), a
// per-attempt timeout, and client-side pacing of ECS's task-definition
// buckets and of the rollout's writes (UpdateService, PutTargets,
// UpdateSchedule) as middlewares placed after the SDK's retry loop, so
// that every attempt — retries included — spends the budget.
package awsclient

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/scheduler"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go/middleware"
	"golang.org/x/time/rate"

	"github.com/ecslogfix/ecslogfix/internal/awsarn"
	"github.com/ecslogfix/ecslogfix/internal/awserr"
)

// Default rates. ECS's task-definition read bucket refills at 20/s per
// account and region and is shared with everything else there, so one
// process takes at most half of it. RegisterTaskDefinition (and
// Deregister, the same "modify" bucket) refills at 1/s per account and
// region and is shared with every CI/CD pipeline of the account.
//
// The rollout's writes move what runs a task definition: UpdateService
// starts a deployment (new tasks before old ones stop), so a burst of
// them is a burst of capacity; they get a budget of their own, paced like
// registrations.
const (
	DefaultReadRate     = 10.0
	DefaultRegisterRate = 0.5
	DefaultRolloutRate  = 0.5
	// MaxRate bounds write and start rates: ECS's register bucket refills
	// at 1/s, so more than 20/s is a configuration mistake.
	MaxRate = 20.0
	// MaxReadRate bounds read rates: a sanity bound (ECS's read bucket
	// refills at 20/s but bursts higher, and emulators answer faster).
	MaxReadRate = 1000.0
)

// Defaults of Options.
const (
	DefaultMaxAttempts = 5
	// DefaultAttemptTimeout bounds one HTTP attempt: a silent endpoint
	// costs at most this per attempt, and the SDK retries it.
	DefaultAttemptTimeout = 20 * time.Second
	DefaultSessionName    = "ecslogfix"
)

// ValidRate reports whether r is a usable register or start rate: in
// (0, MaxRate]. It is the one check of those rates for the configuration,
// the functions and the CLI.
func ValidRate(r float64) bool { return r > 0 && r <= MaxRate }

// ValidReadRate reports whether r is a usable read rate: in
// (0, MaxReadRate].
func ValidReadRate(r float64) bool { return r > 0 && r <= MaxReadRate }

// Options configure a Factory. Zero values take the defaults.
type Options struct {
	// ReadRate paces ECS task-definition reads (DescribeTaskDefinition,
	// ListTaskDefinitionFamilies, ListTaskDefinitions) per second, per
	// scope (account and region).
	ReadRate float64
	// RegisterRate paces RegisterTaskDefinition and
	// DeregisterTaskDefinition per second for the whole process.
	RegisterRate float64
	// RolloutRate paces the rollout's writes (ECS UpdateService,
	// EventBridge PutTargets, Scheduler UpdateSchedule) per second for the
	// whole process.
	RolloutRate float64
	// MaxAttempts of the SDK retryer.
	MaxAttempts int
	// AttemptTimeout bounds one HTTP attempt; negative disables it.
	AttemptTimeout time.Duration
	// SessionName of AssumeRole sessions.
	SessionName string
	// STS is the client AssumeRole goes through; nil builds one from the
	// base configuration.
	STS stscreds.AssumeRoleAPIClient
}

func (o Options) withDefaults() Options {
	o.ReadRate = cmp.Or(o.ReadRate, DefaultReadRate)
	o.RegisterRate = cmp.Or(o.RegisterRate, DefaultRegisterRate)
	o.RolloutRate = cmp.Or(o.RolloutRate, DefaultRolloutRate)
	o.MaxAttempts = cmp.Or(o.MaxAttempts, DefaultMaxAttempts)
	o.AttemptTimeout = cmp.Or(o.AttemptTimeout, DefaultAttemptTimeout)
	o.SessionName = cmp.Or(o.SessionName, DefaultSessionName)
	return o
}

// Scope is where clients act: a region (empty: the base configuration's)
// and the role to assume there (empty: the base credentials).
type Scope struct {
	Region  string
	RoleARN string
}

// Factory makes clients. It is safe for concurrent use; clients are cached
// per scope, assumed credentials per role.
type Factory struct {
	base     aws.Config
	opt      Options
	register *rate.Limiter
	rollout  *rate.Limiter

	mu     sync.Mutex
	scopes map[Scope]*scoped
	creds  map[string]aws.CredentialsProvider
}

// scoped holds what belongs to one scope: its configuration, its read
// budget and its clients.
type scoped struct {
	cfg       aws.Config
	read      *rate.Limiter
	ecs       *ecs.Client
	logs      *cloudwatchlogs.Client
	events    *eventbridge.Client
	scheduler *scheduler.Client
}

// New returns a Factory on base (as config.LoadDefaultConfig returns it,
// endpoint overrides included).
func New(base aws.Config, opt Options) *Factory {
	opt = opt.withDefaults()
	return &Factory{
		base:     base,
		opt:      opt,
		register: rate.NewLimiter(rate.Limit(opt.RegisterRate), 1),
		rollout:  rate.NewLimiter(rate.Limit(opt.RolloutRate), 1),
		scopes:   map[Scope]*scoped{},
		creds:    map[string]aws.CredentialsProvider{},
	}
}

// Region is the base configuration's region.
func (f *Factory) Region() string { return f.base.Region }

// Config returns the SDK configuration of a scope: its region and
// credentials, the retryer and the per-attempt timeout. Clients of services
// Factory has no method for are made from it.
func (f *Factory) Config(s Scope) (aws.Config, error) {
	sc, err := f.scope(s)
	if err != nil {
		return aws.Config{}, err
	}
	return sc.cfg, nil
}

// ECS returns the ECS client of a scope, with the read and register pacing.
func (f *Factory) ECS(s Scope) (*ecs.Client, error) {
	sc, err := f.scope(s)
	if err != nil {
		return nil, err
	}
	return sc.ecs, nil
}

// Logs returns the CloudWatch Logs client of a scope.
func (f *Factory) Logs(s Scope) (*cloudwatchlogs.Client, error) {
	sc, err := f.scope(s)
	if err != nil {
		return nil, err
	}
	return sc.logs, nil
}

// Events returns the EventBridge client of a scope, with the rollout's
// pacing of PutTargets.
func (f *Factory) Events(s Scope) (*eventbridge.Client, error) {
	sc, err := f.scope(s)
	if err != nil {
		return nil, err
	}
	return sc.events, nil
}

// Scheduler returns the EventBridge Scheduler client of a scope, with the
// rollout's pacing of UpdateSchedule.
func (f *Factory) Scheduler(s Scope) (*scheduler.Client, error) {
	sc, err := f.scope(s)
	if err != nil {
		return nil, err
	}
	return sc.scheduler, nil
}

// SFN returns a Step Functions client with the base credentials.
func (f *Factory) SFN() *sfn.Client { return sfn.NewFromConfig(f.baseConfig()) }

// SNS returns an SNS client with the base credentials.
func (f *Factory) SNS() *sns.Client { return sns.NewFromConfig(f.baseConfig()) }

// STS returns an STS client with the base credentials.
func (f *Factory) STS() *sts.Client { return sts.NewFromConfig(f.baseConfig()) }

func (f *Factory) baseConfig() aws.Config {
	cfg := f.base.Copy()
	f.tune(&cfg)
	return cfg
}

// tune sets the retryer and the per-attempt timeout on cfg.
func (f *Factory) tune(cfg *aws.Config) {
	maxAttempts := f.opt.MaxAttempts
	// Adaptive mode: throttled callers slow down on the client side too,
	// instead of spending their attempts.
	cfg.Retryer = func() aws.Retryer {
		return retry.NewAdaptiveMode(func(ao *retry.AdaptiveModeOptions) {
			ao.StandardOptions = append(ao.StandardOptions, func(so *retry.StandardOptions) {
				so.MaxAttempts = maxAttempts
				so.Retryables = append([]retry.IsErrorRetryable{retry.IsErrorRetryableFunc(awserr.Retryable)}, so.Retryables...)
			})
		})
	}
	if bc, ok := cfg.HTTPClient.(*awshttp.BuildableClient); (ok || cfg.HTTPClient == nil) && f.opt.AttemptTimeout > 0 {
		if bc == nil {
			bc = awshttp.NewBuildableClient()
		}
		cfg.HTTPClient = bc.WithTimeout(f.opt.AttemptTimeout)
	}
}

func (f *Factory) scope(s Scope) (*scoped, error) {
	s.Region = cmp.Or(s.Region, f.base.Region)
	if s.Region == "" {
		return nil, errors.New("awsclient: no region")
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if sc, ok := f.scopes[s]; ok {
		return sc, nil
	}
	cfg := f.base.Copy()
	cfg.Region = s.Region
	f.tune(&cfg)
	if s.RoleARN != "" {
		if _, ok := awsarn.ParseRole(s.RoleARN); !ok {
			return nil, fmt.Errorf("awsclient: %q is not an IAM role ARN", s.RoleARN)
		}
		cfg.Credentials = f.assumed(s.RoleARN)
	}
	sc := &scoped{cfg: cfg, read: rate.NewLimiter(rate.Limit(f.opt.ReadRate), burst(f.opt.ReadRate))}
	sc.ecs = ecs.NewFromConfig(cfg, func(o *ecs.Options) {
		o.APIOptions = append(o.APIOptions, pace(map[string]*rate.Limiter{
			"DescribeTaskDefinition":     sc.read,
			"ListTaskDefinitionFamilies": sc.read,
			"ListTaskDefinitions":        sc.read,
			// The cluster-resource reads have buckets of their own at
			// ECS; the scope's one read budget keeps them gentle too.
			"ListClusters":             sc.read,
			"ListServices":             sc.read,
			"DescribeServices":         sc.read,
			"RegisterTaskDefinition":   f.register,
			"DeregisterTaskDefinition": f.register,
			"UpdateService":            f.rollout,
		}))
	})
	sc.logs = cloudwatchlogs.NewFromConfig(cfg)
	sc.events = eventbridge.NewFromConfig(cfg, func(o *eventbridge.Options) {
		o.APIOptions = append(o.APIOptions, pace(map[string]*rate.Limiter{"PutTargets": f.rollout}))
	})
	sc.scheduler = scheduler.NewFromConfig(cfg, func(o *scheduler.Options) {
		o.APIOptions = append(o.APIOptions, pace(map[string]*rate.Limiter{"UpdateSchedule": f.rollout}))
	})
	f.scopes[s] = sc
	return sc, nil
}

// assumed returns the cached credentials of role; f.mu is held.
func (f *Factory) assumed(role string) aws.CredentialsProvider {
	if p, ok := f.creds[role]; ok {
		return p
	}
	client := f.opt.STS
	if client == nil {
		client = sts.NewFromConfig(f.baseConfig())
	}
	p := aws.NewCredentialsCache(stscreds.NewAssumeRoleProvider(client, role, func(o *stscreds.AssumeRoleOptions) {
		o.RoleSessionName = f.opt.SessionName
	}))
	f.creds[role] = p
	return p
}

// pace makes every attempt of the listed operations wait for its limiter.
// The middleware sits after the retry loop, so SDK retries wait too.
func pace(limits map[string]*rate.Limiter) func(*middleware.Stack) error {
	return func(st *middleware.Stack) error {
		return st.Finalize.Insert(middleware.FinalizeMiddlewareFunc("ecslogfix.Pace",
			func(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
				if l := limits[middleware.GetOperationName(ctx)]; l != nil {
					if err := l.Wait(ctx); err != nil {
						if ctx.Err() == nil {
							// The budget's next token comes after the
							// context's deadline: report it as that deadline.
							err = fmt.Errorf("%w: %w", context.DeadlineExceeded, err)
						}
						return middleware.FinalizeOutput{}, middleware.Metadata{}, err
					}
				}
				return next.HandleFinalize(ctx, in)
			}), "Retry", middleware.After)
	}
}

func burst(r float64) int { return max(1, int(r)) }

// CallerAccount returns the account and partition of the base credentials
// (the function's own account).
func (f *Factory) CallerAccount(ctx context.Context) (account, partition string, err error) {
	out, err := f.STS().GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		return "", "", fmt.Errorf("get caller identity: %w", err)
	}
	a, err := awsarn.Parse(aws.ToString(out.Arn))
	if err != nil {
		return "", "", fmt.Errorf("get caller identity: %w", err)
	}
	return aws.ToString(out.Account), a.Partition, nil
}

// Load is New on the SDK's default configuration (environment, the Lambda
// execution role's credentials, AWS_ENDPOINT_URL): how a function makes
// its factory.
func Load(ctx context.Context, opt Options) (*Factory, error) {
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, fmt.Errorf("load AWS configuration: %w", err)
	}
	return New(cfg, opt), nil
}
