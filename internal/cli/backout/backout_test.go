package backout

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	cwltypes "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"
	"github.com/aws/smithy-go"

	backoutsteps "github.com/ecslogfix/ecslogfix/internal/backout"
	"github.com/ecslogfix/ecslogfix/internal/config"
	"github.com/ecslogfix/ecslogfix/internal/config/naming"
	"github.com/ecslogfix/ecslogfix/internal/message"
	"github.com/ecslogfix/ecslogfix/internal/taskdef"
	"github.com/ecslogfix/ecslogfix/internal/workflow"
)

const (
	fakeSource = "arn:aws:ecs:us-east-1:111122223333:task-definition/orders-api:14"
	fakeNew    = "arn:aws:ecs:us-east-1:111122223333:task-definition/orders-api:15"
)

// fakeAWS is one account-region for backout: the revision ecslogfix
// registered (writing to /ecs/orders-api, which it created), its source
// (no logging), services, and log groups. It records every call that
// changes something, as the AWS CLI command that would make it.
type fakeAWS struct {
	services   map[string]string // "cluster/service" → task definition
	groups     map[string]bool   // log group → holds streams
	protected  map[string]bool   // log group → deletion protection on
	later      bool              // an ACTIVE orders-api:16 (ecslogfix's later fix) writes to /ecs/orders-api too
	status     types.TaskDefinitionStatus
	fail       string      // the first word of the command that fails, e.g. "deregister-task-definition"
	tags       []types.Tag // orders-api:15's tags; nil: ecslogfix's
	registrant string      // orders-api:15's registeredBy; "": not reported
	calls      []string
}

func newFakeAWS() *fakeAWS {
	return &fakeAWS{
		services:  map[string]string{"prod/checkout": fakeNew, "prod/other": fakeSource, "staging/checkout": fakeNew},
		groups:    map[string]bool{"/ecs/orders-api": false},
		protected: map[string]bool{},
		status:    types.TaskDefinitionStatusActive,
	}
}

// ecslogfixTags are the tags ecslogfix writes on a revision built from
// source.
func ecslogfixTags(source string) []types.Tag {
	return []types.Tag{{Key: aws.String(taskdef.TagSourceRevision), Value: aws.String(source)}, {Key: aws.String(taskdef.TagManaged), Value: aws.String("true")},
		{Key: aws.String(taskdef.TagExecution), Value: aws.String("fix-run")}}
}

const fakeLater = "arn:aws:ecs:us-east-1:111122223333:task-definition/orders-api:16"

func (f *fakeAWS) change(cmd string) error {
	f.calls = append(f.calls, cmd)
	if f.fail != "" && strings.Contains(cmd, " "+f.fail+" ") {
		return &smithy.GenericAPIError{Code: "ServerException", Message: "the service is unavailable\nretry later"}
	}
	return nil
}

func (f *fakeAWS) DescribeTaskDefinition(_ context.Context, in *ecs.DescribeTaskDefinitionInput, _ ...func(*ecs.Options)) (*ecs.DescribeTaskDefinitionOutput, error) {
	td := &types.TaskDefinition{Family: aws.String("orders-api"), ContainerDefinitions: []types.ContainerDefinition{{Name: aws.String("app")}}}
	switch aws.ToString(in.TaskDefinition) {
	case "orders-api:15", fakeNew:
		td.TaskDefinitionArn, td.Revision, td.Status = aws.String(fakeNew), 15, f.status
		td.ContainerDefinitions[0].LogConfiguration = &types.LogConfiguration{LogDriver: types.LogDriverAwslogs,
			Options: map[string]string{"awslogs-group": "/ecs/orders-api", "awslogs-region": "us-east-1", "awslogs-stream-prefix": "ecs"}}
		td.RegisteredBy = aws.String(f.registrant)
		if f.tags != nil {
			return &ecs.DescribeTaskDefinitionOutput{TaskDefinition: td, Tags: f.tags}, nil
		}
		return &ecs.DescribeTaskDefinitionOutput{TaskDefinition: td, Tags: ecslogfixTags("14")}, nil
	case fakeSource:
		td.TaskDefinitionArn, td.Revision, td.Status = aws.String(fakeSource), 14, types.TaskDefinitionStatusActive
		return &ecs.DescribeTaskDefinitionOutput{TaskDefinition: td}, nil
	case fakeLater:
		td.TaskDefinitionArn, td.Revision, td.Status = aws.String(fakeLater), 16, types.TaskDefinitionStatusActive
		td.ContainerDefinitions[0].LogConfiguration = &types.LogConfiguration{LogDriver: types.LogDriverAwslogs,
			Options: map[string]string{"awslogs-group": "/ecs/orders-api", "awslogs-region": "us-east-1", "awslogs-stream-prefix": "ecs"}}
		return &ecs.DescribeTaskDefinitionOutput{TaskDefinition: td}, nil
	}
	return nil, &smithy.GenericAPIError{Code: "ClientException", Message: "Unable to describe task definition."}
}

