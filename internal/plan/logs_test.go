package plan

import (
	"reflect"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ecslogfix/ecslogfix/internal/policy"
	"github.com/ecslogfix/ecslogfix/internal/policy/awslogs"
	"github.com/ecslogfix/ecslogfix/internal/policy/exemption"
	"github.com/ecslogfix/ecslogfix/internal/policy/reason"
)

// What the fix corrects of the new static rules, and what it leaves to a
// human with the key named.
func TestBuildOptionValues(t *testing.T) {
	blocking := policy.Default()
	blocking.RequiredMode = awslogs.ModeBlocking
	bigBuffer := policy.Default()
	bigBuffer.RequiredMode = awslogs.ModeNonBlocking
	bigBuffer.MinBufferSize = "25m"
	tests := []struct {
		name   string
		p      policy.Policy
		facts  awslogs.Facts
		lc     *types.LogConfiguration
		action Action
		keys   []string
		after  map[string]string // nil: unchanged
	}{
		{name: "placeholder region replaced", lc: complete("awslogs-region", "<aws_region>"), action: ActionComplete, keys: []string{"awslogs-region"},
			after: opts("awslogs-group", "/ecs/app", "awslogs-region", "us-east-1", "awslogs-stream-prefix", "app")},
		{name: "invalid prefix replaced", lc: complete("awslogs-stream-prefix", "svc:*"), action: ActionComplete, keys: []string{"awslogs-stream-prefix"},
			after: opts("awslogs-group", "/ecs/app", "awslogs-region", "us-east-1", "awslogs-stream-prefix", "ecs")},
		{name: "misspelt key needs a human", lc: complete("awslogs-Stream-Prefix", "x"), action: ActionReport, keys: []string{"awslogs-Stream-Prefix"}},
		{name: "misspelt key and a fixable one: still a human", lc: awslogsConfig("awslogs-group", "/ecs/app", "awslogs-Region", "us-east-1", "awslogs-stream-prefix", "p"), action: ActionReport, keys: []string{"awslogs-Region"}},
		{name: "invalid mode needs a human", lc: complete("mode", "sync"), action: ActionReport, keys: []string{"mode"}},
		{name: "explicit mode the policy refuses needs a human", p: blocking, lc: complete("mode", "non-blocking"), action: ActionReport, keys: []string{"mode"}},
		{name: "required mode added", p: blocking, lc: complete(), action: ActionComplete, keys: []string{"mode"},
			after: opts("awslogs-group", "/ecs/app", "awslogs-region", "us-east-1", "awslogs-stream-prefix", "app", "mode", "blocking")},
		{name: "account setting satisfies the required mode", p: blocking, facts: awslogs.Facts{LogDriverMode: awslogs.ModeBlocking}, lc: complete(), action: ActionNone},
		{name: "minimum buffer added", p: bigBuffer, lc: complete(), action: ActionComplete, keys: []string{"max-buffer-size"},
			after: opts("awslogs-group", "/ecs/app", "awslogs-region", "us-east-1", "awslogs-stream-prefix", "app", "max-buffer-size", "25m")},
		{name: "explicit small buffer needs a human", p: bigBuffer, lc: complete("max-buffer-size", "1m"), action: ActionReport, keys: []string{"max-buffer-size"}},
		{name: "required mode added with the missing prefix", p: blocking, lc: awslogsConfig("awslogs-group", "/ecs/app", "awslogs-region", "us-east-1"), action: ActionComplete, keys: []string{"mode"},
			after: opts("awslogs-group", "/ecs/app", "awslogs-region", "us-east-1", "awslogs-stream-prefix", "ecs", "mode", "blocking")},
		{name: "new awslogs gets the required mode", p: blocking, action: ActionAdd,
			after: opts("awslogs-group", "/ecs/app", "awslogs-region", "us-east-1", "awslogs-stream-prefix", "ecs", "mode", "blocking")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := tt.p
			if p.RequiredMode == "" {
				p = policy.Default()
			}
			pl, err := BuildWith(newTD(ctr("app", tt.lc)), nil, p, Context{}, tt.facts)
			if err != nil {
				t.Fatal(err)
			}
			c := pl.Containers[0]
			if c.Action != tt.action || !reflect.DeepEqual(c.Keys, tt.keys) {
				t.Fatalf("container = %s keys %v, want %s %v", c.Action, c.Keys, tt.action, tt.keys)
			}
			switch {
			case tt.after == nil && pl.Changed != nil:
				t.Fatalf("changed: %+v", pl.Changed.ContainerDefinitions[0].LogConfiguration)
			case tt.after != nil && !reflect.DeepEqual(pl.Changed.ContainerDefinitions[0].LogConfiguration.Options, tt.after):
				t.Fatalf("options = %v, want %v", pl.Changed.ContainerDefinitions[0].LogConfiguration.Options, tt.after)
			}
			if tt.after != nil {
				if ev := p.EvaluateFor(pl.Changed, nil, exemption.Subject{}, tt.facts); !ev.Compliant {
					t.Fatalf("the fix is not compliant: %+v", ev.Containers)
				}
			}
			if tt.action == ActionReport && (pl.Remedy() != RemedyReport || !strings.Contains(pl.Diff(), "unchanged: a human must act")) {
				t.Fatalf("remedy %s, diff:\n%s", pl.Remedy(), pl.Diff())
			}
		})
	}
}

