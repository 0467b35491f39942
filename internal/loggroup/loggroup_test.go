package loggroup

import (
	"context"
	"errors"
	"log/slog"
	"reflect"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	logtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ecslogfix/ecslogfix/internal/awsfake"
	"github.com/ecslogfix/ecslogfix/internal/plan"
	"github.com/ecslogfix/ecslogfix/internal/policy/awslogs"
	"github.com/ecslogfix/ecslogfix/internal/workflow"
)

var quiet = slog.New(slog.DiscardHandler)

// DescribeLogGroups matches by prefix: only the exact name counts.
func TestFindIsExactMatch(t *testing.T) {
	l := awsfake.NewLogs()
	l.Groups["/ecs/a-b"] = &logtypes.LogGroup{LogGroupName: aws.String("/ecs/a-b"), RetentionInDays: aws.Int32(3)}
	got, err := Find(context.Background(), l, "/ecs/a", awsfake.Region)
	if err != nil {
		t.Fatal(err)
	}
	if got.Exists || got.Result.RetentionDays != 0 || got.ARN != "" || got.Fact() != (awslogs.GroupFact{}) {
		t.Fatalf("matched a prefix: %+v", got)
	}
	l.Groups["/ecs/a"] = &logtypes.LogGroup{LogGroupName: aws.String("/ecs/a"), RetentionInDays: aws.Int32(7), LogGroupClass: logtypes.LogGroupClassStandard,
		DeletionProtectionEnabled: aws.Bool(true), Arn: aws.String("arn:aws:logs:us-east-1:111122223333:log-group:/ecs/a:*")}
	got, err = Find(context.Background(), l, "/ecs/a", awsfake.Region)
	want := awslogs.GroupFact{Exists: true, RetentionDays: 7, Class: "STANDARD", DeletionProtection: true, ARN: "arn:aws:logs:us-east-1:111122223333:log-group:/ecs/a"}
	if err != nil || !got.Exists || got.ARN != "arn:aws:logs:us-east-1:111122223333:log-group:/ecs/a" || got.Fact() != want {
		t.Fatalf("Find = %+v, %v", got, err)
	}
}

func group(name string) plan.LogGroup {
	return plan.LogGroup{Name: name, Region: awsfake.Region, RetentionDays: 365, Tags: map[string]string{"team": "a"}, DeletionProtection: true}
}

// A missing group is created with the plan's settings, deletion protection
// included, and gets its retention.
func TestApplyCreates(t *testing.T) {
	l := awsfake.NewLogs()
	g := group("/ecs/a")
	g.Observed, g.Create = &awslogs.GroupFact{}, true
	res, err := Apply(context.Background(), l, quiet, g)
	want := workflow.LogGroupResult{Name: "/ecs/a", Region: awsfake.Region, Created: true, RetentionDays: 365, Class: "STANDARD", DeletionProtectionEnabled: true}
	if err != nil || res != want {
		t.Fatalf("Apply = %+v, %v; want %+v", res, err, want)
	}
	lg := l.Groups["/ecs/a"]
	if !aws.ToBool(lg.DeletionProtectionEnabled) || aws.ToInt32(lg.RetentionInDays) != 365 || !reflect.DeepEqual(l.Tags["/ecs/a"], map[string]string{"team": "a", "ecslogfix:managed": "true"}) {
		t.Fatalf("created %+v tags %v", lg, l.Tags["/ecs/a"])
	}
	if g.Tags["ecslogfix:managed"] != "" {
		t.Fatal("Apply wrote into the plan's tags")
	}
}

