package policy

import (
	"reflect"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ecslogfix/ecslogfix/internal/policy/awslogs"
	"github.com/ecslogfix/ecslogfix/internal/policy/exemption"
	"github.com/ecslogfix/ecslogfix/internal/policy/reason"
)

// The rules that make logs flow in fact: option values, unknown keys, the
// delivery mode, the execution role and, with facts, missing groups.
func TestEvaluateLogsFlow(t *testing.T) {
	blocking := Default()
	blocking.RequiredMode = awslogs.ModeBlocking
	nonBlocking := Default()
	nonBlocking.RequiredMode = awslogs.ModeNonBlocking
	nonBlocking.MinBufferSize = "25m"
	minOnly := Default()
	minOnly.MinBufferSize = "25m"
	missing := awslogs.Facts{Groups: map[awslogs.GroupRef]awslogs.GroupFact{{Name: "/ecs/x", Region: "us-east-1"}: {}}}
	exists := awslogs.Facts{Groups: map[awslogs.GroupRef]awslogs.GroupFact{{Name: "/ecs/x", Region: "us-east-1"}: {Exists: true}}}
	otherRegion := awslogs.Facts{Groups: map[awslogs.GroupRef]awslogs.GroupFact{{Name: "/ecs/x", Region: "eu-west-1"}: {}}}
	tests := []struct {
		name     string
		p        Policy
		facts    awslogs.Facts
		lc       *types.LogConfiguration
		want     []reason.Code
		wantKeys []string
	}{
		{name: "region placeholder", lc: lc("awslogs", "awslogs-group", "/ecs/x", "awslogs-region", "region", "awslogs-stream-prefix", "ecs"), want: []reason.Code{reason.InvalidRegion}, wantKeys: []string{awslogs.OptRegion}},
		{name: "region template", lc: lc("awslogs", "awslogs-group", "/ecs/x", "awslogs-region", "<aws_region>", "awslogs-stream-prefix", "ecs"), want: []reason.Code{reason.InvalidRegion}, wantKeys: []string{awslogs.OptRegion}},
		{name: "region words", lc: lc("awslogs", "awslogs-group", "/ecs/x", "awslogs-region", "not a region", "awslogs-stream-prefix", "ecs"), want: []reason.Code{reason.InvalidRegion}, wantKeys: []string{awslogs.OptRegion}},
		{name: "region eusc", lc: lc("awslogs", "awslogs-group", "/ecs/x", "awslogs-region", "eusc-de-east-1", "awslogs-stream-prefix", "ecs")},
		{name: "region two digits", lc: lc("awslogs", "awslogs-group", "/ecs/x", "awslogs-region", "ap-southeast-10", "awslogs-stream-prefix", "ecs")},
		{name: "prefix colon", lc: full("awslogs-stream-prefix", "a:b"), want: []reason.Code{reason.InvalidStreamPrefix}, wantKeys: []string{awslogs.OptStreamPrefix}},
		{name: "prefix star", lc: full("awslogs-stream-prefix", "app*"), want: []reason.Code{reason.InvalidStreamPrefix}, wantKeys: []string{awslogs.OptStreamPrefix}},
		{name: "prefix space", lc: full("awslogs-stream-prefix", "my app"), want: []reason.Code{reason.InvalidStreamPrefix}, wantKeys: []string{awslogs.OptStreamPrefix}},
		{name: "misspelt group key", lc: full("awslogs-Group", "/ecs/y"), want: []reason.Code{reason.UnknownOption}, wantKeys: []string{"awslogs-Group"}},
		{name: "misspelt group key only", lc: lc("awslogs", "awslogs-Group", "/ecs/x", "awslogs-region", "us-east-1", "awslogs-stream-prefix", "ecs"), want: []reason.Code{reason.MissingGroup, reason.UnknownOption}, wantKeys: []string{"awslogs-Group"}},
		{name: "unknown awslogs key", lc: full("awslogs-endpoint", "https://x", "AWSLOGS-REGION", "us-east-1"), want: []reason.Code{reason.UnknownOption}, wantKeys: []string{"AWSLOGS-REGION", "awslogs-endpoint"}},
		{name: "mode key case", lc: full("Mode", "blocking", "MAX-BUFFER-SIZE", "4m"), want: []reason.Code{reason.UnknownOption}, wantKeys: []string{"MAX-BUFFER-SIZE", "Mode"}},
		{name: "other keys are not awslogs options", lc: full("tag", "{{.Name}}")},
		{name: "mode invalid", lc: full("mode", "async"), want: []reason.Code{reason.InvalidMode}, wantKeys: []string{awslogs.OptMode}},
		{name: "mode case", lc: full("mode", "Blocking"), want: []reason.Code{reason.InvalidMode}, wantKeys: []string{awslogs.OptMode}},
		{name: "buffer invalid", lc: full("mode", "non-blocking", "max-buffer-size", "lots"), want: []reason.Code{reason.InvalidMode}, wantKeys: []string{awslogs.OptMaxBufferSize}},
		{name: "buffer Docker form", lc: full("mode", "non-blocking", "max-buffer-size", "25 MB")},
		{name: "blank mode is absent", lc: full("mode", " ")},
		{name: "blocking required, default non-blocking", p: blocking, lc: full(), want: []reason.Code{reason.InvalidMode}, wantKeys: []string{awslogs.OptMode}},
		{name: "blocking required, account blocking", p: blocking, facts: awslogs.Facts{LogDriverMode: awslogs.ModeBlocking}, lc: full()},
		{name: "blocking required, explicit non-blocking", p: blocking, facts: awslogs.Facts{LogDriverMode: awslogs.ModeBlocking}, lc: full("mode", "non-blocking"), want: []reason.Code{reason.InvalidMode}, wantKeys: []string{awslogs.OptMode}},
		{name: "blocking required, explicit blocking", p: blocking, lc: full("mode", "blocking")},
		{name: "non-blocking required, account blocking", p: nonBlocking, facts: awslogs.Facts{LogDriverMode: awslogs.ModeBlocking}, lc: full(), want: []reason.Code{reason.InvalidMode}, wantKeys: []string{awslogs.OptMode}},
		{name: "non-blocking required, default buffer below minimum", p: nonBlocking, lc: full(), want: []reason.Code{reason.InvalidMode}, wantKeys: []string{awslogs.OptMaxBufferSize}},
		{name: "non-blocking required, buffer enough", p: nonBlocking, lc: full("max-buffer-size", "32m")},
		{name: "minimum buffer, blocking container", p: minOnly, lc: full("mode", "blocking")},
		{name: "minimum buffer, small buffer", p: minOnly, lc: full("mode", "non-blocking", "max-buffer-size", "1m"), want: []reason.Code{reason.InvalidMode}, wantKeys: []string{awslogs.OptMaxBufferSize}},
		{name: "group missing", facts: missing, lc: full(), want: []reason.Code{reason.LogGroupMissing}},
		{name: "group exists", facts: exists, lc: full()},
		{name: "group not observed", facts: otherRegion, lc: full()},
		{name: "group missing, driver creates it", facts: missing, lc: full("awslogs-create-group", "true")},
		{name: "group missing, create-group false", facts: missing, lc: full("awslogs-create-group", "false"), want: []reason.Code{reason.LogGroupMissing}},
		{name: "group missing, create-group TRUE", facts: missing, lc: full("awslogs-create-group", "TRUE")},
		{name: "group missing and more", facts: missing, lc: lc("awslogs", "awslogs-group", "/ecs/x", "awslogs-region", "us-east-1", "mode", "x"), want: []reason.Code{reason.MissingStreamPrefix, reason.InvalidMode, reason.LogGroupMissing}, wantKeys: []string{awslogs.OptMode}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			td := &types.TaskDefinition{ContainerDefinitions: []types.ContainerDefinition{{Name: aws.String("c"), LogConfiguration: tt.lc}}}
			p := tt.p
			if p.RequiredMode == "" {
				p = Default()
			}
			f := p.EvaluateFor(td, nil, exemption.Subject{}, tt.facts).Containers[0]
			if !reflect.DeepEqual(f.Reasons, tt.want) || !reflect.DeepEqual(f.Keys, tt.wantKeys) || f.Compliant != (len(tt.want) == 0) {
				t.Fatalf("finding = %+v, want reasons %v keys %v", f, tt.want, tt.wantKeys)
			}
		})
	}
}

