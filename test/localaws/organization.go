package localaws

import (
	"context"
	"fmt"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	orgtypes "github.com/aws/aws-sdk-go-v2/service/organizations/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

// Organization is an AWS Organization in moto, made by the configuration's
// account (its management account), to add OUs and accounts to. moto draws
// account and OU IDs at random (POST /moto-api/seed makes them
// reproducible). moto keeps accounts apart by credentials: As gives
// another account's.
type Organization struct {
	tb   testing.TB
	org  *organizations.Client
	base aws.Config
	// ID is the organization's (o-…), Management the management account,
	// Root the root's ID (r-…).
	ID, Management, Root string
}

// NewOrganization creates the organization (all features) with cfg.
func NewOrganization(tb testing.TB, cfg aws.Config) *Organization {
	tb.Helper()
	ctx := context.Background()
	o := &Organization{tb: tb, org: organizations.NewFromConfig(cfg), base: cfg}
	created, err := o.org.CreateOrganization(ctx, &organizations.CreateOrganizationInput{FeatureSet: orgtypes.OrganizationFeatureSetAll})
	if err != nil {
		tb.Fatal(err)
	}
	roots, err := o.org.ListRoots(ctx, &organizations.ListRootsInput{})
	if err != nil {
		tb.Fatal(err)
	}
	o.ID, o.Management, o.Root = aws.ToString(created.Organization.Id), aws.ToString(created.Organization.MasterAccountId), aws.ToString(roots.Roots[0].Id)
	return o
}

// OU creates an organizational unit under parent and returns its ID.
func (o *Organization) OU(parent, name string) string {
	o.tb.Helper()
	out, err := o.org.CreateOrganizationalUnit(context.Background(), &organizations.CreateOrganizationalUnitInput{ParentId: aws.String(parent), Name: aws.String(name)})
	if err != nil {
		o.tb.Fatal(err)
	}
	return aws.ToString(out.OrganizationalUnit.Id)
}

// Account creates an account named name, moves it under parent and
// returns its ID.
func (o *Organization) Account(name, parent string) string {
	o.tb.Helper()
	ctx := context.Background()
	out, err := o.org.CreateAccount(ctx, &organizations.CreateAccountInput{AccountName: aws.String(name), Email: aws.String(name + "@example.com")})
	if err != nil {
		o.tb.Fatal(err)
	}
	id := aws.ToString(out.CreateAccountStatus.AccountId)
	if _, err := o.org.MoveAccount(ctx, &organizations.MoveAccountInput{AccountId: aws.String(id), SourceParentId: aws.String(o.Root), DestinationParentId: aws.String(parent)}); err != nil {
		o.tb.Fatal(err)
	}
	return id
}

// Close closes the account.
func (o *Organization) Close(account string) {
	o.tb.Helper()
	if _, err := o.org.CloseAccount(context.Background(), &organizations.CloseAccountInput{AccountId: aws.String(account)}); err != nil {
		o.tb.Fatal(err)
	}
}

// As is an SDK configuration acting in account and region: the
// credentials of the account's OrganizationAccountAccessRole (moto creates
// it with the account), or the organization's own for the management
// account. It returns an error rather than ending the test, so that
// goroutines may call it.
func (o *Organization) As(ctx context.Context, account, region string) (aws.Config, error) {
	cfg := o.base.Copy()
	cfg.Region = region
	if account == o.Management {
		return cfg, nil
	}
	out, err := sts.NewFromConfig(o.base).AssumeRole(ctx, &sts.AssumeRoleInput{
		RoleArn: aws.String("arn:aws:iam::" + account + ":role/OrganizationAccountAccessRole"), RoleSessionName: aws.String("localaws")})
	if err != nil {
		return aws.Config{}, fmt.Errorf("assume into %s: %w", account, err)
	}
	c := out.Credentials
	cfg.Credentials = credentials.NewStaticCredentialsProvider(aws.ToString(c.AccessKeyId), aws.ToString(c.SecretAccessKey), aws.ToString(c.SessionToken))
	return cfg, nil
}
