package harness

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/scheduler"
	schedtypes "github.com/aws/aws-sdk-go-v2/service/scheduler/types"

	"github.com/ecslogfix/ecslogfix/test/localaws"
)

// Consumers creates, in moto, what runs a task definition — ECS services,
// EventBridge rule targets, Scheduler schedules — and reads which revision
// each runs now, for the rollout's tests.
type Consumers struct {
	ECS       *ecs.Client
	Events    *eventbridge.Client
	Scheduler *scheduler.Client
	// Cluster is the cluster's ARN (NewConsumers creates it).
	Cluster string
}

// NewConsumers makes the clients on cfg and creates the cluster "prod".
func NewConsumers(ctx context.Context, cfg aws.Config) (*Consumers, error) {
	c := &Consumers{ECS: ecs.NewFromConfig(cfg), Events: eventbridge.NewFromConfig(cfg), Scheduler: scheduler.NewFromConfig(cfg)}
	out, err := c.ECS.CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String("prod")})
	if err != nil {
		return nil, fmt.Errorf("create cluster: %w", err)
	}
	c.Cluster = aws.ToString(out.Cluster.ClusterArn)
	return c, nil
}

// Service creates a service of one task in the cluster with a deployment
// controller (ECS, CODE_DEPLOY, EXTERNAL).
func (c *Consumers) Service(ctx context.Context, name, td string, controller ecstypes.DeploymentControllerType) error {
	_, err := c.ECS.CreateService(ctx, &ecs.CreateServiceInput{Cluster: aws.String(c.Cluster), ServiceName: aws.String(name), TaskDefinition: aws.String(td),
		DesiredCount: aws.Int32(1), DeploymentController: &ecstypes.DeploymentController{Type: controller}})
	if err != nil {
		return fmt.Errorf("create service %s: %w", name, err)
	}
	return nil
}

// RuleTarget puts a rule with one ECS target "run" running td in the
// cluster on bus (the default bus gets a schedule rule, a custom bus, which
// it creates, an event pattern: schedules are for the default bus only).
// moto's PutEvents cannot route to an ECS target ("Expr not defined"):
// tests that put events on the default bus use a custom bus.
func (c *Consumers) RuleTarget(ctx context.Context, bus, rule, td string) error {
	put := &eventbridge.PutRuleInput{Name: aws.String(rule), EventBusName: aws.String(bus), ScheduleExpression: aws.String("rate(1 day)")}
	if bus != "default" {
		if _, err := c.Events.CreateEventBus(ctx, &eventbridge.CreateEventBusInput{Name: aws.String(bus)}); err != nil {
			return fmt.Errorf("create bus %s: %w", bus, err)
		}
		put.ScheduleExpression, put.EventPattern = nil, aws.String(`{"source":["orders.app"]}`)
	}
	if _, err := c.Events.PutRule(ctx, put); err != nil {
		return fmt.Errorf("put rule %s: %w", rule, err)
	}
	_, err := c.Events.PutTargets(ctx, &eventbridge.PutTargetsInput{Rule: aws.String(rule), EventBusName: aws.String(bus), Targets: []ebtypes.Target{{
		Id: aws.String("run"), Arn: aws.String(c.Cluster), RoleArn: aws.String("arn:aws:iam::" + localaws.Account + ":role/events"),
		Input:         aws.String(`{"containerOverrides":[]}`),
		EcsParameters: &ebtypes.EcsParameters{TaskDefinitionArn: aws.String(td), TaskCount: aws.Int32(1)},
	}}})
	if err != nil {
		return fmt.Errorf("put target of %s: %w", rule, err)
	}
	return nil
}

// Schedule creates a daily schedule in the default group whose ECS target
// runs td in the cluster.
func (c *Consumers) Schedule(ctx context.Context, name, td string) error {
	_, err := c.Scheduler.CreateSchedule(ctx, &scheduler.CreateScheduleInput{Name: aws.String(name), ScheduleExpression: aws.String("rate(1 day)"),
		FlexibleTimeWindow: &schedtypes.FlexibleTimeWindow{Mode: schedtypes.FlexibleTimeWindowModeOff},
		Target: &schedtypes.Target{Arn: aws.String(c.Cluster), RoleArn: aws.String("arn:aws:iam::" + localaws.Account + ":role/scheduler"),
			EcsParameters: &schedtypes.EcsParameters{TaskDefinitionArn: aws.String(td)}}})
	if err != nil {
		return fmt.Errorf("create schedule %s: %w", name, err)
	}
	return nil
}

// Consumer kinds for Runs.
const (
	RunsService    = "service"
	RunsRuleTarget = "target"
	RunsSchedule   = "schedule"
)

// Runs returns the task definition a consumer names now: a service of the
// cluster, the target "run" of a rule on bus, or a schedule.
func (c *Consumers) Runs(ctx context.Context, kind, bus, name string) (string, error) {
	switch kind {
	case RunsService:
		d, err := c.ECS.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String(c.Cluster), Services: []string{name}})
		if err != nil || len(d.Services) != 1 {
			return "", fmt.Errorf("describe service %s: %v", name, err)
		}
		return aws.ToString(d.Services[0].TaskDefinition), nil
	case RunsRuleTarget:
		d, err := c.Events.ListTargetsByRule(ctx, &eventbridge.ListTargetsByRuleInput{Rule: aws.String(name), EventBusName: aws.String(bus)})
		if err != nil || len(d.Targets) != 1 || d.Targets[0].EcsParameters == nil {
			return "", fmt.Errorf("targets of %s: %v", name, err)
		}
		return aws.ToString(d.Targets[0].EcsParameters.TaskDefinitionArn), nil
	}
	g, err := c.Scheduler.GetSchedule(ctx, &scheduler.GetScheduleInput{Name: aws.String(name)})
	if err != nil || g.Target == nil || g.Target.EcsParameters == nil {
		return "", fmt.Errorf("schedule %s: %v", name, err)
	}
	return aws.ToString(g.Target.EcsParameters.TaskDefinitionArn), nil
}
