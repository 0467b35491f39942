package plan

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ecslogfix/ecslogfix/internal/policy"
	"github.com/ecslogfix/ecslogfix/internal/policy/awslogs"
	"github.com/ecslogfix/ecslogfix/internal/policy/reason"
	"github.com/ecslogfix/ecslogfix/internal/taskdef"
)

func opts(kv ...string) map[string]string {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return m
}

func awslogsConfig(kv ...string) *types.LogConfiguration {
	return &types.LogConfiguration{LogDriver: types.LogDriverAwslogs, Options: opts(kv...)}
}

func complete(kv ...string) *types.LogConfiguration {
	return awslogsConfig(append([]string{"awslogs-group", "/ecs/app", "awslogs-region", "us-east-1", "awslogs-stream-prefix", "app"}, kv...)...)
}

func newTD(containers ...types.ContainerDefinition) *types.TaskDefinition {
	return &types.TaskDefinition{
		TaskDefinitionArn:    aws.String("arn:aws:ecs:us-east-1:111122223333:task-definition/app:3"),
		Family:               aws.String("app"),
		Revision:             3,
		ContainerDefinitions: containers,
		NetworkMode:          types.NetworkModeBridge,
	}
}

func ctr(name string, lc *types.LogConfiguration) types.ContainerDefinition {
	return types.ContainerDefinition{Name: aws.String(name), Image: aws.String("nginx"), Essential: aws.Bool(true), LogConfiguration: lc}
}

