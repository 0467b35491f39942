package remediation

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	logtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/ecslogfix/ecslogfix/internal/taskdef"
	"github.com/ecslogfix/ecslogfix/test/syncbuf"
)

const (
	testAccount = "111122223333"
	testRegion  = "us-east-1"
)

// fakeECS is an in-memory ECS with task definition families, revisions,
// status and tags. It records every call.
type fakeECS struct {
	mu       sync.Mutex
	account  string
	region   string
	families map[string][]*fakeRevision // index = revision-1; nil = never registered
	calls    []string
	// errs, keyed by operation name, are returned (and consumed) in order.
	errs map[string][]error
}

type fakeRevision struct {
	td   types.TaskDefinition
	tags []types.Tag
}

func newFakeECS() *fakeECS {
	return &fakeECS{account: testAccount, region: testRegion, families: map[string][]*fakeRevision{}, errs: map[string][]error{}}
}

func (f *fakeECS) arn(family string, rev int32) string {
	return fmt.Sprintf("arn:aws:ecs:%s:%s:task-definition/%s:%d", f.region, f.account, family, rev)
}

// put stores td (a copy) at its own revision, ACTIVE unless it says otherwise.
func (f *fakeECS) put(td *types.TaskDefinition, tags []types.Tag) {
	f.mu.Lock()
	defer f.mu.Unlock()
	c := cloneTD(td)
	family := aws.ToString(c.Family)
	if c.Status == "" {
		c.Status = types.TaskDefinitionStatusActive
	}
	c.TaskDefinitionArn = aws.String(f.arn(family, c.Revision))
	revs := f.families[family]
	for int32(len(revs)) < c.Revision {
		revs = append(revs, nil)
	}
	revs[c.Revision-1] = &fakeRevision{td: *c, tags: append([]types.Tag(nil), tags...)}
	f.families[family] = revs
}

func (f *fakeECS) setStatus(family string, rev int32, s types.TaskDefinitionStatus) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.families[family][rev-1].td.Status = s
}

func (f *fakeECS) failNext(op string, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.errs[op] = append(f.errs[op], err)
}

func (f *fakeECS) record(op string) error {
	f.calls = append(f.calls, op)
	if q := f.errs[op]; len(q) > 0 {
		f.errs[op] = q[1:]
		return q[0]
	}
	return nil
}

func (f *fakeECS) count(op string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, c := range f.calls {
		if c == op {
			n++
		}
	}
	return n
}

func (f *fakeECS) latest(family string) *fakeRevision {
	revs := f.families[family]
	for i := len(revs) - 1; i >= 0; i-- {
		if revs[i] != nil && revs[i].td.Status == types.TaskDefinitionStatusActive {
			return revs[i]
		}
	}
	return nil
}

func notFound() error {
	return &types.ClientException{Message: aws.String("Unable to describe task definition.")}
}

func (f *fakeECS) DescribeTaskDefinition(_ context.Context, in *ecs.DescribeTaskDefinitionInput, _ ...func(*ecs.Options)) (*ecs.DescribeTaskDefinitionOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.record("DescribeTaskDefinition"); err != nil {
		return nil, err
	}
	ref := aws.ToString(in.TaskDefinition)
	if i := strings.Index(ref, "task-definition/"); i >= 0 {
		ref = ref[i+len("task-definition/"):]
	}
	family, revS, hasRev := strings.Cut(ref, ":")
	var r *fakeRevision
	if hasRev {
		n, err := strconv.Atoi(revS)
		revs := f.families[family]
		if err != nil || n < 1 || n > len(revs) || revs[n-1] == nil {
			return nil, notFound()
		}
		r = revs[n-1]
	} else if r = f.latest(family); r == nil {
		return nil, notFound()
	}
	out := &ecs.DescribeTaskDefinitionOutput{TaskDefinition: cloneTD(&r.td)}
	if len(in.Include) > 0 {
		out.Tags = append([]types.Tag(nil), r.tags...)
	}
	return out, nil
}

func (f *fakeECS) RegisterTaskDefinition(_ context.Context, in *ecs.RegisterTaskDefinitionInput, _ ...func(*ecs.Options)) (*ecs.RegisterTaskDefinitionOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.record("RegisterTaskDefinition"); err != nil {
		return nil, err
	}
	// The shared fields have the same Go names in input and output.
	b, err := json.Marshal(in)
	if err != nil {
		return nil, err
	}
	var td types.TaskDefinition
	if err := json.Unmarshal(b, &td); err != nil {
		return nil, err
	}
	family := aws.ToString(in.Family)
	td.Revision = int32(len(f.families[family]) + 1)
	td.Status = types.TaskDefinitionStatusActive
	td.TaskDefinitionArn = aws.String(f.arn(family, td.Revision))
	f.families[family] = append(f.families[family], &fakeRevision{td: td, tags: in.Tags})
	return &ecs.RegisterTaskDefinitionOutput{TaskDefinition: cloneTD(&td), Tags: in.Tags}, nil
}

