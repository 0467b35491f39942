// Package sweep is the sweep function, the Tasks of the sweep state
// machine (asl.SweepDefinition): inventory decides the account-regions
// to walk (internal/coverage) and writes them to S3 for the Distributed
// Map; walk evaluates the latest ACTIVE revision of every family in one
// account-region at that target's read budget, as much as one invocation's
// time allows, and starts the remediation workflow for violations with the
// same deterministic execution names as events (execution.Starter), so
// meeting a live event is harmless; summarize reduces every walk's result
// into the sweep's summary and per-family report. Step Functions carries
// the walk's checkpoint from one invocation to the next.
package sweep

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/ecslogfix/ecslogfix/internal/awsarn"
	"github.com/ecslogfix/ecslogfix/internal/coverage"
	"github.com/ecslogfix/ecslogfix/internal/escape"
	"github.com/ecslogfix/ecslogfix/internal/execution"
	"github.com/ecslogfix/ecslogfix/internal/history"
	"github.com/ecslogfix/ecslogfix/internal/inventory"
	"github.com/ecslogfix/ecslogfix/internal/loggroup"
	"github.com/ecslogfix/ecslogfix/internal/metrics"
	"github.com/ecslogfix/ecslogfix/internal/workflow"
)

// DefaultMargin is the time a walk invocation keeps in reserve before its
// Lambda deadline to write its result and return its checkpoint.
const DefaultMargin = 30 * time.Second

// MaxInvocations bounds the walk invocations of one target, so a walk that
// makes no progress cannot loop forever.
const MaxInvocations = 1000

// ECSFor returns the ECS client (paced for reads per account and region)
// for a target.
type ECSFor func(t workflow.Target) (inventory.ECS, error)

// Organization is how the inventory reads the organization: AWS
// Organizations and the member StackSets (coverage.Observe).
type Organization struct {
	Organizations coverage.Organizations
	StackSets     coverage.StackSets
	// TargetOUs, RoleStackSet, ForwardingStackSet, CallAs: see
	// coverage.Scope.
	TargetOUs          []string
	RoleStackSet       string
	ForwardingStackSet string
	CallAs             string
}

