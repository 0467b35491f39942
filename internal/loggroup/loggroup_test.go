package loggroup

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	logtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"

	"github.com/ecslogfix/ecslogfix/internal/awsfake"
)

// DescribeLogGroups matches by prefix: only the exact name counts.
func TestDescribeIsExactMatch(t *testing.T) {
	l := awsfake.NewLogs()
	l.Groups["/ecs/a-b"] = &logtypes.LogGroup{LogGroupName: aws.String("/ecs/a-b"), RetentionInDays: aws.Int32(3)}
	got, arn, err := Describe(context.Background(), l, "/ecs/a", awsfake.Region)
	if err != nil {
		t.Fatal(err)
	}
	if got.RetentionDays != 0 || arn != "" {
		t.Fatalf("matched a prefix: %+v %q", got, arn)
	}
}
