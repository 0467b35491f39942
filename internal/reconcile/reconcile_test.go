package reconcile

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ecslogfix/ecslogfix/internal/plan"
	"github.com/ecslogfix/ecslogfix/internal/policy"
	"github.com/ecslogfix/ecslogfix/internal/policy/awslogs"
	"github.com/ecslogfix/ecslogfix/internal/policy/reason"
	"github.com/ecslogfix/ecslogfix/internal/taskdef"
	"github.com/ecslogfix/ecslogfix/internal/workflow"
)

const family = "orders"

var (
	awslogsConfig = &types.LogConfiguration{LogDriver: types.LogDriverAwslogs, Options: map[string]string{
		"awslogs-group": "/ecs/orders", "awslogs-region": "us-east-1", "awslogs-stream-prefix": "ecs"}}
	firelens = &types.LogConfiguration{LogDriver: types.LogDriverAwsfirelens, Options: map[string]string{"Name": "datadog"}}
)

type content int

const (
	unlogged content = iota // a container without logConfiguration: fixable
	logged                  // compliant
	routed                  // FireLens: a human must act
	noRole                  // Fargate without an execution role: blocked
)

// rev builds revision n of the family; from > 0 tags it as ecslogfix's
// remediation of revision from.
func rev(n int32, c content, from int32, extra ...types.Tag) *Revision {
	a := taskdef.ARN{Partition: "aws", Region: "us-east-1", Account: "111122223333", Family: family, Revision: n}
	td := &types.TaskDefinition{
		TaskDefinitionArn: aws.String(a.String()), Family: aws.String(family), Revision: n,
		Status:                  types.TaskDefinitionStatusActive,
		RequiresCompatibilities: []types.Compatibility{types.CompatibilityFargate},
		ExecutionRoleArn:        aws.String("arn:aws:iam::111122223333:role/exec"),
		ContainerDefinitions:    []types.ContainerDefinition{{Name: aws.String("app"), Image: aws.String("app:1")}},
	}
	switch c {
	case logged:
		td.ContainerDefinitions[0].LogConfiguration = awslogsConfig
	case routed:
		td.ContainerDefinitions[0].LogConfiguration = firelens
	case noRole:
		td.ExecutionRoleArn = nil
	}
	tags := extra
	if from > 0 {
		tags = append(tags, taskdef.ProvenanceTags(from)...)
	}
	return &Revision{TaskDefinition: td, Tags: tags}
}

func inactive(r *Revision) *Revision {
	r.TaskDefinition.Status = types.TaskDefinitionStatusInactive
	return r
}

var (
	notFound = &Revision{}
	source   = taskdef.ARN{Partition: "aws", Region: "us-east-1", Account: "111122223333", Family: family, Revision: 5}
	ctx      = plan.Context{Partition: "aws", Account: "111122223333", Region: "us-east-1"}
	exempt   = types.Tag{Key: aws.String("ecslogfix:exempt"), Value: aws.String("true")}
	// token names the remediation deciding; mine marks its registrations.
	token  = "orders-5-0123456789abcdef"
	mine   = taskdef.ExecutionTag(token)[0]
	theirs = taskdef.ExecutionTag("orders-5-fedcba9876543210")[0]
)

