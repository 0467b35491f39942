package taskdef

import (
	"strconv"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// Tag keys ecslogfix writes on what it creates.
const (
	// TagManaged marks revisions and log groups ecslogfix created: "true".
	TagManaged = "ecslogfix:managed"
	// TagSourceRevision, on a revision ecslogfix registered, holds the
	// revision number (of the same family) it was built from. Only the
	// number: "family:rev" would not fit a tag value for a 255-character
	// family.
	TagSourceRevision = "ecslogfix:source-revision"
)

// TagRollout, set by the owner on a task definition, overrides the
// policy's rollout mode for it: none, services or all.
const TagRollout = "ecslogfix:rollout"

// ProvenanceTags are the tags ecslogfix adds to a revision it registers
// from revision source of the same family.
func ProvenanceTags(source int32) []types.Tag {
	return []types.Tag{
		{Key: aws.String(TagSourceRevision), Value: aws.String(strconv.FormatInt(int64(source), 10))},
		{Key: aws.String(TagManaged), Value: aws.String("true")},
	}
}

// SourceRevision returns the revision a task definition with these tags was
// built from, and whether the tags say ecslogfix registered it.
func SourceRevision(tags []types.Tag) (int32, bool) {
	for _, t := range tags {
		if aws.ToString(t.Key) != TagSourceRevision {
			continue
		}
		n, err := strconv.ParseInt(aws.ToString(t.Value), 10, 32)
		if err != nil || n <= 0 {
			return 0, false
		}
		return int32(n), true
	}
	return 0, false
}
