package coverage

import (
	"encoding/json"
	"math/rand/v2"
	"reflect"
	"testing"
)

const (
	hub = "111111111111"
	a   = "222222222222"
	b   = "333333333333"
	c   = "444444444444"
	d   = "555555555555"
)

func current(acct string, regions ...string) []Instance {
	var out []Instance
	for _, r := range regions {
		out = append(out, Instance{Account: acct, Region: r, Status: StatusCurrent})
	}
	return out
}

func concat[T any](parts ...[]T) []T {
	var out []T
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

func base() Observation {
	return Observation{
		Hub: hub, Regions: []string{"us-east-1", "eu-west-1"},
		RoleStackSet: "ecslogfix-member-iam", ForwardingStackSet: "ecslogfix-member",
		Accounts: []Account{{ID: a, State: StateActive}, {ID: b, State: StateActive}},
		Roles:    concat(current(a, "eu-west-1"), current(b, "eu-west-1")),
		Forwarding: concat(current(a, "eu-west-1", "us-east-1"),
			current(b, "eu-west-1", "us-east-1")),
	}
}

func targets(pairs ...string) []Target {
	out := []Target{}
	for i := 0; i < len(pairs); i += 2 {
		out = append(out, Target{pairs[i], pairs[i+1]})
	}
	return out
}

func TestDecide(t *testing.T) {
	for _, tc := range []struct {
		name    string
		edit    func(o *Observation)
		targets []Target
		gaps    []Gap
	}{
		{
			name:    "every account in scope, every region, and the hub",
			edit:    func(*Observation) {},
			targets: targets(hub, "eu-west-1", hub, "us-east-1", a, "eu-west-1", a, "us-east-1", b, "eu-west-1", b, "us-east-1"),
		},
		{
			name:    "single account: only the hub",
			edit:    func(o *Observation) { *o = Observation{Hub: hub, Regions: []string{"us-east-1"}} },
			targets: targets(hub, "us-east-1"),
		},
		{
			name: "an account without a member-role instance is a gap and is not walked",
			edit: func(o *Observation) {
				o.Accounts = append(o.Accounts, Account{ID: c, State: StateActive})
			},
			targets: targets(hub, "eu-west-1", hub, "us-east-1", a, "eu-west-1", a, "us-east-1", b, "eu-west-1", b, "us-east-1"),
			gaps:    []Gap{{Account: c, Reason: GapMemberRole, StackSet: "ecslogfix-member-iam", Status: StatusMissing}},
		},
		{
			name: "an OUTDATED or INOPERABLE member role is a gap with CloudFormation's reason",
			edit: func(o *Observation) {
				o.Roles[0].Status, o.Roles[0].Reason = StatusOutdated, "ResourceLogicalId:MemberRole, ResourceStatusReason:denied by SCP"
				o.Roles[1].Status = StatusInoperable
			},
			targets: targets(hub, "eu-west-1", hub, "us-east-1"),
			gaps: []Gap{
				{Account: a, Reason: GapMemberRole, StackSet: "ecslogfix-member-iam", Status: StatusOutdated, Detail: "ResourceLogicalId:MemberRole, ResourceStatusReason:denied by SCP"},
				{Account: b, Reason: GapMemberRole, StackSet: "ecslogfix-member-iam", Status: StatusInoperable},
			},
		},
		{
			name: "a region without its forwarding stack is walked, and a gap in event coverage",
			edit: func(o *Observation) {
				o.Forwarding = concat(current(a, "eu-west-1"), current(b, "eu-west-1"), []Instance{{Account: b, Region: "us-east-1", Status: StatusOutdated, Reason: "opt-in region not enabled"}})
			},
			targets: targets(hub, "eu-west-1", hub, "us-east-1", a, "eu-west-1", a, "us-east-1", b, "eu-west-1", b, "us-east-1"),
			gaps: []Gap{
				{Account: a, Region: "us-east-1", Reason: GapForwarding, StackSet: "ecslogfix-member", Status: StatusMissing},
				{Account: b, Region: "us-east-1", Reason: GapForwarding, StackSet: "ecslogfix-member", Status: StatusOutdated, Detail: "opt-in region not enabled"},
			},
		},
		{
			name: "suspended, closed and pending accounts are out of scope, not gaps",
			edit: func(o *Observation) {
				o.Accounts = append(o.Accounts, Account{ID: c, State: "SUSPENDED"}, Account{ID: d, State: "PENDING_CLOSURE"}, Account{ID: "666666666666", State: "CLOSED"})
			},
			targets: targets(hub, "eu-west-1", hub, "us-east-1", a, "eu-west-1", a, "us-east-1", b, "eu-west-1", b, "us-east-1"),
		},
		{
			name: "the allow-list limits the scope, the hub included",
			edit: func(o *Observation) {
				o.Allowed = []string{b}
				o.Accounts = append(o.Accounts, Account{ID: c, State: StateActive})
			},
			targets: targets(b, "eu-west-1", b, "us-east-1"),
		},
		{
			name: "the hub under a target OU is walked once, with its own credentials, never a gap",
			edit: func(o *Observation) {
				o.Accounts = append(o.Accounts, Account{ID: hub, State: StateActive})
			},
			targets: targets(hub, "eu-west-1", hub, "us-east-1", a, "eu-west-1", a, "us-east-1", b, "eu-west-1", b, "us-east-1"),
		},
		{
			name: "an account under two target OUs is one account",
			edit: func(o *Observation) {
				o.Accounts = append(o.Accounts, Account{ID: a, State: StateActive})
				o.Regions = append(o.Regions, "eu-west-1")
			},
			targets: targets(hub, "eu-west-1", hub, "us-east-1", a, "eu-west-1", a, "us-east-1", b, "eu-west-1", b, "us-east-1"),
		},
		{
			name: "the IAM region moved: the worst of the account's role instances counts",
			edit: func(o *Observation) {
				o.Roles = append(o.Roles, Instance{Account: a, Region: "us-east-1", Status: StatusInoperable, Reason: "delete failed"})
			},
			targets: targets(hub, "eu-west-1", hub, "us-east-1", b, "eu-west-1", b, "us-east-1"),
			gaps:    []Gap{{Account: a, Reason: GapMemberRole, StackSet: "ecslogfix-member-iam", Status: StatusInoperable, Detail: "delete failed"}},
		},
		{
			name: "instances of accounts out of scope are ignored",
			edit: func(o *Observation) {
				o.Forwarding = append(o.Forwarding, current(c, "us-east-1")...)
				o.Roles = append(o.Roles, current(c, "eu-west-1")...)
			},
			targets: targets(hub, "eu-west-1", hub, "us-east-1", a, "eu-west-1", a, "us-east-1", b, "eu-west-1", b, "us-east-1"),
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := base()
			tc.edit(&o)
			got := Decide(o)
			if !reflect.DeepEqual(got.Targets, tc.targets) {
				t.Errorf("targets %v, want %v", got.Targets, tc.targets)
			}
			gaps := tc.gaps
			if gaps == nil {
				gaps = []Gap{}
			}
			if !reflect.DeepEqual(got.Gaps, gaps) {
				t.Errorf("gaps %+v, want %+v", got.Gaps, gaps)
			}
		})
	}
}

// The decision does not depend on the order AWS lists things in.
func TestDecideIsOrderIndependent(t *testing.T) {
	o := base()
	o.Accounts = append(o.Accounts, Account{ID: c, State: StateActive}, Account{ID: d, State: StateActive})
	o.Roles = append(o.Roles, Instance{Account: d, Region: "eu-west-1", Status: StatusOutdated})
	o.Forwarding = append(o.Forwarding, Instance{Account: a, Region: "ap-south-1", Status: StatusCurrent})
	want, _ := json.Marshal(Decide(o))
	rng := rand.New(rand.NewPCG(1, 2))
	for range 50 {
		p := o
		p.Accounts = shuffled(rng, o.Accounts)
		p.Roles = shuffled(rng, o.Roles)
		p.Forwarding = shuffled(rng, o.Forwarding)
		p.Regions = shuffled(rng, o.Regions)
		if got, _ := json.Marshal(Decide(p)); string(got) != string(want) {
			t.Fatalf("shuffled input gives\n%s\nwant\n%s", got, want)
		}
	}
}

func shuffled[T any](rng *rand.Rand, in []T) []T {
	out := append([]T(nil), in...)
	rng.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	return out
}
