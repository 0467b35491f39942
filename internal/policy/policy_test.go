package policy

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ecslogfix/ecslogfix/internal/policy/awslogs"
	"github.com/ecslogfix/ecslogfix/internal/policy/exemption"
	"github.com/ecslogfix/ecslogfix/internal/policy/reason"
)

func TestDefaultIsSOPAndValid(t *testing.T) {
	d := Default()
	want := Policy{
		AllowedDrivers: []string{"awslogs"}, LogGroupTemplate: "/ecs/{family}", StreamPrefix: "ecs",
		RetentionDays: 365, OtherDrivers: Replace, ExemptionTag: exemption.Tag{Key: "ecslogfix:exempt", Value: "true"}, Enforcement: Enforce,
		ExistingGroupRetention: RetentionSetIfNeverExpire, DeletionProtection: boolPtr(true), RequiredMode: awslogs.ModeAny,
		Rollout: RolloutNone, DeregisterSource: DeregisterNever, RolloutTimeoutMinutes: 30, RolloutPollSeconds: 30,
	}
	if !reflect.DeepEqual(d, want) {
		t.Fatalf("Default() = %+v, want %+v", d, want)
	}
	if err := d.Validate(); err != nil {
		t.Fatalf("Default().Validate() = %v", err)
	}
	if !reflect.DeepEqual(Policy{}.WithDefaults(), d) {
		t.Fatalf("zero policy WithDefaults = %+v", Policy{}.WithDefaults())
	}
}

func TestWithDefaultsCopies(t *testing.T) {
	p := Policy{AllowedDrivers: []string{"awslogs", "splunk"}, LogGroupTags: map[string]string{"team": "a"}, ExemptionTag: exemption.Tag{Key: "skip", Value: "yes"}}
	q := p.WithDefaults()
	q.AllowedDrivers[0] = "x"
	q.LogGroupTags["team"] = "b"
	if p.AllowedDrivers[0] != "awslogs" || p.LogGroupTags["team"] != "a" {
		t.Fatal("WithDefaults shares memory with its receiver")
	}
	if q.ExemptionTag.Key != "skip" || q.StreamPrefix != "ecs" {
		t.Fatalf("WithDefaults = %+v", q)
	}
}