func TestEvaluateExecutionRole(t *testing.T) {
	fargate := []types.Compatibility{types.CompatibilityFargate}
	external := []types.Compatibility{types.CompatibilityExternal}
	ec2 := []types.Compatibility{types.CompatibilityEc2}
	report := Default()
	report.OtherDrivers = ReportDriver
	tests := []struct {
		name     string
		p        Policy
		requires []types.Compatibility
		computed []types.Compatibility
		role     string
		lc       *types.LogConfiguration
		want     []reason.Code
	}{
		{name: "fargate awslogs without role", requires: fargate, lc: full(), want: []reason.Code{reason.ExecutionRoleMissing}},
		{name: "fargate awslogs with role", requires: fargate, role: "arn:aws:iam::111122223333:role/exec", lc: full()},
		{name: "fargate blank role", requires: fargate, role: " ", lc: full(), want: []reason.Code{reason.ExecutionRoleMissing}},
		{name: "anywhere awslogs without role", requires: external, lc: full(), want: []reason.Code{reason.ExecutionRoleMissing}},
		{name: "ec2 awslogs without role", requires: ec2, lc: full()},
		{name: "ec2, Fargate-compatible", requires: ec2, computed: []types.Compatibility{types.CompatibilityEc2, types.CompatibilityFargate}, lc: full(), want: []reason.Code{reason.ExecutionRoleMissing}},
		{name: "fargate, the fix adds awslogs", requires: fargate, want: []reason.Code{reason.MissingLogConfiguration, reason.ExecutionRoleMissing}},
		{name: "fargate, the fix replaces splunk", requires: fargate, lc: lc("splunk"), want: []reason.Code{reason.DriverNotAllowed, reason.ExecutionRoleMissing}},
		{name: "fargate, splunk reported", p: report, requires: fargate, lc: lc("splunk"), want: []reason.Code{reason.DriverNotAllowed}},
		{name: "fargate, firelens", requires: fargate, lc: lc("awsfirelens"), want: []reason.Code{reason.Firelens}},
		{name: "fargate, splunk allowed", p: Policy{AllowedDrivers: []string{"awslogs", "splunk"}}, requires: fargate, lc: lc("splunk")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			td := &types.TaskDefinition{RequiresCompatibilities: tt.requires, Compatibilities: tt.computed,
				ContainerDefinitions: []types.ContainerDefinition{{Name: aws.String("c"), LogConfiguration: tt.lc}}}
			if tt.role != "" {
				td.ExecutionRoleArn = aws.String(tt.role)
			}
			f := tt.p.Evaluate(td, nil).Containers[0]
			if !reflect.DeepEqual(f.Reasons, tt.want) {
				t.Fatalf("reasons = %v, want %v", f.Reasons, tt.want)
			}
		})
	}
}

