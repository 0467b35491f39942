package remediation

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/middleware"
	"golang.org/x/time/rate"

	"github.com/ecslogfix/ecslogfix/internal/workflow"
)

// ECS is the part of the ECS API this package uses. It includes what
// inventory.Walk needs, so one client serves both.
type ECS interface {
	DescribeTaskDefinition(ctx context.Context, in *ecs.DescribeTaskDefinitionInput, optFns ...func(*ecs.Options)) (*ecs.DescribeTaskDefinitionOutput, error)
	RegisterTaskDefinition(ctx context.Context, in *ecs.RegisterTaskDefinitionInput, optFns ...func(*ecs.Options)) (*ecs.RegisterTaskDefinitionOutput, error)
	DeregisterTaskDefinition(ctx context.Context, in *ecs.DeregisterTaskDefinitionInput, optFns ...func(*ecs.Options)) (*ecs.DeregisterTaskDefinitionOutput, error)
	ListTaskDefinitionFamilies(ctx context.Context, in *ecs.ListTaskDefinitionFamiliesInput, optFns ...func(*ecs.Options)) (*ecs.ListTaskDefinitionFamiliesOutput, error)
}

// Logs is the part of the CloudWatch Logs API this package uses.
type Logs interface {
	CreateLogGroup(ctx context.Context, in *cloudwatchlogs.CreateLogGroupInput, optFns ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.CreateLogGroupOutput, error)
	PutRetentionPolicy(ctx context.Context, in *cloudwatchlogs.PutRetentionPolicyInput, optFns ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.PutRetentionPolicyOutput, error)
	DescribeLogGroups(ctx context.Context, in *cloudwatchlogs.DescribeLogGroupsInput, optFns ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.DescribeLogGroupsOutput, error)
	ListTagsForResource(ctx context.Context, in *cloudwatchlogs.ListTagsForResourceInput, optFns ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.ListTagsForResourceOutput, error)
}

// SFN is the part of the Step Functions API detect uses.
type SFN interface {
	StartExecution(ctx context.Context, in *sfn.StartExecutionInput, optFns ...func(*sfn.Options)) (*sfn.StartExecutionOutput, error)
}

// Invoker invokes a Lambda function; the sweep uses it to continue itself
// asynchronously when its time runs out.
type Invoker interface {
	Invoke(ctx context.Context, in *lambda.InvokeInput, optFns ...func(*lambda.Options)) (*lambda.InvokeOutput, error)
}

// Clients are the per-target clients one remediation step needs.
type Clients struct {
	ECS  ECS
	Logs Logs
}

// ClientSource returns the clients for a target (account, region, role).
// Factory is the production implementation; tests pass fakes.
type ClientSource interface {
	Clients(ctx context.Context, t workflow.Target) (Clients, error)
}

// Default client-side rates. ECS's task-definition read bucket refills at
// 20/s per account and Region and is shared with everything else in the
// account, so one process takes at most half of it. RegisterTaskDefinition
// refills at 1/s and is shared with every CI/CD pipeline of the account.
const (
	DefaultReadRate     = 10.0
	DefaultRegisterRate = 0.5
)

// FactoryOptions configure a Factory.
type FactoryOptions struct {
	// ReadRate limits ECS Describe/List calls per second per target
	// (account and Region). Default DefaultReadRate.
	ReadRate float64
	// RegisterRate limits RegisterTaskDefinition calls per second for the
	// whole process (config RegisterRate). Default DefaultRegisterRate.
	RegisterRate float64
	// MaxAttempts of the SDK retryer. Default 5.
	MaxAttempts int
	// SessionName of AssumeRole sessions. Default "ecslogfix".
	SessionName string
}

// Factory builds region-aware, rate-limited, retrying ECS and Logs clients
// for a workflow.Target: with the function's own credentials when the
// target has no RoleARN (single-account mode), else with AssumeRole into
// Target.RoleARN (organization mode). Clients are cached per account,
// Region and role; assumed credentials are cached and refreshed per role.
// It is safe for concurrent use.
type Factory struct {
	base     aws.Config
	sts      stscreds.AssumeRoleAPIClient
	opt      FactoryOptions
	register *rate.Limiter

	mu      sync.Mutex
	clients map[string]Clients
	creds   map[string]aws.CredentialsProvider
}

