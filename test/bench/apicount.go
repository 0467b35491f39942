package bench

import (
	"context"
	"slices"
	"strings"
	"sync"

	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/smithy-go/middleware"
)

// APICounter counts the AWS API calls of the SDK clients it is attached to,
// per "Service:Operation": Calls counts each operation once at the
// Initialize step (what the code asked for, retries excluded); Attempts
// counts each HTTP attempt inside the retry loop at the Finalize step.
//
// Attach it to a config or a client:
//
//	cfg.APIOptions = append(cfg.APIOptions, counter.Attach)
//	ecs.NewFromConfig(cfg, func(o *ecs.Options) { o.APIOptions = append(o.APIOptions, counter.Attach) })
type APICounter struct {
	mu       sync.Mutex
	calls    map[string]int
	attempts map[string]int
}

// NewAPICounter returns an empty counter.
func NewAPICounter() *APICounter {
	return &APICounter{calls: map[string]int{}, attempts: map[string]int{}}
}

// Attach adds the counting middleware to an SDK operation's stack; its
// signature fits aws.Config.APIOptions and each client's Options.APIOptions.
func (c *APICounter) Attach(stack *middleware.Stack) error {
	err := stack.Initialize.Add(middleware.InitializeMiddlewareFunc("ecslogfix.bench.CountCalls",
		func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
			c.add(c.calls, apiName(ctx))
			return next.HandleInitialize(ctx, in)
		}), middleware.After)
	if err != nil {
		return err
	}
	// Added last in Finalize, it runs inside the retry middleware: once per attempt.
	return stack.Finalize.Add(middleware.FinalizeMiddlewareFunc("ecslogfix.bench.CountAttempts",
		func(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
			c.add(c.attempts, apiName(ctx))
			return next.HandleFinalize(ctx, in)
		}), middleware.After)
}

func apiName(ctx context.Context) string {
	return awsmiddleware.GetServiceID(ctx) + ":" + awsmiddleware.GetOperationName(ctx)
}

func (c *APICounter) add(m map[string]int, api string) {
	c.mu.Lock()
	m[api]++
	c.mu.Unlock()
}

// APICount is the count of one API.
type APICount struct {
	API      string `json:"api"`      // Service:Operation, e.g. ECS:RegisterTaskDefinition
	Calls    int    `json:"calls"`    // operations invoked (retries excluded)
	Attempts int    `json:"attempts"` // HTTP attempts (retries included)
}

// Counts are the counts of several APIs.
type Counts []APICount

// Counts returns the counts sorted by API name.
func (c *APICounter) Counts() Counts {
	c.mu.Lock()
	defer c.mu.Unlock()
	// Every attempt runs inside a counted call: calls has every API.
	var out Counts
	for api, n := range c.calls {
		out = append(out, APICount{API: api, Calls: n, Attempts: c.attempts[api]})
	}
	slices.SortFunc(out, func(a, b APICount) int { return strings.Compare(a.API, b.API) })
	return out
}

// Total sums the calls and attempts, optionally only of the services named
// (by SDK service ID, e.g. "ECS", "CloudWatch Logs", "SNS").
func (cs Counts) Total(services ...string) (calls, attempts int) {
	for _, a := range cs {
		svc, _, _ := strings.Cut(a.API, ":")
		if len(services) == 0 || slices.Contains(services, svc) {
			calls += a.Calls
			attempts += a.Attempts
		}
	}
	return calls, attempts
}

// Reset forgets every count.
func (c *APICounter) Reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	clear(c.calls)
	clear(c.attempts)
}
