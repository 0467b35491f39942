// Package reconcile holds the whole decision remediate takes after it has
// read ECS: which content to fix, and whether to register, or which outcome
// ends the step instead — the source is stale or inactive, a newer user
// revision or ecslogfix's own remediation exists, the source is exempt,
// compliant, blocked, needs a human or is in report mode — and, after
// registering, whether what others registered meanwhile means the new
// revision must be withdrawn. It is pure: the remediate shell observes
// (DescribeTaskDefinition), calls Decide, acts and reports. Every human
// sentence of an outcome is made here.
package reconcile

import (
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ecslogfix/ecslogfix/internal/plan"
	"github.com/ecslogfix/ecslogfix/internal/policy"
	"github.com/ecslogfix/ecslogfix/internal/taskdef"
	"github.com/ecslogfix/ecslogfix/internal/workflow"
)

// Revision is one task definition revision as DescribeTaskDefinition
// returned it, with its tags. A nil TaskDefinition means ECS could not
// describe it (not found).
type Revision struct {
	TaskDefinition *types.TaskDefinition
	Tags           []types.Tag
}

// Found reports whether ECS described the revision and it is ACTIVE.
func (r *Revision) Found() bool {
	return r != nil && r.TaskDefinition != nil && r.TaskDefinition.Status == types.TaskDefinitionStatusActive
}

func (r *Revision) number() int32 { return r.TaskDefinition.Revision }
func (r *Revision) arn() string   { return aws.ToString(r.TaskDefinition.TaskDefinitionArn) }

// SourceOf returns the revision an ecslogfix remediation was built from,
// and whether this revision is one.
func (r *Revision) SourceOf() (int32, bool) { return taskdef.SourceRevision(r.Tags) }

// Observation is what the remediate shell read before deciding.
type Observation struct {
	// Source is the revision the execution is for.
	Source taskdef.ARN
	// Latest is the family's latest ACTIVE revision (DescribeTaskDefinition
	// of the family); not Found when the family has none.
	Latest *Revision
	// ByARN is the source read by its exact ARN, which Decide needs only
	// when NeedsSource says so; nil when not read.
	ByARN *Revision
	// Enforcement is the execution's mode (enforce or report).
	Enforcement policy.Enforcement
}

// NeedsSource reports whether Decide needs the source read by its exact
// ARN: the latest revision is not the source, and is not a newer revision
// that settles the case on its own.
func NeedsSource(o Observation) bool {
	if !o.Latest.Found() || o.Latest.number() < o.Source.Revision {
		return true // deregistered, or the family lost its newer revisions
	}
	if o.Latest.number() == o.Source.Revision {
		return false
	}
	from, ours := o.Latest.SourceOf()
	return ours && from < o.Source.Revision // ours of older content: the source is the newest user content
}

// Act is what the shell does after Decide.
type Act int

// Acts.
const (
	ActNone     Act = iota // the outcome ends the step
	ActRegister            // register Decision.Plan.Changed
)

// Decision is what to do, and why.
type Decision struct {
	Act     Act
	Outcome workflow.Outcome // when Act is ActNone
	Detail  string           // one human sentence on why
	// LatestARN is the family's latest ACTIVE revision as observed.
	LatestARN string
	// Plan is the fix, built from the source content, when the decision
	// got that far; Plan.Changed is what ActRegister registers.
	Plan *plan.Plan
	// Source is the content the plan was built from (its tags are the tags
	// the new revision keeps).
	Source *Revision
}

// ErrNotObserved is returned when Decide needs the source read by ARN and
// the observation lacks it: a bug in the shell, not in the input.
var ErrNotObserved = errors.New("reconcile: the source was not read by its ARN")

// PlanError wraps a plan.Build refusal: the input can never be fixed.
type PlanError struct{ Err error }

func (e *PlanError) Error() string { return "plan: " + e.Err.Error() }
func (e *PlanError) Unwrap() error { return e.Err }

