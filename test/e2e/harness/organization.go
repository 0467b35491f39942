package harness

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	cfntypes "github.com/aws/aws-sdk-go-v2/service/cloudformation/types"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	orgtypes "github.com/aws/aws-sdk-go-v2/service/organizations/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/ecslogfix/ecslogfix/test/localaws"
)

// Organization is an AWS Organization in moto whose management account is
// the one moto's dummy credentials act as (localaws.Account): the hub of an
// organization-mode test with stackSetCallAs SELF. moto keeps accounts
// apart by credentials: As gives another account's.
type Organization struct {
	ID   string // o-…
	Root string // r-…
	base aws.Config
}

// NewOrganization creates the organization with base (moto's default
// credentials).
func NewOrganization(ctx context.Context, base aws.Config) (*Organization, error) {
	client := organizations.NewFromConfig(base)
	created, err := client.CreateOrganization(ctx, &organizations.CreateOrganizationInput{FeatureSet: orgtypes.OrganizationFeatureSetAll})
	if err != nil {
		return nil, fmt.Errorf("create organization: %w", err)
	}
	if got := aws.ToString(created.Organization.MasterAccountId); got != localaws.Account {
		return nil, fmt.Errorf("the management account is %s, want %s", got, localaws.Account)
	}
	roots, err := client.ListRoots(ctx, &organizations.ListRootsInput{})
	if err != nil {
		return nil, fmt.Errorf("list roots: %w", err)
	}
	return &Organization{ID: aws.ToString(created.Organization.Id), Root: aws.ToString(roots.Roots[0].Id), base: base}, nil
}

// OU creates an organizational unit under parent and returns its ID.
func (o *Organization) OU(ctx context.Context, parent, name string) (string, error) {
	out, err := organizations.NewFromConfig(o.base).CreateOrganizationalUnit(ctx, &organizations.CreateOrganizationalUnitInput{ParentId: aws.String(parent), Name: aws.String(name)})
	if err != nil {
		return "", fmt.Errorf("create OU %s: %w", name, err)
	}
	return aws.ToString(out.OrganizationalUnit.Id), nil
}

// Account creates a member account and moves it into ou.
func (o *Organization) Account(ctx context.Context, name, ou string) (string, error) {
	client := organizations.NewFromConfig(o.base)
	out, err := client.CreateAccount(ctx, &organizations.CreateAccountInput{AccountName: aws.String(name), Email: aws.String(name + "@example.com")})
	if err != nil {
		return "", fmt.Errorf("create account %s: %w", name, err)
	}
	id := aws.ToString(out.CreateAccountStatus.AccountId)
	if _, err := client.MoveAccount(ctx, &organizations.MoveAccountInput{AccountId: aws.String(id), SourceParentId: aws.String(o.Root), DestinationParentId: aws.String(ou)}); err != nil {
		return "", fmt.Errorf("move account %s: %w", name, err)
	}
	return id, nil
}

// As is an SDK configuration acting in account and region: the
// credentials of the account's OrganizationAccountAccessRole (moto creates
// it with the account), or base's for the management account.
func (o *Organization) As(ctx context.Context, account, region string) (aws.Config, error) {
	cfg := o.base.Copy()
	cfg.Region = region
	if account == localaws.Account {
		return cfg, nil
	}
	out, err := sts.NewFromConfig(o.base).AssumeRole(ctx, &sts.AssumeRoleInput{
		RoleArn: aws.String("arn:aws:iam::" + account + ":role/OrganizationAccountAccessRole"), RoleSessionName: aws.String("e2e")})
	if err != nil {
		return aws.Config{}, fmt.Errorf("assume into %s: %w", account, err)
	}
	c := out.Credentials
	cfg.Credentials = credentials.NewStaticCredentialsProvider(aws.ToString(c.AccessKeyId), aws.ToString(c.SecretAccessKey), aws.ToString(c.SessionToken))
	return cfg, nil
}

// DeployStackSets creates the template's AWS::CloudFormation::StackSet
// resources with base (the management account) and their instances on
// their target OUs: moto's CloudFormation deploys each member template
// into every account-region of those OUs and their child OUs, with the
// StackSet's parameters. It returns the StackSets' names.
func DeployStackSets(ctx context.Context, base aws.Config, tmpl *Template) ([]string, error) {
	cfn := cloudformation.NewFromConfig(base)
	var names []string
	for _, r := range tmpl.Resources("AWS::CloudFormation::StackSet") {
		v, err := tmpl.Resolve(r.Properties)
		if err != nil {
			return names, fmt.Errorf("StackSet %s: %w", r.LogicalID, err)
		}
		var p struct {
			StackSetName, TemplateBody, PermissionModel string
			Capabilities                                []cfntypes.Capability
			Parameters                                  []cfntypes.Parameter
			StackInstancesGroup                         []struct {
				DeploymentTargets struct{ OrganizationalUnitIds []string }
				Regions           []string
			}
		}
		b, _ := json.Marshal(v)
		if err := json.Unmarshal(b, &p); err != nil {
			return names, fmt.Errorf("StackSet %s: %w", r.LogicalID, err)
		}
		if _, err := cfn.CreateStackSet(ctx, &cloudformation.CreateStackSetInput{StackSetName: aws.String(p.StackSetName), TemplateBody: aws.String(p.TemplateBody),
			PermissionModel: cfntypes.PermissionModels(p.PermissionModel), Capabilities: p.Capabilities, Parameters: p.Parameters}); err != nil {
			return names, fmt.Errorf("create StackSet %s: %w", p.StackSetName, err)
		}
		for _, g := range p.StackInstancesGroup {
			if _, err := cfn.CreateStackInstances(ctx, &cloudformation.CreateStackInstancesInput{StackSetName: aws.String(p.StackSetName), Regions: g.Regions,
				DeploymentTargets: &cfntypes.DeploymentTargets{OrganizationalUnitIds: g.DeploymentTargets.OrganizationalUnitIds}}); err != nil {
				return names, fmt.Errorf("create the instances of %s: %w", p.StackSetName, err)
			}
		}
		names = append(names, p.StackSetName)
	}
	return names, nil
}

// MemberRegisterEvent is the event of call in account and region, as that
// account's default bus receives it from CloudTrail (the caller an IAM user
// of the account).
func MemberRegisterEvent(call RegisterCall, account, region, user string) ebtypes.PutEventsRequestEntry {
	call.Identity = IAMUser(user)
	call.Identity["accountId"], call.Identity["arn"] = account, fmt.Sprintf("arn:%s:iam::%s:user/%s", localaws.Partition, account, user)
	d := RegisterEventDetail(call)
	d["recipientAccountId"], d["awsRegion"] = account, region
	b, _ := json.Marshal(d)
	return ebtypes.PutEventsRequestEntry{Source: aws.String(SourceECS), DetailType: aws.String(DetailTypeCloudTrail),
		Detail: aws.String(string(b)), Time: aws.Time(time.Now().UTC()), Resources: []string{}}
}
