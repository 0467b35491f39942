package remediation

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"golang.org/x/time/rate"

	"github.com/ecslogfix/ecslogfix/internal/config"
	"github.com/ecslogfix/ecslogfix/internal/inventory"
	"github.com/ecslogfix/ecslogfix/internal/workflow"
)

// DefaultSweepMargin is the time a sweep invocation keeps in reserve before
// its Lambda deadline to stop cleanly and continue itself.
const DefaultSweepMargin = 30 * time.Second

// MaxSweepInvocations bounds how many times one sweep continues itself, so
// a bug can never make it invoke itself forever.
const MaxSweepInvocations = 1000

// SweepRequest is detect's input in sweep mode: {"sweep":{…}}. The
// scheduled rule sends a constant (usually {"sweep":{}}); a continuation
// carries the sweep ID and the checkpoint.
type SweepRequest struct {
	SweepID string `json:"sweepId,omitempty"`
	// Regions overrides the configured regions (config Regions, else the
	// function's Region).
	Regions []string `json:"regions,omitempty"`
	// FamilyPrefix restricts the sweep to families starting with it.
	FamilyPrefix string          `json:"familyPrefix,omitempty"`
	Checkpoint   SweepCheckpoint `json:"checkpoint"`
}

// SweepCheckpoint is where a sweep resumes: the target (account and
// Region) it was walking and the walk's own checkpoint there. The zero
// value starts from the first target.
type SweepCheckpoint struct {
	Account    string               `json:"account,omitempty"`
	Region     string               `json:"region,omitempty"`
	Walk       inventory.Checkpoint `json:"walk"`
	Invocation int                  `json:"invocation,omitempty"` // invocations so far (continuations)
}

// SweepReport is what one sweep invocation did.
type SweepReport struct {
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
	Continued  bool             `json:"continued"`
	Checkpoint *SweepCheckpoint `json:"checkpoint,omitempty"`
}

// errStop stops a walk before the Lambda deadline.
var errStop = errors.New("sweep: out of time")

// sweepTarget is one account and Region the sweep covers.
type sweepTarget struct{ account, region string }

// sweepTargets lists the accounts × Regions in a stable order: in
// organization mode every allowed account (the allow-list is the only
// enumeration of member accounts; without one, only the home account), else
// the home account.
func (d *Detector) sweepTargets(req SweepRequest) []sweepTarget {
	regions := req.Regions
	if len(regions) == 0 {
		regions = d.Runtime.Regions
	}
	if len(regions) == 0 && d.Region != "" {
		regions = []string{d.Region}
	}
	accounts := []string{d.HomeAccount}
	if d.Runtime.Mode == config.ModeOrganization && len(d.Runtime.AllowedAccounts) > 0 {
		accounts = append([]string(nil), d.Runtime.AllowedAccounts...)
		sort.Strings(accounts)
	}
	regions = append([]string(nil), regions...)
	sort.Strings(regions)
	var out []sweepTarget
	seen := map[sweepTarget]bool{}
	for _, a := range accounts {
		for _, r := range regions {
			t := sweepTarget{a, r}
			if !seen[t] {
				seen[t] = true
				out = append(out, t)
			}
		}
	}
	return out
}