// With facts: the groups the revision uses, observed; a missing one makes
// the plan create it (no revision) when that is all, or a human's job when
// ecslogfix may not create it.
func TestBuildWithGroupFacts(t *testing.T) {
	missing := func(refs ...awslogs.GroupRef) awslogs.Facts {
		f := awslogs.Facts{Groups: map[awslogs.GroupRef]awslogs.GroupFact{}}
		for _, r := range refs {
			f.Groups[r] = awslogs.GroupFact{}
		}
		return f
	}
	own := awslogs.GroupRef{Name: "/ecs/app", Region: "us-east-1"}
	custom := awslogs.GroupRef{Name: "/custom/app", Region: "eu-west-1"}
	customLC := awslogsConfig("awslogs-group", custom.Name, "awslogs-region", custom.Region, "awslogs-stream-prefix", "p")
	tests := []struct {
		name        string
		p           policy.Policy
		containers  []types.ContainerDefinition
		facts       awslogs.Facts
		remedy      Remedy
		missing     []awslogs.GroupRef
		uncreatable []awslogs.GroupRef
	}{
		{name: "compliant, groups exist", containers: []types.ContainerDefinition{ctr("app", complete())},
			facts: awslogs.Facts{Groups: map[awslogs.GroupRef]awslogs.GroupFact{own: {Exists: true}}}, remedy: RemedyNone},
		{name: "compliant, group missing: create it", containers: []types.ContainerDefinition{ctr("app", complete())},
			facts: missing(own), remedy: RemedyCreateGroups, missing: []awslogs.GroupRef{own}},
		{name: "compliant, group outside the patterns missing: a human", containers: []types.ContainerDefinition{ctr("app", complete()), ctr("b", customLC)},
			facts: missing(custom), remedy: RemedyReport, missing: []awslogs.GroupRef{custom}, uncreatable: []awslogs.GroupRef{custom}},
		{name: "the patterns admit it", p: policy.Policy{LogGroupPatterns: []string{"/ecs/*", "/custom/*"}}, containers: []types.ContainerDefinition{ctr("b", customLC)},
			facts: missing(custom), remedy: RemedyCreateGroups, missing: []awslogs.GroupRef{custom}},
		{name: "the driver creates it", containers: []types.ContainerDefinition{ctr("b", awslogsConfig("awslogs-group", custom.Name, "awslogs-region", custom.Region, "awslogs-stream-prefix", "p", "awslogs-create-group", "true"))},
			facts: missing(custom), remedy: RemedyNone, missing: []awslogs.GroupRef{custom}},
		{name: "a fix whose kept group is missing: register, the group is created", containers: []types.ContainerDefinition{ctr("app", awslogsConfig("awslogs-group", "/ecs/app", "awslogs-region", "us-east-1"))},
			facts: missing(own), remedy: RemedyRegister, missing: []awslogs.GroupRef{own}},
		{name: "a fix whose kept group may not be created: a human", containers: []types.ContainerDefinition{ctr("app", nil), ctr("b", awslogsConfig("awslogs-group", custom.Name, "awslogs-region", custom.Region))},
			facts: missing(custom), remedy: RemedyReport, missing: []awslogs.GroupRef{custom}, uncreatable: []awslogs.GroupRef{custom}},
		{name: "a missing group and FireLens: a human", containers: []types.ContainerDefinition{ctr("app", complete()), ctr("fl", &types.LogConfiguration{LogDriver: types.LogDriverAwsfirelens})},
			facts: missing(own), remedy: RemedyReport, missing: []awslogs.GroupRef{own}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pl, err := BuildWith(newTD(tt.containers...), nil, tt.p, Context{}, tt.facts)
			if err != nil {
				t.Fatal(err)
			}
			refs := func(gs []LogGroup) []awslogs.GroupRef {
				var out []awslogs.GroupRef
				for _, g := range gs {
					out = append(out, g.Ref())
				}
				return out
			}
			if pl.Remedy() != tt.remedy || !reflect.DeepEqual(refs(pl.Missing()), tt.missing) || !reflect.DeepEqual(refs(pl.Uncreatable()), tt.uncreatable) {
				t.Fatalf("remedy %s, missing %v, uncreatable %v; want %s %v %v", pl.Remedy(), refs(pl.Missing()), refs(pl.Uncreatable()), tt.remedy, tt.missing, tt.uncreatable)
			}
			for _, c := range pl.Containers {
				onlyMissing := reflect.DeepEqual(c.Reasons, []reason.Code{reason.LogGroupMissing})
				if onlyMissing && (c.Action != ActionNone || c.After != nil) {
					t.Fatalf("container %s rewritten for a missing group: %s", c.Name, c.Action)
				}
			}
			if tt.remedy == RemedyCreateGroups && (pl.Compliant || pl.Changed != nil || pl.Verdict() != VerdictNonCompliant) {
				t.Fatalf("create-groups plan = %+v", pl)
			}
		})
	}
}

