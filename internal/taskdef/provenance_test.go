package taskdef

import (
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

func TestProvenanceRoundTrip(t *testing.T) {
	tags := ProvenanceTags(14)
	if rev, ok := SourceRevision(tags); !ok || rev != 14 {
		t.Fatalf("SourceRevision = %d, %v", rev, ok)
	}
	// The tags fit any family: a 255-character family registers fine.
	td := &ecstypes.TaskDefinition{Family: aws.String(strings.Repeat("f", 255)), ContainerDefinitions: []ecstypes.ContainerDefinition{{Name: aws.String("app")}}}
	if _, err := RegisterInput(td, nil, tags...); err != nil {
		t.Fatalf("provenance tags rejected for a 255-character family: %v", err)
	}
	for _, bad := range [][]ecstypes.Tag{
		nil,
		{{Key: aws.String(TagSourceRevision), Value: aws.String("orders:14")}},
		{{Key: aws.String(TagSourceRevision), Value: aws.String("0")}},
		{{Key: aws.String("other"), Value: aws.String("14")}},
	} {
		if rev, ok := SourceRevision(bad); ok {
			t.Errorf("SourceRevision(%v) = %d, want not ours", bad, rev)
		}
	}
}
