// Package consumer observes and moves what runs ECS task definitions in
// one account and region: ECS services (ListClusters → ListServices →
// DescribeServices in batches of 10), EventBridge rule targets with
// EcsParameters (every rule of the default and custom buses, then
// ListTargetsByRule: ListRuleNamesByTarget cannot find ECS targets, whose
// Arn is the cluster) and EventBridge Scheduler schedules with an ECS
// target. It is a shell: List reads, Move changes one consumer's task
// definition and nothing else. The decisions are internal/rollout's.
package consumer

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/arn"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/scheduler"
	"github.com/aws/smithy-go"

	"github.com/ecslogfix/ecslogfix/internal/awserr"
	"github.com/ecslogfix/ecslogfix/internal/taskdef"
	"github.com/ecslogfix/ecslogfix/internal/workflow"
)

// ECS is the part of the ECS API this package uses.
type ECS interface {
	ListClusters(ctx context.Context, in *ecs.ListClustersInput, optFns ...func(*ecs.Options)) (*ecs.ListClustersOutput, error)
	ListServices(ctx context.Context, in *ecs.ListServicesInput, optFns ...func(*ecs.Options)) (*ecs.ListServicesOutput, error)
	DescribeServices(ctx context.Context, in *ecs.DescribeServicesInput, optFns ...func(*ecs.Options)) (*ecs.DescribeServicesOutput, error)
	UpdateService(ctx context.Context, in *ecs.UpdateServiceInput, optFns ...func(*ecs.Options)) (*ecs.UpdateServiceOutput, error)
}

// Events is the part of the EventBridge API this package uses.
type Events interface {
	ListEventBuses(ctx context.Context, in *eventbridge.ListEventBusesInput, optFns ...func(*eventbridge.Options)) (*eventbridge.ListEventBusesOutput, error)
	ListRules(ctx context.Context, in *eventbridge.ListRulesInput, optFns ...func(*eventbridge.Options)) (*eventbridge.ListRulesOutput, error)
	ListTargetsByRule(ctx context.Context, in *eventbridge.ListTargetsByRuleInput, optFns ...func(*eventbridge.Options)) (*eventbridge.ListTargetsByRuleOutput, error)
	PutTargets(ctx context.Context, in *eventbridge.PutTargetsInput, optFns ...func(*eventbridge.Options)) (*eventbridge.PutTargetsOutput, error)
}

// Scheduler is the part of the EventBridge Scheduler API this package uses.
type Scheduler interface {
	ListSchedules(ctx context.Context, in *scheduler.ListSchedulesInput, optFns ...func(*scheduler.Options)) (*scheduler.ListSchedulesOutput, error)
	GetSchedule(ctx context.Context, in *scheduler.GetScheduleInput, optFns ...func(*scheduler.Options)) (*scheduler.GetScheduleOutput, error)
	UpdateSchedule(ctx context.Context, in *scheduler.UpdateScheduleInput, optFns ...func(*scheduler.Options)) (*scheduler.UpdateScheduleOutput, error)
}

// Clients are the clients of one account and region.
type Clients struct {
	ECS       ECS
	Events    Events
	Scheduler Scheduler
}

// describeBatch is DescribeServices' limit of services per call.
const describeBatch = 10