func TestParse(t *testing.T) {
	tests := []struct {
		name  string
		in    string
		want  func(*Policy) // applied to Default()
		field string        // expected FieldError field; "-" for a non-field error
	}{
		{name: "empty json object gives defaults", in: `{}`, want: func(*Policy) {}},
		{name: "yaml", in: "retentionDays: 90\nlogGroupTemplate: /ecs/{account}/{region}/{family}\nmode: non-blocking\nmaxBufferSize: 25m\n", want: func(p *Policy) {
			p.RetentionDays = 90
			p.LogGroupTemplate = "/ecs/{account}/{region}/{family}"
			p.Mode = "non-blocking"
			p.MaxBufferSize = "25m"
		}},
		{name: "json full", in: `{"allowedDrivers":["awslogs","awsfirelens"],"streamPrefix":"app","logRegion":"eu-west-1","kmsKeyArn":"arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab","logGroupClass":"INFREQUENT_ACCESS","otherDrivers":"report","exemptionTag":{"key":"no-logfix"},"enforcement":"report","defaultExecutionRoleArn":"arn:aws:iam::111122223333:role/ecsTaskExecutionRole","logGroupTags":{"team":"platform","cost center":"42"}}`, want: func(p *Policy) {
			p.AllowedDrivers = []string{"awslogs", "awsfirelens"}
			p.StreamPrefix = "app"
			p.LogRegion = "eu-west-1"
			p.KMSKeyARN = "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
			p.LogGroupClass = "INFREQUENT_ACCESS"
			p.OtherDrivers = ReportDriver
			p.ExemptionTag = exemption.Tag{Key: "no-logfix", Value: "true"}
			p.Enforcement = Report
			p.DefaultExecutionRoleARN = "arn:aws:iam::111122223333:role/ecsTaskExecutionRole"
			p.LogGroupTags = map[string]string{"team": "platform", "cost center": "42"}
		}},
		{name: "null keeps default", in: `{"retentionDays":null}`, want: func(*Policy) {}},
		{name: "empty document", in: " \n", field: "-"},
		{name: "unknown field", in: `{"retention":30}`, field: "-"},
		{name: "unknown yaml field", in: "allowedDriver: [awslogs]\n", field: "-"},
		{name: "field name case", in: "AllowedDrivers: [awslogs]\n", field: "-"},
		{name: "nested field name case", in: `{"exemptionTag":{"Key":"x"}}`, field: "-"},
		{name: "nested unknown field", in: `{"exemptionTag":{"name":"x"}}`, field: "-"},
		{name: "empty tags are none", in: `{"logGroupTags":{}}`, want: func(*Policy) {}},
		{name: "duplicate field", in: "retentionDays: 30\nretentionDays: 60\n", field: "-"},
		{name: "lifecycle and delivery", in: "logGroupPatterns: [/ecs/*, /shared/*]\nexistingGroupRetention: enforce\nallowShorten: true\ndeletionProtection: false\nrequiredMode: non-blocking\nminBufferSize: 25m\n", want: func(p *Policy) {
			p.LogGroupPatterns = []string{"/ecs/*", "/shared/*"}
			p.ExistingGroupRetention = RetentionEnforce
			p.AllowShorten = true
			p.DeletionProtection = boolPtr(false)
			p.RequiredMode = awslogs.ModeNonBlocking
			p.MinBufferSize = "25m"
		}},
		{name: "null deletion protection keeps default", in: `{"deletionProtection":null,"logGroupPatterns":[]}`, want: func(*Policy) {}},
		{name: "wrong type", in: `{"retentionDays":"many"}`, field: "-"},
		{name: "not an object", in: `[1,2]`, field: "-"},
		{name: "explicit zero retention", in: `{"retentionDays":0}`, field: "retentionDays"},
		{name: "explicit empty drivers", in: `{"allowedDrivers":[]}`, field: "allowedDrivers"},
		{name: "explicit empty template", in: `{"logGroupTemplate":""}`, field: "logGroupTemplate"},
		{name: "invalid enforcement", in: `enforcement: fix`, field: "enforcement"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse([]byte(tt.in))
			if tt.field != "" {
				if err == nil {
					t.Fatalf("Parse = %+v, want error", got)
				}
				var fe *FieldError
				if isFE := errors.As(err, &fe); isFE != (tt.field != "-") || (isFE && fe.Field != tt.field) {
					t.Fatalf("Parse error = %v (%T), want field %q", err, err, tt.field)
				}
				return
			}
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			want := Default()
			tt.want(&want)
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("Parse =\n%+v\nwant\n%+v", got, want)
			}
		})
	}
}

