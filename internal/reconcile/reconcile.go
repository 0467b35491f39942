// Package reconcile holds the whole decision remediate takes after it has
// read ECS and CloudWatch Logs: which content to fix, and whether to
// register (after making every log group of the new revision exist), only
// create the missing log groups of a revision that is otherwise compliant,
// or which outcome ends the step instead — the source is stale or
// inactive, a newer user revision or ecslogfix's own remediation exists,
// the source is exempt, compliant, blocked, needs a human (a group it may
// not create, among others) or is in report mode — and, after registering,
// whether what others registered meanwhile means the new revision must be
// withdrawn. It is pure: the remediate shell observes
// (DescribeTaskDefinition, DescribeLogGroups through loggroup.Observer),
// calls Decide, acts and reports. Every human sentence of an outcome is
// made here.
package reconcile

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ecslogfix/ecslogfix/internal/plan"
	"github.com/ecslogfix/ecslogfix/internal/policy"
	"github.com/ecslogfix/ecslogfix/internal/policy/awslogs"
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

// registeredBy reports whether this remediation (token) registered the
// revision: ecslogfix's fix of source carrying the token.
func (r *Revision) registeredBy(source int32, token string) bool {
	from, ours := r.SourceOf()
	return ours && from == source && token != "" && taskdef.ExecutionToken(r.Tags) == token
}

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
	// Facts are the log groups (and the account's log driver mode) as read
	// for this decision, or as an earlier step of this execution left them;
	// GroupsToObserve says what they must cover.
	Facts awslogs.Facts
	// Created are the groups an earlier step of this execution created.
	Created []awslogs.GroupRef
	// Token names this remediation (workflow.Input.ExecutionToken); a
	// revision carrying it is this remediation's own, registered by an
	// attempt whose response was lost.
	Token string
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
	// Ours of older content: the source is the newest user content; this
	// remediation's own revision: the source says what it fixed.
	return ours && from < o.Source.Revision || o.Latest.registeredBy(o.Source.Revision, o.Token)
}

// Act is what the shell does after Decide.
type Act int