// List returns every consumer in the account and region whose task
// definition is in family (every family when family is empty): services,
// rule targets and schedules, in that order. The three listings read
// three services, so they run at the same time: the step waits for the
// longest, not for the sum. Each keeps its own pacing (awsclient paces
// the ECS reads per scope). When more than one fails, the error is the
// first in that order, whatever finished first.
func List(ctx context.Context, c Clients, family string) ([]workflow.Consumer, error) {
	listings := []func() ([]workflow.Consumer, error){
		func() ([]workflow.Consumer, error) { return Services(ctx, c.ECS, family) },
		func() ([]workflow.Consumer, error) { return RuleTargets(ctx, c.Events, family) },
		func() ([]workflow.Consumer, error) { return Schedules(ctx, c.Scheduler, family) },
	}
	found := make([][]workflow.Consumer, len(listings))
	errs := make([]error, len(listings))
	var wg sync.WaitGroup
	for i, list := range listings {
		wg.Go(func() { found[i], errs[i] = list() })
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return slices.Concat(found...), nil
}

// inFamily reports whether td (a task definition ARN, with or without a
// revision) is in family; with an empty family, whether it is a task
// definition at all.
func inFamily(td, family string) (int32, bool) {
	ref, err := taskdef.ParseRef(td)
	if err != nil || !strings.HasPrefix(td, "arn:") {
		return 0, false
	}
	return ref.Revision, family == "" || ref.Family == family
}

// Services lists the services of every cluster running family.
func Services(ctx context.Context, c ECS, family string) ([]workflow.Consumer, error) {
	var out []workflow.Consumer
	clusters := ecs.NewListClustersPaginator(c, &ecs.ListClustersInput{})
	for clusters.HasMorePages() {
		page, err := clusters.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("list clusters: %w", err)
		}
		for _, cluster := range page.ClusterArns {
			svcs, err := clusterServices(ctx, c, cluster, family)
			if err != nil {
				return nil, err
			}
			out = append(out, svcs...)
		}
	}
	return out, nil
}

func clusterServices(ctx context.Context, c ECS, cluster, family string) ([]workflow.Consumer, error) {
	var out []workflow.Consumer
	p := ecs.NewListServicesPaginator(c, &ecs.ListServicesInput{Cluster: aws.String(cluster), MaxResults: aws.Int32(100)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("list services of %s: %w", cluster, err)
		}
		described, err := ServicesOf(ctx, c, cluster, page.ServiceArns)
		if err != nil {
			return nil, err
		}
		for _, a := range page.ServiceArns {
			if s := described[a]; s != nil {
				if svc, ok := serviceConsumer(s, cluster, family); ok {
					out = append(out, svc)
				}
			}
		}
	}
	return out, nil
}

func serviceConsumer(s *ecstypes.Service, cluster, family string) (workflow.Consumer, bool) {
	td := aws.ToString(s.TaskDefinition)
	if td == "" {
		// An EXTERNAL service names no revision itself: its primary task
		// set does.
		for _, ts := range s.TaskSets {
			if aws.ToString(ts.Status) == "PRIMARY" {
				td = aws.ToString(ts.TaskDefinition)
			}
		}
	}
	rev, ok := inFamily(td, family)
	if !ok || aws.ToString(s.Status) != "ACTIVE" {
		return workflow.Consumer{}, false
	}
	c := workflow.Consumer{
		Kind: workflow.KindService, ARN: aws.ToString(s.ServiceArn), Name: aws.ToString(s.ServiceName),
		Cluster: cmp.Or(aws.ToString(s.ClusterArn), cluster), Controller: workflow.ControllerECS,
		TaskDefinition: td, Revision: rev,
	}
	if s.DeploymentController != nil && s.DeploymentController.Type != "" {
		c.Controller = string(s.DeploymentController.Type)
	}
	if c.Controller == workflow.ControllerCodeDeploy && len(s.LoadBalancers) > 0 {
		c.LoadBalancerContainer = aws.ToString(s.LoadBalancers[0].ContainerName)
		c.LoadBalancerPort = aws.ToInt32(s.LoadBalancers[0].ContainerPort)
	}
	return c, true
}