// One table for the whole decision: what was observed → what to do.
func TestDecide(t *testing.T) {
	tests := []struct {
		name        string
		latest      *Revision
		byARN       *Revision
		enforcement policy.Enforcement
		needsSource bool
		act         Act
		outcome     workflow.Outcome
		detail      string // a substring of the sentence
		latestARN   int32  // revision of Decision.LatestARN, 0 = none
		planFrom    int32  // revision the plan was built from, 0 = no plan
		registered  int32  // revision of Decision.Registered, 0 = none
	}{
		{name: "the source is the latest: fix it", latest: rev(5, unlogged, 0),
			act: ActRegister, latestARN: 5, planFrom: 5},
		{name: "report mode changes nothing", latest: rev(5, unlogged, 0), enforcement: policy.Report,
			outcome: workflow.OutcomeReportOnly, detail: "report mode", latestARN: 5, planFrom: 5},
		{name: "compliant when re-read", latest: rev(5, logged, 0),
			outcome: workflow.OutcomeAlreadyCompliant, detail: "compliant when re-read", latestARN: 5, planFrom: 5},
		{name: "exempt", latest: rev(5, unlogged, 0, exempt),
			outcome: workflow.OutcomeExempt, detail: "exemption tag", latestARN: 5, planFrom: 5},
		{name: "blocked", latest: rev(5, noRole, 0),
			outcome: workflow.OutcomeBlocked, detail: "cannot be applied safely", latestARN: 5, planFrom: 5},
		{name: "only FireLens: a human must act", latest: rev(5, routed, 0),
			outcome: workflow.OutcomeNeedsHuman, detail: "a human must act", latestARN: 5, planFrom: 5},
		{name: "ours of this source is on top: a duplicate", latest: rev(6, logged, 5),
			outcome: workflow.OutcomeAlreadyRemediated, detail: "orders:6 already is ecslogfix's remediation", latestARN: 6},
		{name: "this remediation's own revision is on top (response lost): report it", latest: rev(6, logged, 5, mine), byARN: rev(5, unlogged, 0), needsSource: true,
			outcome: workflow.OutcomeRemediated, detail: "registered arn:aws:ecs:us-east-1:111122223333:task-definition/orders:6 from orders:5 (found by its execution tag", latestARN: 6, planFrom: 5, registered: 6},
		{name: "this remediation's own revision, the source gone since", latest: rev(6, logged, 5, mine), byARN: notFound, needsSource: true,
			outcome: workflow.OutcomeRemediated, detail: "found by its execution tag", latestARN: 6, registered: 6},
		{name: "another remediation's fix of this source is on top", latest: rev(6, logged, 5, theirs),
			outcome: workflow.OutcomeAlreadyRemediated, detail: "orders:6 already is ecslogfix's remediation", latestARN: 6},
		{name: "ours of a newer source is on top", latest: rev(8, logged, 7),
			outcome: workflow.OutcomeSuperseded, detail: "remediation of the newer revision 7", latestARN: 8},
		{name: "a newer user revision is on top", latest: rev(6, unlogged, 0),
			outcome: workflow.OutcomeSuperseded, detail: "its own event covers it", latestARN: 6},
		{name: "ours of older content is on top: fix the source", latest: rev(6, logged, 4), byARN: rev(5, unlogged, 0), needsSource: true,
			act: ActRegister, latestARN: 6, planFrom: 5},
		{name: "ours of older content on top, source gone", latest: rev(6, logged, 4), byARN: notFound, needsSource: true,
			outcome: workflow.OutcomeInactive, detail: "can no longer be described", latestARN: 6},
		{name: "no ACTIVE revision left, the source deregistered", latest: notFound, byARN: inactive(rev(5, unlogged, 0)), needsSource: true,
			outcome: workflow.OutcomeInactive, detail: "was deregistered"},
		{name: "the latest is older: the source was deregistered", latest: rev(4, unlogged, 0), byARN: inactive(rev(5, unlogged, 0)), needsSource: true,
			outcome: workflow.OutcomeInactive, detail: "was deregistered", latestARN: 4},
		{name: "a latest that is not ACTIVE counts as none", latest: inactive(rev(5, unlogged, 0)), byARN: rev(5, unlogged, 0), needsSource: true,
			act: ActRegister, planFrom: 5},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := Observation{Source: source, Latest: tc.latest, Enforcement: tc.enforcement, Token: token}
			if got := NeedsSource(o); got != tc.needsSource {
				t.Fatalf("NeedsSource = %v, want %v", got, tc.needsSource)
			}
			o.ByARN = tc.byARN
			d, err := Decide(o, policy.Default(), ctx)
			if err != nil {
				t.Fatal(err)
			}
			if d.Act != tc.act || d.Outcome != tc.outcome {
				t.Fatalf("Decide = act %v outcome %q (%s), want act %v outcome %q", d.Act, d.Outcome, d.Detail, tc.act, tc.outcome)
			}
			if tc.act == ActNone && !strings.Contains(d.Detail, tc.detail) {
				t.Errorf("detail %q does not say %q", d.Detail, tc.detail)
			}
			wantLatest := ""
			if tc.latestARN > 0 {
				wantLatest = "arn:aws:ecs:us-east-1:111122223333:task-definition/orders:" + strconv.Itoa(int(tc.latestARN))
			}
			if d.LatestARN != wantLatest {
				t.Errorf("LatestARN = %q, want %q", d.LatestARN, wantLatest)
			}
			if want := revARN(tc.registered); d.Registered != want {
				t.Errorf("Registered = %q, want %q", d.Registered, want)
			}
			switch {
			case tc.planFrom == 0 && d.Plan != nil:
				t.Errorf("a plan was built although the decision needed none")
			case tc.planFrom != 0 && (d.Plan == nil || d.Plan.Revision != tc.planFrom || d.Source.TaskDefinition.Revision != tc.planFrom):
				t.Errorf("plan not built from revision %d: %+v", tc.planFrom, d.Plan)
			}
			if d.Act == ActRegister && (d.Plan.Changed == nil || !d.Plan.NeedsChange()) {
				t.Error("register without a change")
			}
		})
	}
}

