package faults

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/ecslogfix/ecslogfix/internal/awsarn"
	"github.com/ecslogfix/ecslogfix/internal/awsclient"
	"github.com/ecslogfix/ecslogfix/internal/cloudtrail"
	"github.com/ecslogfix/ecslogfix/internal/config"
	"github.com/ecslogfix/ecslogfix/internal/config/fnenv"
	"github.com/ecslogfix/ecslogfix/internal/detect"
	"github.com/ecslogfix/ecslogfix/internal/execution"
	"github.com/ecslogfix/ecslogfix/internal/lambdarun"
	"github.com/ecslogfix/ecslogfix/internal/policy"
	"github.com/ecslogfix/ecslogfix/internal/remediate"
	"github.com/ecslogfix/ecslogfix/internal/taskdef"
	"github.com/ecslogfix/ecslogfix/internal/workflow"
	"github.com/ecslogfix/ecslogfix/internal/workflow/asl"
	"github.com/ecslogfix/ecslogfix/test/e2e/harness"
	"github.com/ecslogfix/ecslogfix/test/faultproxy"
	"github.com/ecslogfix/ecslogfix/test/localaws"
	"github.com/ecslogfix/ecslogfix/test/reliability/internal/sfnlocal"
	"github.com/ecslogfix/ecslogfix/test/syncbuf"
)

const (
	account  = localaws.Account
	region   = localaws.Region
	prefix   = "ecslogfix"
	fnRemed  = prefix + "-remediate"
	fnNotify = prefix + "-notify"
	smARN    = "arn:aws:states:" + region + ":" + account + ":stateMachine:" + prefix + "-remediation"
)

// remediateRole is the remediate function's role: its registrations'
// CloudTrail events carry it and detect must ignore them.
var remediateRole = awsarn.RoleARN("aws", account, prefix+"-remediate")

// testPolicy is the deployed default (cdk.json: 90 days, a default
// execution role for Fargate task definitions that have none).
func testPolicy() policy.Policy {
	p := policy.Default()
	p.RetentionDays = 90
	p.DefaultExecutionRoleARN = "arn:aws:iam::" + account + ":role/ecslogfix-default-execution"
	return p
}

// worldOptions shape one scenario's pipeline.
type worldOptions struct {
	Rules        []faultproxy.Rule
	Seed         uint64
	RegisterRate float64 // per remediate instance
	RolloutRate  float64 // per remediate instance (default awsclient's)
	ReadRate     float64 // ECS reads per second, per client factory (default awsclient's)
	Remediators  int     // concurrent remediate instances (Lambda concurrency)
	Notifiers    int     // notify emulators
	TimeScale    float64 // Retry delays ×
	Policy       policy.Policy
	ECS          faultproxy.ECSConfig // the proxy's ECS deployment model
	// AttemptTimeout of the remediate instances' calls (default 5 s, see
	// newWorld).
	AttemptTimeout time.Duration
	// Capacity, when set, decides which remediate instance takes an
	// invoke; when none is free the invoke fails at once with Lambda's
	// TooManyRequestsException, as Lambda answers at a function's
	// reserved concurrency, instead of waiting for an instance.
	Capacity capacity
}

// world is the pipeline of one scenario: moto behind the fault proxy; the
// detect and remediate handlers in-process (internal/detect and
// internal/remediate, on the production client factory: SDK retryers and
// register rate limiter); the
// notify function's real bootstrap under the Lambda emulator; and the
// synthesized state machine's definition run by sfnlocal, whose Retry
// delays are scaled down.
type world struct {
	t       *testing.T
	opts    worldOptions
	proxy   *faultproxy.Server
	direct  aws.Config // unfaulted, for the test's own calls
	ecs     *ecs.Client
	sqs     *sqs.Client
	topic   string
	queue   string
	machine *sfnlocal.Machine
	sfn     *localSFN
	detect  *detect.Detector
	remeds  chan *remediate.Remediator
	fleet   []*remediate.Remediator // the same instances, by index (Capacity)
	notify  chan *localaws.Function
	notifs  []*localaws.Function
	logs    *syncbuf.Buffer

	mu  sync.Mutex
	dlq int // events whose detect invocations all failed
}

var (
	buildOnce sync.Once
	buildDir  string
	notifyBin string
	buildErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if buildDir != "" {
		os.RemoveAll(buildDir)
	}
	os.Exit(code)
}