func TestBuildFixRules(t *testing.T) {
	router := &types.FirelensConfiguration{Type: types.FirelensConfigurationTypeFluentbit}
	tests := []struct {
		name      string
		p         policy.Policy
		ctx       Context
		c         types.ContainerDefinition
		action    Action
		reasons   []reason.Code
		after     map[string]string // expected options after; nil = no change
		secrets   []types.Secret
		logGroups []LogGroup
		blockers  []string
	}{
		{name: "compliant untouched", c: ctr("app", complete("mode", "blocking")), action: ActionNone},
		{name: "missing configuration added", c: ctr("app", nil), action: ActionAdd, reasons: []reason.Code{reason.MissingLogConfiguration},
			after:     opts("awslogs-group", "/ecs/app", "awslogs-region", "us-east-1", "awslogs-stream-prefix", "ecs"),
			logGroups: []LogGroup{{Name: "/ecs/app", Region: "us-east-1", RetentionDays: 365, Tags: map[string]string{"ecslogfix:managed": "true"}}}},
		{name: "add uses context region over arn", ctx: Context{Region: "us-west-2", Account: "222233334444"}, p: policy.Policy{LogGroupTemplate: "/{account}/{region}/{family}"}, c: ctr("app", nil), action: ActionAdd,
			reasons:   []reason.Code{reason.MissingLogConfiguration},
			after:     opts("awslogs-group", "/222233334444/us-west-2/app", "awslogs-region", "us-west-2", "awslogs-stream-prefix", "ecs"),
			logGroups: []LogGroup{{Name: "/222233334444/us-west-2/app", Region: "us-west-2", RetentionDays: 365, Tags: map[string]string{"ecslogfix:managed": "true"}}}},
		{name: "add central region mode buffer", p: policy.Policy{LogRegion: "eu-west-1", Mode: "non-blocking", MaxBufferSize: "25m", StreamPrefix: "svc", RetentionDays: 30, KMSKeyARN: "arn:aws:kms:eu-west-1:111122223333:key/k", LogGroupClass: "STANDARD", LogGroupTags: map[string]string{"team": "x"}},
			c: ctr("app", nil), action: ActionAdd, reasons: []reason.Code{reason.MissingLogConfiguration},
			after:     opts("awslogs-group", "/ecs/app", "awslogs-region", "eu-west-1", "awslogs-stream-prefix", "svc", "mode", "non-blocking", "max-buffer-size", "25m"),
			logGroups: []LogGroup{{Name: "/ecs/app", Region: "eu-west-1", RetentionDays: 30, KMSKeyARN: "arn:aws:kms:eu-west-1:111122223333:key/k", Class: "STANDARD", Tags: map[string]string{"ecslogfix:managed": "true", "team": "x"}}}},
		{name: "add blocking mode no buffer", p: policy.Policy{Mode: "blocking", MaxBufferSize: "25m"}, c: ctr("app", nil), action: ActionAdd, reasons: []reason.Code{reason.MissingLogConfiguration},
			after:     opts("awslogs-group", "/ecs/app", "awslogs-region", "us-east-1", "awslogs-stream-prefix", "ecs", "mode", "blocking"),
			logGroups: []LogGroup{{Name: "/ecs/app", Region: "us-east-1", RetentionDays: 365, Tags: map[string]string{"ecslogfix:managed": "true"}}}},
		{name: "complete prefix keeps everything else", c: ctr("app", awslogsConfig("awslogs-group", "/custom/g", "awslogs-region", "eu-west-1", "awslogs-datetime-format", "%Y", "mode", "non-blocking", "max-buffer-size", "5m", "awslogs-create-group", "true")),
			action: ActionComplete, reasons: []reason.Code{reason.MissingStreamPrefix},
			after:     opts("awslogs-group", "/custom/g", "awslogs-region", "eu-west-1", "awslogs-datetime-format", "%Y", "mode", "non-blocking", "max-buffer-size", "5m", "awslogs-create-group", "true", "awslogs-stream-prefix", "ecs"),
			logGroups: []LogGroup{{Name: "/custom/g", Region: "eu-west-1", RetentionDays: 365, Tags: map[string]string{"ecslogfix:managed": "true"}, DriverCreates: true}}},
		{name: "complete region keeps multiline", c: ctr("app", awslogsConfig("awslogs-group", "/custom/g", "awslogs-stream-prefix", "p", "awslogs-multiline-pattern", "^\\[")),
			action: ActionComplete, reasons: []reason.Code{reason.MissingRegion},
			after:     opts("awslogs-group", "/custom/g", "awslogs-stream-prefix", "p", "awslogs-multiline-pattern", "^\\[", "awslogs-region", "us-east-1"),
			logGroups: []LogGroup{{Name: "/custom/g", Region: "us-east-1", RetentionDays: 365, Tags: map[string]string{"ecslogfix:managed": "true"}}}},
		{name: "complete group into existing region", c: ctr("app", awslogsConfig("awslogs-region", "ap-south-1", "awslogs-stream-prefix", "p")),
			action: ActionComplete, reasons: []reason.Code{reason.MissingGroup},
			after:     opts("awslogs-group", "/ecs/app", "awslogs-region", "ap-south-1", "awslogs-stream-prefix", "p"),
			logGroups: []LogGroup{{Name: "/ecs/app", Region: "ap-south-1", RetentionDays: 365, Tags: map[string]string{"ecslogfix:managed": "true"}}}},
		{name: "complete blank values", c: ctr("app", awslogsConfig("awslogs-group", " ", "awslogs-region", "", "awslogs-stream-prefix", "\t")),
			action: ActionComplete, reasons: []reason.Code{reason.MissingGroup, reason.MissingRegion, reason.MissingStreamPrefix},
			after:     opts("awslogs-group", "/ecs/app", "awslogs-region", "us-east-1", "awslogs-stream-prefix", "ecs"),
			logGroups: []LogGroup{{Name: "/ecs/app", Region: "us-east-1", RetentionDays: 365, Tags: map[string]string{"ecslogfix:managed": "true"}}}},
		{name: "complete invalid group replaced", c: ctr("app", awslogsConfig("awslogs-group", "aws/app", "awslogs-region", "us-east-1", "awslogs-stream-prefix", "p")),
			action: ActionComplete, reasons: []reason.Code{reason.InvalidGroup},
			after:     opts("awslogs-group", "/ecs/app", "awslogs-region", "us-east-1", "awslogs-stream-prefix", "p"),
			logGroups: []LogGroup{{Name: "/ecs/app", Region: "us-east-1", RetentionDays: 365, Tags: map[string]string{"ecslogfix:managed": "true"}}}},
		{name: "complete keeps explicit mode, adds no buffer to blocking", p: policy.Policy{Mode: "non-blocking", MaxBufferSize: "25m"}, c: ctr("app", awslogsConfig("awslogs-group", "/g", "awslogs-region", "us-east-1", "mode", "blocking")),
			action: ActionComplete, reasons: []reason.Code{reason.MissingStreamPrefix},
			after:     opts("awslogs-group", "/g", "awslogs-region", "us-east-1", "mode", "blocking", "awslogs-stream-prefix", "ecs"),
			logGroups: []LogGroup{{Name: "/g", Region: "us-east-1", RetentionDays: 365, Tags: map[string]string{"ecslogfix:managed": "true"}}}},
		{name: "complete adds buffer to explicit non-blocking", p: policy.Policy{Mode: "non-blocking", MaxBufferSize: "25m"}, c: ctr("app", awslogsConfig("awslogs-group", "/g", "awslogs-region", "us-east-1", "mode", "non-blocking")),
			action: ActionComplete, reasons: []reason.Code{reason.MissingStreamPrefix},
			after:     opts("awslogs-group", "/g", "awslogs-region", "us-east-1", "mode", "non-blocking", "max-buffer-size", "25m", "awslogs-stream-prefix", "ecs"),
			logGroups: []LogGroup{{Name: "/g", Region: "us-east-1", RetentionDays: 365, Tags: map[string]string{"ecslogfix:managed": "true"}}}},
		{name: "complete keeps awslogs secret options", c: ctr("app", &types.LogConfiguration{LogDriver: types.LogDriverAwslogs, Options: opts("awslogs-group", "/g", "awslogs-region", "us-east-1"), SecretOptions: []types.Secret{{Name: aws.String("x"), ValueFrom: aws.String("arn:aws:ssm:us-east-1:111122223333:parameter/x")}}}),
			action: ActionComplete, reasons: []reason.Code{reason.MissingStreamPrefix},
			after:     opts("awslogs-group", "/g", "awslogs-region", "us-east-1", "awslogs-stream-prefix", "ecs"),
			secrets:   []types.Secret{{Name: aws.String("x"), ValueFrom: aws.String("arn:aws:ssm:us-east-1:111122223333:parameter/x")}},
			logGroups: []LogGroup{{Name: "/g", Region: "us-east-1", RetentionDays: 365, Tags: map[string]string{"ecslogfix:managed": "true"}}}},
		{name: "splunk replaced, secrets dropped, mode kept", c: ctr("app", &types.LogConfiguration{LogDriver: types.LogDriverSplunk, Options: opts("splunk-url", "https://s", "mode", "non-blocking", "max-buffer-size", "2m"), SecretOptions: []types.Secret{{Name: aws.String("splunk-token"), ValueFrom: aws.String("arn:x")}}}),
			action: ActionReplace, reasons: []reason.Code{reason.DriverNotAllowed},
			after:     opts("awslogs-group", "/ecs/app", "awslogs-region", "us-east-1", "awslogs-stream-prefix", "ecs", "mode", "non-blocking", "max-buffer-size", "2m"),
			logGroups: []LogGroup{{Name: "/ecs/app", Region: "us-east-1", RetentionDays: 365, Tags: map[string]string{"ecslogfix:managed": "true"}}}},
		{name: "json-file reported by policy", p: policy.Policy{OtherDrivers: policy.ReportDriver}, c: ctr("app", &types.LogConfiguration{LogDriver: types.LogDriverJsonFile}),
			action: ActionReport, reasons: []reason.Code{reason.DriverNotAllowed}},
		{name: "allowed other driver untouched", p: policy.Policy{AllowedDrivers: []string{"awslogs", "syslog"}}, c: ctr("app", &types.LogConfiguration{LogDriver: types.LogDriverSyslog}), action: ActionNone},
		{name: "firelens reported", c: ctr("app", &types.LogConfiguration{LogDriver: types.LogDriverAwsfirelens, Options: opts("Name", "cloudwatch_logs")}),
			action: ActionReport, reasons: []reason.Code{reason.Firelens}},
		{name: "firelens never replaced", p: policy.Policy{OtherDrivers: policy.Replace}, c: ctr("app", &types.LogConfiguration{LogDriver: types.LogDriverAwsfirelens}),
			action: ActionReport, reasons: []reason.Code{reason.Firelens}},
		{name: "router without logging gets awslogs", c: types.ContainerDefinition{Name: aws.String("log_router"), FirelensConfiguration: router},
			action: ActionAdd, reasons: []reason.Code{reason.MissingLogConfiguration, reason.RouterNotAwslogs},
			after:     opts("awslogs-group", "/ecs/app", "awslogs-region", "us-east-1", "awslogs-stream-prefix", "ecs"),
			logGroups: []LogGroup{{Name: "/ecs/app", Region: "us-east-1", RetentionDays: 365, Tags: map[string]string{"ecslogfix:managed": "true"}}}},
		{name: "router on allowed splunk replaced", p: policy.Policy{AllowedDrivers: []string{"awslogs", "splunk"}}, c: types.ContainerDefinition{Name: aws.String("log_router"), FirelensConfiguration: router, LogConfiguration: &types.LogConfiguration{LogDriver: types.LogDriverSplunk}},
			action: ActionReplace, reasons: []reason.Code{reason.RouterNotAwslogs},
			after:     opts("awslogs-group", "/ecs/app", "awslogs-region", "us-east-1", "awslogs-stream-prefix", "ecs"),
			logGroups: []LogGroup{{Name: "/ecs/app", Region: "us-east-1", RetentionDays: 365, Tags: map[string]string{"ecslogfix:managed": "true"}}}},
		{name: "router on splunk reported by policy", p: policy.Policy{OtherDrivers: policy.ReportDriver}, c: types.ContainerDefinition{Name: aws.String("log_router"), FirelensConfiguration: router, LogConfiguration: &types.LogConfiguration{LogDriver: types.LogDriverSplunk}},
			action: ActionReport, reasons: []reason.Code{reason.DriverNotAllowed, reason.RouterNotAwslogs}},
		{name: "router on awsfirelens reported", c: types.ContainerDefinition{Name: aws.String("log_router"), FirelensConfiguration: router, LogConfiguration: &types.LogConfiguration{LogDriver: types.LogDriverAwsfirelens}},
			action: ActionReport, reasons: []reason.Code{reason.Firelens, reason.RouterNotAwslogs}},
		{name: "invalid template result blocks", p: policy.Policy{LogGroupTemplate: "/ecs/{container}"}, c: ctr("my app", nil), action: ActionAdd,
			reasons: []reason.Code{reason.MissingLogConfiguration}, after: opts("awslogs-group", "/ecs/my app", "awslogs-region", "us-east-1", "awslogs-stream-prefix", "ecs"),
			blockers: []string{BlockInvalidGroup}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			td := newTD(tt.c, ctr("ok", complete()))
			pl := mustBuild(t, td, nil, tt.p, tt.ctx)
			cc := pl.Containers[0]
			if cc.Action != tt.action || !reflect.DeepEqual(cc.Reasons, tt.reasons) {
				t.Fatalf("container = %s %v, want %s %v", cc.Action, cc.Reasons, tt.action, tt.reasons)
			}
			if pl.Containers[1].Action != ActionNone {
				t.Fatalf("compliant neighbour: %+v", pl.Containers[1])
			}
			if tt.after == nil {
				if pl.Changed != nil {
					t.Fatal("Changed set with nothing to register")
				}
			} else {
				got := pl.Changed.ContainerDefinitions[0].LogConfiguration
				if !reflect.DeepEqual(got.Options, tt.after) {
					t.Fatalf("options = %v\nwant %v", got.Options, tt.after)
				}
				if !reflect.DeepEqual(got.SecretOptions, tt.secrets) {
					t.Fatalf("secretOptions = %v, want %v", got.SecretOptions, tt.secrets)
				}
			}
			// Every group of the revision the plan leads to is listed, the
			// compliant neighbour's too, with the settings to create it.
			want := withNeighbour(tt.p, tt.logGroups)
			if !reflect.DeepEqual(pl.LogGroups, want) {
				t.Fatalf("logGroups = %+v\nwant %+v", pl.LogGroups, want)
			}
			var codes []string
			for _, b := range pl.Blockers {
				codes = append(codes, b.Code)
			}
			if !reflect.DeepEqual(codes, tt.blockers) {
				t.Fatalf("blockers = %+v, want %v", pl.Blockers, tt.blockers)
			}
			wantCompliant := tt.action == ActionNone
			if pl.Compliant != wantCompliant {
				t.Fatalf("Compliant = %v", pl.Compliant)
			}
		})
	}
}