// An existing group: only the retention the plan asks for changes, and
// the result says what it was.
func TestApplyExisting(t *testing.T) {
	for _, tc := range []struct {
		name      string
		observed  awslogs.GroupFact
		set       int32
		wantCalls []string
		want      workflow.LogGroupResult
	}{
		{"left alone", awslogs.GroupFact{Exists: true, RetentionDays: 30, KMSKeyARN: "k", Class: "STANDARD"}, 0, nil,
			workflow.LogGroupResult{Name: "/ecs/a", Region: awsfake.Region, RetentionDays: 30, KMSKeyARN: "k", Class: "STANDARD"}},
		{"never-expiring gets the retention", awslogs.GroupFact{Exists: true}, 365, []string{"PutRetentionPolicy"},
			workflow.LogGroupResult{Name: "/ecs/a", Region: awsfake.Region, RetentionDays: 365, RetentionSet: true}},
		{"raised", awslogs.GroupFact{Exists: true, RetentionDays: 7}, 365, []string{"PutRetentionPolicy"},
			workflow.LogGroupResult{Name: "/ecs/a", Region: awsfake.Region, RetentionDays: 365, RetentionSet: true, PreviousRetentionDays: 7}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := awsfake.NewLogs()
			l.Groups["/ecs/a"] = &logtypes.LogGroup{LogGroupName: aws.String("/ecs/a")}
			g := group("/ecs/a")
			g.Observed, g.SetRetention = &tc.observed, tc.set
			res, err := Apply(context.Background(), l, quiet, g)
			if err != nil || res != tc.want || !reflect.DeepEqual(l.Calls, tc.wantCalls) {
				t.Fatalf("Apply = %+v, %v (calls %v); want %+v %v", res, err, l.Calls, tc.want, tc.wantCalls)
			}
		})
	}
}

// Created by someone else between the read and the create: existing, as
// it is; unless it is ecslogfix's own from an attempt whose retention step
// failed, which gets its retention (and counts as created).
func TestApplyCreatedMeanwhile(t *testing.T) {
	for _, ours := range []bool{false, true} {
		l := awsfake.NewLogs()
		l.Groups["/ecs/a"] = &logtypes.LogGroup{LogGroupName: aws.String("/ecs/a"), LogGroupArn: aws.String("arn:aws:logs:us-east-1:111122223333:log-group:/ecs/a")}
		if ours {
			l.Tags["/ecs/a"] = map[string]string{"ecslogfix:managed": "true"}
		}
		g := group("/ecs/a")
		g.Observed, g.Create = &awslogs.GroupFact{}, true
		res, err := Apply(context.Background(), l, quiet, g)
		if err != nil || res.Created != ours || (ours && res.RetentionDays != 365) || (!ours && res.RetentionDays != 0) {
			t.Fatalf("ours %v: Apply = %+v, %v (calls %v)", ours, res, err, l.Calls)
		}
	}
}

func TestApplyErrors(t *testing.T) {
	if _, err := Apply(context.Background(), awsfake.NewLogs(), quiet, plan.LogGroup{Name: "aws/x", Create: true}); awsfake.ErrorType(err) != workflow.ErrInvalidInput {
		t.Fatalf("invalid name: %v", err)
	}
	l := awsfake.NewLogs()
	l.Errs["CreateLogGroup"] = []error{&logtypes.ServiceUnavailableException{Message: aws.String("down")}}
	g := group("/ecs/a")
	g.Create = true
	if _, err := Apply(context.Background(), l, quiet, g); awsfake.ErrorType(err) != workflow.ErrThrottled {
		t.Fatalf("unavailable: %v (%s)", err, awsfake.ErrorType(err))
	}
}

type settings struct {
	calls int
	value string
	err   error
}

func (s *settings) ListAccountSettings(_ context.Context, in *ecs.ListAccountSettingsInput, _ ...func(*ecs.Options)) (*ecs.ListAccountSettingsOutput, error) {
	s.calls++
	if in.Name != ecstypes.SettingNameDefaultLogDriverMode || !in.EffectiveSettings {
		return nil, errors.New("unexpected request")
	}
	if s.err != nil {
		return nil, s.err
	}
	out := &ecs.ListAccountSettingsOutput{}
	if s.value != "" {
		out.Settings = []ecstypes.Setting{{Name: ecstypes.SettingNameDefaultLogDriverMode, Value: aws.String(s.value)}}
	}
	return out, nil
}

