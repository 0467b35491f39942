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

func ExampleBackout() {
	for _, s := range plan.Backout(plan.BackoutInput{
		Region:           "us-east-1",
		NewARN:           "arn:aws:ecs:us-east-1:111122223333:task-definition/orders-api:15",
		SourceARN:        "arn:aws:ecs:us-east-1:111122223333:task-definition/orders-api:14",
		CreatedLogGroups: []plan.BackoutGroup{{Name: "/ecs/orders-api"}},
	}) {
		fmt.Println(s.Command)
	}
	// Output:
	// aws ecs update-service --cluster <CLUSTER> --service <SERVICE> --task-definition orders-api:14 --region us-east-1
	// aws ecs deregister-task-definition --task-definition arn:aws:ecs:us-east-1:111122223333:task-definition/orders-api:15 --region us-east-1
	// aws ecs tag-resource --resource-arn arn:aws:ecs:us-east-1:111122223333:task-definition/orders-api:14 --tags key=ecslogfix:exempt-until,value=<YYYY-MM-DD> --region us-east-1
	// aws logs delete-log-group --log-group-name /ecs/orders-api --region us-east-1
}