// withNeighbour completes a row's expected log groups: deletion protection
// (the default), the pattern verdict, and the compliant neighbour's group
// /ecs/app in us-east-1 when no row group is it.
func withNeighbour(p policy.Policy, groups []LogGroup) []LogGroup {
	p = p.WithDefaults()
	var out []LogGroup
	found := false
	for _, g := range groups {
		g.DeletionProtection = true
		g.OutsidePatterns = !p.MayCreate(g.Name)
		found = found || (g.Name == "/ecs/app" && g.Region == "us-east-1")
		out = append(out, g)
	}
	if !found {
		tags := map[string]string{"ecslogfix:managed": "true"}
		for k, v := range p.LogGroupTags {
			tags[k] = v
		}
		out = append(out, LogGroup{Name: "/ecs/app", Region: "us-east-1", RetentionDays: p.RetentionDays, KMSKeyARN: p.KMSKeyARN,
			Class: p.LogGroupClass, Tags: tags, DeletionProtection: true})
	}
	return out
}

func TestBuildNoRegion(t *testing.T) {
	td := newTD(ctr("app", nil))
	td.TaskDefinitionArn = nil
	pl, err := Build(td, nil, policy.Policy{}, Context{})
	if err != nil || len(pl.Blockers) != 1 || pl.Blockers[0].Code != BlockInvalidInput || pl.NeedsChange() {
		t.Fatalf("plan = %+v, %v", pl, err)
	}
	// A central log region needs no context region.
	pl = mustBuild(t, td, nil, policy.Policy{LogRegion: "eu-west-1"}, Context{})
	if pl.Blocked() || pl.LogGroups[0].Region != "eu-west-1" {
		t.Fatalf("plan = %+v", pl)
	}
	// Completing only the stream prefix of a container that names its
	// group and region needs no region from anywhere.
	td = newTD(ctr("app", awslogsConfig("awslogs-group", "/ecs/app", "awslogs-region", "eu-west-1")))
	td.TaskDefinitionArn = nil
	pl = mustBuild(t, td, nil, policy.Policy{}, Context{})
	if pl.Blocked() || !pl.NeedsChange() || pl.Containers[0].Action != ActionComplete {
		t.Fatalf("a prefix-only COMPLETE without a region: %+v", pl)
	}
}