// Decide applies the rules (in this order):
//
//   - The family's latest ACTIVE revision is the source: fix it.
//   - It is newer and ecslogfix's remediation of this source:
//     ALREADY_REMEDIATED; of a newer source, or anyone's newer revision:
//     SUPERSEDED (its own event covers it); of an older source: the source
//     is the newest user content, read by ARN, and fixed.
//   - The source is older than nothing ACTIVE, or cannot be read by ARN,
//     or is not ACTIVE: INACTIVE.
//   - Then, on the source content: exempt → EXEMPT; compliant →
//     ALREADY_COMPLIANT; blocked plan → BLOCKED; only REPORT actions →
//     NEEDS_HUMAN; report mode → REPORT_ONLY; else register the plan.
func Decide(o Observation, p policy.Policy, c plan.Context) (Decision, error) {
	d := Decision{}
	if o.Latest.Found() {
		d.LatestARN = o.Latest.arn()
	}
	var src *Revision
	switch {
	case o.Latest.Found() && o.Latest.number() == o.Source.Revision:
		src = o.Latest
	case o.Latest.Found() && o.Latest.number() > o.Source.Revision:
		from, ours := o.Latest.SourceOf()
		rev := o.Latest.number()
		switch {
		case ours && from == o.Source.Revision:
			return end(d, workflow.OutcomeAlreadyRemediated, fmt.Sprintf("%s:%d already is ecslogfix's remediation of this revision", o.Source.Family, rev)), nil
		case ours && from > o.Source.Revision:
			return end(d, workflow.OutcomeSuperseded, fmt.Sprintf("%s:%d is ecslogfix's remediation of the newer revision %d", o.Source.Family, rev, from)), nil
		case !ours:
			return end(d, workflow.OutcomeSuperseded, fmt.Sprintf("a newer revision %s:%d exists; its own event covers it", o.Source.Family, rev)), nil
		}
		fallthrough // ours of older content
	default:
		if o.ByARN == nil {
			return Decision{}, ErrNotObserved
		}
		switch {
		case o.ByARN.TaskDefinition == nil:
			return end(d, workflow.OutcomeInactive, "the source revision can no longer be described (deregistered or deleted)"), nil
		case !o.ByARN.Found():
			return end(d, workflow.OutcomeInactive, "the source revision was deregistered"), nil
		}
		src = o.ByARN
	}
	d.Source = src

	pl, err := plan.Build(src.TaskDefinition, src.Tags, p, c)
	if err != nil {
		return Decision{}, &PlanError{Err: err}
	}
	d.Plan = &pl
	switch {
	case pl.Exempt:
		why := "the source revision carries the exemption tag"
		if pl.Exemption != nil {
			why = pl.Exemption.Sentence()
		}
		return end(d, workflow.OutcomeExempt, why), nil
	case pl.Compliant:
		return end(d, workflow.OutcomeAlreadyCompliant, "the source revision is compliant when re-read"), nil
	case pl.Blocked():
		return end(d, workflow.OutcomeBlocked, "the fix cannot be applied safely: "+pl.Blockers[0].Message), nil
	case pl.Changed == nil:
		return end(d, workflow.OutcomeNeedsHuman, "no container can be fixed automatically (FireLens or a driver the policy reports); a human must act"), nil
	case o.Enforcement == policy.Report:
		return end(d, workflow.OutcomeReportOnly, "report mode: nothing was changed"), nil
	}
	d.Act = ActRegister
	return d, nil
}

func end(d Decision, o workflow.Outcome, detail string) Decision {
	d.Act, d.Outcome, d.Detail = ActNone, o, detail
	return d
}

// Unbuildable is the decision when the register request cannot be built
// from the plan (for example ECS's tag limit): BLOCKED.
func Unbuildable(d Decision, err error) Decision {
	return end(d, workflow.OutcomeBlocked, "cannot build the register request: "+err.Error())
}

// Registered is the sentence of a remediation that stays.
func Registered(family string, ours, source int32) string {
	return fmt.Sprintf("registered %s:%d from %s:%d", family, ours, family, source)
}

// Overtake is what the post-register rule says about one revision that
// came between the family's latest when read and ecslogfix's new one.
type Overtake struct {
	// Withdraw is true when ecslogfix's new revision must be deregistered.
	Withdraw bool
	// Settled is true when this revision decides (keep or withdraw); false
	// means look at the next older one.
	Settled bool
	Outcome workflow.Outcome // when Withdraw
	Detail  string
}

// Overtaken judges one revision between ours and the latest observed
// before registering, newest first. Revision numbers only grow, so when
// ours is latest+1 nobody registered in between and there is nothing to
// judge. Newer user content, or ecslogfix's fix of this or a newer source,
// means ours must not stay on top (SUPERSEDED, or ALREADY_REMEDIATED for a
// duplicate of this fix); ecslogfix's fix of an older source leaves ours in
// place; a revision that is not ACTIVE (or not found) does not count.
func Overtaken(source taskdef.ARN, ours int32, between *Revision) Overtake {
	if !between.Found() {
		return Overtake{}
	}
	from, isOurs := between.SourceOf()
	if isOurs && from < source.Revision {
		return Overtake{Settled: true} // ecslogfix's fix of older content: ours is newer
	}
	mine := source
	mine.Revision = ours
	other := between.arn()
	if isOurs && from == source.Revision {
		return Overtake{Settled: true, Withdraw: true, Outcome: workflow.OutcomeAlreadyRemediated,
			Detail: fmt.Sprintf("%s was registered from %s:%d by another execution while this one worked; the duplicate %s was deregistered", other, source.Family, source.Revision, mine)}
	}
	return Overtake{Settled: true, Withdraw: true, Outcome: workflow.OutcomeSuperseded,
		Detail: fmt.Sprintf("newer content (%s) was registered while this execution worked; its fix of %s:%d (%s) was deregistered so it does not replace newer content", other, source.Family, source.Revision, mine)}
}
