// Package sweep is the sweep function: on a schedule it evaluates the
// latest ACTIVE revision of every family in every covered account and
// region, and starts the remediation workflow for violations with the same
// deterministic execution names as events (execution.Starter), so meeting
// a live event is harmless. When an invocation's time runs out it stops
// after the last whole item and invokes the function again asynchronously
// with a checkpoint, so the sweep resumes rather than starts over.
package sweep

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/ecslogfix/ecslogfix/internal/awsarn"
	"github.com/ecslogfix/ecslogfix/internal/execution"
	"github.com/ecslogfix/ecslogfix/internal/history"
	"github.com/ecslogfix/ecslogfix/internal/inventory"
	"github.com/ecslogfix/ecslogfix/internal/loggroup"
	"github.com/ecslogfix/ecslogfix/internal/metrics"
	"github.com/ecslogfix/ecslogfix/internal/workflow"
)

// DefaultMargin is the time an invocation keeps in reserve before its
// Lambda deadline to stop cleanly and continue itself.
const DefaultMargin = 30 * time.Second

// MaxInvocations bounds how many times one sweep continues itself, so a
// bug can never make it invoke itself forever.
const MaxInvocations = 1000

// Request is the sweep function's input. The scheduled rule sends a
// constant (usually {}); a continuation carries the sweep ID and the
// checkpoint.
type Request struct {
	SweepID string `json:"sweepId,omitempty"`
	// Regions overrides the configured regions (else the function's own).
	Regions []string `json:"regions,omitempty"`
	// FamilyPrefix restricts the sweep to families starting with it.
	FamilyPrefix string     `json:"familyPrefix,omitempty"`
	Checkpoint   Checkpoint `json:"checkpoint"`
}

// Checkpoint is where a sweep resumes: the target (account and region) it
// was walking and the walk's own checkpoint there. The zero value starts
// from the first target.
type Checkpoint struct {
	Account    string               `json:"account,omitempty"`
	Region     string               `json:"region,omitempty"`
	Walk       inventory.Checkpoint `json:"walk"`
	Invocation int                  `json:"invocation,omitempty"` // invocations so far (continuations)
}

// Report is what one sweep invocation did.
type Report struct {
	SweepID    string `json:"sweepId"`
	Evaluated  int    `json:"evaluated"`
	Violations int    `json:"violations"`
	Started    int    `json:"started"`
	Duplicates int    `json:"duplicates"`
	Compliant  int    `json:"compliant"`
	Skipped    int    `json:"skipped"` // exempt, inactive, unplannable
	Errors     int    `json:"errors"`
	// Done is true when the sweep covered every target.
	Done bool `json:"done"`
	// Continued is true when this invocation ran out of time and invoked
	// the function again with Checkpoint.
	Continued  bool        `json:"continued"`
	Checkpoint *Checkpoint `json:"checkpoint,omitempty"`
}

// Invoker invokes a Lambda function; the sweep continues itself with it.
type Invoker interface {
	Invoke(ctx context.Context, in *lambda.InvokeInput, optFns ...func(*lambda.Options)) (*lambda.InvokeOutput, error)
}

// ECSFor returns the ECS client (paced for reads) for a target.
type ECSFor func(t workflow.Target) (inventory.ECS, error)

// Sweeper is the sweep function.
type Sweeper struct {
	Starter *execution.Starter
	ECS     ECSFor
	Reach   execution.Reach
	// Regions to cover (else Region); AllowedAccounts to cover in
	// organization mode (the allow-list is the only enumeration of member
	// accounts; without one, only the home account).
	Regions         []string
	AllowedAccounts []string
	Region          string // the function's own region
	Logger          *slog.Logger
	Metrics         *metrics.Metrics
	// Invoker and FunctionName let the sweep continue itself.
	Invoker      Invoker
	FunctionName string
	// History, when set, records each account and region swept (the
	// decisions on families go through Starter.History).
	History history.Recorder
	// Margin before the deadline; default DefaultMargin.
	Margin time.Duration
	// Now is the clock; default time.Now.
	Now func() time.Time
	// Observe, when set, makes the observer of one invocation: the log
	// groups (and log driver modes) families share are read once for it.
	Observe func() *loggroup.Observer
}

func (s *Sweeper) logger() *slog.Logger {
	if s.Logger != nil {
		return s.Logger
	}
	return slog.Default()
}

func (s *Sweeper) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// errStop stops a walk before the Lambda deadline.
var errStop = errors.New("sweep: out of time")

// target is one account and region the sweep covers.
type target struct{ account, region string }