func newWorld(t *testing.T, opts worldOptions) *world {
	t.Helper()
	if opts.RegisterRate == 0 {
		opts.RegisterRate = config.DefaultRegisterRate
	}
	if opts.Remediators == 0 {
		opts.Remediators = 1
	}
	if opts.Notifiers == 0 {
		opts.Notifiers = 1
	}
	if opts.TimeScale == 0 {
		opts.TimeScale = 0.05
	}
	if opts.AttemptTimeout == 0 {
		opts.AttemptTimeout = 5 * time.Second
	}
	if reflect.ValueOf(opts.Policy).IsZero() {
		opts.Policy = testPolicy()
	}
	ctx := context.Background()
	buildOnce.Do(func() {
		root, err := localaws.RepoRoot()
		if err != nil {
			buildErr = err
			return
		}
		if buildDir, buildErr = os.MkdirTemp("", "ecslogfix-reliability-"); buildErr != nil {
			return
		}
		notifyBin, buildErr = localaws.BuildBootstrap(ctx, root, "./functions/notify", runtime.GOARCH, filepath.Join(buildDir, "notify"))
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	env := localaws.Start(t, localaws.Options{Faults: &faultproxy.Config{Seed: opts.Seed, Rules: opts.Rules, ECS: opts.ECS}})
	w := &world{t: t, opts: opts, proxy: env.Proxy, logs: &syncbuf.Buffer{}}
	w.direct = env.Direct()
	faulted := env.Config()
	w.ecs = ecs.NewFromConfig(w.direct)
	w.sqs = sqs.NewFromConfig(w.direct)
	snsClient := sns.NewFromConfig(w.direct)
	topic, err := snsClient.CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String(prefix + "-notifications")})
	if err != nil {
		t.Fatal(err)
	}
	w.topic = aws.ToString(topic.TopicArn)
	if w.queue, err = harness.Subscribe(ctx, snsClient, w.sqs, w.topic, "subscriber"); err != nil {
		t.Fatal(err)
	}

	logger := slog.New(slog.NewJSONHandler(w.logs, nil))

	w.machine, err = sfnlocal.Parse(asl.Definition("aws", fnRemed, fnNotify), opts.Seed+1)
	if err != nil {
		t.Fatal(err)
	}
	w.machine.TimeScale = opts.TimeScale
	w.machine.Invoke = w.invoke
	w.sfn = &localSFN{machine: w.machine, stateMachine: smARN, byName: map[string]*sfnlocal.Execution{}}
	t.Cleanup(func() { w.sfn.wg.Wait() })

	detectClients := awsclient.New(faulted, awsclient.Options{ReadRate: opts.ReadRate})
	w.detect = &detect.Detector{
		Starter: &execution.Starter{SFN: w.sfn, StateMachineARN: smARN, Policy: opts.Policy},
		ECS: func(t workflow.Target) (detect.ECS, error) {
			return detectClients.ECS(awsclient.Scope{Region: t.Region})
		},
		OwnRoleARNs: []string{awsarn.RoleARN("aws", account, prefix+"-detect"), remediateRole},
		Logger:      logger.With("function", "detect"),
	}
	w.remeds = make(chan *remediate.Remediator, opts.Remediators)
	for range opts.Remediators {
		// One instance, one process: its own factory (and register limiter).
		w.fleet = append(w.fleet, &remediate.Remediator{
			Policy: opts.Policy,
			// A call that hangs (applied-hang) is given up after 5 s, not
			// the default 20 s: the scenario's clock, not the product's.
			Clients: remediate.ClientsFrom(awsclient.New(faulted, awsclient.Options{RegisterRate: opts.RegisterRate, RolloutRate: opts.RolloutRate, ReadRate: opts.ReadRate, AttemptTimeout: opts.AttemptTimeout})),
			Logger:  logger.With("function", "remediate"),
		})
		w.remeds <- w.fleet[len(w.fleet)-1]
	}
	w.notify = make(chan *localaws.Function, opts.Notifiers)
	fnEnv := fnenv.NotifyEnv{TopicARN: w.topic}.Environ()
	maps.Copy(fnEnv, env.LambdaEnv())
	for range opts.Notifiers {
		f := localaws.NewFunction(t, localaws.FunctionOptions{Name: fnNotify, Bootstrap: notifyBin, Env: fnEnv, Timeout: 60 * time.Second})
		w.notifs = append(w.notifs, f)
		w.notify <- f
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("handler logs (tail):\n%s", tail(w.logs.String(), 8000))
		}
	})
	return w
}

