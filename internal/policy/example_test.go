package policy_test

import (
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ecslogfix/ecslogfix/internal/policy"
)

func ExampleParse() {
	p, err := policy.Parse([]byte("retentionDays: 90\nlogGroupTemplate: /ecs/{account}/{family}\n"))
	fmt.Println(p.RetentionDays, p.StreamPrefix, p.LogGroupName("orders-api", "app", "111122223333", "us-east-1"), err)

	_, err = policy.Parse([]byte(`{"retentionDays": 45}`))
	fmt.Println(err)
	// Output:
	// 90 ecs /ecs/111122223333/orders-api <nil>
	// policy: retentionDays: 45 is not one of CloudWatch Logs' values [1 3 5 7 14 30 60 90 120 150 180 365 400 545 731 1096 1827 2192 2557 2922 3288 3653]
}

func ExamplePolicy_Evaluate() {
	td := &types.TaskDefinition{ContainerDefinitions: []types.ContainerDefinition{
		{Name: aws.String("app"), LogConfiguration: &types.LogConfiguration{
			LogDriver: types.LogDriverAwslogs,
			Options:   map[string]string{"awslogs-group": "/ecs/app", "awslogs-region": " "},
		}},
	}}
	ev := policy.Default().Evaluate(td, nil)
	fmt.Println(ev.Compliant, ev.Containers[0].Reasons)
	// Output:
	// false [MISSING_AWSLOGS_REGION MISSING_AWSLOGS_STREAM_PREFIX]
}