// targets lists the accounts × regions in a stable order.
func (s *Sweeper) targets(req Request) []target {
	regions := slices.Clone(req.Regions)
	if len(regions) == 0 {
		regions = slices.Clone(s.Regions)
	}
	if len(regions) == 0 && s.Region != "" {
		regions = []string{s.Region}
	}
	accounts := []string{s.Reach.HomeAccount}
	if s.Reach.Organization && len(s.AllowedAccounts) > 0 {
		accounts = slices.Clone(s.AllowedAccounts)
	}
	slices.Sort(accounts)
	slices.Sort(regions)
	var out []target
	for _, a := range slices.Compact(accounts) {
		for _, r := range slices.Compact(regions) {
			out = append(out, target{a, r})
		}
	}
	return out
}

// Handle runs one sweep invocation. Per-family and per-target errors are
// logged and counted; the sweep goes on.
func (s *Sweeper) Handle(ctx context.Context, req Request) (Report, error) {
	if req.SweepID == "" {
		req.SweepID = s.now().UTC().Format("20060102T150405Z")
	}
	for _, r := range req.Regions {
		if !awsarn.ValidRegion(r) {
			return Report{}, &workflow.InvalidInputError{Err: fmt.Errorf("regions: %q is not a region name", r)}
		}
	}
	log := s.logger().With("sweepId", req.SweepID, "invocation", req.Checkpoint.Invocation)
	rep := &Report{SweepID: req.SweepID}
	if req.Checkpoint.Invocation >= MaxInvocations {
		log.Error("sweep stopped: too many continuations", "max", MaxInvocations)
		return *rep, nil
	}

	margin := s.Margin
	if margin <= 0 {
		margin = DefaultMargin
	}
	var stopAt time.Time
	workCtx := ctx
	if dl, ok := ctx.Deadline(); ok {
		stopAt = dl.Add(-margin)
		var cancel context.CancelFunc
		workCtx, cancel = context.WithDeadline(ctx, stopAt)
		defer cancel()
	}
	outOfTime := func() bool {
		return workCtx.Err() != nil || (!stopAt.IsZero() && !s.now().Before(stopAt))
	}

	var obs *loggroup.Observer
	if s.Observe != nil {
		obs = s.Observe()
	}
	targets := s.targets(req)
	start := 0
	cp := req.Checkpoint
	if cp.Account != "" || cp.Region != "" {
		start = slices.Index(targets, target{cp.Account, cp.Region})
		if start < 0 {
			log.Warn("sweep checkpoint target no longer configured; starting over", "account", cp.Account, "region", cp.Region)
			start, cp.Walk = 0, inventory.Checkpoint{}
		}
	}
	for i := start; i < len(targets); i++ {
		t := targets[i]
		walkCP := inventory.Checkpoint{}
		if i == start {
			walkCP = cp.Walk
		}
		tlog := log.With("account", t.account, "region", t.region)
		if outOfTime() {
			return s.continueSweep(ctx, tlog, req, rep, Checkpoint{Account: t.account, Region: t.region, Walk: walkCP})
		}
		wt := s.Reach.Target(t.account, t.region)
		c, err := s.ECS(wt)
		if err != nil {
			rep.Errors++
			tlog.Error("sweep target skipped", "error", err.Error())
			continue
		}
		before := *rep
		next, err := inventory.Walk(workCtx, c, inventory.Options{FamilyPrefix: req.FamilyPrefix, Checkpoint: walkCP}, func(it inventory.Item) error {
			if outOfTime() {
				return errStop
			}
			return s.item(workCtx, tlog, wt, it, rep, obs)
		})
		switch {
		case err == nil && s.History != nil:
			// The coverage the report shows: which sweep covered this
			// account and region, and when.
			swept := history.Swept{Evaluated: rep.Evaluated - before.Evaluated, Compliant: rep.Compliant - before.Compliant,
				Violations: rep.Violations - before.Violations, Skipped: rep.Skipped - before.Skipped, Errors: rep.Errors - before.Errors}
			if err := s.History.Record(ctx, history.SweptTarget(t.account, t.region, swept, history.Meta{Time: s.now(), SweepID: req.SweepID})); err != nil {
				rep.Errors++
				tlog.Error("sweep coverage not recorded", "error", err.Error())
			}
		case err == nil:
		case ctx.Err() == nil && (errors.Is(err, errStop) || workCtx.Err() != nil || errors.Is(err, context.DeadlineExceeded)):
			// Out of time (including a rate-limiter wait that would pass
			// the stop time): resume here in the next invocation.
			return s.continueSweep(ctx, tlog, req, rep, Checkpoint{Account: t.account, Region: t.region, Walk: next})
		case ctx.Err() != nil:
			return Report{}, ctx.Err()
		default:
			rep.Errors++
			tlog.Error("sweep target failed; continuing with the next", "error", err.Error())
		}
	}
	rep.Done = true
	log.Info("sweep done", "evaluated", rep.Evaluated, "violations", rep.Violations, "started", rep.Started,
		"duplicates", rep.Duplicates, "compliant", rep.Compliant, "skipped", rep.Skipped, "errors", rep.Errors)
	s.metrics(rep)
	return *rep, nil
}