// invoke is the Lambda service as the state machine sees it.
func (w *world) invoke(ctx context.Context, function string, payload []byte) ([]byte, string, string, error) {
	switch function {
	case fnRemed:
		var req workflow.Request
		if err := json.Unmarshal(payload, &req); err != nil {
			return nil, "UnmarshalTypeError", err.Error(), nil
		}
		var r *remediate.Remediator
		if w.opts.Capacity == nil {
			r = <-w.remeds
			defer func() { w.remeds <- r }()
		} else {
			i, ok := w.opts.Capacity.admit(req.Action)
			if !ok {
				return nil, lambdaTooManyRequests, "Rate Exceeded.", nil
			}
			r = w.fleet[i]
		}
		// As the adapter serves it (functions/remediate).
		out, err := lambdarun.Public(r.Handle)(ctx, req)
		if err != nil {
			return nil, lambdaErrorType(err), err.Error(), nil
		}
		b, err := json.Marshal(out)
		return b, "", "", err
	case fnNotify:
		f := <-w.notify
		defer func() { w.notify <- f }()
		inv, err := f.Invoke(ctx, payload)
		if err != nil {
			return nil, "", "", err
		}
		return inv.Payload, inv.ErrorType, inv.ErrorMessage, nil
	}
	return nil, "", "", fmt.Errorf("no function %s", function)
}

// lambdaTooManyRequests is the error lambda:invoke fails with while the
// function is at its concurrency limit ("Handling errors in Step Functions
// workflows": Lambda.TooManyRequestsException). It is spelled out here
// rather than taken from internal/workflow/asl, so a misnamed retrier fails
// the scenario.
const lambdaTooManyRequests = "Lambda.TooManyRequestsException"

// capacity is Lambda's view of remediate's instances: admit returns the
// instance that takes an invoke of action, or false when every one is busy.
type capacity interface {
	admit(action workflow.Action) (instance int, ok bool)
}

// lambdaErrorType is the errorType the Go Lambda runtime reports: the
// error's type name, without the pointer.
func lambdaErrorType(err error) string {
	t := reflect.TypeOf(err)
	if t.Kind() == reflect.Pointer {
		return t.Elem().Name()
	}
	return t.Name()
}

// deliver hands one event to detect as Lambda's asynchronous invocation
// does: up to three attempts; an event whose attempts all fail goes to the
// dead-letter queue (counted).
func (w *world) deliver(ctx context.Context, event []byte) (execution.Response, error) {
	var lastErr error
	for attempt := range 3 {
		if attempt > 0 {
			time.Sleep(time.Duration(float64(time.Minute) * w.opts.TimeScale / 10)) // Lambda waits ~1 min, then ~2 min; scaled
		}
		resp, err := w.detect.Handle(ctx, event)
		if err == nil {
			return resp, nil
		}
		lastErr = err
	}
	w.mu.Lock()
	w.dlq++
	w.mu.Unlock()
	return execution.Response{}, lastErr
}

// localSFN is Step Functions' StartExecution for detect: names are unique
// (a second start of a name is ExecutionAlreadyExists) and each execution
// runs the machine in its own goroutine.
type localSFN struct {
	machine      *sfnlocal.Machine
	stateMachine string

	mu     sync.Mutex
	byName map[string]*sfnlocal.Execution
	order  []*sfnlocal.Execution
	starts int // StartExecution calls
	wg     sync.WaitGroup
}

func (s *localSFN) StartExecution(ctx context.Context, in *sfn.StartExecutionInput, _ ...func(*sfn.Options)) (*sfn.StartExecutionOutput, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.starts++
	if aws.ToString(in.StateMachineArn) != s.stateMachine {
		return nil, &sfntypes.StateMachineDoesNotExist{Message: aws.String("no state machine " + aws.ToString(in.StateMachineArn))}
	}
	name := aws.ToString(in.Name)
	if len(name) == 0 || len(name) > 80 {
		return nil, &sfntypes.InvalidName{Message: aws.String("invalid name " + name)}
	}
	if _, ok := s.byName[name]; ok {
		return nil, &sfntypes.ExecutionAlreadyExists{Message: aws.String("Execution Already Exists: " + name)}
	}
	arn := strings.Replace(s.stateMachine, ":stateMachine:", ":execution:", 1) + ":" + name
	ex := &sfnlocal.Execution{ARN: arn, Name: name, Input: aws.ToString(in.Input), Status: "RUNNING"}
	s.byName[name] = ex
	s.order = append(s.order, ex)
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		done := s.machine.Run(context.Background(), arn, name, ex.Input)
		s.mu.Lock()
		*ex = *done
		s.mu.Unlock()
	}()
	return &sfn.StartExecutionOutput{ExecutionArn: aws.String(arn), StartDate: aws.Time(time.Now())}, nil
}