func TestBuildLogGroupsDeduplicated(t *testing.T) {
	td := newTD(ctr("a", nil), ctr("b", nil), ctr("c", awslogsConfig("awslogs-region", "us-west-2")), ctr("d", &types.LogConfiguration{LogDriver: types.LogDriverGelf}))
	pl := mustBuild(t, td, nil, policy.Policy{}, Context{})
	if len(pl.LogGroups) != 2 || pl.LogGroups[0].Region != "us-east-1" || pl.LogGroups[1].Region != "us-west-2" {
		t.Fatalf("logGroups = %+v", pl.LogGroups)
	}
	pl = mustBuild(t, td, nil, policy.Policy{LogGroupTemplate: "/ecs/{family}/{container}"}, Context{})
	if len(pl.LogGroups) != 4 {
		t.Fatalf("per-container logGroups = %+v", pl.LogGroups)
	}
	// The policy's tag map is not shared with the plan.
	p := policy.Policy{LogGroupTags: map[string]string{"team": "a"}}
	pl = mustBuild(t, td, nil, p, Context{})
	pl.LogGroups[0].Tags["team"] = "b"
	if p.LogGroupTags["team"] != "a" {
		t.Fatal("plan shares the policy's tag map")
	}
}

// A KMS key is regional: a group to create in another region than the
// policy's key blocks the plan (CreateLogGroup could only fail there); a
// group in the key's region, or an existing awslogs group, does not.
func TestBuildKMSKeyOfAnotherRegion(t *testing.T) {
	key := "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
	td := newTD(ctr("app", nil), ctr("side", awslogsConfig("awslogs-region", "eu-west-1")))
	pl := mustBuild(t, td, nil, policy.Policy{KMSKeyARN: key}, Context{Account: "111122223333", Region: "us-east-1"})
	if len(pl.Blockers) != 1 || pl.Blockers[0].Code != BlockKMSKeyRegion || pl.NeedsChange() ||
		!strings.Contains(pl.Blockers[0].Message, "us-east-1") || !strings.Contains(pl.Blockers[0].Message, "eu-west-1") {
		t.Fatalf("blockers %+v", pl.Blockers)
	}
	for _, p := range []policy.Policy{{KMSKeyARN: key, LogRegion: "eu-west-1"}, {KMSKeyARN: ""}} {
		if pl := mustBuild(t, td, nil, p, Context{Account: "111122223333", Region: "us-east-1"}); pl.Blocked() {
			t.Errorf("policy %+v: blocked %+v", p, pl.Blockers)
		}
	}
	if pl := mustBuild(t, td, nil, policy.Policy{KMSKeyARN: key}, Context{Account: "111122223333", Region: "eu-west-1"}); pl.Blocked() {
		t.Errorf("key of the group's region: blocked %+v", pl.Blockers)
	}
}