func (f *fakeECS) DeregisterTaskDefinition(_ context.Context, in *ecs.DeregisterTaskDefinitionInput, _ ...func(*ecs.Options)) (*ecs.DeregisterTaskDefinitionOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.record("DeregisterTaskDefinition"); err != nil {
		return nil, err
	}
	ref := aws.ToString(in.TaskDefinition)
	ref = ref[strings.Index(ref, "task-definition/")+len("task-definition/"):]
	family, revS, _ := strings.Cut(ref, ":")
	n, err := strconv.Atoi(revS)
	revs := f.families[family]
	if err != nil || n < 1 || n > len(revs) || revs[n-1] == nil {
		return nil, notFound()
	}
	revs[n-1].td.Status = types.TaskDefinitionStatusInactive
	return &ecs.DeregisterTaskDefinitionOutput{TaskDefinition: cloneTD(&revs[n-1].td)}, nil
}

func (f *fakeECS) ListTaskDefinitionFamilies(_ context.Context, in *ecs.ListTaskDefinitionFamiliesInput, _ ...func(*ecs.Options)) (*ecs.ListTaskDefinitionFamiliesOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.record("ListTaskDefinitionFamilies"); err != nil {
		return nil, err
	}
	var names []string
	for fam := range f.families {
		if strings.HasPrefix(fam, aws.ToString(in.FamilyPrefix)) && f.latest(fam) != nil {
			names = append(names, fam)
		}
	}
	sort.Strings(names)
	start, _ := strconv.Atoi(aws.ToString(in.NextToken))
	size := int(aws.ToInt32(in.MaxResults))
	if size <= 0 {
		size = 100
	}
	end := min(start+size, len(names))
	out := &ecs.ListTaskDefinitionFamiliesOutput{Families: names[start:end]}
	if end < len(names) {
		out.NextToken = aws.String(strconv.Itoa(end))
	}
	return out, nil
}

func cloneTD(td *types.TaskDefinition) *types.TaskDefinition {
	b, err := json.Marshal(td)
	if err != nil {
		panic(err)
	}
	var c types.TaskDefinition
	if err := json.Unmarshal(b, &c); err != nil {
		panic(err)
	}
	return &c
}

// fakeLogs is an in-memory CloudWatch Logs.
type fakeLogs struct {
	mu     sync.Mutex
	groups map[string]*logtypes.LogGroup
	tags   map[string]map[string]string
	calls  []string
	errs   map[string][]error
}

func newFakeLogs() *fakeLogs {
	return &fakeLogs{groups: map[string]*logtypes.LogGroup{}, tags: map[string]map[string]string{}, errs: map[string][]error{}}
}

func (f *fakeLogs) record(op string) error {
	f.calls = append(f.calls, op)
	if q := f.errs[op]; len(q) > 0 {
		f.errs[op] = q[1:]
		return q[0]
	}
	return nil
}

func (f *fakeLogs) CreateLogGroup(_ context.Context, in *cloudwatchlogs.CreateLogGroupInput, _ ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.CreateLogGroupOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.record("CreateLogGroup"); err != nil {
		return nil, err
	}
	name := aws.ToString(in.LogGroupName)
	if _, ok := f.groups[name]; ok {
		return nil, &logtypes.ResourceAlreadyExistsException{Message: aws.String("The specified log group already exists")}
	}
	class := in.LogGroupClass
	if class == "" {
		class = logtypes.LogGroupClassStandard
	}
	f.groups[name] = &logtypes.LogGroup{LogGroupName: in.LogGroupName, KmsKeyId: in.KmsKeyId, LogGroupClass: class, DeletionProtectionEnabled: in.DeletionProtectionEnabled,
		LogGroupArn: aws.String("arn:aws:logs:us-east-1:111122223333:log-group:" + name)}
	f.tags[name] = in.Tags
	return &cloudwatchlogs.CreateLogGroupOutput{}, nil
}

func (f *fakeLogs) PutRetentionPolicy(_ context.Context, in *cloudwatchlogs.PutRetentionPolicyInput, _ ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.PutRetentionPolicyOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.record("PutRetentionPolicy"); err != nil {
		return nil, err
	}
	g, ok := f.groups[aws.ToString(in.LogGroupName)]
	if !ok {
		return nil, &logtypes.ResourceNotFoundException{Message: aws.String("no such group")}
	}
	g.RetentionInDays = in.RetentionInDays
	return &cloudwatchlogs.PutRetentionPolicyOutput{}, nil
}

