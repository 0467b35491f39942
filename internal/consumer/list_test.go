package consumer

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/scheduler"
	schedtypes "github.com/aws/aws-sdk-go-v2/service/scheduler/types"

	"github.com/ecslogfix/ecslogfix/internal/workflow"
)

const (
	listCluster = "arn:aws:ecs:us-east-1:111122223333:cluster/prod"
	listTD      = "arn:aws:ecs:us-east-1:111122223333:task-definition/orders:3"
)

// barrier makes each listing's first call wait until all three listings
// have started: List only returns if they run at the same time.
type barrier struct {
	t       *testing.T
	started chan struct{}
	all     chan struct{}
}

func newBarrier(t *testing.T, n int) *barrier {
	b := &barrier{t: t, started: make(chan struct{}, n), all: make(chan struct{})}
	go func() {
		for range n {
			<-b.started
		}
		close(b.all)
	}()
	return b
}

func (b *barrier) arrive() {
	b.started <- struct{}{}
	select {
	case <-b.all:
	case <-time.After(10 * time.Second):
		b.t.Error("the three listings did not run at the same time")
	}
}

type listECS struct {
	ECS
	b   *barrier
	err error
}

func (f listECS) ListClusters(context.Context, *ecs.ListClustersInput, ...func(*ecs.Options)) (*ecs.ListClustersOutput, error) {
	f.b.arrive()
	return &ecs.ListClustersOutput{ClusterArns: []string{listCluster}}, f.err
}

func (f listECS) ListServices(context.Context, *ecs.ListServicesInput, ...func(*ecs.Options)) (*ecs.ListServicesOutput, error) {
	return &ecs.ListServicesOutput{ServiceArns: []string{"arn:aws:ecs:us-east-1:111122223333:service/prod/web"}}, nil
}

func (f listECS) DescribeServices(_ context.Context, in *ecs.DescribeServicesInput, _ ...func(*ecs.Options)) (*ecs.DescribeServicesOutput, error) {
	return &ecs.DescribeServicesOutput{Services: []ecstypes.Service{{ServiceArn: aws.String(in.Services[0]), ServiceName: aws.String("web"),
		ClusterArn: aws.String(listCluster), Status: aws.String("ACTIVE"), TaskDefinition: aws.String(listTD)}}}, nil
}

type listEvents struct {
	Events
	b   *barrier
	err error
}

func (f listEvents) ListEventBuses(context.Context, *eventbridge.ListEventBusesInput, ...func(*eventbridge.Options)) (*eventbridge.ListEventBusesOutput, error) {
	f.b.arrive()
	return &eventbridge.ListEventBusesOutput{}, f.err
}

func (f listEvents) ListRules(context.Context, *eventbridge.ListRulesInput, ...func(*eventbridge.Options)) (*eventbridge.ListRulesOutput, error) {
	return &eventbridge.ListRulesOutput{Rules: []ebtypes.Rule{{Name: aws.String("nightly"), Arn: aws.String("arn:aws:events:us-east-1:111122223333:rule/nightly")}}}, nil
}

func (f listEvents) ListTargetsByRule(context.Context, *eventbridge.ListTargetsByRuleInput, ...func(*eventbridge.Options)) (*eventbridge.ListTargetsByRuleOutput, error) {
	return &eventbridge.ListTargetsByRuleOutput{Targets: []ebtypes.Target{{Id: aws.String("t"), Arn: aws.String(listCluster),
		EcsParameters: &ebtypes.EcsParameters{TaskDefinitionArn: aws.String(listTD)}}}}, nil
}

type listScheduler struct {
	Scheduler
	b   *barrier
	err error
}

func (f listScheduler) ListSchedules(context.Context, *scheduler.ListSchedulesInput, ...func(*scheduler.Options)) (*scheduler.ListSchedulesOutput, error) {
	f.b.arrive()
	return &scheduler.ListSchedulesOutput{Schedules: []schedtypes.ScheduleSummary{{Name: aws.String("report"), GroupName: aws.String("ops"),
		Target: &schedtypes.TargetSummary{Arn: aws.String(listCluster)}}}}, f.err
}

func (f listScheduler) GetSchedule(context.Context, *scheduler.GetScheduleInput, ...func(*scheduler.Options)) (*scheduler.GetScheduleOutput, error) {
	return &scheduler.GetScheduleOutput{Arn: aws.String("arn:aws:scheduler:us-east-1:111122223333:schedule/ops/report"), Name: aws.String("report"),
		GroupName: aws.String("ops"), Target: &schedtypes.Target{Arn: aws.String(listCluster), EcsParameters: &schedtypes.EcsParameters{TaskDefinitionArn: aws.String(listTD)}}}, nil
}

func listClients(t *testing.T, ecsErr, eventsErr, schedErr error) Clients {
	b := newBarrier(t, 3)
	return Clients{ECS: listECS{b: b, err: ecsErr}, Events: listEvents{b: b, err: eventsErr}, Scheduler: listScheduler{b: b, err: schedErr}}
}

// TestListRunsTheListingsTogether: List reads ECS, EventBridge and
// Scheduler at the same time and still returns services, rule targets and
// schedules in that order; of several failures, the first in that order.
func TestListRunsTheListingsTogether(t *testing.T) {
	got, err := List(context.Background(), listClients(t, nil, nil, nil), "orders")
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, c := range got {
		kinds = append(kinds, string(c.Kind))
	}
	if want := []string{string(workflow.KindService), string(workflow.KindRuleTarget), string(workflow.KindSchedule)}; strings.Join(kinds, " ") != strings.Join(want, " ") {
		t.Errorf("kinds %v, want %v", kinds, want)
	}

	ecsErr, schedErr := errors.New("ecs down"), errors.New("scheduler down")
	for _, tc := range []struct {
		name               string
		ecs, events, sched error
		want               error
	}{
		{"services and schedules fail", ecsErr, nil, schedErr, ecsErr},
		{"schedules fail", nil, nil, schedErr, schedErr},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := List(context.Background(), listClients(t, tc.ecs, tc.events, tc.sched), "orders")
			if !errors.Is(err, tc.want) || got != nil {
				t.Errorf("List = %v, %v; want nil, %v", got, err, tc.want)
			}
		})
	}
}