func TestBuildExecutionRole(t *testing.T) {
	role := "arn:aws:iam::111122223333:role/exec"
	tests := []struct {
		name     string
		req      []types.Compatibility
		compat   []types.Compatibility
		exec     *string
		policy   string
		wantRole string
		blocked  bool
	}{
		{name: "ec2 needs none", req: []types.Compatibility{types.CompatibilityEc2}, compat: []types.Compatibility{types.CompatibilityEc2}},
		{name: "fargate without role blocked", req: []types.Compatibility{types.CompatibilityFargate}, blocked: true},
		{name: "fargate blank role blocked", req: []types.Compatibility{types.CompatibilityFargate}, exec: aws.String(" "), blocked: true},
		{name: "external without role blocked", req: []types.Compatibility{types.CompatibilityExternal}, blocked: true},
		{name: "fargate-compatible without role blocked", compat: []types.Compatibility{types.CompatibilityEc2, types.CompatibilityFargate}, blocked: true},
		{name: "fargate default role added", req: []types.Compatibility{types.CompatibilityFargate}, policy: role, wantRole: role},
		{name: "fargate own role kept", req: []types.Compatibility{types.CompatibilityFargate}, exec: aws.String("arn:aws:iam::111122223333:role/own"), policy: role},
		{name: "managed instances need none", req: []types.Compatibility{types.CompatibilityManagedInstances}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			td := newTD(ctr("app", nil))
			td.RequiresCompatibilities, td.Compatibilities, td.ExecutionRoleArn = tt.req, tt.compat, tt.exec
			pl := mustBuild(t, td, nil, policy.Policy{DefaultExecutionRoleARN: tt.policy}, Context{})
			if pl.ExecutionRoleARN != tt.wantRole {
				t.Fatalf("ExecutionRoleARN = %q, want %q", pl.ExecutionRoleARN, tt.wantRole)
			}
			if pl.Blocked() != tt.blocked || (tt.blocked && pl.Blockers[0].Code != BlockNoExecutionRole) {
				t.Fatalf("blockers = %+v", pl.Blockers)
			}
			if tt.exec != nil && !reflect.DeepEqual(pl.Changed.ExecutionRoleArn, tt.exec) {
				t.Fatal("existing execution role changed")
			}
		})
	}
	// Complete awslogs on Fargate without a role cannot log: not
	// compliant (EXECUTION_ROLE_MISSING), its logging untouched; the fix
	// adds the policy's default role, or is blocked without one.
	td := newTD(ctr("app", complete()))
	td.RequiresCompatibilities = []types.Compatibility{types.CompatibilityFargate}
	pl := mustBuild(t, td, nil, policy.Policy{}, Context{})
	if pl.Compliant || pl.NeedsChange() || len(pl.Blockers) != 1 || pl.Blockers[0].Code != BlockNoExecutionRole ||
		!reflect.DeepEqual(pl.Containers[0].Reasons, []reason.Code{reason.ExecutionRoleMissing}) || pl.Containers[0].Action != ActionNone {
		t.Fatalf("role-less plan = %+v", pl)
	}
	pl = mustBuild(t, td, nil, policy.Policy{DefaultExecutionRoleARN: role}, Context{})
	if pl.Remedy() != RemedyRegister || pl.ExecutionRoleARN != role || aws.ToString(pl.Changed.ExecutionRoleArn) != role ||
		!reflect.DeepEqual(pl.Changed.ContainerDefinitions, td.ContainerDefinitions) {
		t.Fatalf("default-role plan = %+v", pl)
	}
}