func TestRetentionFor(t *testing.T) {
	with := func(m RetentionMode, shorten bool) Policy {
		p := Default()
		p.ExistingGroupRetention, p.AllowShorten = m, shorten
		return p
	}
	tests := []struct {
		name    string
		p       Policy
		current int32
		want    int32 // 0 = leave it
	}{
		{"default sets never-expiring", Policy{}, 0, 365},
		{"default keeps a chosen retention", Policy{}, 30, 0},
		{"default keeps a longer one", Policy{}, 3653, 0},
		{"keep never-expiring", with(RetentionKeep, false), 0, 0},
		{"keep short", with(RetentionKeep, false), 1, 0},
		{"enforce never-expiring", with(RetentionEnforce, false), 0, 365},
		{"enforce raises", with(RetentionEnforce, false), 30, 365},
		{"enforce never shortens", with(RetentionEnforce, false), 731, 0},
		{"enforce shortens when allowed", with(RetentionEnforce, true), 731, 365},
		{"equal", with(RetentionEnforce, true), 365, 0},
	}
	for _, tt := range tests {
		got, set := tt.p.RetentionFor(tt.current)
		if got != tt.want || set != (tt.want != 0) {
			t.Errorf("%s: RetentionFor(%d) = %d, %v; want %d", tt.name, tt.current, got, set, tt.want)
		}
	}
}

func TestGroupPatterns(t *testing.T) {
	tests := []struct {
		p    Policy
		want []string
	}{
		{Policy{}, []string{"/ecs/*"}},
		{Policy{LogGroupTemplate: "/teams/{account}/{family}"}, []string{"/teams/*"}},
		{Policy{LogGroupTemplate: "{family}"}, []string{"*"}},
		{Policy{LogGroupTemplate: "/ecs/all"}, []string{"/ecs/all"}},
		{Policy{LogGroupPatterns: []string{"/a/*", "/b"}}, []string{"/a/*", "/b"}},
	}
	for _, tt := range tests {
		if got := tt.p.GroupPatterns(); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%+v: GroupPatterns = %v, want %v", tt.p, got, tt.want)
		}
	}
	p := Policy{LogGroupPatterns: []string{"/ecs/*", "/app/*/logs"}}
	for name, want := range map[string]bool{"/ecs/orders": true, "/ecs/": true, "/ecs": false, "/app/a/b/logs": true, "/app/logs": false, "/app/x/logs/more": false, "/other": false} {
		if got := p.MayCreate(name); got != want {
			t.Errorf("MayCreate(%q) = %v, want %v", name, got, want)
		}
	}
}