// RuleTargets lists the ECS targets running family of every rule on the
// default and custom event buses (partner buses have no ECS targets of
// this account's making, but are listed too: ListEventBuses returns them).
func RuleTargets(ctx context.Context, c Events, family string) ([]workflow.Consumer, error) {
	buses := []string{"default"}
	var token *string
	for {
		page, err := c.ListEventBuses(ctx, &eventbridge.ListEventBusesInput{NextToken: token})
		if err != nil {
			return nil, fmt.Errorf("list event buses: %w", err)
		}
		for _, b := range page.EventBuses {
			if name := aws.ToString(b.Name); name != "" && !slices.Contains(buses, name) {
				buses = append(buses, name)
			}
		}
		if token = page.NextToken; token == nil {
			break
		}
	}
	var out []workflow.Consumer
	for _, bus := range buses {
		var token *string
		for {
			page, err := c.ListRules(ctx, &eventbridge.ListRulesInput{EventBusName: aws.String(bus), NextToken: token})
			if err != nil {
				return nil, fmt.Errorf("list rules of bus %s: %w", bus, err)
			}
			for _, r := range page.Rules {
				targets, err := ruleTargets(ctx, c, bus, aws.ToString(r.Name))
				if err != nil {
					return nil, err
				}
				for _, t := range targets {
					if tc, ok := targetConsumer(t, bus, r, family); ok {
						out = append(out, tc)
					}
				}
			}
			if token = page.NextToken; token == nil {
				break
			}
		}
	}
	return out, nil
}

func ruleTargets(ctx context.Context, c Events, bus, rule string) ([]ebtypes.Target, error) {
	var out []ebtypes.Target
	var token *string
	for {
		page, err := c.ListTargetsByRule(ctx, &eventbridge.ListTargetsByRuleInput{Rule: aws.String(rule), EventBusName: aws.String(bus), NextToken: token})
		if err != nil {
			return nil, fmt.Errorf("list targets of rule %s (bus %s): %w", rule, bus, err)
		}
		out = append(out, page.Targets...)
		if token = page.NextToken; token == nil {
			return out, nil
		}
	}
}

func targetConsumer(t ebtypes.Target, bus string, r ebtypes.Rule, family string) (workflow.Consumer, bool) {
	if t.EcsParameters == nil {
		return workflow.Consumer{}, false
	}
	td := aws.ToString(t.EcsParameters.TaskDefinitionArn)
	rev, ok := inFamily(td, family)
	if !ok {
		return workflow.Consumer{}, false
	}
	return workflow.Consumer{
		Kind: workflow.KindRuleTarget, ARN: aws.ToString(r.Arn), Name: aws.ToString(r.Name), EventBus: bus,
		TargetID: aws.ToString(t.Id), Cluster: aws.ToString(t.Arn), TaskDefinition: td, Revision: rev,
	}, true
}

// Schedules lists the schedules of every group whose ECS target runs
// family. ListSchedules gives only the target's ARN (the cluster for an
// ECS target): GetSchedule reads the task definition of those.
func Schedules(ctx context.Context, c Scheduler, family string) ([]workflow.Consumer, error) {
	var out []workflow.Consumer
	p := scheduler.NewListSchedulesPaginator(c, &scheduler.ListSchedulesInput{})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("list schedules: %w", err)
		}
		for _, s := range page.Schedules {
			if s.Target == nil || !isCluster(aws.ToString(s.Target.Arn)) {
				continue
			}
			g, err := c.GetSchedule(ctx, &scheduler.GetScheduleInput{Name: s.Name, GroupName: s.GroupName})
			if err != nil {
				return nil, fmt.Errorf("get schedule %s/%s: %w", aws.ToString(s.GroupName), aws.ToString(s.Name), err)
			}
			if g.Target == nil || g.Target.EcsParameters == nil {
				continue
			}
			td := aws.ToString(g.Target.EcsParameters.TaskDefinitionArn)
			rev, ok := inFamily(td, family)
			if !ok {
				continue
			}
			out = append(out, workflow.Consumer{
				Kind: workflow.KindSchedule, ARN: aws.ToString(g.Arn), Name: aws.ToString(g.Name), Group: cmp.Or(aws.ToString(g.GroupName), "default"),
				Cluster: aws.ToString(g.Target.Arn), TaskDefinition: td, Revision: rev,
			})
		}
	}
	return out, nil
}

func isCluster(s string) bool {
	a, err := arn.Parse(s)
	return err == nil && a.Service == "ecs" && strings.HasPrefix(a.Resource, "cluster/")
}

// ErrChanged says a consumer no longer names the revision a Move expected:
// someone changed it meanwhile, or it is gone (Current is then empty).
type ErrChanged struct{ Current string }

func (e *ErrChanged) Error() string {
	if e.Current == "" {
		return "consumer: it no longer exists"
	}
	return "consumer: it now runs " + e.Current
}