func TestValidate(t *testing.T) {
	long := strings.Repeat("x", 129)
	tests := []struct {
		name   string
		modify func(*Policy)
		field  string // "" = valid
	}{
		{"default", func(*Policy) {}, ""},
		{"all drivers", func(p *Policy) {
			p.AllowedDrivers = []string{"awslogs", "json-file", "syslog", "journald", "gelf", "fluentd", "splunk", "awsfirelens"}
		}, ""},
		{"no drivers", func(p *Policy) { p.AllowedDrivers = nil }, "allowedDrivers"},
		{"unknown driver", func(p *Policy) { p.AllowedDrivers = []string{"awslogs", "datadog"} }, "allowedDrivers"},
		{"driver case", func(p *Policy) { p.AllowedDrivers = []string{"AWSLOGS"} }, "allowedDrivers"},
		{"duplicate driver", func(p *Policy) { p.AllowedDrivers = []string{"awslogs", "awslogs"} }, "allowedDrivers"},
		{"awslogs not allowed", func(p *Policy) { p.AllowedDrivers = []string{"splunk"} }, "allowedDrivers"},
		{"template all placeholders", func(p *Policy) { p.LogGroupTemplate = "/ecs/{account}/{region}/{family}/{container}" }, ""},
		{"template without placeholder", func(p *Policy) { p.LogGroupTemplate = "/ecs/all-tasks" }, ""},
		{"template empty", func(p *Policy) { p.LogGroupTemplate = "" }, "logGroupTemplate"},
		{"template unknown placeholder", func(p *Policy) { p.LogGroupTemplate = "/ecs/{service}" }, "logGroupTemplate"},
		{"template unbalanced brace", func(p *Policy) { p.LogGroupTemplate = "/ecs/{family" }, "logGroupTemplate"},
		{"template bad char", func(p *Policy) { p.LogGroupTemplate = "/ecs/{family} logs" }, "logGroupTemplate"},
		{"template aws prefix", func(p *Policy) { p.LogGroupTemplate = "aws/{family}" }, "logGroupTemplate"},
		{"template too long for 255-char names", func(p *Policy) {
			p.LogGroupTemplate = "/ecs/{family}/" + strings.Repeat("x", 260)
		}, "logGroupTemplate"},
		{"template fits 255-char family", func(p *Policy) { p.LogGroupTemplate = "/" + strings.Repeat("x", 255) + "/{family}" }, ""},
		{"template one char too long", func(p *Policy) { p.LogGroupTemplate = "/" + strings.Repeat("x", 255) + "/{family}" + "x" }, "logGroupTemplate"},
		{"stream prefix blank", func(p *Policy) { p.StreamPrefix = "  " }, "streamPrefix"},
		{"stream prefix colon", func(p *Policy) { p.StreamPrefix = "a:b" }, "streamPrefix"},
		{"stream prefix star", func(p *Policy) { p.StreamPrefix = "a*" }, "streamPrefix"},
		{"stream prefix long", func(p *Policy) { p.StreamPrefix = strings.Repeat("p", awslogs.MaxStreamPrefix+1) }, "streamPrefix"},
		{"log region ok", func(p *Policy) { p.LogRegion = "us-gov-west-1" }, ""},
		{"log region eusc", func(p *Policy) { p.LogRegion = "eusc-de-east-1" }, ""},
		{"log region bad", func(p *Policy) { p.LogRegion = "US-EAST-1" }, "logRegion"},
		{"log region az", func(p *Policy) { p.LogRegion = "us-east-1a" }, "logRegion"},
		{"retention 3653", func(p *Policy) { p.RetentionDays = 3653 }, ""},
		{"retention 1", func(p *Policy) { p.RetentionDays = 1 }, ""},
		{"retention 2", func(p *Policy) { p.RetentionDays = 2 }, "retentionDays"},
		{"retention negative", func(p *Policy) { p.RetentionDays = -1 }, "retentionDays"},
		{"kms ok china", func(p *Policy) { p.KMSKeyARN = "arn:aws-cn:kms:cn-north-1:111122223333:key/mrk-1234abcd" }, ""},
		{"kms alias", func(p *Policy) { p.KMSKeyARN = "arn:aws:kms:us-east-1:111122223333:alias/logs" }, "kmsKeyArn"},
		{"kms key id only", func(p *Policy) { p.KMSKeyARN = "1234abcd-12ab-34cd-56ef-1234567890ab" }, "kmsKeyArn"},
		{"class standard", func(p *Policy) { p.LogGroupClass = "STANDARD" }, ""},
		{"class delivery", func(p *Policy) { p.LogGroupClass = "DELIVERY" }, "logGroupClass"},
		{"class lower", func(p *Policy) { p.LogGroupClass = "standard" }, "logGroupClass"},
		{"mode blocking", func(p *Policy) { p.Mode = "blocking" }, ""},
		{"mode bad", func(p *Policy) { p.Mode = "async" }, "mode"},
		{"buffer with non-blocking", func(p *Policy) { p.Mode = "non-blocking"; p.MaxBufferSize = "25m" }, ""},
		{"buffer without mode", func(p *Policy) { p.MaxBufferSize = "25m" }, "maxBufferSize"},
		{"buffer with blocking", func(p *Policy) { p.Mode = "blocking"; p.MaxBufferSize = "25m" }, "maxBufferSize"},
		{"buffer bad", func(p *Policy) { p.Mode = "non-blocking"; p.MaxBufferSize = "25 MB" }, "maxBufferSize"},
		{"buffer zero", func(p *Policy) { p.Mode = "non-blocking"; p.MaxBufferSize = "0m" }, "maxBufferSize"},
		{"required mode blocking", func(p *Policy) { p.RequiredMode = awslogs.ModeBlocking }, ""},
		{"required mode empty", func(p *Policy) { p.RequiredMode = "" }, "requiredMode"},
		{"required mode bad", func(p *Policy) { p.RequiredMode = "Blocking" }, "requiredMode"},
		{"mode contradicts required mode", func(p *Policy) { p.RequiredMode = awslogs.ModeBlocking; p.Mode = awslogs.ModeNonBlocking }, "mode"},
		{"mode agrees with required mode", func(p *Policy) { p.RequiredMode = awslogs.ModeBlocking; p.Mode = awslogs.ModeBlocking }, ""},
		{"min buffer", func(p *Policy) { p.MinBufferSize = "25m" }, ""},
		{"min buffer bad", func(p *Policy) { p.MinBufferSize = "25 MB" }, "minBufferSize"},
		{"min buffer with blocking", func(p *Policy) { p.RequiredMode = awslogs.ModeBlocking; p.MinBufferSize = "4m" }, "minBufferSize"},
		{"added buffer below minimum", func(p *Policy) { p.Mode = awslogs.ModeNonBlocking; p.MaxBufferSize = "4m"; p.MinBufferSize = "8m" }, "maxBufferSize"},
		{"added buffer at minimum", func(p *Policy) { p.Mode = awslogs.ModeNonBlocking; p.MaxBufferSize = "8192k"; p.MinBufferSize = "8m" }, ""},
		{"patterns", func(p *Policy) { p.LogGroupPatterns = []string{"/ecs/*", "/app/*/logs"} }, ""},
		{"pattern bad char", func(p *Policy) { p.LogGroupPatterns = []string{"/ecs/?"} }, "logGroupPatterns"},
		{"pattern aws prefix", func(p *Policy) { p.LogGroupPatterns = []string{"aws/*"} }, "logGroupPatterns"},
		{"pattern empty", func(p *Policy) { p.LogGroupPatterns = []string{""} }, "logGroupPatterns"},
		{"patterns exclude the template", func(p *Policy) { p.LogGroupPatterns = []string{"/app/*"} }, "logGroupPatterns"},
		{"custom template, default pattern", func(p *Policy) { p.LogGroupTemplate = "/teams/{account}/{family}" }, ""},
		{"retention keep", func(p *Policy) { p.ExistingGroupRetention = RetentionKeep }, ""},
		{"retention enforce shorten", func(p *Policy) { p.ExistingGroupRetention = RetentionEnforce; p.AllowShorten = true }, ""},
		{"retention bad", func(p *Policy) { p.ExistingGroupRetention = "always" }, "existingGroupRetention"},
		{"shorten without enforce", func(p *Policy) { p.AllowShorten = true }, "allowShorten"},
		{"other drivers report", func(p *Policy) { p.OtherDrivers = ReportDriver }, ""},
		{"other drivers bad", func(p *Policy) { p.OtherDrivers = "delete" }, "otherDrivers"},
		{"other drivers empty", func(p *Policy) { p.OtherDrivers = "" }, "otherDrivers"},
		{"exemption key empty", func(p *Policy) { p.ExemptionTag.Key = "" }, "exemptionTag"},
		{"exemption key long", func(p *Policy) { p.ExemptionTag.Key = long }, "exemptionTag"},
		{"exemption aws prefix", func(p *Policy) { p.ExemptionTag.Key = "AWS:exempt" }, "exemptionTag"},
		{"exemption value long", func(p *Policy) { p.ExemptionTag.Value = strings.Repeat("v", 257) }, "exemptionTag"},
		{"enforcement report", func(p *Policy) { p.Enforcement = Report }, ""},
		{"enforcement bad", func(p *Policy) { p.Enforcement = "dry-run" }, "enforcement"},
		{"role ok path", func(p *Policy) { p.DefaultExecutionRoleARN = "arn:aws:iam::111122223333:role/service-role/ecs-exec" }, ""},
		{"role user", func(p *Policy) { p.DefaultExecutionRoleARN = "arn:aws:iam::111122223333:user/bob" }, "defaultExecutionRoleArn"},
		{"role name only", func(p *Policy) { p.DefaultExecutionRoleARN = "ecsTaskExecutionRole" }, "defaultExecutionRoleArn"},
		{"tags ok", func(p *Policy) {
			p.LogGroupTags = map[string]string{"team": "platform", "owner": "ops@example.com", "empty": ""}
		}, ""},
		{"tags too many", func(p *Policy) {
			p.LogGroupTags = map[string]string{}
			for i := 0; i < 50; i++ {
				p.LogGroupTags[strings.Repeat("k", i+1)] = "v"
			}
		}, "logGroupTags"},
		{"tag key empty", func(p *Policy) { p.LogGroupTags = map[string]string{"": "v"} }, "logGroupTags"},
		{"tag key long", func(p *Policy) { p.LogGroupTags = map[string]string{long: "v"} }, "logGroupTags"},
		{"tag value long", func(p *Policy) { p.LogGroupTags = map[string]string{"k": strings.Repeat("v", 257)} }, "logGroupTags"},
		{"tag aws prefix", func(p *Policy) { p.LogGroupTags = map[string]string{"aws:owner": "v"} }, "logGroupTags"},
		{"tag bad char", func(p *Policy) { p.LogGroupTags = map[string]string{"team": "a;b"} }, "logGroupTags"},
		{"tag managed reserved", func(p *Policy) { p.LogGroupTags = map[string]string{"ecslogfix:managed": "false"} }, "logGroupTags"},
		{"rollout services", func(p *Policy) { p.Rollout = RolloutServices }, ""},
		{"rollout all", func(p *Policy) { p.Rollout = RolloutAll }, ""},
		{"rollout bad", func(p *Policy) { p.Rollout = "everything" }, "rollout"},
		{"rollout upper case", func(p *Policy) { p.Rollout = "ALL" }, "rollout"},
		{"rollout empty", func(p *Policy) { p.Rollout = "" }, "rollout"},
		{"deregister after rollout", func(p *Policy) { p.DeregisterSource = DeregisterAfterRollout }, ""},
		{"deregister bad", func(p *Policy) { p.DeregisterSource = "always" }, "deregisterSource"},
		{"rollout timeout 0", func(p *Policy) { p.RolloutTimeoutMinutes = 0 }, "rolloutTimeoutMinutes"},
		{"rollout timeout a day", func(p *Policy) { p.RolloutTimeoutMinutes = 1440 }, ""},
		{"rollout timeout over a day", func(p *Policy) { p.RolloutTimeoutMinutes = 1441 }, "rolloutTimeoutMinutes"},
		{"rollout poll 0", func(p *Policy) { p.RolloutPollSeconds = 0 }, "rolloutPollSeconds"},
		{"rollout poll 301", func(p *Policy) { p.RolloutPollSeconds = 301 }, "rolloutPollSeconds"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := Default()
			tt.modify(&p)
			err := p.Validate()
			if tt.field == "" {
				if err != nil {
					t.Fatalf("Validate = %v, want nil", err)
				}
				return
			}
			var fe *FieldError
			if !errors.As(err, &fe) || fe.Field != tt.field {
				t.Fatalf("Validate = %v, want a FieldError for %q", err, tt.field)
			}
			if !strings.HasPrefix(err.Error(), "policy: "+tt.field+": ") || fe.Problem == "" {
				t.Fatalf("error text %q does not name the field", err)
			}
		})
	}
}

