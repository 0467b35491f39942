// Package inventory enumerates the task definitions an account has in one
// region: the latest ACTIVE revision of every ACTIVE family, streamed page
// by page, with a checkpoint to resume from. The CLI's scan and the
// scheduled sweep share it. Pacing is the client's (awsclient paces ECS
// reads per account and region).
package inventory

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// DefaultPageSize is the ListTaskDefinitionFamilies page size (ECS's maximum).
const DefaultPageSize = 100

// ECS is the part of the ECS API Walk uses; *ecs.Client implements it.
type ECS interface {
	ListTaskDefinitionFamilies(ctx context.Context, in *ecs.ListTaskDefinitionFamiliesInput, optFns ...func(*ecs.Options)) (*ecs.ListTaskDefinitionFamiliesOutput, error)
	DescribeTaskDefinition(ctx context.Context, in *ecs.DescribeTaskDefinitionInput, optFns ...func(*ecs.Options)) (*ecs.DescribeTaskDefinitionOutput, error)
}

// Checkpoint is where a walk resumes: the ListTaskDefinitionFamilies token
// of a page ("" = the first page) and how many families of that page were
// already handled. The zero Checkpoint starts from the beginning.
type Checkpoint struct {
	NextToken string `json:"nextToken,omitempty"`
	// Done is the number of families of the page at NextToken already handled.
	Done int `json:"done"`
	// Last is the last family handled, when known. On resume it re-anchors
	// Done if families were added to or removed from the page meanwhile.
	Last string `json:"last,omitempty"`
}

// Options tune a walk.
type Options struct {
	// FamilyPrefix restricts the walk to families starting with it.
	FamilyPrefix string
	// Checkpoint is where to start; the zero value starts at the beginning.
	Checkpoint Checkpoint
	// PageSize is the ListTaskDefinitionFamilies page size (1–100); 0 means
	// DefaultPageSize.
	PageSize int32
}

// ErrRepeatedToken is the error of a walk whose ListTaskDefinitionFamilies
// answered a NextToken it had answered before.
var ErrRepeatedToken = errors.New("list task definition families: repeated NextToken")

// Item is one family's latest ACTIVE revision, or the error describing it.
type Item struct {
	Family         string
	TaskDefinition *types.TaskDefinition
	Tags           []types.Tag
	// Checkpoint is the resume point after this item.
	Checkpoint Checkpoint
	// Err is the DescribeTaskDefinition error for this family (the walk
	// continues with the next family); TaskDefinition is nil then.
	Err error
}

// Walk streams the latest ACTIVE revision of every ACTIVE family
// (ListTaskDefinitionFamilies with status ACTIVE, then DescribeTaskDefinition
// of the family with its tags, skipped unless its status is ACTIVE) to fn, one page of family names at a time,
// without accumulating: memory stays flat in the number of families.
//
// Walk stops when fn returns an error or ctx ends; it then returns that
// error and the checkpoint to resume from, which is the one before the item
// fn failed on (that item is delivered again on resume). When every family
// was delivered, Walk returns the zero Checkpoint and a nil error. A failed
// list call stops the walk with the checkpoint of the page it was listing.
func Walk(ctx context.Context, c ECS, opt Options, fn func(Item) error) (Checkpoint, error) {
	size := opt.PageSize
	if size <= 0 || size > DefaultPageSize {
		size = DefaultPageSize
	}
	cp := opt.Checkpoint
	if cp.Done < 0 {
		cp.Done = 0
	}
	seen := map[string]bool{cp.NextToken: cp.NextToken != ""}
	for {
		if err := ctx.Err(); err != nil {
			return cp, err
		}
		in := &ecs.ListTaskDefinitionFamiliesInput{
			Status:     types.TaskDefinitionFamilyStatusActive,
			MaxResults: aws.Int32(size),
		}
		if opt.FamilyPrefix != "" {
			in.FamilyPrefix = aws.String(opt.FamilyPrefix)
		}
		if cp.NextToken != "" {
			in.NextToken = aws.String(cp.NextToken)
		}
		out, err := c.ListTaskDefinitionFamilies(ctx, in)
		if err != nil {
			return cp, fmt.Errorf("list task definition families: %w", err)
		}
		start := resumeIndex(out.Families, cp)
		for i := start; i < len(out.Families); i++ {
			family := out.Families[i]
			if err := ctx.Err(); err != nil {
				return cp, err
			}
			item := Item{Family: family, Checkpoint: Checkpoint{NextToken: cp.NextToken, Done: i + 1, Last: family}}
			d, err := c.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{
				TaskDefinition: aws.String(family),
				Include:        []types.TaskDefinitionField{types.TaskDefinitionFieldTags},
			})
			switch {
			case err != nil && ctx.Err() != nil:
				return cp, ctx.Err()
			case err != nil:
				item.Err = fmt.Errorf("describe task definition %s: %w", family, err)
			case d.TaskDefinition == nil:
				item.Err = fmt.Errorf("describe task definition %s: empty response", family)
			case d.TaskDefinition.Status != types.TaskDefinitionStatusActive:
				// No ACTIVE revision to judge (the family was listed ACTIVE
				// before its last revision was deregistered; moto answers
				// a family read with its newest revision of any status):
				// nothing to scan or fix, and no group to create for it.
				cp = item.Checkpoint
				continue
			default:
				item.TaskDefinition, item.Tags = d.TaskDefinition, d.Tags
			}
			if err := fn(item); err != nil {
				return cp, err
			}
			cp = item.Checkpoint
		}
		next := aws.ToString(out.NextToken)
		if next == "" {
			return Checkpoint{}, nil
		}
		if seen[next] {
			// A token ECS already gave would list the same pages again,
			// forever: stop with the checkpoint of the page just listed.
			return cp, fmt.Errorf("%w: %q", ErrRepeatedToken, next)
		}
		seen[next] = true
		cp = Checkpoint{NextToken: next}
	}
}

// resumeIndex is the index of the first family of page not yet handled
// according to cp.
func resumeIndex(page []string, cp Checkpoint) int {
	done := min(cp.Done, len(page))
	if cp.Last == "" || done == 0 || page[done-1] == cp.Last {
		return done
	}
	// The page changed since the checkpoint: re-anchor on the last family
	// handled, or (ECS lists families in order) on the first one after it.
	for i, f := range page {
		if f == cp.Last {
			return i + 1
		}
		if f > cp.Last {
			return i
		}
	}
	return len(page)
}