func revARN(n int32) string {
	if n == 0 {
		return ""
	}
	return "arn:aws:ecs:us-east-1:111122223333:task-definition/orders:" + strconv.Itoa(int(n))
}

func TestDecideErrors(t *testing.T) {
	if _, err := Decide(Observation{Source: source, Latest: notFound}, policy.Default(), ctx); !errors.Is(err, ErrNotObserved) {
		t.Fatalf("a needed source read that is missing must be an error, got %v", err)
	}
	broken := rev(5, unlogged, 0)
	broken.TaskDefinition.Family = nil
	var pe *PlanError
	if _, err := Decide(Observation{Source: source, Latest: broken}, policy.Default(), ctx); !errors.As(err, &pe) {
		t.Fatalf("an unplannable source must be a PlanError, got %v", err)
	}
	if d := Unbuildable(Decision{Act: ActRegister}, errors.New("51 tags")); d.Act != ActNone || d.Outcome != workflow.OutcomeBlocked || !strings.Contains(d.Detail, "51 tags") {
		t.Fatalf("Unbuildable = %+v", d)
	}
	if got := Registered(family, 6, 5); got != "registered orders:6 from orders:5" {
		t.Fatal(got)
	}
}

// The post-register rule, per revision found between the latest observed
// and ours (newest first).
func TestOvertaken(t *testing.T) {
	const ours = 7
	tests := []struct {
		name     string
		between  *Revision
		want     Overtake
		contains string
	}{
		{"newer user content: withdraw", rev(6, unlogged, 0), Overtake{Settled: true, Withdraw: true, Outcome: workflow.OutcomeSuperseded}, "orders:6) was registered while"},
		{"another execution fixed this source: withdraw the duplicate", rev(6, logged, 5), Overtake{Settled: true, Withdraw: true, Outcome: workflow.OutcomeAlreadyRemediated}, "the duplicate arn:aws:ecs:us-east-1:111122223333:task-definition/orders:7 was deregistered"},
		{"a fix of a newer source: withdraw", rev(6, logged, 6), Overtake{Settled: true, Withdraw: true, Outcome: workflow.OutcomeSuperseded}, "deregistered so it does not replace newer content"},
		{"a fix of an older source: keep", rev(6, logged, 4), Overtake{Settled: true}, ""},
		{"deregistered meanwhile: look further", inactive(rev(6, unlogged, 0)), Overtake{}, ""},
		{"not found: look further", notFound, Overtake{}, ""},
		{"the source itself: keep", rev(5, unlogged, 0), Overtake{Settled: true}, ""},
		{"this remediation's own earlier registration: a duplicate, look further", rev(6, logged, 5, mine), Overtake{Own: true}, ""},
		{"another remediation's fix of this source: withdraw", rev(6, logged, 5, theirs), Overtake{Settled: true, Withdraw: true, Outcome: workflow.OutcomeAlreadyRemediated}, "by another execution"},
		{"older user content: keep", rev(4, unlogged, 0), Overtake{Settled: true}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := Overtaken(source, ours, token, tc.between)
			detail := got.Detail
			got.Detail = ""
			if got != tc.want {
				t.Fatalf("Overtaken = %+v, want %+v", got, tc.want)
			}
			if !strings.Contains(detail, tc.contains) {
				t.Errorf("detail %q does not say %q", detail, tc.contains)
			}
		})
	}
}

// Of this remediation's registrations of one source, the first committed
// (the lowest revision) stays, whichever attempt asks and in whatever
// order its own were found: a registration that commits later is always
// numbered above it.
func TestKeepFirst(t *testing.T) {
	at := func(revs ...int32) []taskdef.ARN {
		out := make([]taskdef.ARN, len(revs))
		for i, r := range revs {
			out[i] = source
			out[i].Revision = r
		}
		return out
	}
	tests := []struct {
		name     string
		ours     int32
		own      []int32
		keep     int32
		withdraw []int32
	}{
		{"no other registration: ours stays", 6, nil, 6, nil},
		{"an earlier one (the SDK's retry after a lost response): it stays", 7, []int32{6}, 6, []int32{7}},
		{"several, newest first: the lowest stays", 9, []int32{8, 6, 7}, 6, []int32{9, 8, 7}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			keep, withdraw := KeepFirst(at(tc.ours)[0], at(tc.own...))
			if keep != at(tc.keep)[0] || !slices.Equal(withdraw, at(tc.withdraw...)) {
				t.Fatalf("KeepFirst(%d, %v) = %d, %v; want %d, %v", tc.ours, tc.own, keep.Revision, withdraw, tc.keep, tc.withdraw)
			}
			if d := Duplicates(withdraw); len(withdraw) > 0 && !strings.Contains(d, at(tc.withdraw...)[0].String()) {
				t.Errorf("Duplicates(%v) = %q does not name %s", withdraw, d, at(tc.withdraw...)[0])
			}
		})
	}
}