func TestValidLogGroupName(t *testing.T) {
	tests := []struct {
		name string
		ok   bool
	}{
		{"/ecs/orders-api", true},
		{"a", true},
		{"my.group_name-1/#x", true},
		{strings.Repeat("a", 512), true},
		{strings.Repeat("a", 513), false},
		{"", false},
		{"aws/ecs", false},
		{"/aws/ecs/containerinsights", true},
		{"AWS/ecs", true},
		{"/ecs/orders api", false},
		{"/ecs/orders:api", false},
		{"/ecs/ordérs", false},
		{"/ecs/{family}", false},
	}
	for _, tt := range tests {
		if got := awslogs.ValidLogGroupName(tt.name); got != tt.ok {
			t.Errorf("ValidLogGroupName(%q) = %v, want %v", tt.name, got, tt.ok)
		}
	}
}

func TestLogGroupName(t *testing.T) {
	p := Policy{LogGroupTemplate: "/{account}/{region}/{family}/{container}/{family}"}
	if got := p.LogGroupName("fam", "app", "111122223333", "eu-west-1"); got != "/111122223333/eu-west-1/fam/app/fam" {
		t.Fatalf("LogGroupName = %q", got)
	}
	if got := (Policy{}).LogGroupName("fam", "app", "", ""); got != "/ecs/fam" {
		t.Fatalf("zero policy LogGroupName = %q", got)
	}
}

