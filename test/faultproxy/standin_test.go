package faultproxy_test

import (
	"context"
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"

	"github.com/ecslogfix/ecslogfix/test/faultproxy"
	"github.com/ecslogfix/ecslogfix/test/localaws"
)

// Deletion protection as CloudWatch Logs enforces it, in front of a moto
// that ignores it: moto alone deletes a protected group; through the
// proxy's stand-in the deletion is refused with AWS's ValidationException
// until the protection is lifted, and DescribeLogGroups reports it.
func TestStandInDeletionProtection(t *testing.T) {
	env := localaws.Start(t, localaws.Options{Faults: &faultproxy.Config{StandIns: true}})
	ctx := context.Background()
	logs := cloudwatchlogs.NewFromConfig(env.Config())
	direct := cloudwatchlogs.NewFromConfig(env.Direct())

	// moto's own answer, which AWS would not give.
	if _, err := direct.CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String("/moto/alone"), DeletionProtectionEnabled: aws.Bool(true)}); err != nil {
		t.Fatal(err)
	}
	if _, err := direct.DeleteLogGroup(ctx, &cloudwatchlogs.DeleteLogGroupInput{LogGroupName: aws.String("/moto/alone")}); err != nil {
		t.Fatalf("moto refused to delete a protected group (the stand-in may no longer be needed): %v", err)
	}

	if _, err := logs.CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String("/ecs/protected"), DeletionProtectionEnabled: aws.Bool(true)}); err != nil {
		t.Fatal(err)
	}
	if _, err := logs.CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String("/ecs/plain")}); err != nil {
		t.Fatal(err)
	}
	protection := func() map[string]bool {
		out, err := logs.DescribeLogGroups(ctx, &cloudwatchlogs.DescribeLogGroupsInput{LogGroupNamePrefix: aws.String("/ecs/")})
		if err != nil {
			t.Fatal(err)
		}
		m := map[string]bool{}
		for _, g := range out.LogGroups {
			m[aws.ToString(g.LogGroupName)] = aws.ToBool(g.DeletionProtectionEnabled)
		}
		return m
	}
	if got := protection(); !got["/ecs/protected"] || got["/ecs/plain"] || len(got) != 2 {
		t.Fatalf("DescribeLogGroups protection %v", got)
	}
	_, err := logs.DeleteLogGroup(ctx, &cloudwatchlogs.DeleteLogGroupInput{LogGroupName: aws.String("/ecs/protected")})
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != "ValidationException" || ae.ErrorMessage() != faultproxy.DeletionProtectionMessage {
		t.Fatalf("delete of a protected group: %v", err)
	}
	if _, err := logs.PutLogGroupDeletionProtection(ctx, &cloudwatchlogs.PutLogGroupDeletionProtectionInput{
		LogGroupIdentifier: aws.String("arn:aws:logs:us-east-1:123456789012:log-group:/ecs/protected:*"), DeletionProtectionEnabled: aws.Bool(false),
	}); err != nil {
		t.Fatal(err)
	}
	if got := protection(); got["/ecs/protected"] {
		t.Fatalf("protection not lifted: %v", got)
	}
	if _, err := logs.DeleteLogGroup(ctx, &cloudwatchlogs.DeleteLogGroupInput{LogGroupName: aws.String("/ecs/protected")}); err != nil {
		t.Fatalf("delete after lifting: %v", err)
	}
	if got := protection(); len(got) != 1 {
		t.Fatalf("groups left %v", got)
	}
	// Turned on again on an existing group, it holds again.
	if _, err := logs.PutLogGroupDeletionProtection(ctx, &cloudwatchlogs.PutLogGroupDeletionProtectionInput{
		LogGroupIdentifier: aws.String("/ecs/plain"), DeletionProtectionEnabled: aws.Bool(true),
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := logs.DeleteLogGroup(ctx, &cloudwatchlogs.DeleteLogGroupInput{LogGroupName: aws.String("/ecs/plain")}); !errors.As(err, &ae) || ae.ErrorCode() != "ValidationException" {
		t.Fatalf("delete of a group protected later: %v", err)
	}
}

// The defaultLogDriverMode account setting, which moto refuses to list:
// through the stand-in it is kept per region and reported as effective.
func TestStandInLogDriverMode(t *testing.T) {
	env := localaws.Start(t, localaws.Options{Faults: &faultproxy.Config{StandIns: true}})
	ctx := context.Background()
	list := func(c *ecs.Client) (string, error) {
		out, err := c.ListAccountSettings(ctx, &ecs.ListAccountSettingsInput{Name: ecstypes.SettingNameDefaultLogDriverMode, EffectiveSettings: true})
		if err != nil {
			return "", err
		}
		for _, s := range out.Settings {
			return aws.ToString(s.Value), nil
		}
		return "", nil
	}
	if _, err := list(ecs.NewFromConfig(env.Direct())); err == nil {
		t.Fatal("moto listed defaultLogDriverMode (the stand-in may no longer be needed)")
	}
	c := ecs.NewFromConfig(env.Config())
	if v, err := list(c); err != nil || v != "" {
		t.Fatalf("unset: %q, %v", v, err)
	}
	if _, err := c.PutAccountSettingDefault(ctx, &ecs.PutAccountSettingDefaultInput{Name: ecstypes.SettingNameDefaultLogDriverMode, Value: aws.String("blocking")}); err != nil {
		t.Fatal(err)
	}
	if v, err := list(c); err != nil || v != "blocking" {
		t.Fatalf("after PutAccountSettingDefault: %q, %v", v, err)
	}
	other := env.Config()
	other.Region = "eu-west-1"
	if v, err := list(ecs.NewFromConfig(other)); err != nil || v != "" {
		t.Fatalf("another region: %q, %v", v, err)
	}
	if _, err := c.PutAccountSettingDefault(ctx, &ecs.PutAccountSettingDefaultInput{Name: ecstypes.SettingNameDefaultLogDriverMode, Value: aws.String("async")}); err == nil {
		t.Fatal("an invalid value was accepted")
	}
	// Other settings still reach moto.
	if _, err := c.ListAccountSettings(ctx, &ecs.ListAccountSettingsInput{Name: ecstypes.SettingNameContainerInsights}); err != nil {
		t.Fatalf("containerInsights: %v", err)
	}
}

// A family read answers the latest ACTIVE revision, as ECS does; moto
// answers the newest of any status. A family with no ACTIVE revision is
// ECS's ClientException.
func TestStandInFamilyReadIsTheLatestActive(t *testing.T) {
	env := localaws.Start(t, localaws.Options{Faults: &faultproxy.Config{StandIns: true}})
	ctx := context.Background()
	c, direct := ecs.NewFromConfig(env.Config()), ecs.NewFromConfig(env.Direct())
	reg := func(family string) string {
		out, err := direct.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{Family: aws.String(family),
			ContainerDefinitions: []ecstypes.ContainerDefinition{{Name: aws.String("app"), Image: aws.String("nginx"), Memory: aws.Int32(128)}}})
		if err != nil {
			t.Fatal(err)
		}
		return aws.ToString(out.TaskDefinition.TaskDefinitionArn)
	}
	deregister := func(arn string) {
		if _, err := direct.DeregisterTaskDefinition(ctx, &ecs.DeregisterTaskDefinitionInput{TaskDefinition: aws.String(arn)}); err != nil {
			t.Fatal(err)
		}
	}
	first := reg("web")
	reg("web-other") // a family whose name the first one prefixes
	deregister(reg("web"))
	if out, err := direct.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String("web")}); err != nil || out.TaskDefinition.Status == ecstypes.TaskDefinitionStatusActive {
		t.Fatalf("moto answered %+v, %v: the stand-in may no longer be needed", out, err)
	}
	out, err := c.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String("web"), Include: []ecstypes.TaskDefinitionField{ecstypes.TaskDefinitionFieldTags}})
	if err != nil || aws.ToString(out.TaskDefinition.TaskDefinitionArn) != first || out.TaskDefinition.Status != ecstypes.TaskDefinitionStatusActive {
		t.Fatalf("family read through the stand-in: %+v, %v; want %s ACTIVE", out, err, first)
	}
	deregister(first)
	_, err = c.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String("web")})
	var ce *ecstypes.ClientException
	if !errors.As(err, &ce) {
		t.Fatalf("a family without an ACTIVE revision: %v, want ClientException", err)
	}
}

