package policy

import (
	"errors"

	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// CONTRACT STUBS — replaced by the real implementation.

// Default returns the SOP's policy.
func Default() Policy { return Policy{} }

// Parse reads a policy from JSON or YAML, applies defaults to unset fields
// and validates it. Unknown fields are an error.
func Parse(data []byte) (Policy, error) { return Policy{}, errors.New("not implemented") }

// Validate reports the first invalid field as a *FieldError.
func (p Policy) Validate() error { return errors.New("not implemented") }

// FieldError names the invalid policy field.
type FieldError struct {
	Field   string
	Problem string
}

func (e *FieldError) Error() string { return "policy: " + e.Field + ": " + e.Problem }

// LogGroupName expands LogGroupTemplate.
func (p Policy) LogGroupName(family, container, account, region string) string { return "" }

// IsExempt reports whether tags carry the exemption tag.
func (p Policy) IsExempt(tags []types.Tag) bool { return false }

// Evaluate judges every container of td.
func (p Policy) Evaluate(td *types.TaskDefinition, tags []types.Tag) Evaluation { return Evaluation{} }

// ValidLogGroupName reports whether name is a valid CloudWatch Logs group name.
func ValidLogGroupName(name string) bool { return false }
