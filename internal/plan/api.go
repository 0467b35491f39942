package plan

import (
	"errors"

	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ecslogfix/ecslogfix/internal/policy"
)

// CONTRACT STUBS — replaced by the real implementation.

// Build computes the plan for td (as DescribeTaskDefinition returned it,
// with its tags) under p. It returns an error only for input it cannot
// reason about (nil td, no family); everything else is a Blocker.
func Build(td *types.TaskDefinition, tags []types.Tag, p policy.Policy, c Context) (Plan, error) {
	return Plan{}, errors.New("not implemented")
}

// Blocked reports whether the plan has blockers.
func (p Plan) Blocked() bool { return len(p.Blockers) > 0 }

// NeedsChange reports whether applying the plan registers a new revision.
func (p Plan) NeedsChange() bool { return p.Changed != nil && !p.Blocked() }

// Step is one backout step: a human sentence and the exact command.
type Step struct {
	Description string `json:"description"`
	Command     string `json:"command"`
}

// BackoutInput says what was done, for Backout.
type BackoutInput struct {
	Region            string
	NewARN            string   // the revision ecslogfix registered
	SourceARN         string   // the revision it was built from
	CreatedLogGroups  []string // log groups ecslogfix created (never pre-existing ones)
	DeletionProtected []string // of those, the ones with deletion protection
}

// Backout returns the exact steps that undo a remediation.
func Backout(in BackoutInput) []Step { return nil }

// Diff renders the plan as a readable, redacted unified-style diff of each
// changed container's logConfiguration.
func (p Plan) Diff() string { return "" }