// Acts.
const (
	ActNone         Act = iota // the outcome ends the step
	ActRegister                // apply Decision.Plan.LogGroups, then register Decision.Plan.Changed
	ActCreateGroups            // apply Decision.Plan.LogGroups: the source is then compliant (LOG_GROUP_CREATED)
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
	// Registered is the revision an earlier attempt of this remediation
	// registered, its response lost (Outcome REMEDIATED, Act ActNone): the
	// shell reports it as its own and checks it was not overtaken.
	Registered string
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
//   - It is newer and this remediation's own revision (it carries
//     Observation.Token; an earlier attempt's response was lost):
//     REMEDIATED with that revision, nothing registered again.
//   - It is newer and ecslogfix's remediation of this source:
//     ALREADY_REMEDIATED; of a newer source, or anyone's newer revision:
//     SUPERSEDED (its own event covers it); of an older source: the source
//     is the newest user content, read by ARN, and fixed.
//   - The source is older than nothing ACTIVE, or cannot be read by ARN,
//     or is not ACTIVE: INACTIVE.
//   - Then, on the source content with the observed facts: exempt →
//     EXEMPT; compliant → ALREADY_COMPLIANT, or LOG_GROUP_CREATED when
//     this execution created the groups that made it so; blocked plan →
//     BLOCKED; a group the revision needs that is missing and outside the
//     policy's logGroupPatterns, or only REPORT actions → NEEDS_HUMAN;
//     report mode → REPORT_ONLY; only groups missing → create them
//     (ActCreateGroups); else make every group of the new revision exist
//     and register it (ActRegister).
func Decide(o Observation, p policy.Policy, c plan.Context) (Decision, error) {
	d, src, err := Content(o)
	if err != nil || src == nil {
		return d, err
	}
	d.Source = src

	pl, err := plan.BuildWith(src.TaskDefinition, src.Tags, p, c, o.Facts)
	if err != nil {
		return Decision{}, &PlanError{Err: err}
	}
	d.Plan = &pl
	if d.Registered != "" {
		o, why := Kept(&pl, Recovered(o.Latest.arn(), o.Source))
		return end(d, o, why), nil
	}
	remedy := pl.Remedy()
	switch {
	case pl.Exempt:
		why := "the source revision carries the exemption tag"
		if pl.Exemption != nil {
			why = pl.Exemption.Sentence()
		}
		return end(d, workflow.OutcomeExempt, why), nil
	case remedy == plan.RemedyNone && len(created(pl, o.Created)) > 0:
		// The plan as it was before this execution created the groups: the
		// notification says what was wrong (LOG_GROUP_MISSING).
		made := created(pl, o.Created)
		before := o.Facts
		before.Groups = maps.Clone(o.Facts.Groups)
		for _, g := range made {
			before.Groups[g] = awslogs.GroupFact{}
		}
		if bp, err := plan.BuildWith(src.TaskDefinition, src.Tags, p, c, before); err == nil {
			d.Plan = &bp
		}
		return end(d, workflow.OutcomeLogGroupCreated, GroupsCreated(made)), nil
	case remedy == plan.RemedyNone:
		return end(d, workflow.OutcomeAlreadyCompliant, "the source revision is compliant when re-read"), nil
	case remedy == plan.RemedyBlocked:
		return end(d, workflow.OutcomeBlocked, "the fix cannot be applied safely: "+pl.Blockers[0].Message), nil
	case len(pl.Uncreatable()) > 0:
		return end(d, workflow.OutcomeNeedsHuman, uncreatable(pl.Uncreatable(), p)), nil
	case remedy == plan.RemedyReport:
		return end(d, workflow.OutcomeNeedsHuman, "no container can be fixed automatically (FireLens, a driver the policy reports, an unknown awslogs option or a delivery mode it refuses); a human must act"), nil
	case o.Enforcement == policy.Report:
		return end(d, workflow.OutcomeReportOnly, "report mode: nothing was changed"), nil
	case remedy == plan.RemedyCreateGroups:
		d.Act = ActCreateGroups
		return d, nil
	}
	d.Act = ActRegister
	return d, nil
}

// Content is the first half of Decide: the revision whose content Decide
// judges (the family's latest ACTIVE revision when it is the source, else
// the source read by ARN), or, when the decision ends before the content
// matters (SUPERSEDED, ALREADY_REMEDIATED, INACTIVE, or this remediation's
// own revision whose source is gone), that decision and no revision. fix's
// dry run asks it, so that it ends where the apply's Register would.
func Content(o Observation) (Decision, *Revision, error) {
	d := Decision{}
	if o.Latest.Found() {
		d.LatestARN = o.Latest.arn()
	}
	switch {
	case o.Latest.Found() && o.Latest.number() == o.Source.Revision:
		return d, o.Latest, nil
	case o.Latest.Found() && o.Latest.number() > o.Source.Revision:
		from, ours := o.Latest.SourceOf()
		rev := o.Latest.number()
		switch {
		case o.Latest.registeredBy(o.Source.Revision, o.Token):
			d.Registered = o.Latest.arn()
			if o.ByARN == nil {
				return Decision{}, nil, ErrNotObserved
			}
			if o.ByARN.Found() {
				return d, o.ByARN, nil
			}
			// The source is gone since; the revision is still this
			// remediation's.
			return end(d, workflow.OutcomeRemediated, Recovered(o.Latest.arn(), o.Source)), nil, nil
		case ours && from == o.Source.Revision:
			return end(d, workflow.OutcomeAlreadyRemediated, fmt.Sprintf("%s:%d already is ecslogfix's remediation of this revision", o.Source.Family, rev)), nil, nil
		case ours && from > o.Source.Revision:
			return end(d, workflow.OutcomeSuperseded, fmt.Sprintf("%s:%d is ecslogfix's remediation of the newer revision %d", o.Source.Family, rev, from)), nil, nil
		case !ours:
			return end(d, workflow.OutcomeSuperseded, fmt.Sprintf("a newer revision %s:%d exists; its own event covers it", o.Source.Family, rev)), nil, nil
		}
	}
	// The source is not the latest: ours of older content above it, or
	// nothing ACTIVE at or above it.
	if o.ByARN == nil {
		return Decision{}, nil, ErrNotObserved
	}
	switch {
	case o.ByARN.TaskDefinition == nil:
		return end(d, workflow.OutcomeInactive, "the source revision can no longer be described (deregistered or deleted)"), nil, nil
	case !o.ByARN.Found():
		return end(d, workflow.OutcomeInactive, "the source revision was deregistered"), nil, nil
	}
	return d, o.ByARN, nil
}

// GroupsToObserve returns the log groups Decide needs read that o.Facts
// lacks — the groups of the revision the act would lead to — and whether
// it needs the account's log driver mode (the shell's observer reads that
// once per run). No groups when the decision ends before the content
// matters, or when the content is exempt, blocked or a human's job
// whatever the groups.
func GroupsToObserve(o Observation, p policy.Policy, c plan.Context) ([]awslogs.GroupRef, bool, error) {
	d, src, err := Content(o)
	if err != nil || src == nil || d.Registered != "" {
		return nil, false, err
	}
	mode := p.NeedsLogDriverMode(src.TaskDefinition)
	pl, err := plan.BuildWith(src.TaskDefinition, src.Tags, p, c, o.Facts)
	if err != nil {
		return nil, false, &PlanError{Err: err}
	}
	switch r := pl.Remedy(); {
	case pl.Exempt, r == plan.RemedyBlocked:
		return nil, false, nil
	case r == plan.RemedyReport && !mode && len(pl.Uncreatable()) == 0:
		// A human's job whatever the groups; with the mode unread, a
		// refused mode the fix would add could still make it fixable.
		return nil, false, nil
	}
	var refs []awslogs.GroupRef
	for _, g := range pl.LogGroups {
		if _, seen := o.Facts.Groups[g.Ref()]; !seen {
			refs = append(refs, g.Ref())
		}
	}
	return refs, mode, nil
}

// created lists the plan's groups an earlier step of this execution
// created.
func created(pl plan.Plan, refs []awslogs.GroupRef) []awslogs.GroupRef {
	var out []awslogs.GroupRef
	for _, g := range pl.LogGroups {
		if slices.Contains(refs, g.Ref()) {
			out = append(out, g.Ref())
		}
	}
	return out
}

// GroupsCreated is the sentence of LOG_GROUP_CREATED.
func GroupsCreated(refs []awslogs.GroupRef) string {
	names := make([]string, len(refs))
	for i, r := range refs {
		names[i] = fmt.Sprintf("%s (%s)", r.Name, r.Region)
	}
	return "the source revision was compliant except that its log groups did not exist; created " + strings.Join(names, ", ") + "; no new revision was registered"
}

// uncreatable is the sentence of NEEDS_HUMAN for missing groups ecslogfix
// may not create.
func uncreatable(gs []plan.LogGroup, p policy.Policy) string {
	names := make([]string, len(gs))
	for i, g := range gs {
		names[i] = fmt.Sprintf("%s (%s)", g.Name, g.Region)
	}
	return fmt.Sprintf("log group %s does not exist and is outside the log group names ecslogfix may create (logGroupPatterns %s); create it, or allow its name in the policy; nothing was created or registered",
		strings.Join(names, ", "), strings.Join(p.GroupPatterns(), " "))
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

// Recovered is the sentence of a remediation whose registration's response
// was lost: its revision is found and reported.
func Recovered(arn string, source taskdef.ARN) string {
	return fmt.Sprintf("registered %s from %s:%d (found by its execution tag: an earlier attempt's response was lost)", arn, source.Family, source.Revision)
}

// Kept is the outcome of keeping a revision registered from pl, and its
// detail: REMEDIATED, or PARTLY_REMEDIATED with the containers still
// needing a human named after detail (a registration never makes those
// compliant, so calling it REMEDIATED would be untrue).
func Kept(pl *plan.Plan, detail string) (workflow.Outcome, string) {
	if pl == nil {
		return workflow.OutcomeRemediated, detail
	}
	if left := pl.Unfixed(); len(left) > 0 {
		return workflow.OutcomePartlyRemediated, fmt.Sprintf("%s; still not compliant: a human must change %s", detail, strings.Join(left, ", "))
	}
	return workflow.OutcomeRemediated, detail
}

// Duplicates is the sentence added when this remediation withdrew its own
// duplicate registrations (KeepFirst).
func Duplicates(arns []taskdef.ARN) string {
	names := make([]string, len(arns))
	for i, a := range arns {
		names[i] = a.String()
	}
	return fmt.Sprintf("; its duplicate registration %s (another attempt of this remediation, whose response was lost or which committed late) was deregistered", strings.Join(names, ", "))
}

// KeepFirst chooses which of this remediation's registrations of one
// source stays — ours and its own found between the latest observed and
// ours (Overtake.Own) — when nothing overtook them: the lowest revision,
// the first ECS committed. Revision numbers only grow, so a registration
// that commits later (the SDK's retry after a lost response, an attempt
// that timed out but still commits, another invocation of the same
// execution) is numbered above it and cannot change the choice: every
// attempt that looks keeps the same revision, and whichever attempt's
// result the workflow takes names it (docs/reliability.md). The others
// are duplicates, to deregister.
func KeepFirst(ours taskdef.ARN, own []taskdef.ARN) (keep taskdef.ARN, duplicates []taskdef.ARN) {
	keep = ours
	for _, a := range own {
		if a.Revision < keep.Revision {
			keep = a
		}
	}
	for _, a := range append([]taskdef.ARN{ours}, own...) {
		if a != keep {
			duplicates = append(duplicates, a)
		}
	}
	return keep, duplicates
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
	// Own is true when the revision is another registration of this
	// remediation (an attempt whose response was lost, or a racing one):
	// withdrawn with ours when newer content overtook them, else KeepFirst
	// chooses which stays; look at the next older one.
	Own     bool
	Outcome workflow.Outcome // when Withdraw
	Detail  string
}

// KeepsOwnBelow reports whether o, the verdict of the revision that
// withdrew ours, leaves this remediation's registrations below that
// revision to KeepFirst instead of withdrawing them with ours; below are
// the verdicts of the revisions read below it, newest first. Newer
// content (SUPERSEDED) overtakes them all. Another execution's fix of the
// same source (ALREADY_REMEDIATED) does not when this remediation's own
// lowest registration is below every other fix of the source: that one
// was committed first, and the other executions, finding it below their
// own, withdraw theirs — withdrawing it too would leave the source
// unremediated.
func KeepsOwnBelow(o Overtake, below []Overtake) bool {
	if !otherFix(o) {
		return false
	}
	first := false // whether the lowest fix of the source so far is this remediation's
	for _, b := range below {
		switch {
		case b.Own:
			first = true
		case otherFix(b):
			first = false
		}
	}
	return first
}

// otherFix reports whether a verdict is that of another execution's fix of
// the same source.
func otherFix(o Overtake) bool {
	return o.Withdraw && o.Outcome == workflow.OutcomeAlreadyRemediated
}

// JudgedAbove returns the revision above which Overtaken judges what came
// between: the family's latest ACTIVE revision observed before registering
// (latestARN), and never less than the source, because neither the source
// nor older content can overtake it. The latest is not always observed
// ACTIVE: a family read that answers a withdrawn revision (moto answers its
// newest revision of any status, AWS the latest ACTIVE one;
// docs/reliability.md) leaves latestARN empty.
func JudgedAbove(source taskdef.ARN, latestARN string) int32 {
	latest, err := taskdef.ParseARN(latestARN)
	if err != nil || latest.Family != source.Family {
		return source.Revision
	}
	return max(latest.Revision, source.Revision)
}

// Overtaken judges one revision between ours and the latest observed
// before registering, newest first. Revision numbers only grow, so when
// ours is latest+1 nobody registered in between and there is nothing to
// judge. Another registration of this remediation (token) is Own. Newer
// user content, or ecslogfix's fix of this or a newer source, means ours
// must not stay on top (SUPERSEDED, or ALREADY_REMEDIATED for a duplicate
// of this fix); ecslogfix's fix of an older source leaves ours in place; a
// revision that is not ACTIVE (or not found) does not count.
func Overtaken(source taskdef.ARN, ours int32, token string, between *Revision) Overtake {
	if !between.Found() {
		return Overtake{}
	}
	if between.number() <= source.Revision {
		return Overtake{Settled: true} // the source itself, or older content: nothing newer came between
	}
	if between.registeredBy(source.Revision, token) {
		return Overtake{Own: true}
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
