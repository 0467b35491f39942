// Package awsfake holds in-memory fakes of the AWS APIs the functions use
// (ECS task definitions, CloudWatch Logs groups, Step Functions executions,
// Lambda self-invocation) and loaders for the shared test corpus. Tests of
// several packages use them; no product code imports this package.
package awsfake

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
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

// The account and region the fakes answer for by default.
const (
	Account = "111122223333"
	Region  = "us-east-1"
)

// ECS is an in-memory ECS with task definition families, revisions,
// status and tags. It records every call.
type ECS struct {
	recorder
	Account  string
	Region   string
	Families map[string][]*Revision // index = revision-1; nil = never registered
	// LogDriverMode is the account's defaultLogDriverMode setting ("" unset).
	LogDriverMode string
}

// Revision is one stored revision and its tags.
type Revision struct {
	TD   types.TaskDefinition
	Tags []types.Tag
}

// NewECS returns an empty ECS answering for Account and Region.
func NewECS() *ECS {
	return &ECS{recorder: recorder{Errs: map[string][]error{}}, Account: Account, Region: Region, Families: map[string][]*Revision{}}
}

// ARN is the ARN of family:rev in this fake.
func (f *ECS) ARN(family string, rev int32) string {
	return fmt.Sprintf("arn:aws:ecs:%s:%s:task-definition/%s:%d", f.Region, f.Account, family, rev)
}

// put stores td (a copy) at its own revision, ACTIVE unless it says otherwise.
func (f *ECS) Put(td *types.TaskDefinition, tags []types.Tag) {
	f.mu.Lock()
	defer f.mu.Unlock()
	c := CloneTD(td)
	family := aws.ToString(c.Family)
	if c.Status == "" {
		c.Status = types.TaskDefinitionStatusActive
	}
	c.TaskDefinitionArn = aws.String(f.ARN(family, c.Revision))
	revs := f.Families[family]
	for int32(len(revs)) < c.Revision {
		revs = append(revs, nil)
	}
	revs[c.Revision-1] = &Revision{TD: *c, Tags: append([]types.Tag(nil), tags...)}
	f.Families[family] = revs
}

func (f *ECS) SetStatus(family string, rev int32, s types.TaskDefinitionStatus) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.Families[family][rev-1].TD.Status = s
}

// recorder is what the ECS, Logs and S3 fakes share: their lock, the
// calls they were made, in order, and the errors scripted for the next
// calls of an operation.
type recorder struct {
	mu    sync.Mutex
	Calls []string
	// Errs, keyed by operation name, are returned (and consumed) in order.
	Errs map[string][]error
}

// FailNext makes the next call of op return err.
func (f *recorder) FailNext(op string, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.Errs[op] = append(f.Errs[op], err)
}

// Count is how many times op was called.
func (f *recorder) Count(op string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, c := range f.Calls {
		if c == op {
			n++
		}
	}
	return n
}

// record notes a call of op and returns the error scripted for it, if
// any; the caller holds mu.
func (f *recorder) record(op string) error {
	f.Calls = append(f.Calls, op)
	if q := f.Errs[op]; len(q) > 0 {
		f.Errs[op] = q[1:]
		return q[0]
	}
	return nil
}

func (f *ECS) Latest(family string) *Revision {
	revs := f.Families[family]
	for i := len(revs) - 1; i >= 0; i-- {
		if revs[i] != nil && revs[i].TD.Status == types.TaskDefinitionStatusActive {
			return revs[i]
		}
	}
	return nil
}

// NotFound is ECS's answer to a revision it cannot describe.
func NotFound() error {
	return &types.ClientException{Message: aws.String("Unable to describe task definition.")}
}

func (f *ECS) DescribeTaskDefinition(_ context.Context, in *ecs.DescribeTaskDefinitionInput, _ ...func(*ecs.Options)) (*ecs.DescribeTaskDefinitionOutput, error) {
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
	var r *Revision
	if hasRev {
		n, err := strconv.Atoi(revS)
		revs := f.Families[family]
		if err != nil || n < 1 || n > len(revs) || revs[n-1] == nil {
			return nil, NotFound()
		}
		r = revs[n-1]
	} else if r = f.Latest(family); r == nil {
		return nil, NotFound()
	}
	out := &ecs.DescribeTaskDefinitionOutput{TaskDefinition: CloneTD(&r.TD)}
	if len(in.Include) > 0 {
		out.Tags = append([]types.Tag(nil), r.Tags...)
	}
	return out, nil
}