// Move points c from the revision from to the revision to and changes
// nothing else. It re-reads the consumer first and returns *ErrChanged when
// it does not run from (never fighting someone's change; Current is to
// when it runs to already: the move is done, no call made). A service gets UpdateService
// with only its cluster, name and taskDefinition — never network, capacity
// or Service Connect configuration, which UpdateService would reset or
// replace — and Move returns the ID of the deployment ECS started; a rule
// target gets PutTargets with its whole existing target, a schedule
// UpdateSchedule with its whole existing definition, only the task
// definition ARN changed.
func Move(ctx context.Context, c Clients, con workflow.Consumer, from, to string) (deployment string, err error) {
	switch con.Kind {
	case workflow.KindService:
		return moveService(ctx, c.ECS, con, from, to)
	case workflow.KindRuleTarget:
		return "", moveTarget(ctx, c.Events, con, from, to)
	case workflow.KindSchedule:
		return "", moveSchedule(ctx, c.Scheduler, con, from, to)
	}
	return "", fmt.Errorf("consumer: unknown kind %q", con.Kind)
}

// Service reads one service (nil when it does not exist).
func Service(ctx context.Context, c ECS, cluster, service string) (*ecstypes.Service, error) {
	d, err := c.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String(cluster), Services: []string{service}})
	if err != nil {
		return nil, fmt.Errorf("describe service %s: %w", service, err)
	}
	for i := range d.Services {
		if s := &d.Services[i]; aws.ToString(s.ServiceArn) == service || aws.ToString(s.ServiceName) == service {
			return s, nil
		}
	}
	return nil, nil
}

func moveService(ctx context.Context, c ECS, con workflow.Consumer, from, to string) (string, error) {
	s, err := Service(ctx, c, con.Cluster, con.ARN)
	if err != nil {
		return "", err
	}
	if s == nil || aws.ToString(s.Status) != "ACTIVE" {
		return "", &ErrChanged{}
	}
	if cur := aws.ToString(s.TaskDefinition); cur != from {
		return primaryID(s, to), &ErrChanged{Current: cur}
	}
	out, err := c.UpdateService(ctx, &ecs.UpdateServiceInput{
		Cluster: aws.String(con.Cluster), Service: aws.String(con.ARN), TaskDefinition: aws.String(to),
	})
	if err != nil {
		return "", fmt.Errorf("update service %s: %w", con.Name, err)
	}
	return primaryID(out.Service, to), nil
}

// primaryID is the ID of s's primary deployment of td, or "".
func primaryID(s *ecstypes.Service, td string) string {
	if s == nil {
		return ""
	}
	for _, d := range s.Deployments {
		if aws.ToString(d.Status) == "PRIMARY" && aws.ToString(d.TaskDefinition) == td {
			return aws.ToString(d.Id)
		}
	}
	return ""
}

func moveTarget(ctx context.Context, c Events, con workflow.Consumer, from, to string) error {
	targets, err := ruleTargets(ctx, c, con.EventBus, con.Name)
	if err != nil {
		return err
	}
	i := slices.IndexFunc(targets, func(t ebtypes.Target) bool { return aws.ToString(t.Id) == con.TargetID })
	if i < 0 || targets[i].EcsParameters == nil {
		return &ErrChanged{}
	}
	t := targets[i]
	if cur := aws.ToString(t.EcsParameters.TaskDefinitionArn); cur != from {
		return &ErrChanged{Current: cur}
	}
	ecsp := *t.EcsParameters
	ecsp.TaskDefinitionArn = aws.String(to)
	t.EcsParameters = &ecsp
	out, err := c.PutTargets(ctx, &eventbridge.PutTargetsInput{Rule: aws.String(con.Name), EventBusName: aws.String(con.EventBus), Targets: []ebtypes.Target{t}})
	if err != nil {
		return fmt.Errorf("put target %s of rule %s: %w", con.TargetID, con.Name, err)
	}
	if out.FailedEntryCount > 0 && len(out.FailedEntries) > 0 {
		f := out.FailedEntries[0]
		return &EntryError{Code: aws.ToString(f.ErrorCode), Message: aws.ToString(f.ErrorMessage)}
	}
	return nil
}

