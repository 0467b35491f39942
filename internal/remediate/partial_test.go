package remediate

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ecslogfix/ecslogfix/internal/awsfake"
	"github.com/ecslogfix/ecslogfix/internal/policy"
	"github.com/ecslogfix/ecslogfix/internal/taskdef"
	"github.com/ecslogfix/ecslogfix/internal/workflow"
)

// TestRegisterPartialFixIsNotRemediated: one container ecslogfix may fix
// beside an awsfirelens one it never changes. The revision it registers
// is still not compliant, so the outcome is PARTLY_REMEDIATED — with the
// new revision, and the container left for a human named — never
// REMEDIATED (which would be rolled out and reported resolved).
func TestRegisterPartialFixIsNotRemediated(t *testing.T) {
	td, tags := partlyFixable(t)
	e, l := awsfake.NewECS(), awsfake.NewLogs()
	e.Put(td, tags)
	r := &Remediator{Policy: policy.Default(), Clients: static(e, l)}
	in := inputFor(td)
	in.ExecutionToken = "series-1"
	res, err := r.Register(context.Background(), workflow.State{Input: in})
	if err != nil {
		t.Fatal(err)
	}
	if res.Outcome != workflow.OutcomePartlyRemediated {
		t.Fatalf("outcome %s (%s), want %s", res.Outcome, res.Detail, workflow.OutcomePartlyRemediated)
	}
	if n := e.Count("RegisterTaskDefinition"); n != 1 || res.NewARN != e.ARN(aws.ToString(td.Family), td.Revision+1) {
		t.Fatalf("registered %d revisions, NewARN %q: want the one new revision", n, res.NewARN)
	}
	if !strings.Contains(res.Detail, "a human must change indexer") || strings.Contains(res.Detail, "metrics") {
		t.Errorf("detail %q does not name exactly the container left for a human (indexer)", res.Detail)
	}
	if res.Plan == nil || !slices.Equal(res.Plan.Unfixed(), []string{"indexer"}) {
		t.Errorf("plan leaves %v for a human, want [indexer]", res.Plan.Unfixed())
	}
	// The new revision carries the provenance tags a backout checks.
	nd, err := e.DescribeTaskDefinition(context.Background(), &ecs.DescribeTaskDefinitionInput{
		TaskDefinition: aws.String(res.NewARN), Include: []types.TaskDefinitionField{types.TaskDefinitionFieldTags}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := taskdef.Provenance(nd.TaskDefinition, nd.Tags); err != nil {
		t.Errorf("provenance of the new revision: %v", err)
	}
}

// partlyFixable is td07 (an awsfirelens container, indexer, left for a
// human) with a container ecslogfix may fix.
func partlyFixable(t *testing.T) (*types.TaskDefinition, []types.Tag) {
	td, tags := awsfake.TaskDefinition(t, "td07-firelens.json")
	td.ContainerDefinitions = append(slices.Clone(td.ContainerDefinitions),
		types.ContainerDefinition{Name: aws.String("metrics"), Image: aws.String("busybox"), Essential: aws.Bool(false)})
	return td, tags
}

// A partial fix whose registration's response was lost: the next attempt
// finds its revision and reports it PARTLY_REMEDIATED, saying once what a
// human must change.
func TestRecoveredPartialFixSaysOnceWhatIsLeft(t *testing.T) {
	td, tags := partlyFixable(t)
	e := awsfake.NewECS()
	e.Put(td, tags)
	r := &Remediator{Policy: policy.Default(), Clients: static(&lateCommit{ECS: e, script: lostFirst(false)}, awsfake.NewLogs())}
	in := inputFor(td)
	in.ExecutionToken = "series-1"
	if _, err := r.Register(context.Background(), workflow.State{Input: in}); err == nil {
		t.Fatal("the first attempt succeeded, want its response lost")
	}
	res, err := r.Register(context.Background(), workflow.State{Input: in})
	if err != nil {
		t.Fatal(err)
	}
	if res.Outcome != workflow.OutcomePartlyRemediated || res.NewARN != e.ARN(aws.ToString(td.Family), td.Revision+1) {
		t.Fatalf("outcome %s NewARN %q (%s), want PARTLY_REMEDIATED with the revision the first attempt registered", res.Outcome, res.NewARN, res.Detail)
	}
	if n := strings.Count(res.Detail, "a human must change indexer"); n != 1 {
		t.Errorf("detail %q says %d times what is left for a human, want once", res.Detail, n)
	}
}