func (f *ECS) RegisterTaskDefinition(_ context.Context, in *ecs.RegisterTaskDefinitionInput, _ ...func(*ecs.Options)) (*ecs.RegisterTaskDefinitionOutput, error) {
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
	td.Revision = int32(len(f.Families[family]) + 1)
	td.Status = types.TaskDefinitionStatusActive
	td.TaskDefinitionArn = aws.String(f.ARN(family, td.Revision))
	f.Families[family] = append(f.Families[family], &Revision{TD: td, Tags: in.Tags})
	return &ecs.RegisterTaskDefinitionOutput{TaskDefinition: CloneTD(&td), Tags: in.Tags}, nil
}

// ListAccountSettings answers defaultLogDriverMode with LogDriverMode
// (no setting when empty), as effective settings do.
func (f *ECS) ListAccountSettings(_ context.Context, in *ecs.ListAccountSettingsInput, _ ...func(*ecs.Options)) (*ecs.ListAccountSettingsOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.record("ListAccountSettings"); err != nil {
		return nil, err
	}
	out := &ecs.ListAccountSettingsOutput{}
	if in.Name == types.SettingNameDefaultLogDriverMode && f.LogDriverMode != "" {
		out.Settings = []types.Setting{{Name: in.Name, Value: aws.String(f.LogDriverMode), Type: types.SettingTypeUser}}
	}
	return out, nil
}

func (f *ECS) DeregisterTaskDefinition(_ context.Context, in *ecs.DeregisterTaskDefinitionInput, _ ...func(*ecs.Options)) (*ecs.DeregisterTaskDefinitionOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.record("DeregisterTaskDefinition"); err != nil {
		return nil, err
	}
	ref := aws.ToString(in.TaskDefinition)
	ref = ref[strings.Index(ref, "task-definition/")+len("task-definition/"):]
	family, revS, _ := strings.Cut(ref, ":")
	n, err := strconv.Atoi(revS)
	revs := f.Families[family]
	if err != nil || n < 1 || n > len(revs) || revs[n-1] == nil {
		return nil, NotFound()
	}
	revs[n-1].TD.Status = types.TaskDefinitionStatusInactive
	return &ecs.DeregisterTaskDefinitionOutput{TaskDefinition: CloneTD(&revs[n-1].TD)}, nil
}

