// Package history is ecslogfix's durable record of what it decided: one
// versioned JSON line per decision, appended to S3 under
// PREFIX/v1/account=…/region=…/date=…/ (partitions Athena projects, see
// docs/history.md), and the current state per (account, region, family)
// in a DynamoDB table, from which Security Hub findings and the report's
// "still not compliant" are derived.
//
// A Record is built only from types that are redacted by construction
// (the plan, the workflow contract) and from free text passed through the
// notifications' own rules (message.SafeText, message.SafeCause): nothing
// from container environments, secrets or CloudTrail bodies reaches it.
package history

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"strings"
	"time"

	"github.com/ecslogfix/ecslogfix/internal/message"
	"github.com/ecslogfix/ecslogfix/internal/plan"
	"github.com/ecslogfix/ecslogfix/internal/policy/exemption"
	"github.com/ecslogfix/ecslogfix/internal/taskdef"
	"github.com/ecslogfix/ecslogfix/internal/workflow"
)

// Schema names the record format. A change that breaks a reader gets a new
// version, and a new S3 prefix (v2/).
const Schema = "ecslogfix.history/v1"

// Decision is what ecslogfix decided about one revision. The strings are
// part of the stored format: never rename one.
type Decision string

// Decisions.
const (
	DecisionCompliant       Decision = "COMPLIANT"         // compliant as read (detect, the sweep, the workflow)
	DecisionExempt          Decision = "EXEMPT"            // not compliant, but exempt (tag or register)
	DecisionRemediated      Decision = "REMEDIATED"        // ecslogfix's compliant revision is the family's latest
	DecisionLogGroupCreated Decision = "LOG_GROUP_CREATED" // a log group the fix writes to was created
	DecisionRolledOut       Decision = "ROLLED_OUT"        // services were moved to the compliant revision
	DecisionBlocked         Decision = "BLOCKED"           // the fix cannot be applied safely
	DecisionNeedsHuman      Decision = "NEEDS_HUMAN"       // nothing ecslogfix may change (e.g. FireLens)
	DecisionReportOnly      Decision = "REPORT_ONLY"       // report mode: not compliant, nothing changed
	DecisionFailed          Decision = "FAILED"            // a workflow step failed after its retries
	DecisionBackedOut       Decision = "BACKED_OUT"        // a remediation was undone; exempt until a date
	DecisionSuperseded      Decision = "SUPERSEDED"        // a newer revision exists; its own decision covers the family
	DecisionInactive        Decision = "INACTIVE"          // the revision was deregistered
	DecisionSwept           Decision = "SWEPT"             // a sweep covered an account and region
)

// Triggers besides workflow.Trigger's.
const TriggerBackout = "backout"

// Record is one decision. Field names are the stored format.
type Record struct {
	Schema   string           `json:"schema"`
	ID       string           `json:"id"` // the same for a retried write of the same decision
	Time     time.Time        `json:"time"`
	Decision Decision         `json:"decision"`
	Outcome  workflow.Outcome `json:"outcome,omitempty"` // the workflow's, when it decided
	Account  string           `json:"account"`
	Region   string           `json:"region"`
	Family   string           `json:"family,omitempty"`
	Revision int32            `json:"revision,omitempty"`
	// TaskDefinitionARN is the revision decided on; NewARN the one
	// ecslogfix registered.
	TaskDefinitionARN string `json:"taskDefinitionArn,omitempty"`
	NewARN            string `json:"newArn,omitempty"`
	Trigger           string `json:"trigger,omitempty"` // event, sweep, cli, backout
	EventID           string `json:"eventId,omitempty"`
	SweepID           string `json:"sweepId,omitempty"`
	ExecutionARN      string `json:"executionArn,omitempty"`
	// Actor is who ran the CLI (its caller ARN); RegisteredBy who
	// registered the revision.
	Actor        string     `json:"actor,omitempty"`
	RegisteredBy string     `json:"registeredBy,omitempty"`
	RegisteredAt *time.Time `json:"registeredAt,omitempty"`
	Detail       string     `json:"detail,omitempty"`
	// Findings are the open reasons per container; Exempted the ones an
	// exemption covers.
	Findings       []plan.Finding       `json:"findings,omitempty"`
	Exempted       []plan.Finding       `json:"exempted,omitempty"`
	Exemption      *exemption.Exemption `json:"exemption,omitempty"`
	ExemptionNotes []exemption.Note     `json:"exemptionNotes,omitempty"`
	// Fixes are the logging settings that make each container compliant
	// (the plan's, redacted): the remediation text of a finding.
	Fixes    []Fix                    `json:"fixes,omitempty"`
	Blockers []plan.Blocker           `json:"blockers,omitempty"`
	LogGroup *workflow.LogGroupResult `json:"logGroup,omitempty"` // LOG_GROUP_CREATED
	Failure  *Failure                 `json:"failure,omitempty"`  // FAILED
	Swept    *Swept                   `json:"swept,omitempty"`    // SWEPT
}