// Sweep evaluates the latest ACTIVE revision of every family in every
// target and starts the workflow for violations, with the same
// deterministic execution names as events (so overlap is harmless), paced
// by StartRate. When the invocation's time runs out (its deadline minus
// SweepMargin), it stops after the last whole item and invokes the
// function again asynchronously with the checkpoint, so the sweep resumes
// rather than starts over. Per-family and per-target errors are logged and
// counted; the sweep goes on.
func (d *Detector) Sweep(ctx context.Context, req SweepRequest) (Response, error) {
	if req.SweepID == "" {
		req.SweepID = d.now().UTC().Format("20060102T150405Z")
	}
	log := d.logger().With("sweepId", req.SweepID, "invocation", req.Checkpoint.Invocation)
	rep := &SweepReport{SweepID: req.SweepID}
	if req.Checkpoint.Invocation >= MaxSweepInvocations {
		log.Error("sweep stopped: too many continuations", "max", MaxSweepInvocations)
		return Response{Status: StatusSweep, Sweep: rep}, nil
	}

	margin := d.SweepMargin
	if margin <= 0 {
		margin = DefaultSweepMargin
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
		return workCtx.Err() != nil || (!stopAt.IsZero() && !d.now().Before(stopAt))
	}
	d.startOnce.Do(func() {
		r := d.StartRate
		if r <= 0 {
			r = d.Runtime.RegisterRate
		}
		if r <= 0 {
			r = DefaultRegisterRate
		}
		d.startLimiter = rate.NewLimiter(rate.Limit(r), 1)
	})

	targets := d.sweepTargets(req)
	start := 0
	cp := req.Checkpoint
	if cp.Account != "" || cp.Region != "" {
		start = -1
		for i, t := range targets {
			if t.account == cp.Account && t.region == cp.Region {
				start = i
				break
			}
		}
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
			return d.continueSweep(ctx, tlog, req, rep, SweepCheckpoint{Account: t.account, Region: t.region, Walk: walkCP})
		}
		target := d.target(t.account, t.region)
		c, err := d.Clients.Clients(ctx, target)
		if err != nil {
			rep.Errors++
			tlog.Error("sweep target skipped", "error", err.Error())
			continue
		}
		next, err := inventory.Walk(workCtx, c.ECS, inventory.Options{
			FamilyPrefix: req.FamilyPrefix,
			Checkpoint:   walkCP,
			ReadRate:     d.ReadRate,
		}, func(it inventory.Item) error {
			if outOfTime() {
				return errStop
			}
			return d.sweepItem(workCtx, tlog, target, it, rep)
		})
		switch {
		case err == nil:
		case ctx.Err() == nil && (errors.Is(err, errStop) || workCtx.Err() != nil || errors.Is(err, context.DeadlineExceeded)):
			// Out of time (including a rate-limiter wait that would pass
			// the stop time): resume here in the next invocation.
			return d.continueSweep(ctx, tlog, req, rep, SweepCheckpoint{Account: t.account, Region: t.region, Walk: next})
		case ctx.Err() != nil:
			return Response{}, ctx.Err()
		default:
			rep.Errors++
			tlog.Error("sweep target failed; continuing with the next", "error", err.Error())
		}
	}
	rep.Done = true
	log.Info("sweep done", "evaluated", rep.Evaluated, "violations", rep.Violations, "started", rep.Started,
		"duplicates", rep.Duplicates, "compliant", rep.Compliant, "skipped", rep.Skipped, "errors", rep.Errors)
	d.sweepMetrics(rep)
	return Response{Status: StatusSweep, Sweep: rep}, nil
}

// sweepItem handles one family's latest ACTIVE revision.
func (d *Detector) sweepItem(ctx context.Context, log *slog.Logger, target workflow.Target, it inventory.Item, rep *SweepReport) error {
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
	resp, err := d.consider(ctx, log, candidate{
		target:    target,
		td:        it.TaskDefinition,
		tags:      it.Tags,
		trigger:   workflow.TriggerSweep,
		principal: principalFromARN(aws.ToString(it.TaskDefinition.RegisteredBy)),
	}, d.startLimiter)
	if err != nil {
		if errors.Is(err, errStop) || ctx.Err() != nil {
			rep.Evaluated-- // delivered again on resume
			return errStop
		}
		rep.Errors++
		rep.Violations++
		log.Error("sweep start failed", "family", it.Family, "error", err.Error())
		return nil
	}
	switch resp.Status {
	case StatusStarted:
		rep.Violations++
		rep.Started++
	case StatusDuplicate:
		rep.Violations++
		rep.Duplicates++
	case StatusCompliant:
		rep.Compliant++
	default:
		rep.Skipped++
	}
	return nil
}

// continueSweep invokes the function again asynchronously with cp.
func (d *Detector) continueSweep(ctx context.Context, log *slog.Logger, req SweepRequest, rep *SweepReport, cp SweepCheckpoint) (Response, error) {
	cp.Invocation = req.Checkpoint.Invocation + 1
	rep.Checkpoint = &cp
	d.sweepMetrics(rep)
	if d.Invoker == nil || d.FunctionName == "" {
		log.Error("sweep out of time and cannot continue itself (no function name)", "checkpoint", cp)
		return Response{Status: StatusSweep, Sweep: rep}, nil
	}
	next := req
	next.Checkpoint = cp
	payload, err := json.Marshal(map[string]SweepRequest{"sweep": next})
	if err != nil {
		return Response{}, fmt.Errorf("marshal sweep continuation: %w", err)
	}
	if _, err := d.Invoker.Invoke(ctx, &lambda.InvokeInput{
		FunctionName:   aws.String(d.FunctionName),
		InvocationType: lambdatypes.InvocationTypeEvent,
		Payload:        payload,
	}); err != nil {
		// Returning the error makes Lambda retry this invocation, which
		// resumes from the same checkpoint as the request it was given.
		return Response{}, workflow.Classify(fmt.Errorf("continue sweep: %w", err))
	}
	rep.Continued = true
	log.Info("sweep continued", "checkpoint", cp, "evaluated", rep.Evaluated, "started", rep.Started)
	return Response{Status: StatusSweep, Sweep: rep}, nil
}

func (d *Detector) sweepMetrics(rep *SweepReport) {
	d.Metrics.Count(map[string]string{"Mode": "sweep"}, map[string]int{
		MetricEvaluated:         rep.Evaluated,
		config.MetricDetections: rep.Violations,
		MetricStarted:           rep.Started,
		MetricDuplicates:        rep.Duplicates,
		MetricCompliant:         rep.Compliant,
		MetricErrors:            rep.Errors,
	})
}
