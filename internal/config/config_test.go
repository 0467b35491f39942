package config

import (
	"encoding/json"
	"errors"
	"flag"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/ecslogfix/ecslogfix/internal/awsarn"
	"github.com/ecslogfix/ecslogfix/internal/config/naming"
	"github.com/ecslogfix/ecslogfix/internal/policy"
	"github.com/ecslogfix/ecslogfix/internal/policy/awslogs"
	"github.com/ecslogfix/ecslogfix/internal/policy/exemption"
)

var update = flag.Bool("update", false, "rewrite docs/configuration.md")

func lookupMap(m map[string]any) func(string) (any, bool) {
	return func(k string) (any, bool) { v, ok := m[k]; return v, ok }
}

func TestLoadDefaults(t *testing.T) {
	c, err := Load(lookupMap(nil))
	if err != nil {
		t.Fatal(err)
	}
	want := Config{
		Mode: ModeSingle, Prefix: "ecslogfix", Policy: policy.Default(), SweepSchedule: "rate(1 day)", StackSetCallAs: "SELF",
		CreateDefaultExecutionRole: true, LogRetentionDays: 365, RegisterRate: 0.5, RolloutRate: 0.5, RemediateConcurrency: 0,
		MemoryMB: map[string]int{"detect": 128, "remediate": 128, "notify": 128, "sweep": 128}, HookFailureMode: HookWarn,
		SecurityHub: SecurityHubOff, ReportSchedule: DefaultReportSchedule,
		SweepMaxConcurrency: 40, SweepToleratedFailurePercentage: 5,
	}
	if !reflect.DeepEqual(c, want) {
		t.Fatalf("defaults:\n got %+v\nwant %+v", c, want)
	}
}

// Values from -c key=value arrive as strings; cdk.json gives typed JSON.
func TestLoadStringAndTypedValues(t *testing.T) {
	for name, ctx := range map[string]map[string]any{
		"strings": {
			"ecslogfix:mode": "organization", "ecslogfix:organizationId": "o-abcdefghij",
			"ecslogfix:targetOUs": "ou-ab12-abcdefgh, r-ab12", "ecslogfix:regions": `["eu-west-1","us-east-1"]`,
			"ecslogfix:notificationEmails": "a@example.com,b@example.com", "ecslogfix:createDefaultExecutionRole": "false",
			"ecslogfix:registerRate": "0.25", "ecslogfix:rolloutRate": "0.2", "ecslogfix:logRetentionDays": "30", "ecslogfix:memoryMB.remediate": "256",
			"ecslogfix:sweepSchedule": "off", "ecslogfix:allowedAccounts": "111122223333", "ecslogfix:iamRegion": "us-east-1",
		},
		"typed": {
			"ecslogfix:mode": "organization", "ecslogfix:organizationId": "o-abcdefghij",
			"ecslogfix:targetOUs": []any{"ou-ab12-abcdefgh", "r-ab12"}, "ecslogfix:regions": []any{"eu-west-1", "us-east-1"},
			"ecslogfix:notificationEmails": []any{"a@example.com", "b@example.com"}, "ecslogfix:createDefaultExecutionRole": false,
			"ecslogfix:registerRate": 0.25, "ecslogfix:rolloutRate": 0.2, "ecslogfix:logRetentionDays": float64(30), "ecslogfix:memoryMB.remediate": float64(256),
			"ecslogfix:sweepSchedule": "off", "ecslogfix:allowedAccounts": []any{"111122223333"}, "ecslogfix:iamRegion": "us-east-1",
		},
	} {
		t.Run(name, func(t *testing.T) {
			c, err := Load(lookupMap(ctx))
			if err != nil {
				t.Fatal(err)
			}
			if c.Mode != ModeOrganization || c.OrganizationID != "o-abcdefghij" ||
				!reflect.DeepEqual(c.TargetOUs, []string{"ou-ab12-abcdefgh", "r-ab12"}) ||
				!reflect.DeepEqual(c.Regions, []string{"eu-west-1", "us-east-1"}) ||
				!reflect.DeepEqual(c.NotificationEmails, []string{"a@example.com", "b@example.com"}) ||
				c.CreateDefaultExecutionRole || c.RegisterRate != 0.25 || c.RolloutRate != 0.2 || c.LogRetentionDays != 30 ||
				c.MemoryMB["remediate"] != 256 || c.MemoryMB["detect"] != 128 || c.SweepSchedule != "" ||
				!reflect.DeepEqual(c.AllowedAccounts, []string{"111122223333"}) || c.IAMRegion != "us-east-1" {
				t.Fatalf("got %+v", c)
			}
		})
	}
}