// DescribeExecution reports an execution's status, as detect asks before
// it starts the next attempt after a failed one.
func (s *localSFN) DescribeExecution(_ context.Context, in *sfn.DescribeExecutionInput, _ ...func(*sfn.Options)) (*sfn.DescribeExecutionOutput, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	arn := aws.ToString(in.ExecutionArn)
	ex, ok := s.byName[arn[strings.LastIndex(arn, ":")+1:]]
	if !ok || ex.ARN != arn {
		return nil, &sfntypes.ExecutionDoesNotExist{Message: aws.String("no execution " + arn)}
	}
	return &sfn.DescribeExecutionOutput{ExecutionArn: in.ExecutionArn, Status: sfntypes.ExecutionStatus(ex.Status)}, nil
}

// settle waits for every execution and returns them in start order.
func (s *localSFN) settle() []*sfnlocal.Execution {
	s.wg.Wait()
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]*sfnlocal.Execution(nil), s.order...)
}

func (s *localSFN) startCalls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.starts
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n:]
}

// ---- task definitions and events ----

// userRevision registers a user revision of family from a corpus file,
// with release marking its content (an environment variable and the
// image tag of the first container), directly in moto.
func (w *world) userRevision(ctx context.Context, file, family string, release int) (*ecstypes.TaskDefinition, error) {
	root, err := localaws.RepoRoot()
	if err != nil {
		return nil, err
	}
	in, err := harness.LoadTaskDefinition(filepath.Join(root, "testdata", "taskdefs", file), family)
	if err != nil {
		return nil, err
	}
	if len(in.ContainerDefinitions) > 0 {
		c := &in.ContainerDefinitions[0]
		c.Environment = append(c.Environment, ecstypes.KeyValuePair{Name: aws.String("RELEASE"), Value: aws.String(fmt.Sprint(release))})
		img := aws.ToString(c.Image)
		if i := strings.LastIndex(img, ":"); i > strings.LastIndex(img, "/") {
			img = img[:i]
		}
		c.Image = aws.String(fmt.Sprintf("%s:r%d", img, release))
	}
	out, err := w.ecs.RegisterTaskDefinition(ctx, in)
	if err != nil {
		return nil, fmt.Errorf("register %s (%s): %w", family, file, err)
	}
	return out.TaskDefinition, nil
}

// eventFor renders the EventBridge event CloudTrail delivers for a
// registration of td by identity.
func eventFor(td *ecstypes.TaskDefinition, eventID string, identity map[string]any) []byte {
	detail := harness.RegisterEventDetail(harness.RegisterCall{
		EventID: eventID, TaskDefinitionARN: aws.ToString(td.TaskDefinitionArn), Family: aws.ToString(td.Family),
		Revision: td.Revision, Identity: identity, Request: harness.RequestParameters(td),
	})
	return envelope(cloudtrail.Source, cloudtrail.DetailType, account, region, detail)
}

func envelope(source, detailType, acct, reg string, detail any) []byte {
	b, _ := json.Marshal(map[string]any{
		"version": "0", "id": "6a7e8feb-b491-4cf7-a9f1-bf3703467718", "detail-type": detailType, "source": source,
		"account": acct, "time": time.Now().UTC().Format(time.RFC3339), "region": reg, "resources": []string{}, "detail": detail,
	})
	return b
}

var eventSeq struct {
	sync.Mutex
	n int
}

func nextEventID() string {
	eventSeq.Lock()
	defer eventSeq.Unlock()
	eventSeq.n++
	return fmt.Sprintf("7e1ab111-0000-4000-8000-%012d", eventSeq.n)
}

// ---- reading the settled state ----

// revision is one described revision with its tags.
type revision struct {
	td     *ecstypes.TaskDefinition
	tags   []ecstypes.Tag
	source int32 // ecslogfix:source-revision's revision, 0 for user revisions
}

