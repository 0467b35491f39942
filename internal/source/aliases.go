package source

import (
	"github.com/ecslogfix/ecslogfix/internal/source/cloudformation"
	"github.com/ecslogfix/ecslogfix/internal/source/taskdoc"
)

// The types of what is read live in package taskdoc, which
// the IaC readers share; they are named here too, so that callers of Read
// need one import (as package os names io/fs's types).
type (
	Format     = taskdoc.Format
	Resource   = taskdoc.Resource
	Container  = taskdoc.Container
	Slot       = taskdoc.Slot
	Unresolved = taskdoc.Unresolved
	Error      = taskdoc.Error
)

// TypeTaskDefinition is the CloudFormation resource type judged.
const TypeTaskDefinition = cloudformation.TypeTaskDefinition

// Properties reads the resource properties of one AWS::ECS::TaskDefinition
// as CloudFormation passes them to a Hook (cloudformation.Properties).
func Properties(data []byte) (Resource, error) { return cloudformation.Properties(data) }