func (f *fakeAWS) DeregisterTaskDefinition(_ context.Context, in *ecs.DeregisterTaskDefinitionInput, _ ...func(*ecs.Options)) (*ecs.DeregisterTaskDefinitionOutput, error) {
	if err := f.change(fmt.Sprintf("aws ecs deregister-task-definition --task-definition %s --region us-east-1", aws.ToString(in.TaskDefinition))); err != nil {
		return nil, err
	}
	f.status = types.TaskDefinitionStatusInactive
	return &ecs.DeregisterTaskDefinitionOutput{}, nil
}

func (f *fakeAWS) TagResource(_ context.Context, in *ecs.TagResourceInput, _ ...func(*ecs.Options)) (*ecs.TagResourceOutput, error) {
	t := in.Tags[0]
	return &ecs.TagResourceOutput{}, f.change(fmt.Sprintf("aws ecs tag-resource --resource-arn %s --tags key=%s,value=%s --region us-east-1", aws.ToString(in.ResourceArn), aws.ToString(t.Key), aws.ToString(t.Value)))
}

func (f *fakeAWS) ListServices(_ context.Context, in *ecs.ListServicesInput, _ ...func(*ecs.Options)) (*ecs.ListServicesOutput, error) {
	var arns []string
	for k := range f.services {
		if cluster, svc, _ := strings.Cut(k, "/"); cluster == aws.ToString(in.Cluster) {
			arns = append(arns, svc)
		}
	}
	slices.Sort(arns)
	return &ecs.ListServicesOutput{ServiceArns: arns}, nil
}

func (f *fakeAWS) DescribeServices(_ context.Context, in *ecs.DescribeServicesInput, _ ...func(*ecs.Options)) (*ecs.DescribeServicesOutput, error) {
	out := &ecs.DescribeServicesOutput{}
	for _, s := range in.Services {
		out.Services = append(out.Services, types.Service{ServiceName: aws.String(s), TaskDefinition: aws.String(f.services[aws.ToString(in.Cluster)+"/"+s])})
	}
	return out, nil
}

func (f *fakeAWS) UpdateService(_ context.Context, in *ecs.UpdateServiceInput, _ ...func(*ecs.Options)) (*ecs.UpdateServiceOutput, error) {
	if err := f.change(fmt.Sprintf("aws ecs update-service --cluster %s --service %s --task-definition %s --region us-east-1",
		aws.ToString(in.Cluster), aws.ToString(in.Service), aws.ToString(in.TaskDefinition))); err != nil {
		return nil, err
	}
	f.services[aws.ToString(in.Cluster)+"/"+aws.ToString(in.Service)] = aws.ToString(in.TaskDefinition)
	return &ecs.UpdateServiceOutput{}, nil
}

// RegisterTaskDefinition is a REREGISTER_SOURCE step's call; these
// backouts have none.
func (f *fakeAWS) RegisterTaskDefinition(_ context.Context, in *ecs.RegisterTaskDefinitionInput, _ ...func(*ecs.Options)) (*ecs.RegisterTaskDefinitionOutput, error) {
	return nil, f.change("aws ecs register-task-definition --family " + aws.ToString(in.Family))
}

func (f *fakeAWS) ListTaskDefinitions(context.Context, *ecs.ListTaskDefinitionsInput, ...func(*ecs.Options)) (*ecs.ListTaskDefinitionsOutput, error) {
	arns := []string{fakeSource}
	if f.status == types.TaskDefinitionStatusActive {
		arns = append([]string{fakeNew}, arns...)
	}
	if f.later {
		arns = append([]string{fakeLater}, arns...)
	}
	return &ecs.ListTaskDefinitionsOutput{TaskDefinitionArns: arns}, nil
}

