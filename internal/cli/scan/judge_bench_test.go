package scan

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ecslogfix/ecslogfix/internal/loggroup"
	"github.com/ecslogfix/ecslogfix/internal/policy"
	"github.com/ecslogfix/ecslogfix/internal/workflow"
)

// noGroups answers every DescribeLogGroups with no group, in memory.
type noGroups struct{}

func (noGroups) DescribeLogGroups(context.Context, *cloudwatchlogs.DescribeLogGroupsInput, ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.DescribeLogGroupsOutput, error) {
	return &cloudwatchlogs.DescribeLogGroupsOutput{}, nil
}

// BenchmarkJudge is scan's own work per family, AWS calls excluded (the
// log group reads answer from memory): the bench's seed, one family in
// five without a log configuration, each family's groups read once.
func BenchmarkJudge(b *testing.B) {
	var tds [2]*types.TaskDefinition
	for i, name := range []string{"td01-fargate-no-logconfig", "td11-compliant-fargate"} {
		data, err := os.ReadFile(filepath.Join("..", "..", "..", "testdata", "taskdefs", name+".json"))
		if err != nil {
			b.Fatal(err)
		}
		var d struct{ TaskDefinition *types.TaskDefinition }
		if err := json.Unmarshal(data, &d); err != nil {
			b.Fatal(err)
		}
		tds[i] = d.TaskDefinition
	}
	obs := loggroup.NewObserver(func(workflow.Target) (loggroup.Reader, error) { return noGroups{}, nil }, nil)
	pol := policy.Default()
	ctx := context.Background()
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		td := *tds[min(n%5, 1)]
		td.Family = aws.String(fmt.Sprintf("bench-b-%06d", n))
		td.TaskDefinitionArn = aws.String("arn:aws:ecs:us-east-1:123456789012:task-definition/" + *td.Family + ":1")
		n++
		if row, _ := Judge(ctx, obs, "us-east-1", &td, nil, pol); row.Verdict == VerdictError {
			b.Fatal(row.Error)
		}
	}
}