// A user's group observed missing is one ecslogfix creates: its KMS key
// must be of the group's region, like a template group's.
func TestBuildKMSKeyForMissingUserGroup(t *testing.T) {
	key := "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
	td := newTD(ctr("app", awslogsConfig("awslogs-group", "/ecs/other", "awslogs-region", "eu-west-1", "awslogs-stream-prefix", "p")))
	p := policy.Policy{KMSKeyARN: key}
	for _, tc := range []struct {
		exists  bool
		blocked bool
	}{{true, false}, {false, true}} {
		f := awslogs.Facts{Groups: map[awslogs.GroupRef]awslogs.GroupFact{{Name: "/ecs/other", Region: "eu-west-1"}: {Exists: tc.exists}}}
		pl, err := BuildWith(td, nil, p, Context{}, f)
		if err != nil {
			t.Fatal(err)
		}
		if pl.Blocked() != tc.blocked || (tc.blocked && (pl.Blockers[0].Code != BlockKMSKeyRegion || pl.Remedy() != RemedyBlocked)) {
			t.Errorf("exists %v: blockers %+v", tc.exists, pl.Blockers)
		}
	}
}

// The execution role and a missing group together: the revision adds the
// role, the group is created before it is registered.
func TestBuildRoleAndMissingGroup(t *testing.T) {
	td := newTD(ctr("app", complete()))
	td.RequiresCompatibilities = []types.Compatibility{types.CompatibilityFargate}
	f := awslogs.Facts{Groups: map[awslogs.GroupRef]awslogs.GroupFact{{Name: "/ecs/app", Region: "us-east-1"}: {}}}
	pl, err := BuildWith(td, nil, policy.Policy{DefaultExecutionRoleARN: "arn:aws:iam::111122223333:role/exec"}, Context{}, f)
	if err != nil {
		t.Fatal(err)
	}
	want := []reason.Code{reason.LogGroupMissing, reason.ExecutionRoleMissing}
	if pl.Remedy() != RemedyRegister || !reflect.DeepEqual(pl.Containers[0].Reasons, want) || pl.Containers[0].Action != ActionNone ||
		aws.ToString(pl.Changed.ExecutionRoleArn) == "" || len(pl.Missing()) != 1 {
		t.Fatalf("plan = %+v", pl)
	}
}