func TestBuildExemptAndCompliant(t *testing.T) {
	td := newTD(ctr("app", nil))
	tags := []types.Tag{{Key: aws.String("ecslogfix:exempt"), Value: aws.String("true")}}
	pl := mustBuild(t, td, tags, policy.Policy{}, Context{})
	if !pl.Exempt || pl.Compliant || pl.Changed != nil || pl.NeedsChange() || pl.Containers[0].Action != ActionNone || len(pl.Containers[0].Reasons) != 1 || pl.Diff() != "" {
		t.Fatalf("exempt plan = %+v", pl)
	}
	pl = mustBuild(t, newTD(ctr("app", complete())), nil, policy.Policy{}, Context{})
	if !pl.Compliant || pl.Changed != nil || pl.Diff() != "" || pl.Containers[0].Before == nil {
		t.Fatalf("compliant plan = %+v", pl)
	}
	if pl.Context.Partition != "aws" || pl.Context.Region != "us-east-1" || pl.Context.Account != "111122223333" || pl.SourceARN == "" || pl.Revision != 3 {
		t.Fatalf("plan identity = %+v", pl)
	}
}

func TestBuildOnlyReportsRegistersNothing(t *testing.T) {
	td := newTD(ctr("app", &types.LogConfiguration{LogDriver: types.LogDriverAwsfirelens}), ctr("ok", complete()))
	pl := mustBuild(t, td, nil, policy.Policy{}, Context{})
	if pl.Compliant || pl.Changed != nil || pl.NeedsChange() || pl.Blocked() || pl.Remedy() != RemedyReport ||
		len(pl.LogGroups) != 1 || pl.LogGroups[0].Ref() != (awslogs.GroupRef{Name: "/ecs/app", Region: "us-east-1"}) {
		t.Fatalf("plan = %+v", pl) // the source's groups: the compliant neighbour's
	}
	if !strings.Contains(pl.Diff(), "@@ REPORT FIRELENS_NOT_AWSLOGS unchanged: a human must act @@") {
		t.Fatalf("diff:\n%s", pl.Diff())
	}
}

func TestBuildErrors(t *testing.T) {
	if _, err := Build(nil, nil, policy.Policy{}, Context{}); err == nil {
		t.Fatal("nil task definition accepted")
	}
	for _, f := range []*string{nil, aws.String(" ")} {
		if _, err := Build(&types.TaskDefinition{Family: f}, nil, policy.Policy{}, Context{}); err == nil {
			t.Fatalf("family %v accepted", f)
		}
	}
	// No container, or two of one name, cannot be judged: taskdef.CheckInput.
	for _, td := range []*types.TaskDefinition{newTD(), newTD(ctr("app", nil), ctr("app", complete()))} {
		var ie *taskdef.InputError
		if _, err := Build(td, nil, policy.Policy{}, Context{}); !errors.As(err, &ie) {
			t.Fatalf("containers %v: err = %v, want a taskdef.InputError", td.ContainerDefinitions, err)
		}
	}
	// Context given explicitly wins over the ARN.
	pl, err := Build(newTD(ctr("ok", complete())), nil, policy.Policy{}, Context{Partition: "aws-cn", Account: "1", Region: "cn-north-1"})
	if err != nil || pl.Context != (Context{Partition: "aws-cn", Account: "1", Region: "cn-north-1"}) || !pl.Compliant {
		t.Fatalf("plan = %+v, %v", pl, err)
	}
}

