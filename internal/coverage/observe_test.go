package coverage

import (
	"context"
	"errors"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	cfntypes "github.com/aws/aws-sdk-go-v2/service/cloudformation/types"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	orgtypes "github.com/aws/aws-sdk-go-v2/service/organizations/types"
)

// fakeOrg is an organization tree answered one item per page, so every
// paginator is exercised.
type fakeOrg struct {
	accounts map[string][]orgtypes.Account // parent → accounts
	ous      map[string][]string           // parent → child OUs
	calls    map[string]int                // "accounts:parent", "ous:parent"
	fail     string                        // parent whose listing fails
}

func page[T any](items []T, token *string) ([]T, *string) {
	i := 0
	if token != nil {
		i, _ = strconv.Atoi(*token)
	}
	if i >= len(items) {
		return nil, nil
	}
	var next *string
	if i+1 < len(items) {
		next = aws.String(strconv.Itoa(i + 1))
	}
	return items[i : i+1], next
}

func (f *fakeOrg) ListAccountsForParent(_ context.Context, in *organizations.ListAccountsForParentInput, _ ...func(*organizations.Options)) (*organizations.ListAccountsForParentOutput, error) {
	p := aws.ToString(in.ParentId)
	f.calls["accounts:"+p]++
	if p == f.fail {
		return nil, errors.New("AccessDeniedException: not the management account")
	}
	items, next := page(f.accounts[p], in.NextToken)
	return &organizations.ListAccountsForParentOutput{Accounts: items, NextToken: next}, nil
}

func (f *fakeOrg) ListOrganizationalUnitsForParent(_ context.Context, in *organizations.ListOrganizationalUnitsForParentInput, _ ...func(*organizations.Options)) (*organizations.ListOrganizationalUnitsForParentOutput, error) {
	p := aws.ToString(in.ParentId)
	f.calls["ous:"+p]++
	var ous []orgtypes.OrganizationalUnit
	for _, id := range f.ous[p] {
		ous = append(ous, orgtypes.OrganizationalUnit{Id: aws.String(id)})
	}
	items, next := page(ous, in.NextToken)
	return &organizations.ListOrganizationalUnitsForParentOutput{OrganizationalUnits: items, NextToken: next}, nil
}

type fakeStackSets struct {
	instances map[string][]cfntypes.StackInstanceSummary
	callAs    []cfntypes.CallAs
}

func (f *fakeStackSets) ListStackInstances(_ context.Context, in *cloudformation.ListStackInstancesInput, _ ...func(*cloudformation.Options)) (*cloudformation.ListStackInstancesOutput, error) {
	f.callAs = append(f.callAs, in.CallAs)
	items, next := page(f.instances[aws.ToString(in.StackSetName)], in.NextToken)
	return &cloudformation.ListStackInstancesOutput{Summaries: items, NextToken: next}, nil
}

func acct(id string, state orgtypes.AccountState) orgtypes.Account {
	return orgtypes.Account{Id: aws.String(id), State: state}
}

func inst(account, region string, status cfntypes.StackInstanceStatus) cfntypes.StackInstanceSummary {
	return cfntypes.StackInstanceSummary{Account: aws.String(account), Region: aws.String(region), Status: status}
}