// What applying the plan does to each group: create the missing ones it
// may, set the lifecycle's retention on existing ones it may, touch
// nothing outside the patterns and nothing it did not observe.
func TestBuildGroupChanges(t *testing.T) {
	td := newTD(
		ctr("a", awslogsConfig("awslogs-group", "/ecs/never", "awslogs-region", "us-east-1", "awslogs-stream-prefix", "p")),
		ctr("b", awslogsConfig("awslogs-group", "/ecs/short", "awslogs-region", "us-east-1", "awslogs-stream-prefix", "p")),
		ctr("c", awslogsConfig("awslogs-group", "/ecs/gone", "awslogs-region", "us-east-1", "awslogs-stream-prefix", "p")),
		ctr("d", awslogsConfig("awslogs-group", "/team/never", "awslogs-region", "us-east-1", "awslogs-stream-prefix", "p")),
		ctr("e", awslogsConfig("awslogs-group", "/ecs/unseen", "awslogs-region", "us-east-1", "awslogs-stream-prefix", "p")),
		ctr("f", nil),
	)
	f := awslogs.Facts{Groups: map[awslogs.GroupRef]awslogs.GroupFact{
		{Name: "/ecs/never", Region: "us-east-1"}:  {Exists: true},
		{Name: "/ecs/short", Region: "us-east-1"}:  {Exists: true, RetentionDays: 7},
		{Name: "/ecs/gone", Region: "us-east-1"}:   {},
		{Name: "/team/never", Region: "us-east-1"}: {Exists: true},
		{Name: "/ecs/app", Region: "us-east-1"}:    {},
	}}
	type change struct {
		create    bool
		retention int32
	}
	for _, tc := range []struct {
		mode policy.RetentionMode
		want map[string]change
	}{
		{policy.RetentionSetIfNeverExpire, map[string]change{"/ecs/never": {false, 365}, "/ecs/short": {}, "/ecs/gone": {true, 0}, "/team/never": {}, "/ecs/unseen": {}, "/ecs/app": {true, 0}}},
		{policy.RetentionEnforce, map[string]change{"/ecs/never": {false, 365}, "/ecs/short": {false, 365}, "/ecs/gone": {true, 0}, "/team/never": {}, "/ecs/unseen": {}, "/ecs/app": {true, 0}}},
		{policy.RetentionKeep, map[string]change{"/ecs/never": {}, "/ecs/short": {}, "/ecs/gone": {true, 0}, "/team/never": {}, "/ecs/unseen": {}, "/ecs/app": {true, 0}}},
	} {
		pl, err := BuildWith(td, nil, policy.Policy{ExistingGroupRetention: tc.mode}, Context{}, f)
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]change{}
		for _, g := range pl.LogGroups {
			got[g.Name] = change{g.Create, g.SetRetention}
		}
		if !reflect.DeepEqual(got, tc.want) || pl.Remedy() != RemedyRegister {
			t.Errorf("%s: changes %v (remedy %s), want %v", tc.mode, got, pl.Remedy(), tc.want)
		}
	}
}

func TestLogGroupSummary(t *testing.T) {
	base := LogGroup{Name: "/ecs/a", Region: "us-east-1", RetentionDays: 365, DeletionProtection: true}
	with := func(f func(*LogGroup)) LogGroup { g := base; f(&g); return g }
	tests := map[string]LogGroup{
		"would be created if missing (retention 365 days, deletion protection)":             base,
		"not read; outside the policy's logGroupPatterns, so ecslogfix would not create it": with(func(g *LogGroup) { g.OutsidePatterns = true }),
		"missing: would be created (retention 365 days, KMS key k, deletion protection)":    with(func(g *LogGroup) { g.Observed, g.Create, g.KMSKeyARN = &awslogs.GroupFact{}, true, "k" }),
		"missing: awslogs-create-group creates it when a task starts (it never expires)":    with(func(g *LogGroup) { g.Observed, g.OutsidePatterns, g.DriverCreates = &awslogs.GroupFact{}, true, true }),
		"missing, and outside the policy's logGroupPatterns: a human must create it":        with(func(g *LogGroup) { g.Observed, g.OutsidePatterns = &awslogs.GroupFact{}, true }),
		"exists (retention never expires): its retention would be set to 365 days":          with(func(g *LogGroup) { g.Observed, g.SetRetention = &awslogs.GroupFact{Exists: true}, 365 }),
		"exists (retention 30 days)": with(func(g *LogGroup) { g.Observed = &awslogs.GroupFact{Exists: true, RetentionDays: 30} }),
	}
	for want, g := range tests {
		if got := g.Summary(); got != want {
			t.Errorf("Summary = %q, want %q", got, want)
		}
	}
}