func (f *ECS) ListTaskDefinitionFamilies(_ context.Context, in *ecs.ListTaskDefinitionFamiliesInput, _ ...func(*ecs.Options)) (*ecs.ListTaskDefinitionFamiliesOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.record("ListTaskDefinitionFamilies"); err != nil {
		return nil, err
	}
	var names []string
	for fam := range f.Families {
		if strings.HasPrefix(fam, aws.ToString(in.FamilyPrefix)) && f.Latest(fam) != nil {
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

// CloneTD deep-copies td.
func CloneTD(td *types.TaskDefinition) *types.TaskDefinition {
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

// Logs is an in-memory CloudWatch Logs.
type Logs struct {
	recorder
	Groups map[string]*logtypes.LogGroup
	Tags   map[string]map[string]string
}

// NewLogs returns an empty Logs.
func NewLogs() *Logs {
	return &Logs{recorder: recorder{Errs: map[string][]error{}}, Groups: map[string]*logtypes.LogGroup{}, Tags: map[string]map[string]string{}}
}

func (f *Logs) CreateLogGroup(_ context.Context, in *cloudwatchlogs.CreateLogGroupInput, _ ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.CreateLogGroupOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.record("CreateLogGroup"); err != nil {
		return nil, err
	}
	name := aws.ToString(in.LogGroupName)
	if _, ok := f.Groups[name]; ok {
		return nil, &logtypes.ResourceAlreadyExistsException{Message: aws.String("The specified log group already exists")}
	}
	class := in.LogGroupClass
	if class == "" {
		class = logtypes.LogGroupClassStandard
	}
	f.Groups[name] = &logtypes.LogGroup{LogGroupName: in.LogGroupName, KmsKeyId: in.KmsKeyId, LogGroupClass: class, DeletionProtectionEnabled: in.DeletionProtectionEnabled,
		LogGroupArn: aws.String("arn:aws:logs:us-east-1:111122223333:log-group:" + name)}
	f.Tags[name] = in.Tags
	return &cloudwatchlogs.CreateLogGroupOutput{}, nil
}

func (f *Logs) PutRetentionPolicy(_ context.Context, in *cloudwatchlogs.PutRetentionPolicyInput, _ ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.PutRetentionPolicyOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.record("PutRetentionPolicy"); err != nil {
		return nil, err
	}
	g, ok := f.Groups[aws.ToString(in.LogGroupName)]
	if !ok {
		return nil, &logtypes.ResourceNotFoundException{Message: aws.String("no such group")}
	}
	g.RetentionInDays = in.RetentionInDays
	return &cloudwatchlogs.PutRetentionPolicyOutput{}, nil
}

func (f *Logs) DescribeLogGroups(_ context.Context, in *cloudwatchlogs.DescribeLogGroupsInput, _ ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.DescribeLogGroupsOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.record("DescribeLogGroups"); err != nil {
		return nil, err
	}
	var names []string
	for n := range f.Groups {
		if strings.HasPrefix(n, aws.ToString(in.LogGroupNamePrefix)) {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	out := &cloudwatchlogs.DescribeLogGroupsOutput{}
	for _, n := range names {
		out.LogGroups = append(out.LogGroups, *f.Groups[n])
	}
	return out, nil
}

func (f *Logs) ListTagsForResource(_ context.Context, in *cloudwatchlogs.ListTagsForResourceInput, _ ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.ListTagsForResourceOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.record("ListTagsForResource"); err != nil {
		return nil, err
	}
	arn := aws.ToString(in.ResourceArn)
	name := arn[strings.Index(arn, ":log-group:")+len(":log-group:"):]
	return &cloudwatchlogs.ListTagsForResourceOutput{Tags: f.Tags[name]}, nil
}

// SFN records StartExecution and refuses a name it has seen; its
// executions are RUNNING unless Status says otherwise.
type SFN struct {
	mu     sync.Mutex
	Inputs map[string]string
	Order  []string
	Errs   []error
	Status map[string]sfntypes.ExecutionStatus // by name
}

// NewSFN returns an SFN without executions.
func NewSFN() *SFN {
	return &SFN{Inputs: map[string]string{}, Status: map[string]sfntypes.ExecutionStatus{}}
}

func (f *SFN) DescribeExecution(_ context.Context, in *sfn.DescribeExecutionInput, _ ...func(*sfn.Options)) (*sfn.DescribeExecutionOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	arn := aws.ToString(in.ExecutionArn)
	name := arn[strings.LastIndex(arn, ":")+1:]
	if _, ok := f.Inputs[name]; !ok || !strings.Contains(arn, ":execution:") {
		return nil, &sfntypes.ExecutionDoesNotExist{Message: aws.String(arn)}
	}
	st, ok := f.Status[name]
	if !ok {
		st = sfntypes.ExecutionStatusRunning
	}
	return &sfn.DescribeExecutionOutput{ExecutionArn: in.ExecutionArn, Status: st}, nil
}

func (f *SFN) StartExecution(_ context.Context, in *sfn.StartExecutionInput, _ ...func(*sfn.Options)) (*sfn.StartExecutionOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.Errs) > 0 {
		err := f.Errs[0]
		f.Errs = f.Errs[1:]
		return nil, err
	}
	name := aws.ToString(in.Name)
	if _, ok := f.Inputs[name]; ok {
		return nil, &sfntypes.ExecutionAlreadyExists{Message: aws.String("Execution Already Exists: " + name)}
	}
	f.Inputs[name] = aws.ToString(in.Input)
	f.Order = append(f.Order, name)
	return &sfn.StartExecutionOutput{ExecutionArn: aws.String("arn:aws:states:us-east-1:111122223333:execution:sm:" + name)}, nil
}

// Invoker captures asynchronous self-invocations.
type Invoker struct {
	mu       sync.Mutex
	Payloads [][]byte
	Inputs   []*lambda.InvokeInput
}

func (f *Invoker) Invoke(_ context.Context, in *lambda.InvokeInput, _ ...func(*lambda.Options)) (*lambda.InvokeOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.Inputs = append(f.Inputs, in)
	f.Payloads = append(f.Payloads, in.Payload)
	return &lambda.InvokeOutput{StatusCode: 202}, nil
}

// TaskDefinition reads a describe-task-definition --include TAGS fixture.
func TaskDefinition(t testing.TB, name string) (*types.TaskDefinition, []types.Tag) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root(t), "testdata", "taskdefs", name))
	if err != nil {
		t.Fatal(err)
	}
	td, tags, err := taskdef.DecodeDescribeOutput(b)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return td, tags
}

func Event(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root(t), "testdata", "events", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// EditEvent decodes an event, lets fn change it, and encodes it again.
func EditEvent(t testing.TB, raw []byte, fn func(e map[string]any)) []byte {
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

// WithRevision returns a copy of td at family:rev.
func WithRevision(td *types.TaskDefinition, family string, rev int32) *types.TaskDefinition {
	c := CloneTD(td)
	c.Family = aws.String(family)
	c.Revision = rev
	return c
}

func Tag(k, v string) types.Tag { return types.Tag{Key: aws.String(k), Value: aws.String(v)} }

// LogBuffer is a JSON slog logger whose output the test can read.
type LogBuffer struct{ syncbuf.Buffer }

// Logger logs JSON into the buffer.
func (l *LogBuffer) Logger() *slog.Logger { return slog.New(slog.NewJSONHandler(l, nil)) }

// Lines decodes the JSON lines written so far.
func (l *LogBuffer) Lines(t testing.TB) []map[string]any {
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

// Event reads a CloudTrail event fixture from the module's testdata/events.
// root is the module root (where go.mod is), found from the working
// directory.
func root(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the working directory")
		}
		dir = parent
	}
}

// TagValue returns the value of key in tags, and whether it is present.
func TagValue(tags []types.Tag, key string) (string, bool) {
	for _, t := range tags {
		if aws.ToString(t.Key) == key {
			return aws.ToString(t.Value), true
		}
	}
	return "", false
}

// ErrorType is what the Lambda runtime reports as errorType for err: the
// name of its (outermost) type.
func ErrorType(err error) string {
	if err == nil {
		return "<nil>"
	}
	tp := reflect.TypeOf(err)
	if tp.Kind() == reflect.Pointer {
		tp = tp.Elem()
	}
	return tp.Name()
}

// CheckEMF checks every line of out is an embedded-metric-format document
// in namespace, each metric and dimension present.
func CheckEMF(t testing.TB, out, namespace string) {
	t.Helper()
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		if line == "" {
			continue
		}
		var doc struct {
			AWS struct {
				Timestamp         int64 `json:"Timestamp"`
				CloudWatchMetrics []struct {
					Namespace  string     `json:"Namespace"`
					Dimensions [][]string `json:"Dimensions"`
					Metrics    []struct{ Name, Unit string }
				} `json:"CloudWatchMetrics"`
			} `json:"_aws"`
		}
		if err := json.Unmarshal([]byte(line), &doc); err != nil {
			t.Fatalf("EMF line %q: %v", line, err)
		}
		if len(doc.AWS.CloudWatchMetrics) != 1 || doc.AWS.CloudWatchMetrics[0].Namespace != namespace || doc.AWS.Timestamp == 0 {
			t.Fatalf("EMF line %s", line)
		}
		var m map[string]any
		_ = json.Unmarshal([]byte(line), &m)
		for _, mt := range doc.AWS.CloudWatchMetrics[0].Metrics {
			if _, ok := m[mt.Name]; !ok || mt.Unit != "Count" {
				t.Fatalf("EMF metric %s missing: %s", mt.Name, line)
			}
		}
		for _, dims := range doc.AWS.CloudWatchMetrics[0].Dimensions {
			for _, dim := range dims {
				if _, ok := m[dim]; !ok {
					t.Fatalf("EMF dimension %s missing: %s", dim, line)
				}
			}
		}
	}
}

// secretMarkers are what the corpus's container environment, secrets,
// repository credentials and CloudTrail request bodies contain: none may
// reach a log line, an execution input or a result.
var secretMarkers = []string{"SPRING_PROFILES_ACTIVE", "SERVER_PORT", "requestParameters", "responseElements",
	"containerDefinitions", "AKIA", "environment", "valueFrom", "secretsmanager", "repositoryCredentials"}

// CheckNoSecrets fails t when s carries any of the corpus's secret markers.
func CheckNoSecrets(t testing.TB, s string) {
	t.Helper()
	for _, bad := range secretMarkers {
		if strings.Contains(s, bad) {
			t.Errorf("output carries %q: %s", bad, s)
		}
	}
}

// CheckNoSecretsJSON is CheckNoSecrets on v's JSON.
func CheckNoSecretsJSON(t testing.TB, v any) {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	CheckNoSecrets(t, string(b))
}