func TestIsExempt(t *testing.T) {
	tag := func(k, v string) types.Tag { return types.Tag{Key: aws.String(k), Value: aws.String(v)} }
	tests := []struct {
		name string
		p    Policy
		tags []types.Tag
		want bool
	}{
		{"no tags", Default(), nil, false},
		{"default tag", Default(), []types.Tag{tag("team", "a"), tag("ecslogfix:exempt", "true")}, true},
		{"value case and space", Default(), []types.Tag{tag("ecslogfix:exempt", " TRUE ")}, true},
		{"value false", Default(), []types.Tag{tag("ecslogfix:exempt", "false")}, false},
		{"key case differs", Default(), []types.Tag{tag("EcsLogFix:Exempt", "true")}, false},
		{"nil key and value", Default(), []types.Tag{{}, {Key: aws.String("ecslogfix:exempt")}}, false},
		{"custom tag", Policy{ExemptionTag: exemption.Tag{Key: "logging", Value: "external"}}, []types.Tag{tag("logging", "external")}, true},
		{"custom empty value", Policy{ExemptionTag: exemption.Tag{Key: "nolog", Value: ""}}, []types.Tag{{Key: aws.String("nolog")}}, true},
		{"zero policy uses default", Policy{}, []types.Tag{tag("ecslogfix:exempt", "true")}, true},
	}
	for _, tt := range tests {
		if got := tt.p.IsExempt(tt.tags); got != tt.want {
			t.Errorf("%s: IsExempt = %v, want %v", tt.name, got, tt.want)
		}
	}
}

