package taskdef

import (
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// InputError is a task definition ecslogfix cannot judge: not a verdict
// but a problem with the input, naming its JSON path.
type InputError struct {
	Path    string // e.g. containerDefinitions[2].name
	Problem string
}

func (e *InputError) Error() string { return e.Path + ": " + e.Problem }

// CheckInput refuses a task definition whose containers cannot be judged
// one by one: none at all (ECS requires at least one), or two with the
// same name (findings, plans and notifications name containers, and ECS
// refuses duplicates).
func CheckInput(td *types.TaskDefinition) error {
	if td == nil || len(td.ContainerDefinitions) == 0 {
		return &InputError{Path: "containerDefinitions", Problem: "null or empty: a task definition has at least one container"}
	}
	first := map[string]int{}
	for i, c := range td.ContainerDefinitions {
		name := aws.ToString(c.Name)
		if name == "" {
			continue
		}
		if j, dup := first[name]; dup {
			return &InputError{Path: fmt.Sprintf("containerDefinitions[%d].name", i), Problem: fmt.Sprintf("%q is also the name of container %d; container names must be unique", name, j)}
		}
		first[name] = i
	}
	return nil
}

// IsRouter reports whether c is a FireLens log router (it has a
// firelensConfiguration).
func IsRouter(c *types.ContainerDefinition) bool { return c != nil && c.FirelensConfiguration != nil }

// NeedsExecutionRole reports whether td may run on Fargate or ECS Anywhere
// (EXTERNAL), where awslogs needs the task's execution role: "Fargate
// requires task definition to have execution role ARN to support log
// driver awslogs", and ECS Anywhere's guide asks for one to send logs
// (docs/ecs-facts: awslogs driver, permissions).
func NeedsExecutionRole(td *types.TaskDefinition) bool {
	if td == nil {
		return false
	}
	for _, cs := range [][]types.Compatibility{td.RequiresCompatibilities, td.Compatibilities} {
		for _, c := range cs {
			if c == types.CompatibilityFargate || c == types.CompatibilityExternal {
				return true
			}
		}
	}
	return false
}