// NewFactory returns a Factory on base (as config.LoadDefaultConfig returns
// it, endpoint overrides included). sts is used for AssumeRole; it may be
// nil in single-account mode.
func NewFactory(base aws.Config, sts stscreds.AssumeRoleAPIClient, opt FactoryOptions) *Factory {
	if opt.ReadRate <= 0 {
		opt.ReadRate = DefaultReadRate
	}
	if opt.RegisterRate <= 0 {
		opt.RegisterRate = DefaultRegisterRate
	}
	if opt.MaxAttempts <= 0 {
		opt.MaxAttempts = 5
	}
	if opt.SessionName == "" {
		opt.SessionName = "ecslogfix"
	}
	return &Factory{
		base:     base,
		sts:      sts,
		opt:      opt,
		register: rate.NewLimiter(rate.Limit(opt.RegisterRate), 1),
		clients:  map[string]Clients{},
		creds:    map[string]aws.CredentialsProvider{},
	}
}

// Clients returns the clients for t, building and caching them on first use.
func (f *Factory) Clients(_ context.Context, t workflow.Target) (Clients, error) {
	region := t.Region
	if region == "" {
		region = f.base.Region
	}
	if region == "" {
		return Clients{}, errors.New("clients: no region for target")
	}
	key := t.Account + "/" + region + "/" + t.RoleARN
	f.mu.Lock()
	defer f.mu.Unlock()
	if c, ok := f.clients[key]; ok {
		return c, nil
	}
	cfg := f.base.Copy()
	cfg.Region = region
	if t.RoleARN != "" {
		if f.sts == nil {
			return Clients{}, fmt.Errorf("clients: target %s needs AssumeRole but no STS client is configured", t.RoleARN)
		}
		p, ok := f.creds[t.RoleARN]
		if !ok {
			p = aws.NewCredentialsCache(stscreds.NewAssumeRoleProvider(f.sts, t.RoleARN, func(o *stscreds.AssumeRoleOptions) {
				o.RoleSessionName = f.opt.SessionName
			}))
			f.creds[t.RoleARN] = p
		}
		cfg.Credentials = p
	}
	maxAttempts := f.opt.MaxAttempts
	ecsClient := ecs.NewFromConfig(cfg, func(o *ecs.Options) {
		// The register budget is spent per attempt: SDK retries of a
		// throttled registration wait for the limiter too.
		o.APIOptions = append(o.APIOptions, limitAttempts(f.register, "RegisterTaskDefinition", "DeregisterTaskDefinition"))
		o.Retryer = retry.NewAdaptiveMode(func(ao *retry.AdaptiveModeOptions) {
			ao.StandardOptions = append(ao.StandardOptions, func(so *retry.StandardOptions) {
				so.MaxAttempts = maxAttempts
				// The SDK does not retry ECS's "Too many concurrent attempts"
				// ClientException; nothing was registered, so retrying is safe.
				so.Retryables = append([]retry.IsErrorRetryable{retry.IsErrorRetryableFunc(retryConcurrentRevision)}, so.Retryables...)
			})
		})
	})
	logsClient := cloudwatchlogs.NewFromConfig(cfg, func(o *cloudwatchlogs.Options) {
		o.Retryer = retry.NewStandard(func(so *retry.StandardOptions) {
			so.MaxAttempts = maxAttempts
			// LimitExceededException is in the SDK's throttle list, but for
			// CloudWatch Logs it means "too many log groups": never transient.
			so.Retryables = append([]retry.IsErrorRetryable{retry.IsErrorRetryableFunc(noRetryLimitExceeded)}, so.Retryables...)
		})
	})
	c := Clients{
		// Register is limited per attempt inside the client (limitAttempts).
		ECS:  &LimitedECS{ECS: ecsClient, Read: rate.NewLimiter(rate.Limit(f.opt.ReadRate), burst(f.opt.ReadRate))},
		Logs: logsClient,
	}
	f.clients[key] = c
	return c, nil
}

// limitAttempts makes every attempt of the operations (ECS's "task
// definition modify" bucket), the SDK's retries included, wait for l: the
// middleware sits after the retry loop.
func limitAttempts(l *rate.Limiter, operations ...string) func(*middleware.Stack) error {
	return func(st *middleware.Stack) error {
		return st.Finalize.Insert(middleware.FinalizeMiddlewareFunc("ecslogfix.LimitAttempts",
			func(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
				if l != nil && slices.Contains(operations, middleware.GetOperationName(ctx)) {
					if err := l.Wait(ctx); err != nil {
						return middleware.FinalizeOutput{}, middleware.Metadata{}, err
					}
				}
				return next.HandleFinalize(ctx, in)
			}), "Retry", middleware.After)
	}
}

