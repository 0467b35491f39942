// Package taskdef maps ECS task definitions losslessly from what
// DescribeTaskDefinition returns to what RegisterTaskDefinition accepts, and
// parses task-definition ARNs. Pure: no AWS calls.
package taskdef

import (
	"errors"

	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// CONTRACT STUBS — replaced by the real implementation.

// MaxRegisterBytes is ECS's task definition size limit (64 KiB).
const MaxRegisterBytes = 64 * 1024

// MaxTags is ECS's tag limit per resource (aws:* tags do not count).
const MaxTags = 50

// RegisterInput builds the RegisterTaskDefinition input that recreates td
// with tags: every shared field copied, output-only fields dropped, aws:*
// tags dropped, extra tags appended (replacing same-key tags) while under
// MaxTags. It does not modify td.
func RegisterInput(td *types.TaskDefinition, tags []types.Tag, extra ...types.Tag) (*ecs.RegisterTaskDefinitionInput, error) {
	return nil, errors.New("not implemented")
}

// RequestSize is the size in bytes of in as the compact JSON request body
// the SDK sends.
func RequestSize(in *ecs.RegisterTaskDefinitionInput) int { return 0 }

// ARN is a parsed task-definition ARN.
type ARN struct {
	Partition string
	Region    string
	Account   string
	Family    string
	Revision  int32
}

// ParseARN parses arn:PARTITION:ecs:REGION:ACCOUNT:task-definition/FAMILY:REV.
func ParseARN(s string) (ARN, error) { return ARN{}, errors.New("not implemented") }

// String formats the ARN.
func (a ARN) String() string { return "" }

// ValidFamily checks ECS's family rule: 1–255 of [A-Za-z0-9_-].
func ValidFamily(s string) error { return errors.New("not implemented") }