func TestLoadErrorsNameTheKey(t *testing.T) {
	org := map[string]any{"ecslogfix:mode": "organization", "ecslogfix:organizationId": "o-abcdefghij",
		"ecslogfix:targetOUs": "r-ab12", "ecslogfix:regions": "eu-west-1", "ecslogfix:iamRegion": "eu-west-1"}
	with := func(k string, v any) map[string]any {
		m := map[string]any{}
		for k, v := range org {
			m[k] = v
		}
		if v == nil {
			delete(m, k)
		} else {
			m[k] = v
		}
		return m
	}
	for _, tc := range []struct {
		key string
		ctx map[string]any
	}{
		{"ecslogfix:mode", map[string]any{"ecslogfix:mode": "multi"}},
		{"ecslogfix:prefix", map[string]any{"ecslogfix:prefix": "Bad_Prefix"}},
		{"ecslogfix:prefix", map[string]any{"ecslogfix:prefix": "a-very-long-prefix-over-20"}},
		{"ecslogfix:enforcement", map[string]any{"ecslogfix:enforcement": "fix"}},
		{"ecslogfix:notificationEmails", map[string]any{"ecslogfix:notificationEmails": "not-an-email"}},
		{"ecslogfix:notificationEmails", map[string]any{"ecslogfix:notificationEmails": []any{1.0}}},
		{"ecslogfix:slackWebhookSecretArn", map[string]any{"ecslogfix:slackWebhookSecretArn": "arn:aws:s3:::bucket"}},
		{"ecslogfix:slackChannelId", map[string]any{"ecslogfix:slackWorkspaceId": "T0123"}},
		{"ecslogfix:slackWorkspaceId", map[string]any{"ecslogfix:slackWorkspaceId": "lower"}},
		{"ecslogfix:teamsTenantId", map[string]any{"ecslogfix:teamsTenantId": "contoso"}},
		{"ecslogfix:teamsChannelId", map[string]any{"ecslogfix:teamsChannelId": "19:abc@thread.tacv2"}},
		{"ecslogfix:teamsChannelId", map[string]any{"ecslogfix:teamsTenantId": "0f1e2d3c-4b5a-6978-8695-a4b3c2d1e0f9"}},
		{"ecslogfix:teamsTeamId", map[string]any{"ecslogfix:regions": "us-gov-west-1", "ecslogfix:teamsTenantId": "0f1e2d3c-4b5a-6978-8695-a4b3c2d1e0f9",
			"ecslogfix:teamsTeamId": "1a2b3c4d-5e6f-4a8b-9c0d-1e2f3a4b5c6d", "ecslogfix:teamsChannelId": "19%3ab6ef35dc342d56ba5654e6fc6d25a071%40thread.tacv2"}},
		{"ecslogfix:organizationId", map[string]any{"ecslogfix:organizationId": "org-1"}},
		{"ecslogfix:targetOUs", map[string]any{"ecslogfix:targetOUs": "ou-nope"}},
		{"ecslogfix:regions", map[string]any{"ecslogfix:regions": "eu-west-1,Mars"}},
		{"ecslogfix:stackSetCallAs", map[string]any{"ecslogfix:stackSetCallAs": "ADMIN"}},
		{"ecslogfix:regions", map[string]any{"ecslogfix:regions": "[not json"}},
		{"ecslogfix:allowedAccounts", map[string]any{"ecslogfix:allowedAccounts": "1234"}},
		{"ecslogfix:sweepSchedule", map[string]any{"ecslogfix:sweepSchedule": "daily"}},
		{"ecslogfix:sweepSchedule", map[string]any{"ecslogfix:sweepSchedule": "rate(banana)"}},
		{"ecslogfix:sweepSchedule", map[string]any{"ecslogfix:sweepSchedule": "cron(0 3 * * *)"}},
		{"ecslogfix:sweepMaxConcurrency", map[string]any{"ecslogfix:sweepMaxConcurrency": "0"}},
		{"ecslogfix:sweepAccessLogBucket", map[string]any{"ecslogfix:sweepAccessLogBucket": "Logs_Bucket"}},
		{"ecslogfix:sweepMaxConcurrency", map[string]any{"ecslogfix:sweepMaxConcurrency": "10001"}},
		{"ecslogfix:sweepToleratedFailurePercentage", map[string]any{"ecslogfix:sweepToleratedFailurePercentage": "101"}},
		{"ecslogfix:sweepToleratedFailurePercentage", map[string]any{"ecslogfix:sweepToleratedFailurePercentage": "-1"}},
		{"ecslogfix:createDefaultExecutionRole", map[string]any{"ecslogfix:createDefaultExecutionRole": "yes please"}},
		{"ecslogfix:logRetentionDays", map[string]any{"ecslogfix:logRetentionDays": "8"}},
		{"ecslogfix:logRetentionDays", map[string]any{"ecslogfix:logRetentionDays": 1.5}},
		{"ecslogfix:registerRate", map[string]any{"ecslogfix:registerRate": "0"}},
		{"ecslogfix:registerRate", map[string]any{"ecslogfix:registerRate": "fast"}},
		{"ecslogfix:rolloutRate", map[string]any{"ecslogfix:rolloutRate": "21"}},
		// A policy field's value is judged by policy.Validate on the whole
		// policy: the error names the policy key and the field.
		{"ecslogfix:policy", map[string]any{"ecslogfix:policy.rollout": "everything"}},
		{"ecslogfix:policy", map[string]any{"ecslogfix:policy.deregisterSource": "always"}},
		{"ecslogfix:policy", map[string]any{"ecslogfix:policy.rolloutPollSeconds": "0"}},
		{"ecslogfix:memoryMB.detect", map[string]any{"ecslogfix:memoryMB.detect": "64"}},
		{"ecslogfix:policy", map[string]any{"ecslogfix:policy": "[1]"}},
		{"ecslogfix:policy.exemptionTag", map[string]any{"ecslogfix:policy.exemptionTag": "novalue"}},
		{"ecslogfix:organizationId", with("ecslogfix:organizationId", nil)},
		{"ecslogfix:targetOUs", with("ecslogfix:targetOUs", nil)},
		{"ecslogfix:regions", with("ecslogfix:regions", nil)},
		{"ecslogfix:iamRegion", with("ecslogfix:iamRegion", nil)},
		{"ecslogfix:iamRegion", with("ecslogfix:iamRegion", "us-east-1")},
		{"ecslogfix:iamRegion", map[string]any{"ecslogfix:iamRegion": "eu-west-1"}},
		{"ecslogfix:remediateConcurrency", map[string]any{"ecslogfix:remediateConcurrency": "-1"}},
		{"ecslogfix:vpcSubnetIds", map[string]any{"ecslogfix:vpcSubnetIds": "subnet-xyz"}},
		{"ecslogfix:vpcSecurityGroupIds", map[string]any{"ecslogfix:vpcSecurityGroupIds": "sg-nope"}},
		{"ecslogfix:vpcSecurityGroupIds", map[string]any{"ecslogfix:vpcSubnetIds": "subnet-0123456789abcdef0"}},
		{"ecslogfix:regions", map[string]any{"ecslogfix:regions": "eu-west-1,cn-north-1"}},
		{"ecslogfix:slackWorkspaceId", map[string]any{"ecslogfix:regions": "us-gov-west-1", "ecslogfix:slackWorkspaceId": "T01", "ecslogfix:slackChannelId": "C01"}},
		{"ecslogfix:mode", map[string]any{"ecslogfix:mode": "organization", "ecslogfix:organizationId": "o-abcdefghij",
			"ecslogfix:targetOUs": "r-ab12", "ecslogfix:regions": "cn-north-1", "ecslogfix:iamRegion": "cn-north-1"}},
		{"ecslogfix:policy.kmsKeyArn", map[string]any{"ecslogfix:regions": "eu-west-1,us-east-1",
			"ecslogfix:policy.kmsKeyArn": "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"}},
		{"ecslogfix:policy.kmsKeyArn", map[string]any{"ecslogfix:regions": "eu-west-1", "ecslogfix:policy.logRegion": "us-east-1",
			"ecslogfix:policy.kmsKeyArn": "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"}},
	} {
		_, err := Load(lookupMap(tc.ctx))
		var ke *KeyError
		if !errors.As(err, &ke) || ke.Key != tc.key || !strings.Contains(err.Error(), tc.key) {
			t.Errorf("%v: got %v, want a KeyError naming %s", tc.ctx, err, tc.key)
		}
	}
}