func (f *fakeAWS) DescribeLogGroups(_ context.Context, in *cloudwatchlogs.DescribeLogGroupsInput, _ ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.DescribeLogGroupsOutput, error) {
	name := aws.ToString(in.LogGroupNamePrefix)
	if _, ok := f.groups[name]; !ok {
		return &cloudwatchlogs.DescribeLogGroupsOutput{}, nil
	}
	arn := "arn:aws:logs:us-east-1:111122223333:log-group:" + name
	return &cloudwatchlogs.DescribeLogGroupsOutput{LogGroups: []cwltypes.LogGroup{{LogGroupName: aws.String(name), Arn: aws.String(arn + ":*"), LogGroupArn: aws.String(arn),
		DeletionProtectionEnabled: aws.Bool(f.protected[name])}}}, nil
}

func (f *fakeAWS) PutLogGroupDeletionProtection(_ context.Context, in *cloudwatchlogs.PutLogGroupDeletionProtectionInput, _ ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.PutLogGroupDeletionProtectionOutput, error) {
	name := aws.ToString(in.LogGroupIdentifier)
	if err := f.change(fmt.Sprintf("aws logs put-log-group-deletion-protection --log-group-identifier %s --no-deletion-protection-enabled --region us-east-1", name)); err != nil {
		return nil, err
	}
	f.protected[name] = aws.ToBool(in.DeletionProtectionEnabled)
	return &cloudwatchlogs.PutLogGroupDeletionProtectionOutput{}, nil
}

func (f *fakeAWS) ListTagsForResource(context.Context, *cloudwatchlogs.ListTagsForResourceInput, ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.ListTagsForResourceOutput, error) {
	return &cloudwatchlogs.ListTagsForResourceOutput{Tags: map[string]string{taskdef.TagManaged: "true"}}, nil
}

func (f *fakeAWS) DescribeLogStreams(_ context.Context, in *cloudwatchlogs.DescribeLogStreamsInput, _ ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.DescribeLogStreamsOutput, error) {
	out := &cloudwatchlogs.DescribeLogStreamsOutput{}
	if f.groups[aws.ToString(in.LogGroupName)] {
		out.LogStreams = []cwltypes.LogStream{{LogStreamName: aws.String("ecs/app/1")}}
	}
	return out, nil
}

func (f *fakeAWS) DeleteLogGroup(_ context.Context, in *cloudwatchlogs.DeleteLogGroupInput, _ ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.DeleteLogGroupOutput, error) {
	if err := f.change(fmt.Sprintf("aws logs delete-log-group --log-group-name %s --region us-east-1", aws.ToString(in.LogGroupName))); err != nil {
		return nil, err
	}
	if f.protected[aws.ToString(in.LogGroupName)] {
		// As CloudWatch Logs answers (docs/reliability.md, deletion protection).
		return nil, &smithy.GenericAPIError{Code: "ValidationException", Message: "Cannot delete log group with deletion protection enabled. Disable deletion protection first."}
	}
	delete(f.groups, aws.ToString(in.LogGroupName))
	return &cloudwatchlogs.DeleteLogGroupOutput{}, nil
}

// fakeUntil is the day the fake backouts exempt the source until.
const fakeUntil = "2099-01-31"

func runFakeBackout(t *testing.T, f *fakeAWS, o Request) (Result, error) {
	t.Helper()
	b := &Executor{ECS: f, Logs: f, Region: "us-east-1"}
	o.ExemptUntil = fakeUntil
	return b.Run(context.Background(), o)
}

