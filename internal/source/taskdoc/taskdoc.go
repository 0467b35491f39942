// Package taskdoc holds what the readers of package source find (a
// Resource per task definition, where each container is, the values a file
// cannot know, and the one-line Error), and reads the ECS task definition
// documents themselves with the AWS SDK's schemas and deserializer. The IaC
// readers (CloudFormation, CDK assemblies, Terraform plans) build on it.
package taskdoc

import (
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ecslogfix/ecslogfix/internal/document"
)

// Format names what a resource was read from. The strings are part of the
// documented JSON output of check.
type Format string

// Formats.
const (
	FormatDescribe       Format = "describe"       // aws ecs describe-task-definition output
	FormatTaskDef        Format = "taskdef"        // a bare task definition object
	FormatRegister       Format = "register"       // a register-task-definition input
	FormatCloudFormation Format = "cloudformation" // an AWS::ECS::TaskDefinition in a template
	FormatCDK            Format = "cdk"            // the same, in a CDK cloud assembly
	FormatTerraform      Format = "terraform"      // an aws_ecs_task_definition in a plan
)

// IsTaskDefinitionFile reports whether f is one of the three task
// definition documents (as opposed to infrastructure as code).
func (f Format) IsTaskDefinitionFile() bool {
	return f == FormatDescribe || f == FormatTaskDef || f == FormatRegister
}

// MaxBytes caps every file read (document.MaxBytes).
const MaxBytes = document.MaxBytes

// Resource is one task definition found in an input.
type Resource struct {
	File   string // the file it is in (for a CDK assembly, the stack template)
	Format Format
	Line   int // of the task definition object or resource
	// ID is the CloudFormation logical ID or the Terraform address; empty
	// for task definition files.
	ID string
	// Stack is the CDK stack artifact; ConstructPath its aws:cdk:path.
	Stack, ConstructPath string
	// TaskDefinition holds what the policy reads. For infrastructure as
	// code only the fields the policy judges are filled; an unresolved
	// value is absent from it (see Unresolved).
	TaskDefinition *types.TaskDefinition
	Tags           []types.Tag
	// Containers is parallel to TaskDefinition.ContainerDefinitions.
	Containers []Container
	// Unresolved are the values of the resource itself (its containers as
	// a whole, its tags) that the file cannot know.
	Unresolved []Unresolved
}

// Container is where one container definition is, and what of it is not
// known.
type Container struct {
	Line       int
	Unresolved []Unresolved
}

// Slot is the part of a task definition an unresolved value fills, so that
// the caller can judge both ways.
type Slot string

// Slots.
const (
	SlotContainers       Slot = "containers"       // the whole list of container definitions
	SlotContainer        Slot = "container"        // one whole container definition
	SlotLogConfiguration Slot = "logConfiguration" // a container's whole logConfiguration
	SlotLogDriver        Slot = "logDriver"
	SlotOptions          Slot = "options" // logConfiguration.options as a whole
	SlotGroup            Slot = "awslogs-group"
	SlotRegion           Slot = "awslogs-region"
	SlotStreamPrefix     Slot = "awslogs-stream-prefix"
	SlotFirelens         Slot = "firelensConfiguration" // whether the container is a FireLens router
	SlotTags             Slot = "tags"                  // the tags, or the value of one (Key says which)
)

// Unresolved is a value the input does not know.
type Unresolved struct {
	Slot Slot
	// Field is where it is, in the input's own spelling, e.g.
	// "ContainerDefinitions[0].LogConfiguration.Options.awslogs-group".
	Field string
	Line  int
	// Expr shows the value: "!Ref LogGroupName", "known after apply".
	Expr string
	// Key is the tag key for SlotTags when one tag's value is unresolved.
	Key string `json:",omitempty"`
}

// Error is an input that cannot be read: one line, naming the position and
// the field where there is one.
type Error struct {
	File string
	Pos  document.Pos
	Path string // JSON path, e.g. containerDefinitions[0].logConfiguration
	Msg  string

	unrecognised bool
}

// Unrecognised returns an *Error at n saying that the document is none of
// the formats read (msg names what it looks like instead).
func Unrecognised(n *document.Node, msg string) *Error {
	e := ErrAt(n, "", "%s", msg)
	e.unrecognised = true
	return e
}

// Unrecognised reports whether e is about a document that is none of the
// formats read.
func (e *Error) Unrecognised() bool { return e.unrecognised }

func (e *Error) Error() string {
	s := e.Msg
	if e.Path != "" {
		s = e.Path + ": " + s
	}
	if e.Pos.Line > 0 {
		s = e.Pos.String() + ": " + s
	}
	return s
}

// ErrAt returns an *Error at n's position and the JSON path path.
func ErrAt(n *document.Node, path, format string, args ...any) *Error {
	e := &Error{Path: path, Msg: fmt.Sprintf(format, args...)}
	if n != nil {
		e.Pos = n.Pos
	}
	return e
}

// WithFile sets the file of err when it has none; other errors become an
// *Error.
func WithFile(err error, file string) error {
	if err == nil {
		return nil
	}
	var e *Error
	if errors.As(err, &e) {
		if e.File == "" {
			c := *e
			c.File = file
			return &c
		}
		return e
	}
	var de *document.Error
	if errors.As(err, &de) {
		return &Error{File: file, Pos: de.Pos, Msg: de.Msg}
	}
	return &Error{File: file, Msg: err.Error()}
}

// Scalar returns the text of a literal scalar: CloudFormation and
// Terraform plans may hold numbers and booleans where ECS takes strings.
func Scalar(n *document.Node, path string) (string, error) {
	switch n.Kind {
	case document.String, document.Number, document.Bool:
		return n.Value, nil
	}
	return "", ErrAt(n, path, "expected a string, got %s", n.Kind)
}