// registeredBy as ECS reports it: the principal whose credentials
// registered the revision. moto drops it; through the stand-in a revision
// registered with moto's static credentials is moto's caller, one
// registered with credentials AssumeRole returned through the proxy is that
// role's session, on Register, Describe and Deregister alike. A revision
// registered past the proxy has none.
func TestStandInRegisteredBy(t *testing.T) {
	env := localaws.Start(t, localaws.Options{Faults: &faultproxy.Config{StandIns: true}})
	ctx := context.Background()
	in := func(family string) *ecs.RegisterTaskDefinitionInput {
		return &ecs.RegisterTaskDefinitionInput{Family: aws.String(family),
			ContainerDefinitions: []ecstypes.ContainerDefinition{{Name: aws.String("app"), Image: aws.String("nginx"), Memory: aws.Int32(128)}}}
	}
	direct := ecs.NewFromConfig(env.Direct())
	out, err := direct.RegisterTaskDefinition(ctx, in("past"))
	if err != nil {
		t.Fatal(err)
	}
	if by := out.TaskDefinition.RegisteredBy; by != nil {
		t.Fatalf("moto reported registeredBy %q (the stand-in may no longer be needed)", *by)
	}
	id, err := sts.NewFromConfig(env.Config()).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		t.Fatal(err)
	}
	role, err := sts.NewFromConfig(env.Config()).AssumeRole(ctx, &sts.AssumeRoleInput{
		RoleArn: aws.String("arn:aws:iam::123456789012:role/deployer"), RoleSessionName: aws.String("ci-42")})
	if err != nil {
		t.Fatal(err)
	}
	assumed := env.Config()
	assumed.Credentials = credentials.NewStaticCredentialsProvider(aws.ToString(role.Credentials.AccessKeyId),
		aws.ToString(role.Credentials.SecretAccessKey), aws.ToString(role.Credentials.SessionToken))
	const session = "arn:aws:sts::123456789012:assumed-role/deployer/ci-42"
	if caller := aws.ToString(id.Arn); caller == session || caller == "" {
		t.Fatalf("moto's caller %q cannot be told from the assumed role", caller)
	}

	c := ecs.NewFromConfig(env.Config())
	for _, tc := range []struct {
		family string
		cfg    aws.Config
		want   string
	}{
		{"static", env.Config(), aws.ToString(id.Arn)},
		{"assumed", assumed, session},
	} {
		out, err := ecs.NewFromConfig(tc.cfg).RegisterTaskDefinition(ctx, in(tc.family))
		if err != nil {
			t.Fatal(err)
		}
		arn := aws.ToString(out.TaskDefinition.TaskDefinitionArn)
		if by := aws.ToString(out.TaskDefinition.RegisteredBy); by != tc.want {
			t.Errorf("%s: RegisterTaskDefinition registeredBy %q, want %q", tc.family, by, tc.want)
		}
		for _, ref := range []string{arn, tc.family} {
			d, err := c.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String(ref)})
			if err != nil || aws.ToString(d.TaskDefinition.RegisteredBy) != tc.want {
				t.Errorf("%s: DescribeTaskDefinition %s: %+v, %v; want registeredBy %q", tc.family, ref, d, err, tc.want)
			}
		}
		dr, err := c.DeregisterTaskDefinition(ctx, &ecs.DeregisterTaskDefinitionInput{TaskDefinition: aws.String(arn)})
		if err != nil || aws.ToString(dr.TaskDefinition.RegisteredBy) != tc.want {
			t.Errorf("%s: DeregisterTaskDefinition: %v; want registeredBy %q", tc.family, err, tc.want)
		}
	}
	d, err := c.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String("past")})
	if err != nil || d.TaskDefinition.RegisteredBy != nil {
		t.Errorf("a revision registered past the proxy: %+v, %v; want no registeredBy", d, err)
	}
}
