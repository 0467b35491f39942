package remediate

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ecslogfix/ecslogfix/internal/awsfake"
	"github.com/ecslogfix/ecslogfix/internal/policy"
	"github.com/ecslogfix/ecslogfix/internal/workflow"
)

// racingECS registers what others register between remediate's read of the
// family and its own registration: the window a rate limiter wait, SDK
// backoff or a slow Lambda opens.
type racingECS struct {
	*awsfake.ECS
	before func(f *awsfake.ECS)
	once   bool
}

func (r *racingECS) RegisterTaskDefinition(ctx context.Context, in *ecs.RegisterTaskDefinitionInput, optFns ...func(*ecs.Options)) (*ecs.RegisterTaskDefinitionOutput, error) {
	if !r.once && r.before != nil {
		r.once = true
		r.before(r.ECS)
	}
	return r.ECS.RegisterTaskDefinition(ctx, in, optFns...)
}

// A remediation must never leave older content on top of newer content,
// and must not cost a read when nobody registered in between.
func TestRegisterNeverLeavesOlderContentOnTop(t *testing.T) {
	td, tags := awsfake.TaskDefinition(t, "td01-fargate-no-logconfig.json") // orders-api:14, non-compliant
	const family = "orders-api"
	user := func(rev int32) func(f *awsfake.ECS) {
		return func(f *awsfake.ECS) { f.Put(awsfake.WithRevision(td, family, rev), tags) }
	}
	ours := func(rev, from int32) func(f *awsfake.ECS) {
		return func(f *awsfake.ECS) { f.Put(awsfake.WithRevision(td, family, rev), ourTags(family, from)) }
	}
	tests := []struct {
		name        string
		source      int32
		seed        []func(f *awsfake.ECS) // before the workflow runs
		between     func(f *awsfake.ECS)   // between the read and the register
		want        workflow.Outcome
		ourRevision int32 // the revision remediate registers
		wantActive  bool  // whether it stays ACTIVE
		wantReads   int
	}{
		{name: "nobody in between", source: 14, want: workflow.OutcomeRemediated, ourRevision: 15, wantActive: true, wantReads: 1},
		{name: "newer user content in between", source: 14, between: user(15),
			want: workflow.OutcomeSuperseded, ourRevision: 16, wantActive: false, wantReads: 2},
		{name: "another execution fixed the same source", source: 14, between: ours(15, 14),
			want: workflow.OutcomeAlreadyRemediated, ourRevision: 16, wantActive: false, wantReads: 2},
		// Overtaken at 16, the reads go on below it for this remediation's
		// own registrations, overtaken too.
		{name: "a fix of a newer source in between", source: 14, between: func(f *awsfake.ECS) { user(15)(f); ours(16, 15)(f) },
			want: workflow.OutcomeSuperseded, ourRevision: 17, wantActive: false, wantReads: 3},
		{name: "only a fix of an older source in between", source: 14, seed: []func(*awsfake.ECS){user(13)}, between: ours(15, 13),
			want: workflow.OutcomeRemediated, ourRevision: 16, wantActive: true, wantReads: 2},
		{name: "what came in between is already deregistered", source: 14, between: func(f *awsfake.ECS) {
			user(15)(f)
			f.Families[family][14].TD.Status = types.TaskDefinitionStatusInactive
		}, want: workflow.OutcomeRemediated, ourRevision: 16, wantActive: true, wantReads: 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, l := awsfake.NewECS(), awsfake.NewLogs()
			for _, s := range tc.seed {
				s(f)
			}
			f.Put(awsfake.WithRevision(td, family, tc.source), tags)
			e := &racingECS{ECS: f, before: tc.between}
			r := &Remediator{Policy: policy.Default(), Clients: static(e, l)}
			res, err := r.Register(context.Background(), workflow.State{Input: inputFor(awsfake.WithRevision(td, family, tc.source))})
			if err != nil {
				t.Fatal(err)
			}
			if res.Outcome != tc.want {
				t.Fatalf("outcome %s (%s), want %s", res.Outcome, res.Detail, tc.want)
			}
			revs := f.Families[family]
			if int32(len(revs)) != tc.ourRevision {
				t.Fatalf("family has %d revisions, want ours at %d", len(revs), tc.ourRevision)
			}
			if active := revs[tc.ourRevision-1].TD.Status == types.TaskDefinitionStatusActive; active != tc.wantActive {
				t.Errorf("our revision %d active=%v, want %v", tc.ourRevision, active, tc.wantActive)
			}
			if (res.NewARN != "") != tc.wantActive {
				t.Errorf("NewARN %q with our revision active=%v", res.NewARN, tc.wantActive)
			}
			if got := f.Count("DescribeTaskDefinition"); got != tc.wantReads {
				t.Errorf("%d reads, want %d", got, tc.wantReads)
			}
			if latest := f.Latest(family); latest != nil && !tc.wantActive && aws.ToString(latest.TD.TaskDefinitionArn) != res.LatestARN {
				t.Errorf("LatestARN %s, family's latest ACTIVE is %s", res.LatestARN, aws.ToString(latest.TD.TaskDefinitionArn))
			}
		})
	}
}

// newestOfAnyStatus answers a family read with the family's newest
// revision whatever its status, as moto 5.2.1 does (AWS answers the latest
// ACTIVE one): after another execution withdrew its fix, the family's
// latest is not observed ACTIVE.
type newestOfAnyStatus struct{ *awsfake.ECS }

func (n newestOfAnyStatus) DescribeTaskDefinition(ctx context.Context, in *ecs.DescribeTaskDefinitionInput, optFns ...func(*ecs.Options)) (*ecs.DescribeTaskDefinitionOutput, error) {
	if ref := aws.ToString(in.TaskDefinition); !strings.Contains(ref, ":") {
		revs := n.Families[ref]
		in = &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String(fmt.Sprintf("%s:%d", ref, len(revs))), Include: in.Include}
	}
	return n.ECS.DescribeTaskDefinition(ctx, in, optFns...)
}

// The revisions the post-register rule judges lie above the source: the
// source itself, or older content, never overtakes it — even when the
// family's latest was not observed ACTIVE (a fix another execution
// withdrew is the family's newest revision).
func TestRegisterNeverWithdrawsForTheSourceItself(t *testing.T) {
	td, tags := awsfake.TaskDefinition(t, "td01-fargate-no-logconfig.json") // orders-api:14, non-compliant
	const family = "orders-api"
	f, l := awsfake.NewECS(), awsfake.NewLogs()
	f.Put(awsfake.WithRevision(td, family, 13), tags)
	f.Put(awsfake.WithRevision(td, family, 14), tags)
	f.Put(awsfake.WithRevision(td, family, 15), ourTags(family, 13)) // a fix of 13, withdrawn
	f.Families[family][14].TD.Status = types.TaskDefinitionStatusInactive
	r := &Remediator{Policy: policy.Default(), Clients: static(newestOfAnyStatus{f}, l)}
	res, err := r.Register(context.Background(), workflow.State{Input: inputFor(awsfake.WithRevision(td, family, 14))})
	if err != nil {
		t.Fatal(err)
	}
	if res.Outcome != workflow.OutcomeRemediated {
		t.Fatalf("outcome %s (%s), want %s", res.Outcome, res.Detail, workflow.OutcomeRemediated)
	}
	if revs := f.Families[family]; len(revs) != 16 || revs[15].TD.Status != types.TaskDefinitionStatusActive {
		t.Errorf("our revision 16 is not the family's ACTIVE latest (%d revisions)", len(revs))
	}
}
