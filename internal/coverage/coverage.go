// Package coverage decides what the sweep covers: the account-regions it
// walks, and the accounts in scope it cannot cover (coverage gaps). In an
// organization the accounts in scope are those with State ACTIVE under the
// target OUs (recursively); an account is walked where the member
// StackSets' stack instances are CURRENT, in every configured region; the
// hub account is always walked, with its own credentials. The decision
// (Decide) is pure, over what Observe read from AWS Organizations and
// CloudFormation StackSets; the sweep and `ecslogfix scan --organization`
// share both.
package coverage

import (
	"cmp"
	"maps"
	"slices"

	"github.com/ecslogfix/ecslogfix/internal/workflow"
)

// Account states (Organizations' Account.State). Only ACTIVE accounts are
// in scope: a SUSPENDED, PENDING_CLOSURE or CLOSED account runs nothing.
const StateActive = "ACTIVE"

// Stack instance statuses (CloudFormation's StackInstanceSummary.Status),
// and MISSING where an account in scope has no instance at all.
const (
	StatusCurrent    = "CURRENT"
	StatusOutdated   = "OUTDATED"
	StatusInoperable = "INOPERABLE"
	StatusMissing    = "MISSING"
)

// Reasons of a coverage gap. They are stable: the sweep's summary, its
// report and its log lines carry them.
const (
	// GapMemberRole: the member role's stack (the IAM StackSet, one region)
	// is not CURRENT in the account, so the hub cannot be sure to assume
	// the role there: the account is not walked in any region.
	GapMemberRole = "member-role"
	// GapForwarding: the regional stack forwarding RegisterTaskDefinition
	// events to the hub is not CURRENT: events of that account-region do
	// not reach detect. The sweep still walks it (the member role is
	// current), so the gap is in event coverage only.
	GapForwarding = "forwarding"
)

// Account is an account found under a target OU.
type Account struct {
	ID    string `json:"id"`
	State string `json:"state"` // ACTIVE, SUSPENDED, PENDING_CLOSURE, CLOSED
	// Name is the account's name in the organization (for people only).
	Name string `json:"name,omitempty"`
}

// Instance is one stack instance of a member StackSet.
type Instance struct {
	Account string `json:"account"`
	Region  string `json:"region"`
	Status  string `json:"status"`           // CURRENT, OUTDATED, INOPERABLE
	Reason  string `json:"reason,omitempty"` // CloudFormation's StatusReason
}

// Observation is what was read: the accounts under the target OUs and the
// stack instances of the member StackSets, with the configuration that
// scopes them.
type Observation struct {
	// Hub is the hub account (the sweep's own): always walked, with its own
	// credentials, never a gap.
	Hub string
	// Regions are the configured regions (every target is walked in each).
	Regions []string
	// Allowed, when not empty, is the only accounts in scope (the
	// allow-list of ecslogfix:allowedAccounts); the hub too.
	Allowed []string
	// Accounts found under the target OUs, recursively. Empty outside an
	// organization: then only the hub is walked.
	Accounts []Account
	// RoleStackSet and Roles: the member IAM StackSet (the role the hub
	// assumes) and its instances, in the IAM region.
	RoleStackSet string
	Roles        []Instance
	// ForwardingStackSet and Forwarding: the regional member StackSet and
	// its instances.
	ForwardingStackSet string
	Forwarding         []Instance
}

// Target is one account-region the sweep walks.
type Target struct {
	Account string `json:"account"`
	Region  string `json:"region"`
}

// Gap is an account in scope (or one of its regions) that the member
// stacks do not cover: the sweep's contract carries it as is.
type Gap = workflow.CoverageGap

// Coverage is the decision: the targets in a stable order (account, then
// region) and the gaps.
type Coverage struct {
	Targets []Target `json:"targets"`
	Gaps    []Gap    `json:"gaps"`
}

// Decide computes the coverage of o. It is deterministic: the same
// observation in any order gives the same coverage.
func Decide(o Observation) Coverage {
	allowed := func(a string) bool { return len(o.Allowed) == 0 || slices.Contains(o.Allowed, a) }
	regions := slices.Sorted(slices.Values(o.Regions))
	regions = slices.Compact(regions)

	inScope := map[string]bool{}
	for _, a := range o.Accounts {
		if a.State == StateActive && a.ID != o.Hub && allowed(a.ID) {
			inScope[a.ID] = true
		}
	}
	index := func(instances []Instance) map[Target]Instance {
		m := map[Target]Instance{}
		for _, in := range instances {
			m[Target{in.Account, in.Region}] = in
		}
		return m
	}
	forwarding := index(o.Forwarding)
	status := func(m map[Target]Instance, t Target) Instance {
		if in, ok := m[t]; ok {
			return in
		}
		return Instance{Account: t.Account, Region: t.Region, Status: StatusMissing}
	}

	cov := Coverage{Targets: []Target{}, Gaps: []Gap{}}
	if o.Hub != "" && allowed(o.Hub) {
		for _, r := range regions {
			cov.Targets = append(cov.Targets, Target{o.Hub, r})
		}
	}
	for _, acct := range slices.Sorted(maps.Keys(inScope)) {
		role := roleInstance(o.Roles, acct)
		if role.Status != StatusCurrent {
			cov.Gaps = append(cov.Gaps, Gap{Account: acct, Reason: GapMemberRole, StackSet: o.RoleStackSet, Status: role.Status, Detail: role.Reason})
			continue
		}
		for _, r := range regions {
			t := Target{acct, r}
			cov.Targets = append(cov.Targets, t)
			if fw := status(forwarding, t); fw.Status != StatusCurrent {
				cov.Gaps = append(cov.Gaps, Gap{Account: acct, Region: r, Reason: GapForwarding, StackSet: o.ForwardingStackSet, Status: fw.Status, Detail: fw.Reason})
			}
		}
	}
	slices.SortFunc(cov.Targets, func(a, b Target) int {
		return cmp.Or(cmp.Compare(a.Account, b.Account), cmp.Compare(a.Region, b.Region))
	})
	return cov
}

// roleInstance is the account's member-role instance. The IAM StackSet
// deploys to one region, so any instance of the account counts; when
// several are listed (the IAM region was moved) the worst status wins, and
// among equals the first region.
func roleInstance(roles []Instance, account string) Instance {
	rank := func(status string) int {
		switch status {
		case StatusCurrent:
			return 1
		case StatusOutdated:
			return 2
		}
		return 3 // INOPERABLE, or a status CloudFormation adds later: not current
	}
	best := Instance{Account: account, Status: StatusMissing}
	for _, in := range roles {
		if in.Account != account {
			continue
		}
		r, b := rank(in.Status), rank(best.Status)
		if best.Status == StatusMissing || r > b || (r == b && in.Region < best.Region) {
			best = in
		}
	}
	return best
}