func (f *fakeLogs) DescribeLogGroups(_ context.Context, in *cloudwatchlogs.DescribeLogGroupsInput, _ ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.DescribeLogGroupsOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.record("DescribeLogGroups"); err != nil {
		return nil, err
	}
	var names []string
	for n := range f.groups {
		if strings.HasPrefix(n, aws.ToString(in.LogGroupNamePrefix)) {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	out := &cloudwatchlogs.DescribeLogGroupsOutput{}
	for _, n := range names {
		out.LogGroups = append(out.LogGroups, *f.groups[n])
	}
	return out, nil
}

func (f *fakeLogs) ListTagsForResource(_ context.Context, in *cloudwatchlogs.ListTagsForResourceInput, _ ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.ListTagsForResourceOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.record("ListTagsForResource"); err != nil {
		return nil, err
	}
	arn := aws.ToString(in.ResourceArn)
	name := arn[strings.Index(arn, ":log-group:")+len(":log-group:"):]
	return &cloudwatchlogs.ListTagsForResourceOutput{Tags: f.tags[name]}, nil
}

// fakeSFN records StartExecution and refuses a name it has seen; its
// executions are RUNNING unless status says otherwise.
type fakeSFN struct {
	mu     sync.Mutex
	inputs map[string]string
	order  []string
	errs   []error
	status map[string]sfntypes.ExecutionStatus // by name
}

func newFakeSFN() *fakeSFN {
	return &fakeSFN{inputs: map[string]string{}, status: map[string]sfntypes.ExecutionStatus{}}
}

func (f *fakeSFN) DescribeExecution(_ context.Context, in *sfn.DescribeExecutionInput, _ ...func(*sfn.Options)) (*sfn.DescribeExecutionOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	arn := aws.ToString(in.ExecutionArn)
	name := arn[strings.LastIndex(arn, ":")+1:]
	if _, ok := f.inputs[name]; !ok || !strings.Contains(arn, ":execution:") {
		return nil, &sfntypes.ExecutionDoesNotExist{Message: aws.String(arn)}
	}
	st, ok := f.status[name]
	if !ok {
		st = sfntypes.ExecutionStatusRunning
	}
	return &sfn.DescribeExecutionOutput{ExecutionArn: in.ExecutionArn, Status: st}, nil
}

func (f *fakeSFN) StartExecution(_ context.Context, in *sfn.StartExecutionInput, _ ...func(*sfn.Options)) (*sfn.StartExecutionOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.errs) > 0 {
		err := f.errs[0]
		f.errs = f.errs[1:]
		return nil, err
	}
	name := aws.ToString(in.Name)
	if _, ok := f.inputs[name]; ok {
		return nil, &sfntypes.ExecutionAlreadyExists{Message: aws.String("Execution Already Exists: " + name)}
	}
	f.inputs[name] = aws.ToString(in.Input)
	f.order = append(f.order, name)
	return &sfn.StartExecutionOutput{ExecutionArn: aws.String("arn:aws:states:us-east-1:111122223333:execution:sm:" + name)}, nil
}

// fakeInvoker captures asynchronous self-invocations.
type fakeInvoker struct {
	mu       sync.Mutex
	payloads [][]byte
	inputs   []*lambda.InvokeInput
}

func (f *fakeInvoker) Invoke(_ context.Context, in *lambda.InvokeInput, _ ...func(*lambda.Options)) (*lambda.InvokeOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.inputs = append(f.inputs, in)
	f.payloads = append(f.payloads, in.Payload)
	return &lambda.InvokeOutput{StatusCode: 202}, nil
}

// loadTD reads a describe-task-definition --include TAGS fixture.
func loadTD(t testing.TB, name string) (*types.TaskDefinition, []types.Tag) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "taskdefs", name))
	if err != nil {
		t.Fatal(err)
	}
	td, tags, err := taskdef.DecodeDescribeOutput(b)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return td, tags
}

func loadEvent(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "events", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// editEvent decodes an event, lets fn change it, and encodes it again.
func editEvent(t testing.TB, raw []byte, fn func(e map[string]any)) []byte {
	t.Helper()
	var e map[string]any
	if err := json.Unmarshal(raw, &e); err != nil {
		t.Fatal(err)
	}
	fn(e)
	b, err := json.Marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// withRevision returns a copy of td at family:rev.
func withRevision(td *types.TaskDefinition, family string, rev int32) *types.TaskDefinition {
	c := cloneTD(td)
	c.Family = aws.String(family)
	c.Revision = rev
	return c
}

func tag(k, v string) types.Tag { return types.Tag{Key: aws.String(k), Value: aws.String(v)} }

// logBuffer is a JSON slog logger whose output the test can read.
type logBuffer struct{ syncbuf.Buffer }

func (l *logBuffer) logger() *slog.Logger { return slog.New(slog.NewJSONHandler(l, nil)) }

// lines decodes the JSON lines written so far.
func (l *logBuffer) lines(t testing.TB) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, s := range strings.Split(strings.TrimSpace(l.String()), "\n") {
		if s == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(s), &m); err != nil {
			t.Fatalf("log line %q: %v", s, err)
		}
		out = append(out, m)
	}
	return out
}