// family lists a family's ACTIVE revisions, ascending, described with tags.
func (w *world) family(ctx context.Context, family string) ([]revision, error) {
	out, err := w.ecs.ListTaskDefinitions(ctx, &ecs.ListTaskDefinitionsInput{FamilyPrefix: aws.String(family), Status: ecstypes.TaskDefinitionStatusActive})
	if err != nil {
		return nil, err
	}
	var revs []revision
	for _, a := range out.TaskDefinitionArns {
		if !strings.Contains(a, ":task-definition/"+family+":") {
			continue
		}
		d, err := w.ecs.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String(a), Include: []ecstypes.TaskDefinitionField{ecstypes.TaskDefinitionFieldTags}})
		if err != nil {
			return nil, err
		}
		r := revision{td: d.TaskDefinition, tags: d.Tags}
		if n, ok := taskdef.SourceRevision(d.Tags); ok {
			r.source = n
		}
		revs = append(revs, r)
	}
	sort.Slice(revs, func(i, j int) bool { return revs[i].td.Revision < revs[j].td.Revision })
	return revs, nil
}

// notification is one SQS-delivered SNS message: its structured document.
type notification struct {
	outcome  string
	document map[string]any
	raw      string
	message  string // the SNS message as published (a copy's is the same)
}

func (w *world) notifications(ctx context.Context) ([]notification, error) {
	bodies, err := harness.Drain(ctx, w.sqs, w.queue)
	if err != nil {
		return nil, err
	}
	var out []notification
	for _, b := range bodies {
		e, err := harness.ParseSNSEnvelope(b)
		if err != nil {
			return nil, err
		}
		n := notification{outcome: e.MessageAttributes["outcome"].Value, raw: b, message: e.Message}
		if err := json.Unmarshal([]byte(e.Message), &n.document); err != nil {
			return nil, fmt.Errorf("the sqs message is not the structured document: %w", err)
		}
		out = append(out, n)
	}
	return out, nil
}

// lossless reports the differences between a source and its remediation
// beyond logging and our tags (aws: tags dropped as ECS does).
func lossless(src, fixed revision) []string {
	before, err := harness.Comparable(src.td, src.tags, "aws:")
	if err != nil {
		return []string{err.Error()}
	}
	after, err := harness.Comparable(fixed.td, fixed.tags, "aws:", "ecslogfix:")
	if err != nil {
		return []string{err.Error()}
	}
	var out []string
	for _, d := range harness.Diff(before, after) {
		if strings.HasPrefix(d.Path, "ContainerDefinitions[") && strings.Contains(d.Path, ".LogConfiguration") {
			continue
		}
		// The default execution role is the policy's addition to Fargate
		// task definitions that have none.
		if d.Path == "ExecutionRoleArn" && d.Old == nil {
			continue
		}
		out = append(out, d.String())
	}
	return out
}

// registerRateOK checks the RegisterTaskDefinition calls that reached the
// proxy (faulted or not) against the remediate instances' budget.
func (w *world) registerRateOK(t *testing.T) {
	t.Helper()
	b := reliabilityBudget(w.opts)
	if err := checkRate(w.proxy, b); err != nil {
		t.Errorf("RegisterTaskDefinition rate over budget: %v", err)
	}
}

func jsonUnmarshal(s string, v any) error { return json.Unmarshal([]byte(s), v) }

// noSecrets checks that no environment value of the corpus (td37's are
// secret-looking) reached a notification, a handler's log line or the
// notify function's output, failure notifications included.
func (w *world) noSecrets(t *testing.T, s settled) {
	t.Helper()
	root, err := localaws.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	var secrets []string
	for _, f := range corpus {
		in, err := harness.LoadTaskDefinition(filepath.Join(root, "testdata", "taskdefs", f), "x")
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range in.ContainerDefinitions {
			for _, kv := range c.Environment {
				if v := aws.ToString(kv.Value); len(v) >= 8 {
					secrets = append(secrets, v)
				}
			}
		}
	}
	texts := map[string]string{"handler logs": w.logs.String()}
	for i, n := range s.notifications {
		texts[fmt.Sprintf("notification %d (%s)", i, n.outcome)] = n.raw
	}
	for i, f := range w.notifs {
		texts[fmt.Sprintf("notify %d output", i)] = f.Logs()
	}
	for where, text := range texts {
		for _, sec := range secrets {
			if strings.Contains(text, sec) {
				t.Errorf("PRIVACY: %q appears in %s", sec, where)
			}
		}
	}
	if len(secrets) < 5 {
		t.Errorf("only %d environment values to look for: the corpus changed?", len(secrets))
	}
}