// One read per distinct group per account and region, one per account
// setting, however many task definitions ask.
func TestObserverReadsOnce(t *testing.T) {
	logs := map[string]*awsfake.Logs{"us-east-1": awsfake.NewLogs(), "eu-west-1": awsfake.NewLogs()}
	logs["us-east-1"].Groups["/ecs/a"] = &logtypes.LogGroup{LogGroupName: aws.String("/ecs/a"), RetentionInDays: aws.Int32(30)}
	var targets []workflow.Target
	st := &settings{value: "blocking"}
	o := NewObserver(func(t workflow.Target) (Reader, error) {
		targets = append(targets, t)
		return logs[t.Region], nil
	}, func(workflow.Target) (Settings, error) { return st, nil })
	a := workflow.Target{Account: "111122223333", Region: "us-east-1", RoleARN: "arn:aws:iam::111122223333:role/member"}
	refs := []awslogs.GroupRef{{Name: "/ecs/a", Region: "us-east-1"}, {Name: "/ecs/a", Region: "eu-west-1"}}
	for range 3 {
		f, err := o.Facts(context.Background(), a, refs, true)
		if err != nil {
			t.Fatal(err)
		}
		want := awslogs.Facts{LogDriverMode: "blocking", Groups: map[awslogs.GroupRef]awslogs.GroupFact{refs[0]: {Exists: true, RetentionDays: 30}, refs[1]: {}}}
		if !reflect.DeepEqual(f, want) {
			t.Fatalf("Facts = %+v", f)
		}
	}
	if n := len(logs["us-east-1"].Calls) + len(logs["eu-west-1"].Calls); n != 2 || st.calls != 1 || o.Reads() != 3 {
		t.Fatalf("%d DescribeLogGroups, %d ListAccountSettings, Reads %d; want 2, 1, 3", n, st.calls, o.Reads())
	}
	// The group's own region, the target's account and role.
	if len(targets) != 2 || targets[1] != (workflow.Target{Account: a.Account, Region: "eu-west-1", RoleARN: a.RoleARN}) {
		t.Fatalf("clients for %v", targets)
	}
	// Another account is another group.
	if _, err := o.Group(context.Background(), workflow.Target{Account: "222233334444", Region: "us-east-1"}, refs[0]); err != nil || len(logs["us-east-1"].Calls) != 2 {
		t.Fatalf("another account: %v, calls %v", err, logs["us-east-1"].Calls)
	}
	// Without an ECS client the account setting is never read.
	if m, err := NewObserver(nil, nil).DriverMode(context.Background(), a); m != "" || err != nil {
		t.Fatalf("DriverMode without a client = %q, %v", m, err)
	}
	st.err = &ecstypes.AccessDeniedException{Message: aws.String("no")}
	if _, err := NewObserver(nil, func(workflow.Target) (Settings, error) { return st, nil }).DriverMode(context.Background(), a); err == nil {
		t.Fatal("an access denial was swallowed")
	}
}

// A retry after a failed retention step: the group ecslogfix made on the
// earlier attempt is seen existing and never-expiring; it is ours (tag),
// so it gets its retention and still counts as created. A user's
// never-expiring group is left to the lifecycle.
func TestApplyResumesOurGroup(t *testing.T) {
	for _, ours := range []bool{false, true} {
		l := awsfake.NewLogs()
		arn := "arn:aws:logs:us-east-1:111122223333:log-group:/ecs/a"
		l.Groups["/ecs/a"] = &logtypes.LogGroup{LogGroupName: aws.String("/ecs/a"), LogGroupArn: aws.String(arn)}
		if ours {
			l.Tags["/ecs/a"] = map[string]string{"ecslogfix:managed": "true"}
		}
		g := group("/ecs/a")
		g.Observed = &awslogs.GroupFact{Exists: true, ARN: arn} // the lifecycle keeps it: no SetRetention
		res, err := Apply(context.Background(), l, quiet, g)
		if err != nil || res.Created != ours || (ours && aws.ToInt32(l.Groups["/ecs/a"].RetentionInDays) != 365) || (!ours && l.Groups["/ecs/a"].RetentionInDays != nil) {
			t.Fatalf("ours %v: Apply = %+v, %v", ours, res, err)
		}
	}
}