func TestMatchPattern(t *testing.T) {
	tests := []struct {
		pattern, name string
		want          bool
	}{
		{"*", "", true},
		{"*", "/any/thing", true},
		{"/ecs/*", "/ecs/a/b", true},
		{"/ecs/*", "/ECS/a", false},
		{"/a*b*c", "/abc", true},
		{"/a*b*c", "/axxbyyc", true},
		{"/a*b*c", "/axxbyy", false},
		{"*-logs", "svc-logs", true},
		{"*-logs", "-log", false},
		{"/x*x", "/x", false},
		{"exact", "exact", true},
		{"exact", "exact2", false},
	}
	for _, tt := range tests {
		if got := awslogs.MatchPattern(tt.pattern, tt.name); got != tt.want {
			t.Errorf("MatchPattern(%q, %q) = %v, want %v", tt.pattern, tt.name, got, tt.want)
		}
	}
}

func TestParseBufferSize(t *testing.T) {
	tests := map[string]int64{"10m": 10 << 20, "25 MB": 25 << 20, "4k": 4 << 10, "1g": 1 << 30, "1.5m": 3 << 19, "512": 512, "2MiB": 2 << 20, "": -1, "0m": -1, "lots": -1, "-1m": -1, "1x": -1}
	for in, want := range tests {
		n, ok := awslogs.ParseBufferSize(in)
		if ok != (want >= 0) || (ok && n != want) {
			t.Errorf("ParseBufferSize(%q) = %d, %v; want %d", in, n, ok, want)
		}
	}
}

func TestGroups(t *testing.T) {
	td := &types.TaskDefinition{ContainerDefinitions: []types.ContainerDefinition{
		{Name: aws.String("a"), LogConfiguration: full()},
		{Name: aws.String("b"), LogConfiguration: full()}, // same group: listed once
		{Name: aws.String("c"), LogConfiguration: full("awslogs-region", "eu-west-1")},
		{Name: aws.String("d"), LogConfiguration: full("awslogs-group", "aws/bad")},
		{Name: aws.String("e"), LogConfiguration: full("awslogs-region", "region")},
		{Name: aws.String("f"), LogConfiguration: lc("splunk", "awslogs-group", "/ecs/y", "awslogs-region", "us-east-1")},
		{Name: aws.String("g")},
	}}
	want := []awslogs.GroupRef{{Name: "/ecs/x", Region: "us-east-1"}, {Name: "/ecs/x", Region: "eu-west-1"}}
	if got := awslogs.Groups(td); !reflect.DeepEqual(got, want) {
		t.Fatalf("Groups = %v, want %v", got, want)
	}
	if got := awslogs.Groups(nil); len(got) != 0 {
		t.Fatalf("Groups(nil) = %v", got)
	}
}

func TestNeedsLogDriverMode(t *testing.T) {
	td := func(lcs ...*types.LogConfiguration) *types.TaskDefinition {
		out := &types.TaskDefinition{}
		for _, l := range lcs {
			out.ContainerDefinitions = append(out.ContainerDefinitions, types.ContainerDefinition{Name: aws.String("c"), LogConfiguration: l})
		}
		return out
	}
	blocking := Policy{RequiredMode: awslogs.ModeBlocking}
	tests := []struct {
		name string
		p    Policy
		td   *types.TaskDefinition
		want bool
	}{
		{"default policy never", Policy{}, td(full()), false},
		{"required mode, container without one", blocking, td(full("mode", "blocking"), full()), true},
		{"required mode, every container explicit", blocking, td(full("mode", "blocking"), full("mode", "non-blocking")), false},
		{"minimum buffer", Policy{MinBufferSize: "4m"}, td(full()), true},
		{"no awslogs container", blocking, td(nil, lc("splunk")), false},
		{"nil", blocking, nil, false},
	}
	for _, tt := range tests {
		if got := tt.p.NeedsLogDriverMode(tt.td); got != tt.want {
			t.Errorf("%s: NeedsLogDriverMode = %v, want %v", tt.name, got, tt.want)
		}
	}
}
