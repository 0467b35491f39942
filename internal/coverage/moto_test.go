package coverage

import (
	"cmp"
	"context"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	cfntypes "github.com/aws/aws-sdk-go-v2/service/cloudformation/types"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	orgtypes "github.com/aws/aws-sdk-go-v2/service/organizations/types"

	"github.com/ecslogfix/ecslogfix/test/localaws"
)

// Observe against moto's Organizations and StackSets: nested OUs, a closed
// account, and an account that joined a target OU after the StackSets'
// instances were created (auto-deployment did not reach it).
func TestObserveMoto(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cfg := localaws.Start(t, localaws.Options{}).Config()
	org, cfn := organizations.NewFromConfig(cfg), cloudformation.NewFromConfig(cfg)

	created, err := org.CreateOrganization(ctx, &organizations.CreateOrganizationInput{FeatureSet: orgtypes.OrganizationFeatureSetAll})
	if err != nil {
		t.Fatal(err)
	}
	mgmt := aws.ToString(created.Organization.MasterAccountId)
	roots, err := org.ListRoots(ctx, &organizations.ListRootsInput{})
	if err != nil {
		t.Fatal(err)
	}
	root := aws.ToString(roots.Roots[0].Id)
	ou := func(parent, name string) string {
		out, err := org.CreateOrganizationalUnit(ctx, &organizations.CreateOrganizationalUnitInput{ParentId: aws.String(parent), Name: aws.String(name)})
		if err != nil {
			t.Fatal(err)
		}
		return aws.ToString(out.OrganizationalUnit.Id)
	}
	account := func(name, parent string) string {
		out, err := org.CreateAccount(ctx, &organizations.CreateAccountInput{AccountName: aws.String(name), Email: aws.String(name + "@example.com")})
		if err != nil {
			t.Fatal(err)
		}
		id := aws.ToString(out.CreateAccountStatus.AccountId)
		if _, err := org.MoveAccount(ctx, &organizations.MoveAccountInput{AccountId: aws.String(id), SourceParentId: aws.String(root), DestinationParentId: aws.String(parent)}); err != nil {
			t.Fatal(err)
		}
		return id
	}
	workloads := ou(root, "workloads")
	prod := ou(workloads, "prod")
	sandbox := ou(root, "sandbox")
	web, api, closed := account("web", workloads), account("api", prod), account("closed", workloads)
	account("outside", sandbox)
	if _, err := org.CloseAccount(ctx, &organizations.CloseAccountInput{AccountId: aws.String(closed)}); err != nil {
		t.Fatal(err)
	}
	regions := []string{"eu-west-1", "us-east-1"}
	for name, r := range map[string][]string{"ecslogfix-member": regions, "ecslogfix-member-iam": {"eu-west-1"}} {
		if _, err := cfn.CreateStackSet(ctx, &cloudformation.CreateStackSetInput{StackSetName: aws.String(name), PermissionModel: cfntypes.PermissionModelsServiceManaged,
			TemplateBody: aws.String(`{"Resources":{"Nothing":{"Type":"AWS::CloudFormation::WaitConditionHandle"}}}`)}); err != nil {
			t.Fatal(err)
		}
		// moto deploys to the named OUs and their direct children.
		if _, err := cfn.CreateStackInstances(ctx, &cloudformation.CreateStackInstancesInput{StackSetName: aws.String(name), Regions: r,
			DeploymentTargets: &cfntypes.DeploymentTargets{OrganizationalUnitIds: []string{workloads}}}); err != nil {
			t.Fatal(err)
		}
	}
	late := account("late", prod) // joined after the instances were created

	o, err := Observe(ctx, org, cfn, Scope{Hub: mgmt, Regions: regions, TargetOUs: []string{workloads},
		RoleStackSet: "ecslogfix-member-iam", ForwardingStackSet: "ecslogfix-member", CallAs: "SELF"})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, a := range o.Accounts {
		ids = append(ids, a.ID)
	}
	slices.Sort(ids)
	want := []string{web, api, closed, late}
	slices.Sort(want)
	if !reflect.DeepEqual(ids, want) {
		t.Fatalf("accounts under the target OU %v, want %v", ids, want)
	}
	cov := Decide(o)
	wantTargets := []Target{}
	for _, acct := range []string{mgmt, web, api} {
		for _, r := range regions {
			wantTargets = append(wantTargets, Target{acct, r})
		}
	}
	slices.SortFunc(wantTargets, func(x, y Target) int {
		return cmp.Or(cmp.Compare(x.Account, y.Account), cmp.Compare(x.Region, y.Region))
	})
	if !reflect.DeepEqual(cov.Targets, wantTargets) {
		t.Errorf("targets %v, want %v", cov.Targets, wantTargets)
	}
	if !reflect.DeepEqual(cov.Gaps, []Gap{{Account: late, Reason: GapMemberRole, StackSet: "ecslogfix-member-iam", Status: StatusMissing}}) {
		t.Errorf("gaps %+v", cov.Gaps)
	}
}