// awslogs returns a logConfiguration with the given driver and options.
func lc(driver string, kv ...string) *types.LogConfiguration {
	o := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		o[kv[i]] = kv[i+1]
	}
	return &types.LogConfiguration{LogDriver: types.LogDriver(driver), Options: o}
}

func full(extra ...string) *types.LogConfiguration {
	return lc("awslogs", append([]string{"awslogs-group", "/ecs/x", "awslogs-region", "us-east-1", "awslogs-stream-prefix", "ecs"}, extra...)...)
}

func TestEvaluateContainer(t *testing.T) {
	router := &types.FirelensConfiguration{Type: types.FirelensConfigurationTypeFluentbit}
	tests := []struct {
		name    string
		p       Policy
		lc      *types.LogConfiguration
		firelen *types.FirelensConfiguration
		want    []reason.Code
	}{
		{name: "compliant", lc: full()},
		{name: "compliant with extras", lc: full("mode", "non-blocking", "max-buffer-size", "25m", "awslogs-create-group", "true")},
		{name: "missing configuration", want: []reason.Code{reason.MissingLogConfiguration}},
		{name: "splunk", lc: lc("splunk", "splunk-url", "https://x"), want: []reason.Code{reason.DriverNotAllowed}},
		{name: "empty driver", lc: lc(""), want: []reason.Code{reason.DriverNotAllowed}},
		{name: "splunk allowed", p: Policy{AllowedDrivers: []string{"awslogs", "splunk"}}, lc: lc("splunk")},
		{name: "awslogs not allowed by unvalidated policy", p: Policy{AllowedDrivers: []string{"splunk"}}, lc: full(), want: []reason.Code{reason.DriverNotAllowed}},
		{name: "firelens", lc: lc("awsfirelens", "Name", "cloudwatch_logs"), want: []reason.Code{reason.Firelens}},
		{name: "firelens allowed", p: Policy{AllowedDrivers: []string{"awslogs", "awsfirelens"}}, lc: lc("awsfirelens")},
		{name: "awslogs no options", lc: lc("awslogs"), want: []reason.Code{reason.MissingGroup, reason.MissingRegion, reason.MissingStreamPrefix}},
		{name: "awslogs nil options", lc: &types.LogConfiguration{LogDriver: types.LogDriverAwslogs}, want: []reason.Code{reason.MissingGroup, reason.MissingRegion, reason.MissingStreamPrefix}},
		{name: "missing group", lc: lc("awslogs", "awslogs-region", "us-east-1", "awslogs-stream-prefix", "ecs"), want: []reason.Code{reason.MissingGroup}},
		{name: "blank group", lc: lc("awslogs", "awslogs-group", " \t", "awslogs-region", "us-east-1", "awslogs-stream-prefix", "ecs"), want: []reason.Code{reason.MissingGroup}},
		{name: "invalid group", lc: lc("awslogs", "awslogs-group", "aws/ecs", "awslogs-region", "us-east-1", "awslogs-stream-prefix", "ecs"), want: []reason.Code{reason.InvalidGroup}},
		{name: "invalid group space", lc: lc("awslogs", "awslogs-group", " /ecs/x", "awslogs-region", "us-east-1", "awslogs-stream-prefix", "ecs"), want: []reason.Code{reason.InvalidGroup}},
		{name: "missing region", lc: lc("awslogs", "awslogs-group", "/ecs/x", "awslogs-stream-prefix", "ecs"), want: []reason.Code{reason.MissingRegion}},
		{name: "blank region", lc: lc("awslogs", "awslogs-group", "/ecs/x", "awslogs-region", "", "awslogs-stream-prefix", "ecs"), want: []reason.Code{reason.MissingRegion}},
		{name: "missing prefix", lc: lc("awslogs", "awslogs-group", "/ecs/x", "awslogs-region", "us-east-1"), want: []reason.Code{reason.MissingStreamPrefix}},
		{name: "blank prefix", lc: lc("awslogs", "awslogs-group", "/ecs/x", "awslogs-region", "us-east-1", "awslogs-stream-prefix", "\n"), want: []reason.Code{reason.MissingStreamPrefix}},
		{name: "router awslogs", lc: full(), firelen: router},
		{name: "router awslogs incomplete", lc: lc("awslogs", "awslogs-group", "/ecs/x"), firelen: router, want: []reason.Code{reason.MissingRegion, reason.MissingStreamPrefix}},
		{name: "router without configuration", firelen: router, want: []reason.Code{reason.MissingLogConfiguration, reason.RouterNotAwslogs}},
		{name: "router splunk", lc: lc("splunk"), firelen: router, want: []reason.Code{reason.DriverNotAllowed, reason.RouterNotAwslogs}},
		{name: "router splunk allowed", p: Policy{AllowedDrivers: []string{"awslogs", "splunk"}}, lc: lc("splunk"), firelen: router, want: []reason.Code{reason.RouterNotAwslogs}},
		{name: "router firelens", lc: lc("awsfirelens"), firelen: router, want: []reason.Code{reason.Firelens, reason.RouterNotAwslogs}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			td := &types.TaskDefinition{ContainerDefinitions: []types.ContainerDefinition{{Name: aws.String("c"), LogConfiguration: tt.lc, FirelensConfiguration: tt.firelen}}}
			ev := tt.p.Evaluate(td, nil)
			if len(ev.Containers) != 1 {
				t.Fatalf("containers = %d", len(ev.Containers))
			}
			f := ev.Containers[0]
			if !reflect.DeepEqual(f.Reasons, tt.want) || f.Compliant != (len(tt.want) == 0) || ev.Compliant != f.Compliant || f.Name != "c" {
				t.Fatalf("finding = %+v (td compliant %v), want reasons %v", f, ev.Compliant, tt.want)
			}
		})
	}
}

