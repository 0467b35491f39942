package backout_test

import (
	"fmt"

	"github.com/ecslogfix/ecslogfix/internal/backout"
)

func ExampleSteps() {
	for _, s := range backout.Steps(backout.Input{
		Region:           "us-east-1",
		NewARN:           "arn:aws:ecs:us-east-1:111122223333:task-definition/orders-api:15",
		SourceARN:        "arn:aws:ecs:us-east-1:111122223333:task-definition/orders-api:14",
		CreatedLogGroups: []backout.Group{{Name: "/ecs/orders-api"}},
	}) {
		fmt.Println(s.Command)
	}
	// Output:
	// aws ecs update-service --cluster <CLUSTER> --service <SERVICE> --task-definition orders-api:14 --region us-east-1
	// aws ecs deregister-task-definition --task-definition arn:aws:ecs:us-east-1:111122223333:task-definition/orders-api:15 --region us-east-1
	// aws ecs tag-resource --resource-arn arn:aws:ecs:us-east-1:111122223333:task-definition/orders-api:14 --tags key=ecslogfix:exempt-until,value=<YYYY-MM-DD> --region us-east-1
	// aws logs delete-log-group --log-group-name /ecs/orders-api --region us-east-1
}
