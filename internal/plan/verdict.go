package plan

import (
	"github.com/ecslogfix/ecslogfix/internal/policy/reason"
)

// The one vocabulary before anything is applied: a plan's verdict on its
// source, the remedy applying it takes, and the reasons per container. The
// CLI prints them, detect and the sweep decide with them, and reconcile
// maps them to outcomes; none of them evaluates the policy again.

// Verdict is the plan's judgement of the source revision.
type Verdict string

// Verdicts.
const (
	VerdictCompliant    Verdict = "COMPLIANT"
	VerdictNonCompliant Verdict = "NON_COMPLIANT"
	VerdictExempt       Verdict = "EXEMPT" // not compliant, but the exemption tag is set
	// VerdictUnresolved is check's verdict on a definition whose logging
	// depends on a value known only at deploy time (a template's
	// intrinsic, a plan's "known after apply"); Plan.Verdict never gives it.
	VerdictUnresolved Verdict = "UNRESOLVED"
)

// Verdict returns the plan's verdict on its source.
func (p Plan) Verdict() Verdict {
	switch {
	case p.Compliant:
		return VerdictCompliant
	case p.Exempt:
		return VerdictExempt
	}
	return VerdictNonCompliant
}

// Remedy is what applying the plan does.
type Remedy string

// Remedies.
const (
	RemedyNone         Remedy = "NONE"              // compliant or exempt: nothing to do
	RemedyRegister     Remedy = "REGISTER"          // a compliant revision is registered
	RemedyCreateGroups Remedy = "CREATE_LOG_GROUPS" // only log groups are missing: they are created, no new revision
	RemedyBlocked      Remedy = "BLOCKED"           // the plan has blockers: a human must act
	RemedyReport       Remedy = "REPORT"            // not compliant, nothing ecslogfix may change (e.g. FireLens, a group it may not create)
)

// Remedy returns what applying the plan does.
func (p Plan) Remedy() Remedy {
	switch {
	case p.Compliant || p.Exempt:
		return RemedyNone
	case p.Blocked():
		return RemedyBlocked
	case len(p.Uncreatable()) > 0:
		return RemedyReport
	case p.NeedsChange():
		return RemedyRegister
	case p.Changed == nil && p.onlyMissingGroups():
		return RemedyCreateGroups
	}
	return RemedyReport
}

// Unfixed names the containers the plan leaves for a human (REPORT, not
// exempt), in order: a revision it registers is not compliant while any
// is left.
func (p Plan) Unfixed() []string {
	var out []string
	for _, c := range p.Containers {
		if c.Action == ActionReport && !c.Exempt {
			out = append(out, c.Name)
		}
	}
	return out
}

// Uncreatable lists the groups the plan's revision needs that were
// observed missing and that ecslogfix may not create (outside the
// policy's logGroupPatterns), unless the driver creates them: registering
// that revision, or calling the source fixed, would leave a container
// that cannot log.
func (p Plan) Uncreatable() []LogGroup {
	var out []LogGroup
	for _, g := range p.LogGroups {
		if g.Missing() && g.OutsidePatterns && !g.DriverCreates {
			out = append(out, g)
		}
	}
	return out
}

// Missing lists the groups observed missing, in the order of LogGroups.
func (p Plan) Missing() []LogGroup {
	var out []LogGroup
	for _, g := range p.LogGroups {
		if g.Missing() {
			out = append(out, g)
		}
	}
	return out
}

// onlyMissingGroups reports whether every non-compliant container is so
// only because its log group is missing.
func (p Plan) onlyMissingGroups() bool {
	found := false
	for _, c := range p.Containers {
		for _, r := range c.Reasons {
			if r != reason.LogGroupMissing {
				return false
			}
			found = true
		}
	}
	return found
}

// Finding names the reasons one container is not compliant.
type Finding struct {
	Container string        `json:"container"`
	Reasons   []reason.Code `json:"reasons"`
}

// Findings lists the non-compliant containers, in order, with their
// reasons (an exempt plan keeps its findings; in a plan that is not exempt,
// the containers a register entry exempts are left out: see Exempted).
func (p Plan) Findings() []Finding {
	out := []Finding{}
	for _, c := range p.Containers {
		if len(c.Reasons) > 0 && (p.Exempt || !c.Exempt) {
			out = append(out, Finding{Container: c.Name, Reasons: c.Reasons})
		}
	}
	return out
}

// Exempted lists the findings an exemption covers: every finding of an
// exempt plan, else those of the containers register entries exempt.
func (p Plan) Exempted() []Finding {
	out := []Finding{}
	for _, c := range p.Containers {
		if len(c.Reasons) > 0 && (p.Exempt || c.Exempt) {
			out = append(out, Finding{Container: c.Name, Reasons: c.Reasons})
		}
	}
	return out
}

// ReasonCodes lists the distinct reason codes of the plan, in order of
// first appearance (for log lines and metrics).
func (p Plan) ReasonCodes() []string {
	var out []string
	seen := map[reason.Code]bool{}
	for _, c := range p.Containers {
		for _, r := range c.Reasons {
			if !seen[r] {
				seen[r] = true
				out = append(out, string(r))
			}
		}
	}
	return out
}
