package inventory_test

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ecslogfix/ecslogfix/internal/inventory"
)

// threeFamilies is an ECS stand-in with families a, b, c in pages of two.
type threeFamilies struct{}

func (threeFamilies) ListTaskDefinitionFamilies(_ context.Context, in *ecs.ListTaskDefinitionFamiliesInput, _ ...func(*ecs.Options)) (*ecs.ListTaskDefinitionFamiliesOutput, error) {
	if aws.ToString(in.NextToken) == "" {
		return &ecs.ListTaskDefinitionFamiliesOutput{Families: []string{"a", "b"}, NextToken: aws.String("p2")}, nil
	}
	return &ecs.ListTaskDefinitionFamiliesOutput{Families: []string{"c"}}, nil
}

func (threeFamilies) DescribeTaskDefinition(_ context.Context, in *ecs.DescribeTaskDefinitionInput, _ ...func(*ecs.Options)) (*ecs.DescribeTaskDefinitionOutput, error) {
	return &ecs.DescribeTaskDefinitionOutput{TaskDefinition: &types.TaskDefinition{Family: in.TaskDefinition, Revision: 7, Status: types.TaskDefinitionStatusActive}}, nil
}

// A walk that runs out of time keeps its checkpoint; the next one resumes
// there (the sweep stores the checkpoint in its continuation event).
func ExampleWalk() {
	ctx := context.Background()
	errOutOfTime := errors.New("out of time")
	seen := 0
	cp, err := inventory.Walk(ctx, threeFamilies{}, inventory.Options{}, func(it inventory.Item) error {
		if seen == 2 {
			return errOutOfTime // c is not handled: it comes first next time
		}
		seen++
		fmt.Println("first run:", it.Family+":"+strconv.Itoa(int(it.TaskDefinition.Revision)))
		return nil
	})
	fmt.Printf("stopped: %v, resume at %+v\n", err, cp)

	cp, err = inventory.Walk(ctx, threeFamilies{}, inventory.Options{Checkpoint: cp}, func(it inventory.Item) error {
		fmt.Println("second run:", it.Family)
		return nil
	})
	fmt.Printf("done: %v, %+v\n", err, cp)
	// Output:
	// first run: a:7
	// first run: b:7
	// stopped: out of time, resume at {NextToken:p2 Done:0 Last:}
	// second run: c
	// done: <nil>, {NextToken: Done:0 Last:}
}
