package coverage

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	cfntypes "github.com/aws/aws-sdk-go-v2/service/cloudformation/types"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
)

// Organizations is the part of the AWS Organizations API Observe and
// Accounts use. The management account and a delegated administrator may
// call it
// (https://docs.aws.amazon.com/organizations/latest/APIReference/API_ListAccountsForParent.html).
type Organizations interface {
	ListAccountsForParent(ctx context.Context, in *organizations.ListAccountsForParentInput, optFns ...func(*organizations.Options)) (*organizations.ListAccountsForParentOutput, error)
	ListOrganizationalUnitsForParent(ctx context.Context, in *organizations.ListOrganizationalUnitsForParentInput, optFns ...func(*organizations.Options)) (*organizations.ListOrganizationalUnitsForParentOutput, error)
}

// StackSets is the part of the CloudFormation API Observe uses.
type StackSets interface {
	ListStackInstances(ctx context.Context, in *cloudformation.ListStackInstancesInput, optFns ...func(*cloudformation.Options)) (*cloudformation.ListStackInstancesOutput, error)
}

// Scope is what Observe reads: the configuration of an organization
// deployment.
type Scope struct {
	Hub       string
	Regions   []string
	Allowed   []string
	TargetOUs []string // ou-… or the root r-…
	// RoleStackSet and ForwardingStackSet are the member StackSets' names.
	RoleStackSet       string
	ForwardingStackSet string
	// CallAs is SELF (the hub is the management account) or
	// DELEGATED_ADMIN (a delegated StackSets administrator).
	CallAs string
}

// Observe reads the accounts under the target OUs (recursively, every page)
// and the stack instances of both member StackSets. Any failed call fails
// the observation: a partial list of accounts would report covered
// accounts as gone.
func Observe(ctx context.Context, org Organizations, cfn StackSets, s Scope) (Observation, error) {
	o := Observation{Hub: s.Hub, Regions: s.Regions, Allowed: s.Allowed,
		RoleStackSet: s.RoleStackSet, ForwardingStackSet: s.ForwardingStackSet}
	var err error
	if o.Accounts, err = Accounts(ctx, org, s.TargetOUs); err != nil {
		return Observation{}, err
	}
	if o.Roles, err = instances(ctx, cfn, s.RoleStackSet, s.CallAs); err != nil {
		return Observation{}, err
	}
	if o.Forwarding, err = instances(ctx, cfn, s.ForwardingStackSet, s.CallAs); err != nil {
		return Observation{}, err
	}
	return o, nil
}

// Accounts lists the accounts of the parents (OUs, or the root r-…) and of
// every OU under them, breadth first, every page; an OU reached twice (a
// target under another target) is read once. It is the one listing of the
// organization: the sweep's (Observe) and `ecslogfix scan
// --organization`'s. Every state is listed; only ACTIVE ones are in scope.
func Accounts(ctx context.Context, org Organizations, parents []string) ([]Account, error) {
	var out []Account
	seen := map[string]bool{}
	queue := append([]string(nil), parents...)
	for len(queue) > 0 {
		parent := queue[0]
		queue = queue[1:]
		if seen[parent] {
			continue
		}
		seen[parent] = true
		accounts := organizations.NewListAccountsForParentPaginator(org, &organizations.ListAccountsForParentInput{ParentId: aws.String(parent)})
		for accounts.HasMorePages() {
			page, err := accounts.NextPage(ctx)
			if err != nil {
				return nil, fmt.Errorf("list accounts of %s: %w", parent, err)
			}
			for _, a := range page.Accounts {
				out = append(out, Account{ID: aws.ToString(a.Id), Name: aws.ToString(a.Name), State: state(a.State, string(a.Status))})
			}
		}
		ous := organizations.NewListOrganizationalUnitsForParentPaginator(org, &organizations.ListOrganizationalUnitsForParentInput{ParentId: aws.String(parent)})
		for ous.HasMorePages() {
			page, err := ous.NextPage(ctx)
			if err != nil {
				return nil, fmt.Errorf("list organizational units of %s: %w", parent, err)
			}
			for _, ou := range page.OrganizationalUnits {
				queue = append(queue, aws.ToString(ou.Id))
			}
		}
	}
	return out, nil
}

// Roots is the part of the AWS Organizations API Root uses.
type Roots interface {
	ListRoots(ctx context.Context, in *organizations.ListRootsInput, optFns ...func(*organizations.Options)) (*organizations.ListRootsOutput, error)
}

// Root returns the organization's root (r-…): the parent of every account
// and OU. An organization has exactly one
// (https://docs.aws.amazon.com/organizations/latest/APIReference/API_ListRoots.html).
func Root(ctx context.Context, org Roots) (string, error) {
	out, err := org.ListRoots(ctx, &organizations.ListRootsInput{})
	if err != nil {
		return "", fmt.Errorf("list the organization's roots: %w", err)
	}
	if len(out.Roots) == 0 {
		return "", errors.New("list the organization's roots: none returned")
	}
	return aws.ToString(out.Roots[0].Id), nil
}

// state is the account's State, or its older Status where State is not
// returned (Organizations added State in 2025 and deprecates Status).
func state[S ~string](s S, status string) string {
	if s != "" {
		return string(s)
	}
	return status
}

// instances lists every stack instance of a StackSet.
func instances(ctx context.Context, cfn StackSets, stackSet, callAs string) ([]Instance, error) {
	in := &cloudformation.ListStackInstancesInput{StackSetName: aws.String(stackSet)}
	if callAs != "" {
		in.CallAs = cfntypes.CallAs(strings.ToUpper(callAs))
	}
	var out []Instance
	p := cloudformation.NewListStackInstancesPaginator(cfn, in)
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("list stack instances of %s: %w", stackSet, err)
		}
		for _, si := range page.Summaries {
			out = append(out, Instance{Account: aws.ToString(si.Account), Region: aws.ToString(si.Region),
				Status: string(si.Status), Reason: aws.ToString(si.StatusReason)})
		}
	}
	return out, nil
}
