package taskdef

import (
	"fmt"
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
	// TagExecution, on a revision ecslogfix registered, holds the token of
	// the remediation that registered it (the execution series' name, or
	// one CLI run's), so that a retry after a lost response recognises its
	// own revision (docs/reliability.md, "lost responses").
	TagExecution = "ecslogfix:execution"
)

// MaxExecutionToken is the longest token: a Step Functions execution name.
const MaxExecutionToken = 80

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

// ExecutionTag is the tag that names the remediation registering a
// revision; none for an empty token.
func ExecutionTag(token string) []types.Tag {
	if token == "" {
		return nil
	}
	return []types.Tag{{Key: aws.String(TagExecution), Value: aws.String(token)}}
}

// ExecutionToken returns the TagExecution value of these tags, or "".
func ExecutionToken(tags []types.Tag) string {
	for _, t := range tags {
		if aws.ToString(t.Key) == TagExecution {
			return aws.ToString(t.Value)
		}
	}
	return ""
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

// Provenance checks that a revision carries the whole of what ecslogfix
// writes on a revision it registers (ProvenanceTags and ExecutionTag) and
// that it is newer than the source it names, as a revision built from its
// source always is; it returns that source revision. A tag alone proves
// nothing — anyone may tag their own revision — so backout also checks
// the registering principal where ECS reports it (docs/cli.md, backout).
func Provenance(td *types.TaskDefinition, tags []types.Tag) (int32, error) {
	source, ok := SourceRevision(tags)
	switch {
	case !ok:
		return 0, fmt.Errorf("no valid %s tag", TagSourceRevision)
	case TagValue(tags, TagManaged) != "true":
		return 0, fmt.Errorf("no %s=true tag", TagManaged)
	case ExecutionToken(tags) == "":
		return 0, fmt.Errorf("no %s tag", TagExecution)
	case td == nil || td.Revision <= source:
		return 0, fmt.Errorf("its %s tag names revision %d, not older than itself", TagSourceRevision, source)
	}
	return source, nil
}

// TagValue returns the value of key among tags, or "".
func TagValue(tags []types.Tag, key string) string {
	for _, t := range tags {
		if aws.ToString(t.Key) == key {
			return aws.ToString(t.Value)
		}
	}
	return ""
}
