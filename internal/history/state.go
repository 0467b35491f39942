package history

import (
	"slices"
	"time"

	"github.com/ecslogfix/ecslogfix/internal/plan"
	"github.com/ecslogfix/ecslogfix/internal/policy/exemption"
	"github.com/ecslogfix/ecslogfix/internal/policy/reason"
)

// State is a family's standing after its latest decision.
type State string

// States.
const (
	StateCompliant    State = "COMPLIANT"     // compliant as registered
	StateRemediated   State = "REMEDIATED"    // compliant through ecslogfix's revision
	StateExempt       State = "EXEMPT"        // not compliant, exempt
	StateNonCompliant State = "NON_COMPLIANT" // blocked, needs a human, report mode, or a failed workflow
	StateBackedOut    State = "BACKED_OUT"    // a remediation was undone: exempt until a date
)

// StateOf is the family state a decision leaves; false for decisions that
// leave it as it was (a log group created, a newer revision, a
// deregistered one, a sweep's pass).
func StateOf(d Decision) (State, bool) {
	switch d {
	case DecisionCompliant:
		return StateCompliant, true
	case DecisionRemediated, DecisionRolledOut:
		return StateRemediated, true
	case DecisionExempt:
		return StateExempt, true
	case DecisionBlocked, DecisionNeedsHuman, DecisionReportOnly, DecisionFailed:
		return StateNonCompliant, true
	case DecisionBackedOut:
		return StateBackedOut, true
	}
	return "", false
}

// Compliant reports whether the state counts as compliant.
func (s State) Compliant() bool { return s == StateCompliant || s == StateRemediated }

// Item is the current state of one family (the DynamoDB table's item).
type Item struct {
	Account  string   `json:"account"`
	Region   string   `json:"region"`
	Family   string   `json:"family"`
	State    State    `json:"state"`
	Decision Decision `json:"decision"`
	// Revision is the family's latest revision as decided: ecslogfix's own
	// after a remediation.
	Revision          int32  `json:"revision"`
	TaskDefinitionARN string `json:"taskDefinitionArn"`
	// Reasons are the open reason codes; Exempted the exempt ones.
	Reasons  []reason.Code `json:"reasons,omitempty"`
	Exempted []reason.Code `json:"exempted,omitempty"`
	// ExemptUntil and ExemptBy describe the exemption ("" until: none
	// set); ExemptBy is "tag" or the register entry's ticket.
	ExemptUntil string `json:"exemptUntil,omitempty"`
	ExemptBy    string `json:"exemptBy,omitempty"`
	// Fixes are the compliant settings of the open reasons' containers.
	Fixes []Fix `json:"fixes,omitempty"`
	// UpdatedAt is the latest decision's time, ChangedAt when the state
	// last changed, Since when the family last stopped being compliant.
	UpdatedAt time.Time  `json:"updatedAt"`
	ChangedAt time.Time  `json:"changedAt"`
	Since     *time.Time `json:"since,omitempty"`
	RecordID  string     `json:"recordId"`
	SweepID   string     `json:"sweepId,omitempty"`
}

// Next is the item after rec, given the item before it (nil: the family
// has none), and whether rec changes it. A record older than the item's
// latest decision changes nothing (deliveries arrive out of order); a
// compliant reading of the revision ecslogfix registered keeps the family
// REMEDIATED.
func Next(before *Item, rec Record) (Item, bool) {
	state, ok := StateOf(rec.Decision)
	if !ok || rec.Family == "" {
		if before == nil {
			return Item{}, false
		}
		return *before, false
	}
	if before != nil && rec.Time.Before(before.UpdatedAt) {
		return *before, false
	}
	it := Item{
		Account: rec.Account, Region: rec.Region, Family: rec.Family, State: state, Decision: rec.Decision,
		Revision: rec.Revision, TaskDefinitionARN: rec.TaskDefinitionARN,
		Reasons: codes(rec.Findings), Exempted: codes(rec.Exempted), Fixes: rec.Fixes,
		UpdatedAt: rec.Time, ChangedAt: rec.Time, RecordID: rec.ID, SweepID: rec.SweepID,
	}
	if rec.NewARN != "" && rec.Decision == DecisionRemediated {
		it.TaskDefinitionARN, it.Revision = rec.NewARN, revisionOf(rec.NewARN)
	}
	if before != nil && before.State == StateRemediated && state == StateCompliant && before.Revision == rec.Revision {
		it.State = StateRemediated // the sweep reading ecslogfix's own revision
	}
	if e := rec.Exemption; e != nil && (state == StateExempt || state == StateBackedOut) {
		it.ExemptUntil, it.ExemptBy = e.Until, e.Source
		if e.Source == exemption.SourceRegister {
			it.ExemptBy = e.Ticket
		}
	}
	if !it.State.Compliant() {
		since := rec.Time
		if before != nil && !before.State.Compliant() && before.Since != nil {
			since = *before.Since
		}
		it.Since = &since
	}
	if before != nil && before.State == it.State {
		it.ChangedAt = before.ChangedAt
	}
	changed := before == nil || before.State != it.State || before.Revision != it.Revision ||
		!slices.Equal(before.Reasons, it.Reasons) || !slices.Equal(before.Exempted, it.Exempted) ||
		before.ExemptUntil != it.ExemptUntil || before.ExemptBy != it.ExemptBy
	return it, changed
}

// codes lists the distinct reason codes of findings, in order of first
// appearance.
func codes(fs []plan.Finding) []reason.Code {
	var out []reason.Code
	for _, f := range fs {
		for _, r := range f.Reasons {
			if !slices.Contains(out, r) {
				out = append(out, r)
			}
		}
	}
	return out
}

// Change is what one record did to its family's item: Before is nil for
// a family seen for the first time. Only changes that alter the item are
// passed on (to the Security Hub publisher).
type Change struct {
	Record Record
	Before *Item
	After  Item
}