// item handles one family's latest ACTIVE revision.
func (s *Sweeper) item(ctx context.Context, log *slog.Logger, t workflow.Target, it inventory.Item, rep *Report, obs *loggroup.Observer) error {
	if it.Err != nil {
		if ctx.Err() != nil {
			return errStop
		}
		rep.Errors++
		log.Error("sweep family skipped", "family", it.Family, "error", it.Err.Error())
		return nil
	}
	if it.TaskDefinition == nil {
		rep.Skipped++
		return nil
	}
	rep.Evaluated++
	resp, err := s.Starter.Consider(ctx, log, execution.Candidate{
		Target:         t,
		TaskDefinition: it.TaskDefinition,
		Tags:           it.Tags,
		Trigger:        workflow.TriggerSweep,
		Principal:      PrincipalFromARN(aws.ToString(it.TaskDefinition.RegisteredBy)),
		Observer:       obs,
		SweepID:        rep.SweepID,
		RegisteredAt:   it.TaskDefinition.RegisteredAt,
	})
	if err != nil {
		if errors.Is(err, execution.ErrOutOfTime) || ctx.Err() != nil {
			rep.Evaluated-- // delivered again on resume
			return errStop
		}
		rep.Errors++
		rep.Violations++
		log.Error("sweep start failed", "family", it.Family, "error", err.Error())
		return nil
	}
	switch resp.Status {
	case execution.StatusStarted:
		rep.Violations++
		rep.Started++
	case execution.StatusDuplicate:
		rep.Violations++
		rep.Duplicates++
	case execution.StatusCompliant:
		rep.Compliant++
	default:
		rep.Skipped++
	}
	return nil
}

// continueSweep invokes the function again asynchronously with cp.
func (s *Sweeper) continueSweep(ctx context.Context, log *slog.Logger, req Request, rep *Report, cp Checkpoint) (Report, error) {
	cp.Invocation = req.Checkpoint.Invocation + 1
	rep.Checkpoint = &cp
	s.metrics(rep)
	if s.Invoker == nil || s.FunctionName == "" {
		log.Error("sweep out of time and cannot continue itself (no function name)", "checkpoint", cp)
		return *rep, nil
	}
	next := req
	next.Checkpoint = cp
	payload, err := json.Marshal(next)
	if err != nil {
		return Report{}, fmt.Errorf("marshal sweep continuation: %w", err)
	}
	if _, err := s.Invoker.Invoke(ctx, &lambda.InvokeInput{
		FunctionName:   aws.String(s.FunctionName),
		InvocationType: lambdatypes.InvocationTypeEvent,
		Payload:        payload,
	}); err != nil {
		// Returning the error makes Lambda retry this invocation, which
		// resumes from the same checkpoint as the request it was given.
		return Report{}, workflow.Classify(fmt.Errorf("continue sweep: %w", err))
	}
	rep.Continued = true
	log.Info("sweep continued", "checkpoint", cp, "evaluated", rep.Evaluated, "started", rep.Started)
	return *rep, nil
}

func (s *Sweeper) metrics(rep *Report) {
	s.Metrics.Count(map[string]string{"Mode": "sweep"}, map[string]int{
		metrics.Evaluated:  rep.Evaluated,
		metrics.Detections: rep.Violations,
		metrics.Started:    rep.Started,
		metrics.Duplicates: rep.Duplicates,
		metrics.Compliant:  rep.Compliant,
		metrics.Errors:     rep.Errors,
	})
}

// PrincipalFromARN is the best summary of a registeredBy ARN (the sweep
// has no CloudTrail record).
func PrincipalFromARN(arn string) *workflow.Principal {
	if arn == "" {
		return nil
	}
	p := &workflow.Principal{Type: "Unknown", ARN: arn}
	a, err := awsarn.Parse(arn)
	if err != nil {
		return p
	}
	switch {
	case a.Service == "sts" && strings.HasPrefix(a.Resource, "assumed-role/"):
		p.Type = "AssumedRole"
		if r, ok := awsarn.ParseRole(arn); ok {
			p.RoleARN = r.ARN()
		}
	case a.Service == "iam" && strings.HasPrefix(a.Resource, "user/"):
		p.Type = "IAMUser"
	case a.Resource == "root":
		p.Type = "Root"
	case a.Service == "iam" && strings.HasPrefix(a.Resource, "role/"):
		p.Type = "Role"
	}
	return p
}