// Fix is one container's compliant logging settings.
type Fix struct {
	Container string            `json:"container"`
	After     *plan.LogSettings `json:"after"`
}

// Failure says which workflow state failed and why (sanitised as in the
// notification).
type Failure struct {
	State string `json:"state"`
	Error string `json:"error"`
	Cause string `json:"cause,omitempty"`
}

// Swept is what one sweep found in one account and region.
type Swept struct {
	Evaluated  int `json:"evaluated"`
	Compliant  int `json:"compliant"`
	Violations int `json:"violations"`
	Skipped    int `json:"skipped"`
	Errors     int `json:"errors"`
}

// Recorder appends records to the history: the one writer detect, the
// sweep, notify and the CLI take.
type Recorder interface {
	Record(ctx context.Context, recs ...Record) error
}

// Meta is what a shell knows about a decision besides the plan.
type Meta struct {
	Time         time.Time
	Trigger      string
	EventID      string
	SweepID      string
	Actor        string
	RegisteredBy string
	RegisteredAt *time.Time
}

// FromPlan is the record of a decision taken on a plan without the
// workflow: compliant or exempt (detect, the sweep, the CLI), or not
// compliant and left as it is (the CLI's dry run: REPORT_ONLY).
func FromPlan(p plan.Plan, m Meta) Record {
	r := Record{
		Decision: DecisionCompliant, Account: p.Context.Account, Region: p.Context.Region, Family: p.Family,
		Revision: p.Revision, TaskDefinitionARN: p.SourceARN,
		Exemption: p.Exemption, ExemptionNotes: p.ExemptionNotes,
	}
	if p.Verdict() == plan.VerdictExempt {
		r.Decision = DecisionExempt
		r.Exempted = p.Exempted()
	} else {
		r.Findings = p.Findings()
		if len(r.Findings) > 0 {
			r.Decision = DecisionReportOnly // the CLI's dry run (detect and the sweep start the workflow instead)
		}
		if ex := p.Exempted(); len(ex) > 0 {
			r.Exempted = ex
		}
	}
	return finish(r, m)
}

// FromResult is the records of a workflow outcome: the decision, and one
// LOG_GROUP_CREATED record per log group the execution created.
func FromResult(res workflow.Result, executionARN string, now time.Time) []Record {
	r := Record{
		Outcome: res.Outcome, Account: res.Target.Account, Region: res.Target.Region, Family: res.Family,
		TaskDefinitionARN: res.SourceARN, NewARN: res.NewARN, Trigger: string(res.Trigger), EventID: res.EventID,
		ExecutionARN: cmp.Or(executionARN, res.ExecutionARN), Detail: message.SafeText(res.Detail), RegisteredAt: res.RegisteredAt,
	}
	r.Revision = revisionOf(res.SourceARN)
	if res.Principal != nil {
		r.RegisteredBy = cmp.Or(res.Principal.RoleARN, res.Principal.ARN)
	}
	r.Decision = decisionOf(res.Outcome)
	if p := res.Plan; p != nil {
		r.Findings, r.Exempted, r.Blockers = p.Findings(), p.Exempted(), p.Blockers
		r.Exemption, r.ExemptionNotes = p.Exemption, p.ExemptionNotes
		if len(r.Exempted) == 0 {
			r.Exempted = nil
		}
		for _, c := range p.Containers {
			if c.After != nil {
				r.Fixes = append(r.Fixes, Fix{Container: c.Name, After: c.After})
			}
		}
	}
	if r.Decision == DecisionRemediated {
		r.Findings, r.Fixes = nil, nil // fixed: the reasons are closed
	}
	m := Meta{Time: now, Trigger: r.Trigger, EventID: r.EventID}
	out := []Record{finish(r, m)}
	for _, g := range res.LogGroups {
		if !g.Created {
			continue
		}
		lg := r
		lg.Decision, lg.Outcome, lg.Detail, lg.Fixes, lg.Findings, lg.Exempted, lg.Blockers = DecisionLogGroupCreated, "", "", nil, nil, nil, nil
		lg.Exemption, lg.ExemptionNotes = nil, nil
		lg.LogGroup = &g
		out = append(out, finish(lg, m))
	}
	return out
}

