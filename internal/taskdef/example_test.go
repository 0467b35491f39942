package taskdef_test

import (
	"fmt"
	"os"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ecslogfix/ecslogfix/internal/taskdef"
)

func ExampleRegisterInput() {
	data, err := os.ReadFile("../../testdata/taskdefs/td23-cfn-tags-aws-prefix.json")
	if err != nil {
		panic(err)
	}
	td, tags, err := taskdef.DecodeDescribeOutput(data)
	if err != nil {
		panic(err)
	}
	in, err := taskdef.RegisterInput(td, tags, types.Tag{Key: aws.String("ecslogfix:source"), Value: aws.String("ledger-api:45")})
	if err != nil {
		panic(err)
	}
	fmt.Println(aws.ToString(in.Family), len(in.ContainerDefinitions), "containers")
	for _, t := range in.Tags {
		fmt.Println(aws.ToString(t.Key), "=", aws.ToString(t.Value))
	}
	fmt.Println(taskdef.RequestSize(in) < taskdef.MaxRegisterBytes)
	// Output:
	// ledger-api 2 containers
	// CostCenter = 7700
	// Data Classification = Confidential — PII
	// Owner = ledger-team@example.com
	// ecslogfix:source = ledger-api:45
	// true
}

func ExampleParseRef() {
	for _, s := range []string{"orders-api", "orders-api:14", "arn:aws:ecs:us-east-1:111122223333:task-definition/orders-api:14"} {
		a, err := taskdef.ParseRef(s)
		if err != nil {
			panic(err)
		}
		fmt.Printf("%s rev=%d account=%q\n", a.Family, a.Revision, a.Account)
	}
	// Output:
	// orders-api rev=0 account=""
	// orders-api rev=14 account=""
	// orders-api rev=14 account="111122223333"
}
