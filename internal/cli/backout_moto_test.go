package cli

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	backoutsteps "github.com/ecslogfix/ecslogfix/internal/backout"
	"github.com/ecslogfix/ecslogfix/internal/cli/backout"
	"github.com/ecslogfix/ecslogfix/internal/cli/fix"
	"github.com/ecslogfix/ecslogfix/internal/message"
	"github.com/ecslogfix/ecslogfix/internal/workflow"
)

// TestMotoBackoutRunsTheNotifiedSteps: on moto, the steps `fix --apply`
// prints are the notification's for its result, and `backout --apply`
// runs exactly those, with the service filled in, and undoes the fix.
func TestMotoBackoutRunsTheNotifiedSteps(t *testing.T) {
	c, logs := needMoto(t)
	ctx := context.Background()
	if _, err := c.RegisterTaskDefinition(ctx, seedInput(kindAdd, "orders")); err != nil {
		t.Fatal(err)
	}
	r := runAWS(t, "fix", "--task-definition", "orders", "--apply", "-o", "json")
	var items []fix.Item
	if err := json.Unmarshal([]byte(r.stdout), &items); err != nil || r.code != ExitOK || len(items) != 1 {
		t.Fatalf("fix: exit %d, %v\n%s%s", r.code, err, r.stdout, r.stderr)
	}
	it := items[0]
	n, err := message.Render(workflow.NotifyRequest{Result: &workflow.Result{
		Version: workflow.Version, Outcome: it.Outcome, Target: workflow.Target{Account: "123456789012", Region: it.Region},
		Family: it.Family, SourceARN: it.TaskDefinitionARN, NewARN: it.NewARN, Plan: it.Plan, LogGroups: it.LogGroups,
	}})
	if err != nil {
		t.Fatal(err)
	}
	var notified, printed []string
	for _, s := range n.Document.Backout {
		notified = append(notified, strings.NewReplacer(backoutsteps.PlaceholderCluster, "prod", backoutsteps.PlaceholderService, "web").Replace(s.Command))
	}
	for _, s := range it.Backout {
		printed = append(printed, s.Bind("prod", "web").Command)
	}
	// Move the service, deregister, exempt the source until a day, lift
	// the deletion protection ecslogfix set (the stand-in enforces it as
	// AWS does), delete the group.
	if len(notified) != 5 || !strings.Contains(notified[3], "--no-deletion-protection-enabled") || !slices.Equal(printed, notified) {
		t.Fatalf("fix printed\n%s\nthe notification says\n%s", strings.Join(printed, "\n"), strings.Join(notified, "\n"))
	}

	if _, err := c.CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String("prod")}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateService(ctx, &ecs.CreateServiceInput{Cluster: aws.String("prod"), ServiceName: aws.String("web"),
		TaskDefinition: aws.String(it.NewARN), DesiredCount: aws.Int32(0)}); err != nil {
		t.Fatal(err)
	}
	r = runAWS(t, "backout", "--task-definition", it.NewARN, "--cluster", "prod", "--delete-log-group", "--apply", "-o", "json")
	var steps []backout.Step
	if err := json.Unmarshal([]byte(r.stdout), &steps); err != nil || r.code != ExitOK {
		t.Fatalf("backout: exit %d, %v\n%s%s", r.code, err, r.stdout, r.stderr)
	}
	var ran []string
	for _, s := range steps {
		if s.Status == backout.StepDone {
			ran = append(ran, s.Command)
		}
	}
	for i := range notified {
		notified[i] = strings.ReplaceAll(notified[i], backoutsteps.PlaceholderDate, "2026-12-31") // motoNow + backoutDays
	}
	if !slices.Equal(ran, notified) {
		t.Fatalf("backout ran\n%s\nthe notification says\n%s", strings.Join(ran, "\n"), strings.Join(notified, "\n"))
	}
	d, err := c.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String(it.NewARN)})
	if err != nil || d.TaskDefinition.Status != types.TaskDefinitionStatusInactive {
		t.Errorf("%s after backout: %v", it.NewARN, err)
	}
	g, err := logs.DescribeLogGroups(ctx, &cloudwatchlogs.DescribeLogGroupsInput{LogGroupNamePrefix: aws.String("/ecs/orders")})
	if err != nil || len(g.LogGroups) != 0 {
		t.Errorf("log group left after backout: %v %v", err, g)
	}
}
