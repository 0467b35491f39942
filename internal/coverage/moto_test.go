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

	o := localaws.NewOrganization(t, cfg)
	mgmt, root := o.Management, o.Root
	workloads := o.OU(root, "workloads")
	prod := o.OU(workloads, "prod")
	sandbox := o.OU(root, "sandbox")
	web, api, closed := o.Account("web", workloads), o.Account("api", prod), o.Account("closed", workloads)
	o.Account("outside", sandbox)
	o.Close(closed)
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
	late := o.Account("late", prod) // joined after the instances were created

	obs, err := Observe(ctx, org, cfn, Scope{Hub: mgmt, Regions: regions, TargetOUs: []string{workloads},
		RoleStackSet: "ecslogfix-member-iam", ForwardingStackSet: "ecslogfix-member", CallAs: "SELF"})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, a := range obs.Accounts {
		ids = append(ids, a.ID)
	}
	slices.Sort(ids)
	want := []string{web, api, closed, late}
	slices.Sort(want)
	if !reflect.DeepEqual(ids, want) {
		t.Fatalf("accounts under the target OU %v, want %v", ids, want)
	}
	cov := Decide(obs)
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