// FromFailure is the record of a failed execution.
func FromFailure(f workflow.Failure, now time.Time) Record {
	in := f.Input.Input
	r := Record{
		Decision: DecisionFailed, Outcome: workflow.OutcomeFailed, Account: in.Target.Account, Region: in.Target.Region,
		Family: in.Family, Revision: in.Revision, TaskDefinitionARN: in.TaskDefinitionARN, Trigger: string(in.Trigger),
		EventID: in.EventID, ExecutionARN: f.ExecutionARN, RegisteredAt: in.RegisteredAt, Findings: in.Reasons,
		Failure: &Failure{State: f.State, Error: message.SafeText(f.Error), Cause: message.SafeCause(f.Cause)},
	}
	if in.Principal != nil {
		r.RegisteredBy = cmp.Or(in.Principal.RoleARN, in.Principal.ARN)
	}
	return finish(r, Meta{Time: now, Trigger: r.Trigger, EventID: r.EventID})
}

// BackedOut is the record of a backout: the revision ecslogfix had
// registered is withdrawn, and the source, the family's latest again, is
// exempt until the date the backout set.
func BackedOut(account, region, family, sourceARN, withdrawnARN, until string, findings []plan.Finding, m Meta) Record {
	r := Record{
		Decision: DecisionBackedOut, Account: account, Region: region, Family: family, Revision: revisionOf(sourceARN),
		TaskDefinitionARN: sourceARN, NewARN: withdrawnARN, Exempted: findings,
		Exemption: &exemption.Exemption{Source: exemption.SourceTag, Until: until, Reason: "backed out", Approver: m.Actor},
		Detail:    "the remediation " + withdrawnARN + " was backed out; the family is exempt until " + until,
	}
	m.Trigger = TriggerBackout
	return finish(r, m)
}

// SweptTarget is the record of one sweep's pass over one account and
// region.
func SweptTarget(account, region string, s Swept, m Meta) Record {
	m.Trigger = string(workflow.TriggerSweep)
	return finish(Record{Decision: DecisionSwept, Account: account, Region: region, Swept: &s}, m)
}

func decisionOf(o workflow.Outcome) Decision {
	switch o {
	case workflow.OutcomeRemediated, workflow.OutcomeAlreadyRemediated:
		return DecisionRemediated
	case workflow.OutcomeReportOnly:
		return DecisionReportOnly
	case workflow.OutcomeBlocked:
		return DecisionBlocked
	case workflow.OutcomeNeedsHuman, workflow.OutcomePartlyRemediated:
		return DecisionNeedsHuman
	case workflow.OutcomeAlreadyCompliant:
		return DecisionCompliant
	case workflow.OutcomeSuperseded:
		return DecisionSuperseded
	case workflow.OutcomeInactive:
		return DecisionInactive
	case workflow.OutcomeExempt:
		return DecisionExempt
	}
	return DecisionFailed
}

// finish sets the schema, the time, the meta fields and the ID: a hash of
// what identifies the decision (not its time), so a retried write of the
// same decision has the same ID and S3 key.
func finish(r Record, m Meta) Record {
	r.Schema = Schema
	r.Time = m.Time.UTC()
	r.Trigger = cmp.Or(r.Trigger, m.Trigger)
	r.EventID = cmp.Or(r.EventID, m.EventID)
	r.SweepID = cmp.Or(r.SweepID, m.SweepID)
	r.Actor = cmp.Or(r.Actor, m.Actor)
	r.RegisteredBy = cmp.Or(r.RegisteredBy, m.RegisteredBy)
	if r.RegisteredAt == nil {
		r.RegisteredAt = m.RegisteredAt
	}
	origin := cmp.Or(r.ExecutionARN, r.EventID, r.SweepID)
	if origin == "" {
		origin = r.Time.Format(time.RFC3339Nano) // the CLI: each run is its own decision
	}
	key := []string{string(r.Decision), r.Account, r.Region, r.Family, strconv.Itoa(int(r.Revision)), origin}
	if r.LogGroup != nil {
		key = append(key, r.LogGroup.Region, r.LogGroup.Name)
	}
	sum := sha256.Sum256([]byte(strings.Join(key, "\x00")))
	r.ID = hex.EncodeToString(sum[:10])
	return r
}

// revisionOf is the revision an ARN names (0 when it names none).
func revisionOf(arn string) int32 {
	a, err := taskdef.ParseARN(arn)
	if err != nil {
		return 0
	}
	return a.Revision
}