func TestEvaluateTaskDefinition(t *testing.T) {
	td := &types.TaskDefinition{ContainerDefinitions: []types.ContainerDefinition{
		{Name: aws.String("app"), LogConfiguration: full()},
		{Name: aws.String("sidecar")},
		{LogConfiguration: full()}, // no name: nil-safe
	}}
	ev := Default().Evaluate(td, []types.Tag{{Key: aws.String("ecslogfix:exempt"), Value: aws.String("true")}})
	if ev.Compliant || !ev.Exempt || len(ev.Containers) != 3 {
		t.Fatalf("Evaluate = %+v", ev)
	}
	if ev.Containers[1].Name != "sidecar" || ev.Containers[1].Compliant || !ev.Containers[0].Compliant || ev.Containers[2].Name != "" {
		t.Fatalf("containers = %+v", ev.Containers)
	}
	for _, in := range []*types.TaskDefinition{nil, {}} {
		ev := Default().Evaluate(in, nil)
		if !ev.Compliant || ev.Exempt || ev.Containers == nil || len(ev.Containers) != 0 {
			t.Fatalf("Evaluate(%v) = %+v", in, ev)
		}
	}
	b, _ := json.Marshal(Default().Evaluate(nil, nil))
	if string(b) != `{"compliant":true,"exempt":false,"containers":[]}` {
		t.Fatalf("JSON = %s", b)
	}
}