// notifiedCommands are the backout commands the notification of the
// remediation lists: the email's BACK OUT section and the document's.
func notifiedCommands(t *testing.T) []string {
	t.Helper()
	n, err := message.Render(workflow.NotifyRequest{Result: &workflow.Result{
		Version: workflow.Version, Outcome: workflow.OutcomeRemediated,
		Target: workflow.Target{Account: "111122223333", Region: "us-east-1"}, Family: "orders-api",
		SourceARN: fakeSource, NewARN: fakeNew,
		LogGroups: []workflow.LogGroupResult{{Name: "/ecs/orders-api", Region: "us-east-1", Created: true, RetentionDays: 365}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	var cmds []string
	for _, s := range n.Document.Backout {
		if !strings.Contains(n.Text, s.Command) {
			t.Errorf("the email does not print %q", s.Command)
		}
		cmds = append(cmds, s.Command)
	}
	return cmds
}

// TestBackoutRunsTheNotifiedSteps is the promise of typed steps: the AWS
// calls `ecslogfix backout --apply` makes are exactly the commands the
// notification of the same remediation prints, in its order, with the
// services it found in place of <CLUSTER> and <SERVICE>.
func TestBackoutRunsTheNotifiedSteps(t *testing.T) {
	var want []string
	for _, c := range notifiedCommands(t) {
		if !strings.Contains(c, backoutsteps.PlaceholderService) {
			want = append(want, strings.ReplaceAll(c, backoutsteps.PlaceholderDate, fakeUntil)) // the day backout chose
			continue
		}
		for _, svc := range []string{"prod checkout", "staging checkout"} {
			cluster, service, _ := strings.Cut(svc, " ")
			want = append(want, strings.NewReplacer(backoutsteps.PlaceholderCluster, cluster, backoutsteps.PlaceholderService, service).Replace(c))
		}
	}
	f := newFakeAWS()
	res, err := runFakeBackout(t, f, Request{TaskDefinition: "orders-api:15", Clusters: []string{"prod", "staging"}, DeleteLogGroup: true, Apply: true})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(f.calls, want) {
		t.Fatalf("backout ran\n%s\nthe notification says\n%s", strings.Join(f.calls, "\n"), strings.Join(want, "\n"))
	}
	var done []string
	for _, s := range res.Steps {
		if s.Status == StepDone {
			done = append(done, s.Command)
		}
	}
	if !slices.Equal(done, want) {
		t.Errorf("steps reported done\n%s\nwant\n%s", strings.Join(done, "\n"), strings.Join(want, "\n"))
	}
	if res.LatestARN != fakeSource || f.services["prod/other"] != fakeSource || len(f.groups) != 0 {
		t.Errorf("after backout: latest %s, services %v, log groups %v", res.LatestARN, f.services, f.groups)
	}

	// A dry run plans the same steps and calls nothing.
	f = newFakeAWS()
	dry, err := runFakeBackout(t, f, Request{TaskDefinition: fakeNew, Clusters: []string{"prod", "staging"}, DeleteLogGroup: true})
	if err != nil || len(f.calls) > 0 {
		t.Fatalf("dry run: %v, calls %v", err, f.calls)
	}
	for i, s := range dry.Steps {
		if s.Status != StepPlanned || s.Command != want[i] {
			t.Errorf("dry run step %d: %s %s, want PLANNED %s", i, s.Status, s.Command, want[i])
		}
	}
}

// TestBackoutSkips: what backout leaves alone is a skipped step that says
// why, and is never run.
func TestBackoutSkips(t *testing.T) {
	f := newFakeAWS()
	f.status = types.TaskDefinitionStatusInactive
	f.groups["/ecs/orders-api"] = true // holds log streams
	res, err := runFakeBackout(t, f, Request{TaskDefinition: "orders-api:15", DeleteLogGroup: true, Apply: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(f.calls) > 0 {
		t.Errorf("backout changed %v", f.calls)
	}
	type got struct {
		kind          backoutsteps.StepKind
		status        StepStatus
		reason        string
		placeholders  bool
		hasCommand    bool
		conditional   bool
		resourceNamed string
	}
	var steps []got
	for _, s := range res.Steps {
		steps = append(steps, got{s.Kind, s.Status, s.Reason, strings.Contains(s.Command, backoutsteps.PlaceholderCluster), s.Command != "", s.Conditional, s.Resource()})
	}
	want := []got{
		// Without --cluster the conditional step stays a template to fill in.
		{backoutsteps.StepMoveService, StepSkipped, "no --cluster given: services running it were not looked for", true, true, true, "<CLUSTER>/<SERVICE>"},
		{backoutsteps.StepDeregister, StepSkipped, "it is already INACTIVE", false, true, false, fakeNew},
		{backoutsteps.StepExemptUntil, StepSkipped, "the revision is already INACTIVE: backed out before", false, true, false, fakeSource},
		// Not a step of the plan: it carries no command to copy.
		{backoutsteps.StepDeleteLogGroup, StepSkipped, "it holds log streams", false, false, false, "/ecs/orders-api"},
	}
	if !slices.Equal(steps, want) {
		t.Fatalf("steps\n%+v\nwant\n%+v", steps, want)
	}
}

// TestBackoutStopsAtAFailure: the failed step says why in one line, the
// rest are not run, and the error names the step.
func TestBackoutStopsAtAFailure(t *testing.T) {
	f := newFakeAWS()
	f.fail = "deregister-task-definition"
	res, err := runFakeBackout(t, f, Request{TaskDefinition: "orders-api:15", Clusters: []string{"prod"}, DeleteLogGroup: true, Apply: true})
	var ae smithy.APIError
	if err == nil || !errors.As(err, &ae) || err.Error() != "backout: deregister "+fakeNew+": api error ServerException: the service is unavailable\nretry later" {
		t.Fatalf("error %q", err)
	}
	var statuses []StepStatus
	for _, s := range res.Steps {
		statuses = append(statuses, s.Status)
	}
	if want := []StepStatus{StepDone, StepFailed, StepSkipped, StepSkipped}; !slices.Equal(statuses, want) {
		t.Fatalf("statuses %v, want %v", statuses, want)
	}
	if res.Steps[1].Reason != "api error ServerException: the service is unavailable" || res.Steps[2].Reason != "not run: an earlier step failed" {
		t.Errorf("reasons %q, %q", res.Steps[1].Reason, res.Steps[2].Reason)
	}
	if len(f.calls) != 2 || f.groups["/ecs/orders-api"] {
		t.Errorf("calls %v", f.calls)
	}
}

// TestBackoutNeverRunsATemplate: a step that still holds placeholders is
// refused, whatever asks for it.
func TestBackoutNeverRunsATemplate(t *testing.T) {
	f := newFakeAWS()
	tmpl := backoutsteps.Steps(backoutsteps.Input{SourceARN: fakeSource, NewARN: fakeNew})[0]
	b := &Executor{ECS: f, Logs: f, Region: "us-east-1"}
	if _, err := b.exec(context.Background(), tmpl); err == nil || len(f.calls) > 0 {
		t.Fatalf("exec of %s: %v, calls %v", tmpl.Command, err, f.calls)
	}
	// A move that still names the copy of a deregistered source.
	copyStep := backoutsteps.Steps(backoutsteps.Input{Region: "us-east-1", SourceARN: fakeSource, NewARN: fakeNew, SourceDeregistered: true,
		Moved: []backoutsteps.Moved{{Kind: backoutsteps.MovedService, Name: "checkout", Cluster: "prod", Before: fakeSource, After: fakeNew}}})[1]
	if _, err := b.exec(context.Background(), copyStep); err == nil || len(f.calls) > 0 {
		t.Fatalf("exec of %s: %v", copyStep.Command, err)
	}
}

// TestBackoutLiftsDeletionProtection: the group ecslogfix created with
// deletion protection is deleted after the protection is lifted — the
// commands the notification prints for such a group, in its order.
func TestBackoutLiftsDeletionProtection(t *testing.T) {
	f := newFakeAWS()
	f.protected["/ecs/orders-api"] = true
	want := backoutsteps.DeleteLogGroup("/ecs/orders-api", "us-east-1", true)
	res, err := runFakeBackout(t, f, Request{TaskDefinition: "orders-api:15", DeleteLogGroup: true, Apply: true})
	if err != nil {
		t.Fatal(err)
	}
	got := f.calls[len(f.calls)-2:]
	if got[0] != want[0].Command || got[1] != want[1].Command || len(f.groups) != 0 {
		t.Fatalf("calls %v, want %s then %s; groups left %v", f.calls, want[0].Command, want[1].Command, f.groups)
	}
	if last := res.Steps[len(res.Steps)-1]; last.Kind != backoutsteps.StepDeleteLogGroup || last.Status != StepDone {
		t.Fatalf("last step %+v", last)
	}
}

// TestBackoutKeepsAGroupStillReferenced: a later ACTIVE revision of the
// family (here ecslogfix's own later remediation) writes to the group, so
// backout keeps it and names that revision.
func TestBackoutKeepsAGroupStillReferenced(t *testing.T) {
	f := newFakeAWS()
	f.later = true
	res, err := runFakeBackout(t, f, Request{TaskDefinition: "orders-api:15", DeleteLogGroup: true, Apply: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range f.calls {
		if strings.Contains(c, "delete-log-group") || strings.Contains(c, "deletion-protection") {
			t.Fatalf("backout touched the group: %v", f.calls)
		}
	}
	last := res.Steps[len(res.Steps)-1]
	_, exists := f.groups["/ecs/orders-api"]
	if last.Kind != backoutsteps.StepDeleteLogGroup || last.Status != StepSkipped || last.Reason != "the ACTIVE revision "+fakeLater+" still uses it" || !exists {
		t.Fatalf("last step %+v, groups %v", last, f.groups)
	}
}

// fakeSFN answers DescribeExecution with one execution's status and output.
type fakeSFN struct {
	status sfntypes.ExecutionStatus
	output string
}

func (f fakeSFN) DescribeExecution(context.Context, *sfn.DescribeExecutionInput, ...func(*sfn.Options)) (*sfn.DescribeExecutionOutput, error) {
	return &sfn.DescribeExecutionOutput{Status: f.status, Output: aws.String(f.output)}, nil
}

// backout --execution refuses an execution that is still running, that
// registered nothing, or that registered another revision.
func TestBackoutExecutionMustMatch(t *testing.T) {
	const exec = "arn:aws:states:us-east-1:111122223333:execution:ecslogfix-remediation:x"
	output := func(newARN string) string {
		b, _ := json.Marshal(map[string]any{"registered": map[string]any{"result": workflow.Result{Outcome: workflow.OutcomeRemediated, NewARN: newARN, SourceARN: fakeSource}}})
		return string(b)
	}
	for _, tc := range []struct {
		name string
		sfn  fakeSFN
		want string
	}{
		{"running", fakeSFN{sfntypes.ExecutionStatusRunning, ""}, "still running"},
		{"failed before registering", fakeSFN{sfntypes.ExecutionStatusFailed, ""}, "no registered result"},
		{"another revision", fakeSFN{sfntypes.ExecutionStatusSucceeded, output(strings.Replace(fakeNew, ":15", ":16", 1))}, "not " + fakeNew},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeAWS()
			b := &Executor{ECS: f, Logs: f, Region: "us-east-1", SFN: tc.sfn}
			_, err := b.Run(context.Background(), Request{TaskDefinition: fakeNew, Execution: exec, Apply: true})
			if err == nil || !strings.Contains(err.Error(), tc.want) || len(f.calls) > 0 {
				t.Errorf("run: %v (calls %v), want an error with %q", err, f.calls, tc.want)
			}
		})
	}
}

// TestBackoutRefusesARevisionItCannotProveIsEcslogfixs: a tag anyone can
// set is not proof. Backout wants all of ecslogfix's tags, a source older
// than the revision, and — where ECS reports it — a registrant that is the
// deployment's remediate or member role or the caller itself.
func TestBackoutRefusesARevisionItCannotProveIsEcslogfixs(t *testing.T) {
	only := func(k, v string) types.Tag { return types.Tag{Key: aws.String(k), Value: aws.String(v)} }
	const caller = "arn:aws:sts::111122223333:assumed-role/admin/alice"
	for _, tc := range []struct {
		name       string
		tags       []types.Tag
		registrant string
		refused    string // "" accepted
	}{
		{name: "ecslogfix's tags, registrant not reported", tags: ecslogfixTags("14")},
		{name: "registered by the remediate role", tags: ecslogfixTags("14"), registrant: "arn:aws:sts::111122223333:assumed-role/ecslogfix-remediate/s1"},
		{name: "registered by the member role", tags: ecslogfixTags("14"), registrant: "arn:aws:sts::111122223333:assumed-role/ecslogfix-member/s1"},
		{name: "registered by the caller in another session", tags: ecslogfixTags("14"), registrant: "arn:aws:sts::111122223333:assumed-role/admin/bob"},
		{name: "only the source tag, set by hand", tags: []types.Tag{only(taskdef.TagSourceRevision, "14")}, refused: "no ecslogfix:managed=true tag"},
		{name: "no execution token", tags: []types.Tag{only(taskdef.TagSourceRevision, "14"), only(taskdef.TagManaged, "true")}, refused: "no ecslogfix:execution tag"},
		{name: "source not older than the revision", tags: ecslogfixTags("15"), refused: "names revision 15, not older than itself"},
		{name: "source newer than the revision", tags: ecslogfixTags("99"), refused: "names revision 99"},
		{name: "registered by another principal", tags: ecslogfixTags("14"), registrant: "arn:aws:sts::111122223333:assumed-role/deployer/ci", refused: "registered by arn:aws:sts::111122223333:assumed-role/deployer/ci"},
		{name: "a role named like ecslogfix's under another prefix", tags: ecslogfixTags("14"), registrant: "arn:aws:iam::111122223333:role/other-remediate", refused: "registered by"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeAWS()
			f.tags, f.registrant = tc.tags, tc.registrant
			b := &Executor{ECS: f, Logs: f, Region: "us-east-1", Names: naming.Names{Prefix: config.DefaultPrefix}, Caller: caller}
			_, err := b.Run(context.Background(), Request{TaskDefinition: "orders-api:15", Clusters: []string{"prod"}, Apply: true, ExemptUntil: fakeUntil})
			if tc.refused == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), "refusing to touch it") || !strings.Contains(err.Error(), tc.refused) {
				t.Fatalf("err = %v, want a refusal saying %q", err, tc.refused)
			}
			if len(f.calls) != 0 {
				t.Errorf("changed something: %q", f.calls)
			}
		})
	}
}

// recordingSFN answers DescribeExecution for one execution ARN and records
// what was asked.
type recordingSFN struct {
	arn, output string
	asked       []string
}

func (f *recordingSFN) DescribeExecution(_ context.Context, in *sfn.DescribeExecutionInput, _ ...func(*sfn.Options)) (*sfn.DescribeExecutionOutput, error) {
	f.asked = append(f.asked, aws.ToString(in.ExecutionArn))
	if aws.ToString(in.ExecutionArn) != f.arn {
		return nil, &smithy.GenericAPIError{Code: "ExecutionDoesNotExist", Message: "Execution Does Not Exist"}
	}
	return &sfn.DescribeExecutionOutput{Status: sfntypes.ExecutionStatusSucceeded, Output: aws.String(f.output)}, nil
}

// TestBackoutWithoutClusterReadsTheRolloutRecord: without --cluster or
// --execution, backout reads the execution the revision's token names and
// moves back what its rollout record says; with no record it warns that
// services were not looked for.
func TestBackoutWithoutClusterReadsTheRolloutRecord(t *testing.T) {
	const exec = "arn:aws:states:us-east-1:111122223333:execution:ecslogfix-remediation:fix-run"
	out, _ := json.Marshal(map[string]any{"registered": map[string]any{"result": workflow.Result{
		Outcome: workflow.OutcomeRemediated, NewARN: fakeNew, SourceARN: fakeSource,
		Target: workflow.Target{Account: "111122223333", Region: "us-east-1"},
		Rollout: &workflow.Rollout{Consumers: []workflow.ConsumerRollout{{
			Consumer: workflow.Consumer{Kind: workflow.KindService, Name: "checkout", ARN: "checkout", Cluster: "prod", TaskDefinition: fakeSource},
			Before:   fakeSource, After: fakeNew, Status: workflow.ConsumerMoved}}},
	}}})
	for _, tc := range []struct {
		name    string
		arn     string
		warning bool
	}{{"recorded", exec, false}, {"no record", exec + "-other", true}} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeAWS()
			s := &recordingSFN{arn: tc.arn, output: string(out)}
			b := &Executor{ECS: f, Logs: f, Region: "us-east-1", SFN: s, Names: naming.Names{Prefix: config.DefaultPrefix}}
			res, err := b.Run(context.Background(), Request{TaskDefinition: "orders-api:15", ExemptUntil: fakeUntil})
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(s.asked, []string{exec}) {
				t.Errorf("asked for %q, want the token's execution %s", s.asked, exec)
			}
			if got := res.Warning != ""; got != tc.warning {
				t.Errorf("warning %q, want one: %v", res.Warning, tc.warning)
			}
			var moves []string
			for _, st := range res.Steps {
				if st.Kind == backoutsteps.StepMoveService {
					moves = append(moves, string(st.Status)+" "+st.Cluster+"/"+st.Service)
				}
			}
			want := []string{"PLANNED prod/checkout"}
			if tc.warning {
				want = []string{"SKIPPED " + backoutsteps.PlaceholderCluster + "/" + backoutsteps.PlaceholderService}
			}
			if !slices.Equal(moves, want) {
				t.Errorf("service steps %q, want %q", moves, want)
			}
		})
	}
}