func TestObserveWalksTheTreeEveryPage(t *testing.T) {
	org := &fakeOrg{
		accounts: map[string][]orgtypes.Account{
			"ou-aaaa-11111111": {acct(a, orgtypes.AccountStateActive), acct(b, orgtypes.AccountStateSuspended)},
			"ou-aaaa-22222222": {acct(c, orgtypes.AccountStateActive)},
			"ou-aaaa-33333333": {acct(d, ""), {Id: aws.String("666666666666"), Status: orgtypes.AccountStatusPendingClosure}},
		},
		// 2 under 1, 3 under 2; 2 is also a target itself.
		ous:   map[string][]string{"ou-aaaa-11111111": {"ou-aaaa-22222222"}, "ou-aaaa-22222222": {"ou-aaaa-33333333"}},
		calls: map[string]int{},
	}
	cfn := &fakeStackSets{instances: map[string][]cfntypes.StackInstanceSummary{
		"ecslogfix-member-iam": {inst(a, "eu-west-1", cfntypes.StackInstanceStatusCurrent), inst(c, "eu-west-1", cfntypes.StackInstanceStatusOutdated)},
		"ecslogfix-member":     {inst(a, "eu-west-1", cfntypes.StackInstanceStatusCurrent), inst(a, "us-east-1", cfntypes.StackInstanceStatusCurrent)},
	}}
	cfn.instances["ecslogfix-member-iam"][1].StatusReason = aws.String("Account is suspended")
	o, err := Observe(context.Background(), org, cfn, Scope{Hub: hub, Regions: []string{"eu-west-1", "us-east-1"},
		TargetOUs: []string{"ou-aaaa-11111111", "ou-aaaa-22222222"}, RoleStackSet: "ecslogfix-member-iam", ForwardingStackSet: "ecslogfix-member", CallAs: "DELEGATED_ADMIN"})
	if err != nil {
		t.Fatal(err)
	}
	wantAccounts := []Account{{ID: a, State: "ACTIVE"}, {ID: b, State: "SUSPENDED"}, {ID: c, State: "ACTIVE"}, {ID: d, State: ""}, {ID: "666666666666", State: "PENDING_CLOSURE"}}
	if !reflect.DeepEqual(o.Accounts, wantAccounts) {
		t.Errorf("accounts %v, want %v", o.Accounts, wantAccounts)
	}
	for _, parent := range []string{"ou-aaaa-11111111", "ou-aaaa-22222222", "ou-aaaa-33333333"} {
		if org.calls["accounts:"+parent] != max(1, len(org.accounts[parent])) {
			t.Errorf("%s listed %d times (pages)", parent, org.calls["accounts:"+parent])
		}
	}
	if !reflect.DeepEqual(o.Roles, []Instance{{a, "eu-west-1", "CURRENT", ""}, {c, "eu-west-1", "OUTDATED", "Account is suspended"}}) || len(o.Forwarding) != 2 {
		t.Errorf("instances %+v %+v", o.Roles, o.Forwarding)
	}
	if !reflect.DeepEqual(cfn.callAs, []cfntypes.CallAs{"DELEGATED_ADMIN", "DELEGATED_ADMIN", "DELEGATED_ADMIN", "DELEGATED_ADMIN"}) {
		t.Errorf("CallAs %v", cfn.callAs)
	}
	cov := Decide(o)
	if !reflect.DeepEqual(cov.Targets, targets(hub, "eu-west-1", hub, "us-east-1", a, "eu-west-1", a, "us-east-1")) {
		t.Errorf("targets %v", cov.Targets)
	}
	if len(cov.Gaps) != 1 || cov.Gaps[0].Account != c || cov.Gaps[0].Status != StatusOutdated {
		t.Errorf("gaps %+v", cov.Gaps)
	}
}

// A failed listing fails the whole observation: a partial account list
// would make covered accounts disappear from the sweep silently.
func TestObserveFailsOnAFailedListing(t *testing.T) {
	org := &fakeOrg{ous: map[string][]string{"r-aaaa": {"ou-aaaa-11111111"}}, fail: "ou-aaaa-11111111", calls: map[string]int{}}
	_, err := Observe(context.Background(), org, &fakeStackSets{}, Scope{TargetOUs: []string{"r-aaaa"}})
	if err == nil || err.Error() != "list accounts of ou-aaaa-11111111: AccessDeniedException: not the management account" {
		t.Fatalf("got %v", err)
	}
}

type fakeRoots struct {
	roots []orgtypes.Root
	err   error
}

func (f fakeRoots) ListRoots(context.Context, *organizations.ListRootsInput, ...func(*organizations.Options)) (*organizations.ListRootsOutput, error) {
	return &organizations.ListRootsOutput{Roots: f.roots}, f.err
}

func TestRoot(t *testing.T) {
	if got, err := Root(context.Background(), fakeRoots{roots: []orgtypes.Root{{Id: aws.String("r-ab12")}}}); err != nil || got != "r-ab12" {
		t.Errorf("Root = %q, %v; want r-ab12", got, err)
	}
	if _, err := Root(context.Background(), fakeRoots{}); err == nil || !strings.Contains(err.Error(), "none returned") {
		t.Errorf("no root: %v", err)
	}
	denied := errors.New("AccessDeniedException: not the management account")
	if _, err := Root(context.Background(), fakeRoots{err: denied}); !errors.Is(err, denied) {
		t.Errorf("denied: %v, want it wrapped", err)
	}
}

// Accounts carries each account's name, for the scan's rows.
func TestAccountsNames(t *testing.T) {
	org := &fakeOrg{calls: map[string]int{}, accounts: map[string][]orgtypes.Account{
		"r-ab12": {{Id: aws.String("111122223333"), Name: aws.String("payments"), State: orgtypes.AccountStateActive}}}}
	got, err := Accounts(context.Background(), org, []string{"r-ab12"})
	if err != nil || !reflect.DeepEqual(got, []Account{{ID: "111122223333", Name: "payments", State: StateActive}}) {
		t.Errorf("Accounts = %+v, %v", got, err)
	}
}
