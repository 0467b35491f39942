package consumer

import (
	"reflect"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/scheduler"
	"github.com/aws/aws-sdk-go-v2/service/scheduler/types"
)

// UpdateSchedule replaces the whole schedule: every field of the request
// that GetSchedule returns must be copied, or the update resets it. The
// reflection fails here when a new SDK field appears on both sides.
func TestUpdateScheduleInputKeepsEveryField(t *testing.T) {
	future := time.Now().Add(24 * time.Hour).Truncate(time.Second)
	g := &scheduler.GetScheduleOutput{
		Arn: aws.String("arn:aws:scheduler:us-east-1:111122223333:schedule/ops/report"), Name: aws.String("report"), GroupName: aws.String("ops"),
		ScheduleExpression: aws.String("cron(0 3 * * ? *)"), ScheduleExpressionTimezone: aws.String("Europe/Paris"),
		FlexibleTimeWindow:    &types.FlexibleTimeWindow{Mode: types.FlexibleTimeWindowModeFlexible, MaximumWindowInMinutes: aws.Int32(15)},
		ActionAfterCompletion: types.ActionAfterCompletionDelete, Description: aws.String("nightly"), StartDate: &future,
		EndDate: aws.Time(future.Add(time.Hour)), KmsKeyArn: aws.String("arn:aws:kms:us-east-1:111122223333:key/k"), State: types.ScheduleStateDisabled,
		Target: &types.Target{Arn: aws.String("arn:aws:ecs:us-east-1:111122223333:cluster/prod"), RoleArn: aws.String("arn:aws:iam::111122223333:role/r"),
			Input: aws.String(`{"containerOverrides":[]}`), RetryPolicy: &types.RetryPolicy{MaximumRetryAttempts: aws.Int32(3)},
			EcsParameters: &types.EcsParameters{TaskDefinitionArn: aws.String("arn:aws:ecs:us-east-1:111122223333:task-definition/orders:3"),
				TaskCount: aws.Int32(2), Group: aws.String("batch"), EnableExecuteCommand: aws.Bool(true)}},
	}
	const td = "arn:aws:ecs:us-east-1:111122223333:task-definition/orders:4"
	in := UpdateScheduleInput(g, td, time.Now())
	src, dst := reflect.ValueOf(g).Elem(), reflect.ValueOf(in).Elem()
	for i := range dst.NumField() {
		f := dst.Type().Field(i)
		if !f.IsExported() || f.Name == "ClientToken" || f.Name == "Target" {
			continue
		}
		sf := src.FieldByName(f.Name)
		if !sf.IsValid() {
			t.Errorf("UpdateScheduleInput.%s has no GetScheduleOutput field: decide how to fill it", f.Name)
			continue
		}
		if sf.IsZero() {
			t.Errorf("the test leaves GetScheduleOutput.%s empty: set it", f.Name)
		}
		if !reflect.DeepEqual(sf.Interface(), dst.Field(i).Interface()) {
			t.Errorf("%s: %v, want %v", f.Name, dst.Field(i).Interface(), sf.Interface())
		}
	}
	want := *g.Target
	ecsp := *want.EcsParameters
	ecsp.TaskDefinitionArn = aws.String(td)
	want.EcsParameters = &ecsp
	if !reflect.DeepEqual(*in.Target, want) {
		t.Errorf("target %+v, want the same with only the task definition changed", in.Target)
	}
	if aws.ToString(g.Target.EcsParameters.TaskDefinitionArn) == td {
		t.Error("the observed schedule was modified in place")
	}
	// A start date that has passed is left out (Scheduler refuses one more
	// than 5 minutes old); the rest stays.
	past := time.Now().Add(-time.Hour)
	g.StartDate = &past
	if in := UpdateScheduleInput(g, td, time.Now()); in.StartDate != nil || aws.ToString(in.Description) != "nightly" {
		t.Errorf("with a past start date: %+v", in)
	}
}