// Only another execution's fix of the same source leaves this
// remediation's earlier registrations below it in place; newer content
// overtakes them with ours.
func TestKeepsOwnBelow(t *testing.T) {
	theirFix := Overtaken(source, 9, token, rev(8, logged, 5, theirs))
	ownFix := Overtaken(source, 9, token, rev(7, logged, 5, mine))
	newer := Overtaken(source, 9, token, rev(8, unlogged, 0))
	olderFix := Overtaken(source, 9, token, rev(8, logged, 4))
	tests := []struct {
		name  string
		o     Overtake
		below []Overtake
		want  bool
	}{
		{"another execution's fix, ours below it", theirFix, []Overtake{ownFix}, true},
		{"another execution's fix, nothing of ours below", theirFix, nil, false},
		{"another execution's fix, ours below it, and a third fix lower still", theirFix, []Overtake{ownFix, theirFix}, false},
		{"another execution's fix, ours below it, below that another's, below that ours", theirFix, []Overtake{ownFix, theirFix, {}, ownFix}, true},
		{"newer content, ours below it", newer, []Overtake{ownFix}, false},
		{"a fix of older content keeps ours anyway", olderFix, []Overtake{ownFix}, false},
	}
	for _, tc := range tests {
		if got := KeepsOwnBelow(tc.o, tc.below); got != tc.want {
			t.Errorf("%s: KeepsOwnBelow = %v, want %v", tc.name, got, tc.want)
		}
	}
}

// What the post-register rule judges lies above the source and the latest
// observed, whichever is newer; an unobserved latest leaves the source.
func TestJudgedAbove(t *testing.T) {
	arn := func(rev int) string {
		return fmt.Sprintf("arn:aws:ecs:us-east-1:111122223333:task-definition/orders:%d", rev)
	}
	tests := []struct {
		name   string
		latest string
		want   int32
	}{
		{"the source is the latest", arn(5), 5},
		{"ours of older content above the source", arn(6), 6},
		{"the latest not observed ACTIVE", "", 5},
		{"an older latest (the source is newer)", arn(3), 5},
		{"another family's ARN", "arn:aws:ecs:us-east-1:111122223333:task-definition/other:9", 5},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := JudgedAbove(source, tc.latest); got != tc.want {
				t.Errorf("JudgedAbove(%s, %q) = %d, want %d", source, tc.latest, got, tc.want)
			}
		})
	}
}