// The remediation registers with ecslogfix's own tags (provenance and the
// execution token) or not at all: the plan blocks exactly the sources that
// leave no room for them, so a dry run predicts what the apply does.
func TestBuildTagLimit(t *testing.T) {
	own := len(taskdef.ProvenanceTags(1)) + len(taskdef.ExecutionTag("t"))
	for _, n := range []int{taskdef.MaxTags - own, taskdef.MaxTags - own + 1, taskdef.MaxTags - 1, taskdef.MaxTags, taskdef.MaxTags + 1} {
		var tags []types.Tag
		for i := 0; i < n; i++ {
			tags = append(tags, types.Tag{Key: aws.String("k" + strings.Repeat("x", i)), Value: aws.String("v")})
		}
		pl := mustBuild(t, newTD(ctr("app", nil)), tags, policy.Policy{}, Context{})
		if fits := n+own <= taskdef.MaxTags; fits == pl.Blocked() {
			t.Errorf("%d user tags: blocked %v (%+v), want %v", n, pl.Blocked(), pl.Blockers, !fits)
			continue
		}
		if pl.Blocked() && (pl.Blockers[0].Code != BlockInvalidInput || !strings.Contains(pl.Blockers[0].Message, "over ECS's limit of 50")) {
			t.Errorf("%d user tags: blockers = %+v", n, pl.Blockers)
		}
		if pl.Blocked() {
			continue
		}
		// What the plan accepts, Register can build.
		if _, err := taskdef.RegisterInput(pl.Changed, tags, append(taskdef.ProvenanceTags(1), taskdef.ExecutionTag(strings.Repeat("x", taskdef.MaxExecutionToken))...)...); err != nil {
			t.Errorf("%d user tags: the plan registers, the request does not build: %v", n, err)
		}
	}
}

// requireSizer fails when internal/taskdef cannot measure a request: a
// size test that skipped would pass on a broken sizer.
func requireSizer(t *testing.T) {
	t.Helper()
	in, err := taskdef.RegisterInput(newTD(ctr("app", nil)), nil)
	if err != nil || taskdef.RequestSize(in) == 0 {
		t.Fatalf("internal/taskdef cannot measure a register request: size %d, %v", taskdef.RequestSize(in), err)
	}
}

func TestBuildTooLarge(t *testing.T) {
	requireSizer(t)
	size := func(td *types.TaskDefinition) int {
		in, err := taskdef.RegisterInput(td, nil)
		if err != nil {
			t.Fatal(err)
		}
		return taskdef.RequestSize(in)
	}
	// Pad the environment until the source is just under the limit: the
	// source registers, the fixed one (one awslogs block more) does not.
	td := newTD(ctr("app", nil))
	env := types.KeyValuePair{Name: aws.String("PAD"), Value: aws.String("")}
	td.ContainerDefinitions[0].Environment = []types.KeyValuePair{env}
	pad := taskdef.MaxRegisterBytes - 60 - size(td)
	td.ContainerDefinitions[0].Environment[0].Value = aws.String(strings.Repeat("x", pad))
	if n := size(td); n > taskdef.MaxRegisterBytes || n < taskdef.MaxRegisterBytes-100 {
		t.Fatalf("source size %d", n)
	}
	pl := mustBuild(t, td, nil, policy.Policy{}, Context{})
	if !pl.Blocked() || pl.Blockers[0].Code != BlockTooLarge || pl.NeedsChange() {
		t.Fatalf("blockers = %+v", pl.Blockers)
	}
	if strings.Contains(pl.Diff(), "xxxxxxxx") {
		t.Fatal("environment value in the diff")
	}
	// Well under the limit: not blocked.
	td.ContainerDefinitions[0].Environment[0].Value = aws.String(strings.Repeat("x", pad-1000))
	if pl := mustBuild(t, td, nil, policy.Policy{}, Context{}); pl.Blocked() {
		t.Fatalf("blockers = %+v", pl.Blockers)
	}
}

func TestRedact(t *testing.T) {
	if Redact(nil) != nil {
		t.Fatal("Redact(nil) != nil")
	}
	got := Redact(&types.LogConfiguration{
		LogDriver:     types.LogDriverAwslogs,
		Options:       opts("awslogs-group", "/g", "awslogs-region", "r", "awslogs-stream-prefix", "p", "awslogs-create-group", "true", "awslogs-datetime-format", "%Y", "awslogs-multiline-pattern", "^x", "mode", "non-blocking", "max-buffer-size", "1m", "awslogs-endpoint", "https://secret", "awslogs-credentials-endpoint", "/creds"),
		SecretOptions: []types.Secret{{Name: aws.String("b"), ValueFrom: aws.String("arn:b")}, {Name: aws.String("a"), ValueFrom: aws.String("arn:a")}},
	})
	want := &LogSettings{Driver: "awslogs", Options: opts("awslogs-group", "/g", "awslogs-region", "r", "awslogs-stream-prefix", "p", "awslogs-create-group", "true", "awslogs-datetime-format", "%Y", "awslogs-multiline-pattern", "^x", "mode", "non-blocking", "max-buffer-size", "1m", "awslogs-endpoint", Redacted, "awslogs-credentials-endpoint", Redacted), SecretOptions: []string{"b", "a"}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Redact = %+v", got)
	}
	got = Redact(&types.LogConfiguration{LogDriver: types.LogDriverFluentd, Options: opts("awslogs-group", "sneaky", "mode", "blocking", "fluentd-address", "tcp://h")})
	want = &LogSettings{Driver: "fluentd", Options: opts("awslogs-group", Redacted, "mode", Redacted, "fluentd-address", Redacted)}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Redact = %+v", got)
	}
	if got := Redact(&types.LogConfiguration{LogDriver: types.LogDriverAwslogs, Options: map[string]string{}}); got.Options != nil {
		t.Fatalf("empty options = %#v", got.Options)
	}
}