func burst(r float64) int {
	if r < 1 {
		return 1
	}
	return int(r)
}

func retryConcurrentRevision(err error) aws.Ternary {
	if workflow.IsConcurrentRevision(err) {
		return aws.TrueTernary
	}
	return aws.UnknownTernary
}

func noRetryLimitExceeded(err error) aws.Ternary {
	var ae smithy.APIError
	if errors.As(err, &ae) && ae.ErrorCode() == "LimitExceededException" {
		return aws.FalseTernary
	}
	return aws.UnknownTernary
}

// LimitedECS applies client-side rate limits to an ECS client: Read to
// Describe and List calls, Register to RegisterTaskDefinition. A nil
// limiter does not limit.
type LimitedECS struct {
	ECS      ECS
	Read     *rate.Limiter
	Register *rate.Limiter
}

func wait(ctx context.Context, l *rate.Limiter) error {
	if l == nil {
		return nil
	}
	return l.Wait(ctx)
}

// DescribeTaskDefinition waits for the read limiter, then calls ECS.
func (l *LimitedECS) DescribeTaskDefinition(ctx context.Context, in *ecs.DescribeTaskDefinitionInput, optFns ...func(*ecs.Options)) (*ecs.DescribeTaskDefinitionOutput, error) {
	if err := wait(ctx, l.Read); err != nil {
		return nil, err
	}
	return l.ECS.DescribeTaskDefinition(ctx, in, optFns...)
}

// ListTaskDefinitionFamilies waits for the read limiter, then calls ECS.
func (l *LimitedECS) ListTaskDefinitionFamilies(ctx context.Context, in *ecs.ListTaskDefinitionFamiliesInput, optFns ...func(*ecs.Options)) (*ecs.ListTaskDefinitionFamiliesOutput, error) {
	if err := wait(ctx, l.Read); err != nil {
		return nil, err
	}
	return l.ECS.ListTaskDefinitionFamilies(ctx, in, optFns...)
}

// RegisterTaskDefinition waits for the register limiter, then calls ECS.
func (l *LimitedECS) RegisterTaskDefinition(ctx context.Context, in *ecs.RegisterTaskDefinitionInput, optFns ...func(*ecs.Options)) (*ecs.RegisterTaskDefinitionOutput, error) {
	if err := wait(ctx, l.Register); err != nil {
		return nil, err
	}
	return l.ECS.RegisterTaskDefinition(ctx, in, optFns...)
}

// DeregisterTaskDefinition waits for the register limiter (the same ECS
// bucket), then calls ECS.
func (l *LimitedECS) DeregisterTaskDefinition(ctx context.Context, in *ecs.DeregisterTaskDefinitionInput, optFns ...func(*ecs.Options)) (*ecs.DeregisterTaskDefinitionOutput, error) {
	if err := wait(ctx, l.Register); err != nil {
		return nil, err
	}
	return l.ECS.DeregisterTaskDefinition(ctx, in, optFns...)
}

// StaticClients serves the same clients for every target: the CLI with one
// profile and Region, and tests.
type StaticClients Clients

// Clients returns c.
func (c StaticClients) Clients(context.Context, workflow.Target) (Clients, error) {
	return Clients(c), nil
}

// MemberRoleARN is the ARN of the member role roleName in account.
func MemberRoleARN(partition, account, roleName string) string {
	if partition == "" {
		partition = "aws"
	}
	return "arn:" + partition + ":iam::" + account + ":role/" + strings.TrimPrefix(roleName, "/")
}

// CallerIdentity is the part of the STS API CallerAccount uses.
type CallerIdentity interface {
	GetCallerIdentity(ctx context.Context, in *sts.GetCallerIdentityInput, optFns ...func(*sts.Options)) (*sts.GetCallerIdentityOutput, error)
}

// CallerAccount returns the account and partition of the caller's
// credentials (the function's own account).
func CallerAccount(ctx context.Context, c CallerIdentity) (account, partition string, err error) {
	out, err := c.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		return "", "", fmt.Errorf("get caller identity: %w", err)
	}
	partition = "aws"
	if parts := strings.SplitN(aws.ToString(out.Arn), ":", 3); len(parts) == 3 && parts[1] != "" {
		partition = parts[1]
	}
	return aws.ToString(out.Account), partition, nil
}
