package plan_test

import (
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ecslogfix/ecslogfix/internal/plan"
	"github.com/ecslogfix/ecslogfix/internal/policy"
)

func ExampleBuild() {
	td := &types.TaskDefinition{
		TaskDefinitionArn: aws.String("arn:aws:ecs:us-east-1:111122223333:task-definition/orders-api:14"),
		Family:            aws.String("orders-api"),
		Revision:          14,
		ContainerDefinitions: []types.ContainerDefinition{
			{Name: aws.String("orders-api"), Image: aws.String("orders-api:1.4.2")},
		},
	}
	p, err := plan.Build(td, nil, policy.Default(), plan.Context{})
	if err != nil {
		panic(err)
	}
	fmt.Println(p.NeedsChange(), p.LogGroups[0].Name, p.LogGroups[0].RetentionDays)
	fmt.Print(p.Diff())
	// Output:
	// true /ecs/orders-api 365
	// --- a/orders-api:14/containers/orders-api/logConfiguration
	// +++ b/orders-api:14/containers/orders-api/logConfiguration
	// @@ ADD MISSING_LOG_CONFIGURATION @@
	// -(none)
	// +logDriver: awslogs
	// +options.awslogs-group: /ecs/orders-api
	// +options.awslogs-region: us-east-1
	// +options.awslogs-stream-prefix: ecs
}