func TestUnknownKeys(t *testing.T) {
	got := UnknownKeys([]string{"ecslogfix:mode", "ecslogfix:regoins", "ecslogfix:policy", "ecslogfix:policy.retentionDays",
		"ecslogfix:policy.nope", "@aws-cdk/core:newStyleStackSynthesis", "ecslogfix:memoryMB.notify"})
	if want := []string{"ecslogfix:policy.nope", "ecslogfix:regoins"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
}

func TestNamesDeriveFromPrefix(t *testing.T) {
	n := Config{Prefix: "acme"}.Names()
	got := []string{n.Function(naming.FunctionDetect), n.FunctionRole(naming.FunctionNotify), n.StateMachine(), n.MemberRole(),
		n.EventBus(), n.Topic(), n.DefaultExecutionRole(), n.StackSet(), n.FunctionLogGroup(naming.FunctionRemediate),
		n.StateMachineLogGroup(), awsarn.RoleARN("aws", "111122223333", n.MemberRole())}
	want := []string{"acme-detect", "acme-notify", "acme-remediation", "acme-member", "acme-hub", "acme-notifications",
		"acme-task-execution", "acme-member", "/aws/lambda/acme-remediate", "/aws/vendedlogs/states/acme-remediation",
		"arn:aws:iam::111122223333:role/acme-member"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %v\nwant %v", got, want)
	}
	// IAM role names are at most 64 characters: check the longest prefix.
	long := naming.Names{Prefix: strings.Repeat("a", 20)}
	for _, r := range []string{long.FunctionRole(naming.FunctionRemediate), long.MemberRole(), long.MemberForwarderRole(), long.DefaultExecutionRole()} {
		if len(r) > 64 {
			t.Errorf("role name %q longer than 64", r)
		}
	}
}

func TestLoadPolicyKeys(t *testing.T) {
	c, err := Load(lookupMap(map[string]any{
		"ecslogfix:policy":                "{\"retentionDays\": 30, \"streamPrefix\": \"app\"}",
		"ecslogfix:policy.retentionDays":  "90",
		"ecslogfix:policy.allowedDrivers": "awslogs,splunk",
		"ecslogfix:policy.exemptionTag":   "skip=yes",
		"ecslogfix:policy.logGroupTags":   "team=platform,cost=42",
		"ecslogfix:enforcement":           "report",
	}))
	if err != nil {
		t.Fatal(err)
	}
	p := c.Policy
	if !c.PolicySet || p.RetentionDays != 90 || p.StreamPrefix != "app" || !reflect.DeepEqual(p.AllowedDrivers, []string{"awslogs", "splunk"}) ||
		p.ExemptionTag != (exemption.Tag{Key: "skip", Value: "yes"}) || p.LogGroupTags["cost"] != "42" || p.Enforcement != policy.Report ||
		p.LogGroupTemplate != policy.Default().LogGroupTemplate {
		t.Fatalf("policy = %+v", p)
	}
	// The log-group lifecycle and delivery keys, as -c strings.
	c, err = Load(lookupMap(map[string]any{
		"ecslogfix:policy.logGroupPatterns":       "/ecs/*,/shared/*",
		"ecslogfix:policy.existingGroupRetention": "enforce",
		"ecslogfix:policy.allowShorten":           "true",
		"ecslogfix:policy.deletionProtection":     "false",
		"ecslogfix:policy.requiredMode":           "non-blocking",
		"ecslogfix:policy.minBufferSize":          "25m",
	}))
	if err != nil {
		t.Fatal(err)
	}
	p = c.Policy
	if !reflect.DeepEqual(p.LogGroupPatterns, []string{"/ecs/*", "/shared/*"}) || p.ExistingGroupRetention != policy.RetentionEnforce || !p.AllowShorten ||
		p.DeletionProtected() || p.RequiredMode != awslogs.ModeNonBlocking || p.MinBufferSize != "25m" {
		t.Fatalf("policy = %+v", p)
	}
	for k, v := range map[string]any{"ecslogfix:policy.logGroupPatterns": "/app/*", "ecslogfix:policy.requiredMode": "sync", "ecslogfix:policy.allowShorten": "maybe"} {
		if _, err := Load(lookupMap(map[string]any{k: v})); err == nil {
			t.Errorf("%s=%v accepted", k, v)
		}
	}
	// An invalid policy value is reported under the policy key.
	_, err = Load(lookupMap(map[string]any{"ecslogfix:policy.retentionDays": 8.0}))
	var ke *KeyError
	if !errors.As(err, &ke) || ke.Key != PolicyKey {
		t.Fatalf("got %v", err)
	}
}

func TestConfigurationDocIsUpToDate(t *testing.T) {
	const path = "../../docs/configuration.md"
	want := Markdown()
	if *update {
		if err := os.WriteFile(path, []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != want {
		t.Fatalf("%s is out of date: run go test ./internal/config -update", path)
	}
	for _, k := range Keys {
		if !strings.Contains(want, "`"+k.Name+"`") {
			t.Errorf("key %s missing from the reference", k.Name)
		}
	}
}

// The documented policy defaults are policy.Default()'s.
func TestPolicyFieldDefaultsMatchPolicyDefault(t *testing.T) {
	data, err := json.Marshal(policy.Default())
	if err != nil {
		t.Fatal(err)
	}
	var def map[string]any
	if err := json.Unmarshal(data, &def); err != nil {
		t.Fatal(err)
	}
	for _, f := range policyFields {
		if strings.HasPrefix(f.def, "(") { // a description, not a value
			continue
		}
		v, ok := def[f.name]
		got := ""
		if ok {
			if s, isString := v.(string); isString {
				got = s
			} else {
				b, _ := json.Marshal(v)
				got = string(b)
			}
		}
		if f.def == "{}" && !ok {
			got = "{}"
		}
		if got != f.def {
			t.Errorf("policy.%s: documented default %q, policy.Default() has %q", f.name, f.def, got)
		}
	}
}

// A KMS key of the one region log groups are created in is accepted: the
// only covered region, or the central logRegion.
func TestKMSKeyInTheGroupsRegion(t *testing.T) {
	key := "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
	for _, ctx := range []map[string]any{
		{"ecslogfix:regions": "eu-west-1", "ecslogfix:policy.kmsKeyArn": key},
		{"ecslogfix:regions": "eu-west-1,us-east-1", "ecslogfix:policy.logRegion": "eu-west-1", "ecslogfix:policy.kmsKeyArn": key},
		{"ecslogfix:policy.kmsKeyArn": key}, // the stack's region: asserted by the template at deploy time
	} {
		if _, err := Load(lookupMap(ctx)); err != nil {
			t.Errorf("%v: %v", ctx, err)
		}
	}
}

// With a reservation the instances share the rate; without one each may
// use it all.
func TestRegisterRatePerInstance(t *testing.T) {
	for _, tc := range []struct {
		reserved int
		want     float64
	}{{0, 0.5}, {1, 0.5}, {2, 0.25}, {5, 0.1}} {
		c := Config{RegisterRate: 0.5, RolloutRate: 0.5, RemediateConcurrency: tc.reserved}
		if got := c.RegisterRatePerInstance(); got != tc.want {
			t.Errorf("reserved %d: %v per instance, want %v", tc.reserved, got, tc.want)
		}
		if got := c.RolloutRatePerInstance(); got != tc.want {
			t.Errorf("reserved %d: rollout %v per instance, want %v", tc.reserved, got, tc.want)
		}
	}
}

func TestHookKeys(t *testing.T) {
	c, err := Load(func(k string) (any, bool) {
		v, ok := map[string]any{"ecslogfix:hook": "true", "ecslogfix:hookFailureMode": "FAIL"}[k]
		return v, ok
	})
	if err != nil || !c.Hook || c.HookFailureMode != HookFail {
		t.Fatalf("%v %+v", err, c)
	}
	_, err = Load(func(k string) (any, bool) {
		v, ok := map[string]any{"ecslogfix:hookFailureMode": "warn"}[k]
		return v, ok
	})
	var ke *KeyError
	if !errors.As(err, &ke) || ke.Key != "ecslogfix:hookFailureMode" {
		t.Errorf("lower-case failure mode: %v", err)
	}
}

// The regions setting takes every region the policy takes: one validator
// (awsarn), the sovereign-cloud and two-digit forms included.
func TestRegionsTakeEveryPartitionsShape(t *testing.T) {
	for _, r := range []string{"eusc-de-east-1", "ap-southeast-10"} {
		c, err := Load(func(k string) (any, bool) {
			if k == ContextPrefix+"regions" {
				return r, true
			}
			return nil, false
		})
		if err != nil || len(c.Regions) != 1 || c.Regions[0] != r {
			t.Errorf("regions %s: %+v, %v", r, c.Regions, err)
		}
	}
}