func TestDiffExecutionRoleAndQuoting(t *testing.T) {
	td := newTD(ctr("app", awslogsConfig("awslogs-group", "/g", "awslogs-region", "us-east-1", "awslogs-datetime-format", "line1\nline2")))
	td.RequiresCompatibilities = []types.Compatibility{types.CompatibilityFargate}
	td.Revision = 0
	pl := mustBuild(t, td, nil, policy.Policy{DefaultExecutionRoleARN: "arn:aws:iam::111122223333:role/exec"}, Context{})
	want := `--- a/app/containers/app/logConfiguration
+++ b/app/containers/app/logConfiguration
@@ COMPLETE MISSING_AWSLOGS_STREAM_PREFIX,EXECUTION_ROLE_MISSING @@
 logDriver: awslogs
 options.awslogs-datetime-format: "line1\nline2"
 options.awslogs-group: /g
 options.awslogs-region: us-east-1
+options.awslogs-stream-prefix: ecs
--- a/app/executionRoleArn
+++ b/app/executionRoleArn
@@ SET default execution role (awslogs needs one on Fargate/EXTERNAL) @@
-(none)
+arn:aws:iam::111122223333:role/exec
`
	if got := pl.Diff(); got != want {
		t.Fatalf("Diff =\n%s\nwant\n%s", got, want)
	}
	for i := 0; i < 20; i++ {
		if again := mustBuild(t, td, nil, policy.Policy{DefaultExecutionRoleARN: "arn:aws:iam::111122223333:role/exec"}, Context{}); again.Diff() != want {
			t.Fatal("Diff is not deterministic")
		}
	}
}

func TestPlanJSONOmitsChanged(t *testing.T) {
	pl := mustBuild(t, newTD(ctr("app", nil)), nil, policy.Policy{}, Context{})
	b, err := json.Marshal(pl)
	if err != nil || strings.Contains(string(b), "nginx") || strings.Contains(string(b), "Changed") {
		t.Fatalf("JSON = %s, %v", b, err)
	}
	var back Plan
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	pl.Changed = nil
	if !reflect.DeepEqual(back, pl) {
		t.Fatalf("round trip:\n%+v\n%+v", back, pl)
	}
}

// In organization mode the policy names the member accounts' execution role
// with {account}; the plan expands it for the account it fixes, and blocks
// when the account is unknown rather than registering a placeholder.
func TestDefaultExecutionRoleAccountPlaceholder(t *testing.T) {
	td := &types.TaskDefinition{
		Family:                  aws.String("orders-api"),
		Revision:                3,
		RequiresCompatibilities: []types.Compatibility{types.CompatibilityFargate},
		ContainerDefinitions:    []types.ContainerDefinition{{Name: aws.String("app"), Image: aws.String("nginx")}},
	}
	p := policy.Default()
	p.DefaultExecutionRoleARN = "arn:aws:iam::{account}:role/ecslogfix-task-execution"
	if err := p.Validate(); err != nil {
		t.Fatalf("placeholder rejected: %v", err)
	}
	pl, err := Build(td, nil, p, Context{Partition: "aws", Account: "444455556666", Region: "eu-west-1"})
	if err != nil {
		t.Fatal(err)
	}
	if want := "arn:aws:iam::444455556666:role/ecslogfix-task-execution"; pl.ExecutionRoleARN != want || aws.ToString(pl.Changed.ExecutionRoleArn) != want {
		t.Fatalf("role %q, want %q", pl.ExecutionRoleARN, want)
	}
	pl, err = Build(td, nil, p, Context{Partition: "aws", Region: "eu-west-1"})
	if err != nil {
		t.Fatal(err)
	}
	if !pl.Blocked() || pl.Blockers[0].Code != BlockNoExecutionRole {
		t.Fatalf("unknown account: want NO_EXECUTION_ROLE, got %+v", pl.Blockers)
	}
}