// The live facts: which groups exist decides between ALREADY_COMPLIANT,
// creating the groups (no revision), LOG_GROUP_CREATED once this execution
// created them, and NEEDS_HUMAN for a group ecslogfix may not create.
func TestDecideLogGroups(t *testing.T) {
	own := awslogs.GroupRef{Name: "/ecs/orders", Region: "us-east-1"}
	facts := func(exists bool) awslogs.Facts {
		return awslogs.Facts{Groups: map[awslogs.GroupRef]awslogs.GroupFact{own: {Exists: exists}}}
	}
	outside := policy.Default()
	outside.LogGroupTemplate, outside.LogGroupPatterns = "/ecs/other-{family}", []string{"/ecs/other-*"}
	tests := []struct {
		name        string
		p           policy.Policy
		latest      *Revision
		facts       awslogs.Facts
		created     []awslogs.GroupRef
		enforcement policy.Enforcement
		act         Act
		outcome     workflow.Outcome
		detail      string
		create      []string // groups the plan creates
	}{
		{name: "compliant, group exists", latest: rev(5, logged, 0), facts: facts(true),
			outcome: workflow.OutcomeAlreadyCompliant, detail: "compliant when re-read"},
		{name: "compliant, group missing: create it, no revision", latest: rev(5, logged, 0), facts: facts(false),
			act: ActCreateGroups, create: []string{"/ecs/orders"}},
		{name: "created by this execution: LOG_GROUP_CREATED", latest: rev(5, logged, 0), facts: facts(true), created: []awslogs.GroupRef{own},
			outcome: workflow.OutcomeLogGroupCreated, detail: "created /ecs/orders (us-east-1); no new revision"},
		{name: "missing, report mode", latest: rev(5, logged, 0), facts: facts(false), enforcement: policy.Report,
			outcome: workflow.OutcomeReportOnly, detail: "report mode", create: []string{"/ecs/orders"}}, // what it would do
		{name: "missing and outside the patterns: a human", p: outside, latest: rev(5, logged, 0), facts: facts(false),
			outcome: workflow.OutcomeNeedsHuman, detail: "log group /ecs/orders (us-east-1) does not exist and is outside the log group names ecslogfix may create (logGroupPatterns /ecs/other-*)"},
		{name: "existing and outside the patterns: compliant", p: outside, latest: rev(5, logged, 0), facts: facts(true),
			outcome: workflow.OutcomeAlreadyCompliant, detail: "compliant when re-read"},
		{name: "a fix: its template group created before registering", latest: rev(5, unlogged, 0), facts: facts(false),
			act: ActRegister, create: []string{"/ecs/orders"}},
		{name: "a fix: its template group exists", latest: rev(5, unlogged, 0), facts: facts(true), act: ActRegister},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := tc.p
			if p.RequiredMode == "" {
				p = policy.Default()
			}
			o := Observation{Source: source, Latest: tc.latest, Enforcement: tc.enforcement, Facts: tc.facts, Created: tc.created}
			d, err := Decide(o, p, ctx)
			if err != nil {
				t.Fatal(err)
			}
			if d.Act != tc.act || d.Outcome != tc.outcome || !strings.Contains(d.Detail, tc.detail) {
				t.Fatalf("Decide = act %v outcome %q (%s), want act %v outcome %q (%s)", d.Act, d.Outcome, d.Detail, tc.act, tc.outcome, tc.detail)
			}
			if tc.outcome == workflow.OutcomeLogGroupCreated && (d.Plan.Compliant || d.Plan.Findings()[0].Reasons[0] != reason.LogGroupMissing) {
				t.Fatalf("LOG_GROUP_CREATED carries the plan as it was after: %+v", d.Plan)
			}
			if tc.outcome == workflow.OutcomeLogGroupCreated {
				return
			}
			var create []string
			for _, g := range d.Plan.LogGroups {
				if g.Create {
					create = append(create, g.Name)
				}
			}
			if !reflect.DeepEqual(create, tc.create) {
				t.Fatalf("creates %v, want %v", create, tc.create)
			}
		})
	}
}

// What the shell must read before Decide: nothing when the decision ends
// before the content matters; the groups of the revision the act leads
// to, less those already known.
func TestGroupsToObserve(t *testing.T) {
	own := awslogs.GroupRef{Name: "/ecs/orders", Region: "us-east-1"}
	blocking := policy.Default()
	blocking.RequiredMode = awslogs.ModeBlocking
	tests := []struct {
		name  string
		p     policy.Policy
		o     Observation
		want  []awslogs.GroupRef
		mode  bool
		errIs error
	}{
		{name: "superseded", o: Observation{Source: source, Latest: rev(6, unlogged, 0)}},
		{name: "needs the source read", o: Observation{Source: source, Latest: notFound}, errIs: ErrNotObserved},
		{name: "compliant: its groups", o: Observation{Source: source, Latest: rev(5, logged, 0)}, want: []awslogs.GroupRef{own}},
		{name: "a fix: the new revision's groups", o: Observation{Source: source, Latest: rev(5, unlogged, 0)}, want: []awslogs.GroupRef{own}},
		{name: "already known", o: Observation{Source: source, Latest: rev(5, unlogged, 0), Facts: awslogs.Facts{Groups: map[awslogs.GroupRef]awslogs.GroupFact{own: {Exists: true}}}}},
		{name: "exempt", o: Observation{Source: source, Latest: rev(5, unlogged, 0, exempt)}},
		{name: "blocked", o: Observation{Source: source, Latest: rev(5, noRole, 0)}},
		{name: "FireLens only", o: Observation{Source: source, Latest: rev(5, routed, 0)}},
		{name: "a required mode: groups and the account setting", p: blocking, o: Observation{Source: source, Latest: rev(5, logged, 0)}, want: []awslogs.GroupRef{own}, mode: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := tc.p
			if p.RequiredMode == "" {
				p = policy.Default()
			}
			got, mode, err := GroupsToObserve(tc.o, p, ctx)
			if !errors.Is(err, tc.errIs) || !reflect.DeepEqual(got, tc.want) || mode != tc.mode {
				t.Fatalf("GroupsToObserve = %v, %v, %v; want %v, %v, %v", got, mode, err, tc.want, tc.mode, tc.errIs)
			}
		})
	}
}