// EntryError is PutTargets' failed entry: the call succeeded, the target
// was not changed.
type EntryError struct{ Code, Message string }

func (e *EntryError) Error() string { return "put targets: " + e.Code + ": " + e.Message }

// EntryError is a smithy.APIError, so awserr classifies it like one
// (PutTargets reports throttling per entry too).
var _ smithy.APIError = (*EntryError)(nil)

func (e *EntryError) ErrorCode() string    { return e.Code }
func (e *EntryError) ErrorMessage() string { return e.Message }

// ErrorFault is the client's unless EventBridge says it failed inside.
func (e *EntryError) ErrorFault() smithy.ErrorFault {
	if e.Code == "InternalFailure" || e.Code == "InternalException" {
		return smithy.FaultServer
	}
	return smithy.FaultClient
}

func moveSchedule(ctx context.Context, c Scheduler, con workflow.Consumer, from, to string) error {
	g, err := c.GetSchedule(ctx, &scheduler.GetScheduleInput{Name: aws.String(con.Name), GroupName: aws.String(con.Group)})
	if err != nil {
		if awserr.Code(err) == "ResourceNotFoundException" {
			return &ErrChanged{}
		}
		return fmt.Errorf("get schedule %s: %w", con.Name, err)
	}
	if g.Target == nil || g.Target.EcsParameters == nil {
		return &ErrChanged{}
	}
	if cur := aws.ToString(g.Target.EcsParameters.TaskDefinitionArn); cur != from {
		return &ErrChanged{Current: cur}
	}
	if _, err := c.UpdateSchedule(ctx, UpdateScheduleInput(g, to, time.Now())); err != nil {
		return fmt.Errorf("update schedule %s: %w", con.Name, err)
	}
	return nil
}

// UpdateScheduleInput is the UpdateSchedule request that keeps everything
// GetSchedule returned (UpdateSchedule replaces the whole schedule: a
// field left out is reset) and points the ECS target at td. A StartDate
// already passed is left out: EventBridge Scheduler refuses a recurring
// schedule whose StartDate is more than 5 minutes in the past ("The
// StartDate you specify cannot be earlier than 5 minutes ago"), and a start
// date that has passed no longer holds anything back.
func UpdateScheduleInput(g *scheduler.GetScheduleOutput, td string, now time.Time) *scheduler.UpdateScheduleInput {
	start := g.StartDate
	if start != nil && start.Before(now) {
		start = nil
	}
	target := *g.Target
	ecsp := *target.EcsParameters
	ecsp.TaskDefinitionArn = aws.String(td)
	target.EcsParameters = &ecsp
	return &scheduler.UpdateScheduleInput{
		Name:                       g.Name,
		GroupName:                  g.GroupName,
		ScheduleExpression:         g.ScheduleExpression,
		ScheduleExpressionTimezone: g.ScheduleExpressionTimezone,
		FlexibleTimeWindow:         g.FlexibleTimeWindow,
		Target:                     &target,
		ActionAfterCompletion:      g.ActionAfterCompletion,
		Description:                g.Description,
		StartDate:                  start,
		EndDate:                    g.EndDate,
		KmsKeyArn:                  g.KmsKeyArn,
		State:                      g.State,
	}
}

// ServicesOf reads services of one cluster by ARN, DescribeServices in
// batches of 10; a service that does not exist is absent from the map.
func ServicesOf(ctx context.Context, c ECS, cluster string, services []string) (map[string]*ecstypes.Service, error) {
	out := map[string]*ecstypes.Service{}
	for batch := range slices.Chunk(services, describeBatch) {
		d, err := c.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String(cluster), Services: batch})
		if err != nil {
			return nil, fmt.Errorf("describe services of %s: %w", cluster, err)
		}
		for i := range d.Services {
			out[aws.ToString(d.Services[i].ServiceArn)] = &d.Services[i]
		}
	}
	return out, nil
}