// Sweeper is the sweep function.
type Sweeper struct {
	Starter *execution.Starter
	ECS     ECSFor
	Reach   execution.Reach
	// S3 and Bucket hold the sweep's objects (targets, results, report).
	S3     S3
	Bucket string
	// Organization, in organization mode, is what the inventory reads; nil
	// sweeps the home account only.
	Organization *Organization
	// Regions to cover (else Region); AllowedAccounts, when not empty, the
	// only accounts covered.
	Regions         []string
	AllowedAccounts []string
	// FamilyPrefix restricts every walk to families starting with it (the
	// benchmarks' subsets; the function sweeps every family).
	FamilyPrefix string
	Region       string // the function's own region
	Logger       *slog.Logger
	Metrics      *metrics.Metrics
	// History, when set, records each account and region swept (the
	// decisions on families go through Starter.History).
	History history.Recorder
	// Observe, when set, makes the observer of one walk invocation: the log
	// groups and the account's log driver mode are read once for it.
	Observe func() *loggroup.Observer
	// Margin before the deadline; default DefaultMargin.
	Margin time.Duration
	// Now is the clock; default time.Now.
	Now func() time.Time
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

// Handle runs one action: inventory returns workflow.SweepInventory, walk
// the next workflow.Walk, summarize the workflow.SweepState with its
// summary. Errors are classified (workflow.Classify): a ThrottledError is
// retried by the state machine, an InvalidInputError never.
func (s *Sweeper) Handle(ctx context.Context, req workflow.SweepRequest) (any, error) {
	var out any
	var err error
	switch {
	case req.Action == workflow.SweepActionInventory && req.Walk == nil && req.Sweep == nil:
		out, err = s.Inventory(ctx, req.SweepID)
	case req.Action == workflow.SweepActionWalk && req.Walk != nil && req.Sweep == nil && req.SweepID == "":
		out, err = s.Walk(ctx, *req.Walk)
	case req.Action == workflow.SweepActionSummarize && req.Sweep != nil && req.Walk == nil && req.SweepID == "":
		out, err = s.Summarize(ctx, *req.Sweep)
	case !slices.Contains([]workflow.SweepAction{workflow.SweepActionInventory, workflow.SweepActionWalk, workflow.SweepActionSummarize}, req.Action):
		err = &workflow.InvalidInputError{Err: fmt.Errorf("action: unknown %q", req.Action)}
	default:
		err = &workflow.InvalidInputError{Err: fmt.Errorf("action %s: the request must carry exactly the field of its action (sweepId, walk or sweep)", req.Action)}
	}
	if err != nil {
		return nil, workflow.Classify(err)
	}
	return out, nil
}

// sweepIDRE: an execution name as Step Functions allows it, without the
// characters that would make it a path in S3.
var sweepIDRE = regexp.MustCompile(`^[A-Za-z0-9_-]{1,80}$`)

func checkSweepID(id string) error {
	if !sweepIDRE.MatchString(id) {
		return &workflow.InvalidInputError{Err: fmt.Errorf("sweepId: %q is not 1 to 80 of [A-Za-z0-9_-]", id)}
	}
	return nil
}

func (s *Sweeper) regions() []string {
	regions := slices.Clone(s.Regions)
	if len(regions) == 0 && s.Region != "" {
		regions = []string{s.Region}
	}
	return regions
}

// Inventory decides the sweep's targets and gaps (coverage.Decide over what
// coverage.Observe read, or the home account alone) and writes them to S3:
// the targets as JSONL for the Map's ItemReader, the whole coverage as
// JSON for the summary.
func (s *Sweeper) Inventory(ctx context.Context, sweepID string) (workflow.SweepInventory, error) {
	if err := checkSweepID(sweepID); err != nil {
		return workflow.SweepInventory{}, err
	}
	log := s.logger().With("sweepId", sweepID)
	obs := coverage.Observation{Hub: s.Reach.HomeAccount, Regions: s.regions(), Allowed: s.AllowedAccounts}
	if o := s.Organization; o != nil {
		var err error
		obs, err = coverage.Observe(ctx, o.Organizations, o.StackSets, coverage.Scope{
			Hub: s.Reach.HomeAccount, Regions: s.regions(), Allowed: s.AllowedAccounts, TargetOUs: o.TargetOUs,
			RoleStackSet: o.RoleStackSet, ForwardingStackSet: o.ForwardingStackSet, CallAs: o.CallAs,
		})
		if err != nil {
			return workflow.SweepInventory{}, fmt.Errorf("inventory: %w", err)
		}
	}
	cov := coverage.Decide(obs)
	keys := keysOf(sweepID)
	var lines []byte
	for _, t := range cov.Targets {
		lines = appendJSONLine(lines, workflow.Target{Account: t.Account, Region: t.Region})
	}
	if err := s.put(ctx, keys.targets, lines); err != nil {
		return workflow.SweepInventory{}, err
	}
	if err := s.put(ctx, keys.coverage, appendJSONLine(nil, cov)); err != nil {
		return workflow.SweepInventory{}, err
	}
	for _, g := range cov.Gaps {
		log.Warn("coverage gap", "account", g.Account, "region", g.Region, "reason", g.Reason, "stackSet", g.StackSet, "status", g.Status, "detail", g.Detail)
	}
	log.Info("inventory", "targets", len(cov.Targets), "gaps", len(cov.Gaps), "accounts", len(obs.Accounts))
	return workflow.SweepInventory{SweepID: sweepID, Bucket: s.Bucket, TargetsKey: keys.targets, CoverageKey: keys.coverage,
		Targets: len(cov.Targets), Gaps: len(cov.Gaps)}, nil
}

// errStop stops a walk before the Lambda deadline.
var errStop = errors.New("sweep: out of time")

// checkTarget refuses an item the inventory would not have written: a
// malformed account or region, a region not configured, an account outside
// the allow-list.
func (s *Sweeper) checkTarget(t workflow.Target) error {
	switch {
	case !awsarn.ValidAccount(t.Account):
		return &workflow.InvalidInputError{Err: fmt.Errorf("walk.target.account: %q is not a 12-digit account ID", t.Account)}
	case !awsarn.ValidRegion(t.Region):
		return &workflow.InvalidInputError{Err: fmt.Errorf("walk.target.region: %q is not a region name", t.Region)}
	case !slices.Contains(s.regions(), t.Region):
		return &workflow.InvalidInputError{Err: fmt.Errorf("walk.target.region: %s is not a region this sweep covers", t.Region)}
	case len(s.AllowedAccounts) > 0 && !slices.Contains(s.AllowedAccounts, t.Account):
		return &workflow.InvalidInputError{Err: fmt.Errorf("walk.target.account: %s is not in the allow-list", t.Account)}
	case t.RoleARN != "":
		return &workflow.InvalidInputError{Err: errors.New("walk.target.roleArn: the walk derives the role itself")}
	}
	return nil
}

// Walk evaluates one target's families from w's checkpoint until the walk
// is done or the invocation's time runs out, writes this invocation's
// result to S3, and returns where the next invocation resumes. A target
// that cannot be walked (the role cannot be assumed, the list call is
// refused) has its result written with the error, and fails: the
// Distributed Map counts it against its tolerated failures.
func (s *Sweeper) Walk(ctx context.Context, w workflow.Walk) (workflow.Walk, error) {
	if err := checkSweepID(w.SweepID); err != nil {
		return workflow.Walk{}, err
	}
	if err := s.checkTarget(w.Target); err != nil {
		return workflow.Walk{}, err
	}
	if w.Done {
		return w, nil
	}
	t := s.Reach.Target(w.Target.Account, w.Target.Region)
	log := s.logger().With("sweepId", w.SweepID, "account", t.Account, "region", t.Region, "invocation", w.Invocation)
	res, err := newWalkResult(Result{SweepID: w.SweepID, Target: w.Target, Invocation: w.Invocation})
	if err != nil {
		return workflow.Walk{}, err
	}
	defer res.close()
	next := w
	next.Invocation++
	if w.Invocation >= MaxInvocations {
		res.Error = fmt.Sprintf("stopped after %d invocations without finishing", MaxInvocations)
		return workflow.Walk{}, s.fail(ctx, log, res, errors.New(res.Error))
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
	c, err := s.ECS(t)
	if err != nil {
		res.Error = errorText(err)
		return workflow.Walk{}, s.fail(ctx, log, res, fmt.Errorf("clients for %s/%s: %w", t.Account, t.Region, err))
	}
	cp, err := inventory.Walk(workCtx, c, inventory.Options{FamilyPrefix: s.FamilyPrefix, Checkpoint: w.Checkpoint}, func(it inventory.Item) error {
		if outOfTime() {
			return errStop
		}
		return s.item(workCtx, log, t, it, res, w.SweepID, obs)
	})
	switch {
	case err == nil:
		next.Done, next.Checkpoint = true, inventory.Checkpoint{}
	case ctx.Err() == nil && (errors.Is(err, errStop) || workCtx.Err() != nil || errors.Is(err, context.DeadlineExceeded)):
		// Out of time (a rate-limiter wait that would pass the stop time
		// included): the next invocation resumes here.
		next.Checkpoint = cp
	case ctx.Err() != nil:
		return workflow.Walk{}, ctx.Err()
	default:
		res.Error = errorText(err)
		return workflow.Walk{}, s.fail(ctx, log, res, err)
	}
	res.Done = next.Done
	if err := s.writeResult(ctx, res); err != nil {
		return workflow.Walk{}, err
	}
	s.count(res.Counts)
	log.Info("walked", "done", next.Done, "evaluated", res.Counts.Evaluated, "violations", res.Counts.Violations,
		"started", res.Counts.Started, "duplicates", res.Counts.Duplicates, "compliant", res.Counts.Compliant,
		"skipped", res.Counts.Skipped, "errors", res.Counts.Errors)
	return next, nil
}

// maxErrorText bounds an error's text in the walk's result and the report:
// far above any AWS error message, so a line stays a line.
const maxErrorText = 4096

// errorText is an error's text as the walk's result and the per-family
// report keep it: an AWS error message can quote the request, so it is
// sanitised with escape.Cause, the redaction rule of every record of an
// outcome.
func errorText(err error) string { return escape.Cause(err.Error(), maxErrorText) }

// fail writes the result of a walk that cannot go on and returns its error.
func (s *Sweeper) fail(ctx context.Context, log *slog.Logger, res *walkResult, err error) error {
	log.Error("walk failed", "error", err.Error())
	s.count(res.Counts)
	if perr := s.writeResult(ctx, res); perr != nil {
		return errors.Join(err, perr)
	}
	return fmt.Errorf("walk %s/%s: %w", res.Target.Account, res.Target.Region, err)
}

// item handles one family's latest ACTIVE revision.
func (s *Sweeper) item(ctx context.Context, log *slog.Logger, t workflow.Target, it inventory.Item, res *walkResult, sweepID string, obs *loggroup.Observer) error {
	row := Family{Account: t.Account, Region: t.Region, Family: it.Family}
	if it.Err != nil {
		if ctx.Err() != nil {
			return errStop
		}
		res.Counts.Errors++
		row.Status, row.Detail = StatusError, errorText(it.Err)
		log.Error("sweep family skipped", "family", it.Family, "error", it.Err.Error())
		return res.add(row)
	}
	if it.TaskDefinition == nil {
		res.Counts.Skipped++
		row.Status = execution.StatusIgnored
		return res.add(row)
	}
	row.Revision, row.TaskDefinitionARN = it.TaskDefinition.Revision, aws.ToString(it.TaskDefinition.TaskDefinitionArn)
	resp, err := s.Starter.Consider(ctx, log, execution.Candidate{
		Target:         t,
		TaskDefinition: it.TaskDefinition,
		Tags:           it.Tags,
		Trigger:        workflow.TriggerSweep,
		Principal:      PrincipalFromARN(aws.ToString(it.TaskDefinition.RegisteredBy)),
		Observer:       obs,
		SweepID:        sweepID,
		RegisteredAt:   it.TaskDefinition.RegisteredAt,
	})
	if err != nil {
		if errors.Is(err, execution.ErrOutOfTime) || ctx.Err() != nil {
			return errStop // delivered again on resume
		}
		res.Counts.Evaluated++
		res.Counts.Errors++
		res.Counts.Violations++
		row.Status, row.Detail = StatusError, errorText(err)
		log.Error("sweep start failed", "family", it.Family, "error", err.Error())
		return res.add(row)
	}
	res.Counts.Evaluated++
	row.Status, row.Reason, row.ExecutionName = resp.Status, resp.Reason, resp.ExecutionName
	switch resp.Status {
	case execution.StatusStarted:
		res.Counts.Violations++
		res.Counts.Started++
	case execution.StatusDuplicate:
		res.Counts.Violations++
		res.Counts.Duplicates++
	case execution.StatusCompliant:
		res.Counts.Compliant++
	default:
		res.Counts.Skipped++
	}
	return res.add(row)
}

// count writes one walk invocation's metrics (dimension Mode=sweep).
func (s *Sweeper) count(c workflow.SweepCounts) {
	s.Metrics.Count(map[string]string{"Mode": "sweep"}, map[string]int{
		metrics.Evaluated:  c.Evaluated,
		metrics.Detections: c.Violations,
		metrics.Started:    c.Started,
		metrics.Duplicates: c.Duplicates,
		metrics.Compliant:  c.Compliant,
		metrics.Errors:     c.Errors,
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