func TestReasonStringsAreStable(t *testing.T) {
	got := []reason.Code{reason.MissingLogConfiguration, reason.DriverNotAllowed, reason.Firelens, reason.MissingGroup, reason.InvalidGroup, reason.MissingRegion, reason.MissingStreamPrefix, reason.RouterNotAwslogs,
		reason.ExecutionRoleMissing, reason.InvalidRegion, reason.InvalidStreamPrefix, reason.InvalidMode, reason.UnknownOption, reason.LogGroupMissing}
	want := []reason.Code{"MISSING_LOG_CONFIGURATION", "DRIVER_NOT_ALLOWED", "FIRELENS_NOT_AWSLOGS", "MISSING_AWSLOGS_GROUP", "INVALID_AWSLOGS_GROUP", "MISSING_AWSLOGS_REGION", "MISSING_AWSLOGS_STREAM_PREFIX", "FIRELENS_ROUTER_NOT_AWSLOGS",
		"EXECUTION_ROLE_MISSING", "INVALID_AWSLOGS_REGION", "INVALID_AWSLOGS_STREAM_PREFIX", "INVALID_AWSLOGS_MODE", "UNKNOWN_AWSLOGS_OPTION", "LOG_GROUP_MISSING"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("reason codes changed: %v", got)
	}
}

func TestRetentionValuesIsACopy(t *testing.T) {
	v := RetentionValues()
	v[0] = 2
	if RetentionValues()[0] != 1 || len(v) != 22 {
		t.Fatal("RetentionValues leaks its backing array")
	}
}

// FuzzParsePolicy: Parse never panics; whatever it accepts is valid and
// survives a JSON round trip unchanged.
func FuzzParsePolicy(f *testing.F) {
	for _, s := range []string{`{}`, `{"retentionDays":30}`, "mode: non-blocking\nmaxBufferSize: 25m\n", `{"logGroupTemplate":"/ecs/{family}/{container}"}`, `{"logGroupTags":{"a":"b"}}`, `{"allowedDrivers":["awslogs","awsfirelens"]}`, `{"exemptionTag":{"key":"k","value":"v"}}`, "- a\n", "{"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := Parse(data)
		if err != nil {
			return
		}
		if err := p.Validate(); err != nil {
			t.Fatalf("Parse accepted an invalid policy: %v", err)
		}
		b, err := json.Marshal(p)
		if err != nil {
			t.Fatal(err)
		}
		q, err := Parse(b)
		if err != nil {
			t.Fatalf("re-parse of %s: %v", b, err)
		}
		if !reflect.DeepEqual(p, q) {
			t.Fatalf("round trip changed the policy:\n%+v\n%+v", p, q)
		}
	})
}

func BenchmarkEvaluate(b *testing.B) {
	td := &types.TaskDefinition{ContainerDefinitions: []types.ContainerDefinition{
		{Name: aws.String("app"), LogConfiguration: full("mode", "non-blocking")},
		{Name: aws.String("envoy"), LogConfiguration: lc("awslogs", "awslogs-group", "/ecs/x", "awslogs-region", "us-east-1")},
		{Name: aws.String("xray")},
	}}
	p := Default()
	tags := []types.Tag{{Key: aws.String("team"), Value: aws.String("a")}}
	b.ReportAllocs()
	for b.Loop() {
		_ = p.Evaluate(td, tags)
	}
}

func TestEveryReasonIsExplained(t *testing.T) {
	for _, r := range reason.All() {
		if r.Summary() == string(r) || r.Help() == "" {
			t.Errorf("%s has no summary or help", r)
		}
	}
	if got := reason.Code("X").Summary(); got != "X" {
		t.Errorf("unknown reason summary %q", got)
	}
}

func TestParseDuplicateKeyIsOneLine(t *testing.T) {
	for _, in := range []string{"streamPrefix: a\nstreamPrefix: b\n", `{"streamPrefix": "a", "streamPrefix": "b"}`} {
		_, err := Parse([]byte(in))
		if err == nil || strings.Contains(err.Error(), "\n") || !strings.Contains(err.Error(), `key "streamPrefix" already set in map`) {
			t.Errorf("Parse(%q) = %q", in, err)
		}
	}
}
