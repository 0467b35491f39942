package asl

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"

	"github.com/ecslogfix/ecslogfix/internal/plan"
	"github.com/ecslogfix/ecslogfix/internal/policy"
	"github.com/ecslogfix/ecslogfix/internal/policy/awslogs"
	"github.com/ecslogfix/ecslogfix/internal/policy/reason"
	"github.com/ecslogfix/ecslogfix/internal/workflow"
)

// The contract test: walk the definition as Step Functions would for each
// path, resolving every Parameters path against the state document built
// from our own types, and decode what each Task receives strictly into the
// type its function decodes. A renamed field, a path that points nowhere
// or a state that adds a key no function knows fails here.

const execID = "arn:aws:states:us-east-1:111122223333:execution:ecslogfix-remediation:orders-3-abc"

// resolve evaluates the JSONPath subset the definition uses: "$", "$.a.b"
// and "$$.Execution.Id".
func resolve(t *testing.T, doc any, path string) any {
	t.Helper()
	return resolveWith(t, doc, nil, path)
}

// resolveWith is resolve with more context object paths ("$$.…") and their
// values.
func resolveWith(t *testing.T, doc any, context map[string]any, path string) any {
	t.Helper()
	if path == PathExecutionID {
		return execID
	}
	if v, ok := context[path]; ok {
		return v
	}
	if !strings.HasPrefix(path, "$") {
		t.Fatalf("path %q is not a JSONPath", path)
	}
	cur := doc
	for _, key := range strings.Split(strings.TrimPrefix(path, "$"), ".")[1:] {
		m, ok := cur.(map[string]any)
		if !ok {
			t.Fatalf("path %s: %T is not an object", path, cur)
		}
		if cur, ok = m[key]; !ok {
			t.Fatalf("path %s: no %q in the state (a missing path is States.Runtime, which no Catch catches)", path, key)
		}
	}
	return cur
}

// parameters renders a Parameters/ResultSelector template against doc.
func parameters(t *testing.T, tmpl map[string]any, doc any) map[string]any {
	t.Helper()
	return parametersWith(t, tmpl, doc, nil)
}

// parametersWith is parameters with more context object values (see
// resolveWith).
func parametersWith(t *testing.T, tmpl map[string]any, doc any, context map[string]any) map[string]any {
	t.Helper()
	out := map[string]any{}
	for k, v := range tmpl {
		switch {
		case strings.HasSuffix(k, ".$"):
			out[strings.TrimSuffix(k, ".$")] = resolveWith(t, doc, context, v.(string))
		default:
			if m, ok := v.(map[string]any); ok {
				out[k] = parametersWith(t, m, doc, context)
			} else {
				out[k] = v
			}
		}
	}
	return out
}

// setPath applies a ResultPath ("$.x" or "$.x.y...") to doc. Every
// object on the way must exist: the definition only writes below what an
// earlier state wrote.
func setPath(t *testing.T, doc map[string]any, path string, v any) {
	t.Helper()
	rest, ok := strings.CutPrefix(path, "$.")
	if !ok {
		t.Fatalf("ResultPath %q is not a JSONPath below $", path)
	}
	keys := strings.Split(rest, ".")
	cur := doc
	for _, k := range keys[:len(keys)-1] {
		next, ok := cur[k].(map[string]any)
		if !ok {
			t.Fatalf("ResultPath %s: no object %q in the state", path, k)
		}
		cur = next
	}
	cur[keys[len(keys)-1]] = v
}

func toDoc(t *testing.T, v any) map[string]any {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// decodeStrict decodes v into out as the functions do (unknown fields are
// an error).
func decodeStrict(t *testing.T, v any, out any) {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	if err := workflow.Decode(bytes.NewReader(b), out); err != nil {
		t.Fatalf("decode %T strictly: %v\n%s", out, err, b)
	}
}

type machine struct {
	StartAt string
	States  map[string]map[string]any
}

func load(t *testing.T) machine {
	t.Helper()
	var m machine
	if err := json.Unmarshal([]byte(Definition("aws", "fn-remediate", "fn-notify")), &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func sampleInput(enf policy.Enforcement) workflow.Input {
	return workflow.Input{
		Version: workflow.Version, Trigger: workflow.TriggerEvent, EventID: "e-1",
		Target:            workflow.Target{Account: "111122223333", Region: "us-east-1"},
		TaskDefinitionARN: "arn:aws:ecs:us-east-1:111122223333:task-definition/orders:3",
		Family:            "orders", Revision: 3, Enforcement: enf,
		Reasons:   []workflow.ContainerReasons{{Container: "app", Reasons: []reason.Code{reason.MissingLogConfiguration}}},
		LogGroups: []plan.LogGroup{{Name: "/ecs/orders", Region: "us-east-1", RetentionDays: 365}},
		Principal: &workflow.Principal{Type: "IAMUser", ARN: "arn:aws:iam::111122223333:user/dev"},
		Origin:    &workflow.Origin{Tool: "cli"},
	}
}

// step runs one Task state: it returns the function's payload.
func step(t *testing.T, m machine, state string, doc map[string]any) map[string]any {
	t.Helper()
	s := m.States[state]
	if s["Type"] != "Task" {
		t.Fatalf("%s is %v, not a Task", state, s["Type"])
	}
	params := parameters(t, s["Parameters"].(map[string]any), doc)
	return params["Payload"].(map[string]any)
}

// result applies a Task's ResultSelector and ResultPath to doc.
func result(t *testing.T, m machine, state string, doc map[string]any, fnResult any) {
	t.Helper()
	s := m.States[state]
	rp, ok := s["ResultPath"].(string)
	if !ok {
		return // ResultPath null: the state document passes through
	}
	v := any(map[string]any{"Payload": toDoc(t, fnResult)})
	if sel, ok := s["ResultSelector"].(map[string]any); ok {
		v = parameters(t, sel, v)
	}
	setPath(t, doc, rp, v)
}

func TestContractEnforcePath(t *testing.T) {
	m := load(t)
	in := sampleInput(policy.Enforce)
	doc := toDoc(t, in)
	if next := choose(t, m, workflow.StateCheckMode, doc); next != workflow.StateEnsureLogGroups {
		t.Fatalf("enforce goes to %s", next)
	}

	var ensureReq workflow.Request
	decodeStrict(t, step(t, m, workflow.StateEnsureLogGroups, doc), &ensureReq)
	if ensureReq.Action != workflow.ActionEnsureLogGroup || !reflect.DeepEqual(ensureReq.Input.Input, in) || ensureReq.Input.Ensured != nil {
		t.Fatalf("EnsureLogGroups received %+v", ensureReq)
	}
	ensured := workflow.Ensured{LogGroups: []workflow.LogGroupResult{{Name: "/ecs/orders", Region: "us-east-1", Created: true, RetentionDays: 365}}}
	result(t, m, workflow.StateEnsureLogGroups, doc, ensured)

	var registerReq workflow.Request
	decodeStrict(t, step(t, m, workflow.StateRegister, doc), &registerReq)
	if registerReq.Action != workflow.ActionRegister || !reflect.DeepEqual(registerReq.Input.Input, in) ||
		registerReq.Input.Ensured == nil || !reflect.DeepEqual(*registerReq.Input.Ensured, ensured) {
		t.Fatalf("Register received %+v", registerReq)
	}
	res := workflow.Result{Version: workflow.Version, Outcome: workflow.OutcomeRemediated, Target: in.Target, Family: "orders",
		SourceARN: in.TaskDefinitionARN, NewARN: "arn:aws:ecs:us-east-1:111122223333:task-definition/orders:4", LogGroups: ensured.LogGroups}
	result(t, m, workflow.StateRegister, doc, res)
	if next := m.States[workflow.StateRegister]["Next"]; next != workflow.StateRolloutChoice {
		t.Fatalf("Register goes to %v", next)
	}
	if next := choose(t, m, workflow.StateRolloutChoice, doc); next != workflow.StateRollout {
		t.Fatalf("a registered revision goes to %s, want %s", next, workflow.StateRollout)
	}
	res = rolloutLoop(t, m, doc, in, res)

	var notifyReq workflow.NotifyRequest
	decodeStrict(t, step(t, m, workflow.StateNotify, doc), &notifyReq)
	if notifyReq.Failure != nil || notifyReq.Result == nil || !reflect.DeepEqual(*notifyReq.Result, res) || notifyReq.ExecutionARN != execID {
		t.Fatalf("Notify received %+v", notifyReq)
	}
	if m.States[workflow.StateNotify]["Next"] != workflow.StateDone || m.States[workflow.StateDone]["Type"] != "Succeed" {
		t.Fatal("Notify must end the execution successfully")
	}
}

// The LOG_GROUP_CREATED path: EnsureLogGroups creates the groups of a
// source compliant but for them (the plan's groups in the input carry
// what detect read), Register receives what it created and decides the
// outcome, Notify receives that result whole, with its groups.
func TestContractLogGroupCreatedPath(t *testing.T) {
	m := load(t)
	in := sampleInput(policy.Enforce)
	in.Reasons = []workflow.ContainerReasons{{Container: "app", Reasons: []reason.Code{reason.LogGroupMissing}}}
	in.LogGroups = []plan.LogGroup{{Name: "/ecs/orders", Region: "us-east-1", RetentionDays: 365, DeletionProtection: true,
		Observed: &awslogs.GroupFact{}, Create: true, Tags: map[string]string{"ecslogfix:managed": "true"}}}
	doc := toDoc(t, in)
	if next := choose(t, m, workflow.StateCheckMode, doc); next != workflow.StateEnsureLogGroups {
		t.Fatalf("enforce goes to %s", next)
	}
	var ensureReq workflow.Request
	decodeStrict(t, step(t, m, workflow.StateEnsureLogGroups, doc), &ensureReq)
	if !reflect.DeepEqual(ensureReq.Input.Input, in) {
		t.Fatalf("EnsureLogGroups received %+v", ensureReq.Input.Input)
	}
	ensured := workflow.Ensured{LogGroups: []workflow.LogGroupResult{{Name: "/ecs/orders", Region: "us-east-1", Created: true, RetentionDays: 365, Class: "STANDARD", DeletionProtectionEnabled: true}}}
	result(t, m, workflow.StateEnsureLogGroups, doc, ensured)
	var registerReq workflow.Request
	decodeStrict(t, step(t, m, workflow.StateRegister, doc), &registerReq)
	if registerReq.Input.Ensured == nil || !reflect.DeepEqual(*registerReq.Input.Ensured, ensured) {
		t.Fatalf("Register received %+v", registerReq.Input.Ensured)
	}
	res := workflow.Result{Version: workflow.Version, Outcome: workflow.OutcomeLogGroupCreated, Target: in.Target, Family: "orders", SourceARN: in.TaskDefinitionARN,
		Detail: "created /ecs/orders (us-east-1)", LogGroups: ensured.LogGroups}
	result(t, m, workflow.StateRegister, doc, res)
	var notifyReq workflow.NotifyRequest
	decodeStrict(t, step(t, m, workflow.StateNotify, doc), &notifyReq)
	if notifyReq.Result == nil || !reflect.DeepEqual(*notifyReq.Result, res) || notifyReq.Result.NewARN != "" {
		t.Fatalf("Notify received %+v", notifyReq.Result)
	}
}

// An execution that will not register (here: superseded when re-read)
// gets an empty Ensured from EnsureLogGroups — nothing created — and
// Register, reading again, reports why.
func TestContractNothingEnsuredForAnExecutionThatWillNotRegister(t *testing.T) {
	m := load(t)
	doc := toDoc(t, sampleInput(policy.Enforce))
	result(t, m, workflow.StateEnsureLogGroups, doc, workflow.Ensured{LogGroups: []workflow.LogGroupResult{}})
	var req workflow.Request
	decodeStrict(t, step(t, m, workflow.StateRegister, doc), &req)
	if req.Input.Ensured == nil || req.Input.Ensured.LogGroups == nil || len(req.Input.Ensured.LogGroups) != 0 {
		t.Fatalf("Register received %+v", req.Input.Ensured)
	}
}

// rolloutLoop runs Rollout, one turn of the watch loop and Watch again
// until settled, checking what each Task receives; it returns the result
// Notify must receive.
func rolloutLoop(t *testing.T, m machine, doc map[string]any, in workflow.Input, registered workflow.Result) workflow.Result {
	t.Helper()
	var req workflow.Request
	decodeStrict(t, step(t, m, workflow.StateRollout, doc), &req)
	if req.Action != workflow.ActionRollout || !reflect.DeepEqual(req.Input.Input, in) || req.Input.Registered == nil ||
		!reflect.DeepEqual(req.Input.Registered.Result, registered) {
		t.Fatalf("Rollout received %+v", req)
	}
	svc := workflow.ConsumerRollout{
		Consumer: workflow.Consumer{Kind: workflow.KindService, ARN: "arn:aws:ecs:us-east-1:111122223333:service/prod/orders", Name: "orders",
			Cluster: "arn:aws:ecs:us-east-1:111122223333:cluster/prod", Controller: workflow.ControllerECS, TaskDefinition: in.TaskDefinitionARN, Revision: 3},
		Status: workflow.ConsumerDeploying, Before: in.TaskDefinitionARN, After: registered.NewARN, Deployment: "ecs-svc/1",
	}
	moving := registered
	moving.Rollout = &workflow.Rollout{Mode: policy.RolloutServices, Consumers: []workflow.ConsumerRollout{svc}, WaitSeconds: 30, Deadline: "2026-12-01T10:30:00Z"}
	result(t, m, workflow.StateRollout, doc, moving)
	if m.States[workflow.StateRollout]["Next"] != workflow.StateRolloutSettled {
		t.Fatalf("Rollout goes to %v", m.States[workflow.StateRollout]["Next"])
	}
	if next := choose(t, m, workflow.StateRolloutSettled, doc); next != workflow.StateRolloutWait {
		t.Fatalf("an unsettled rollout goes to %s, want %s", next, workflow.StateRolloutWait)
	}
	wait := m.States[workflow.StateRolloutWait]
	if wait["Type"] != "Wait" || resolve(t, doc, wait["SecondsPath"].(string)) != float64(30) || wait["Next"] != workflow.StateWatch {
		t.Fatalf("RolloutWait is %v", wait)
	}
	decodeStrict(t, step(t, m, workflow.StateWatch, doc), &req)
	if req.Action != workflow.ActionWatch || req.Input.Registered == nil || !reflect.DeepEqual(req.Input.Registered.Result, moving) {
		t.Fatalf("Watch received %+v", req)
	}
	done := moving
	moved := svc
	moved.Status = workflow.ConsumerMoved
	done.Rollout = &workflow.Rollout{Mode: policy.RolloutServices, Consumers: []workflow.ConsumerRollout{moved}, Settled: true, Deadline: moving.Rollout.Deadline}
	result(t, m, workflow.StateWatch, doc, done)
	if m.States[workflow.StateWatch]["Next"] != workflow.StateRolloutSettled {
		t.Fatalf("Watch goes to %v", m.States[workflow.StateWatch]["Next"])
	}
	if next := choose(t, m, workflow.StateRolloutSettled, doc); next != workflow.StateNotify {
		t.Fatalf("a settled rollout goes to %s, want %s", next, workflow.StateNotify)
	}
	return done
}

// An outcome other than REMEDIATED registered nothing: nothing to roll
// out, straight to Notify.
func TestContractNothingRegisteredSkipsRollout(t *testing.T) {
	m := load(t)
	for _, o := range []workflow.Outcome{workflow.OutcomeReportOnly, workflow.OutcomeSuperseded, workflow.OutcomeAlreadyRemediated, workflow.OutcomeBlocked} {
		doc := toDoc(t, sampleInput(policy.Enforce))
		result(t, m, workflow.StateRegister, doc, workflow.Result{Version: workflow.Version, Outcome: o, Family: "orders"})
		if next := choose(t, m, workflow.StateRolloutChoice, doc); next != workflow.StateNotify {
			t.Errorf("%s goes to %s, want %s", o, next, workflow.StateNotify)
		}
	}
}

// A failure of Rollout or Watch after its retries is caught into the
// registered result and notified as that result: the execution succeeds,
// the revision stays, Notify decodes the error strictly.
func TestContractRolloutFailureIsNotified(t *testing.T) {
	m := load(t)
	in := sampleInput(policy.Enforce)
	for _, task := range []string{workflow.StateRollout, workflow.StateWatch} {
		t.Run(task, func(t *testing.T) {
			doc := toDoc(t, in)
			res := workflow.Result{Version: workflow.Version, Outcome: workflow.OutcomeRemediated, Family: "orders", SourceARN: in.TaskDefinitionARN,
				NewARN: "arn:aws:ecs:us-east-1:111122223333:task-definition/orders:4"}
			result(t, m, workflow.StateRegister, doc, res)
			if task == workflow.StateWatch {
				res.Rollout = &workflow.Rollout{Mode: policy.RolloutAll, Consumers: []workflow.ConsumerRollout{}, WaitSeconds: 30}
				result(t, m, workflow.StateRollout, doc, res)
			}
			catches := m.States[task]["Catch"].([]any)
			if len(catches) != 1 {
				t.Fatalf("%s has %d catchers", task, len(catches))
			}
			c := catches[0].(map[string]any)
			if fmt.Sprint(c["ErrorEquals"]) != "[States.ALL]" || c["Next"] != workflow.StateNotify {
				t.Fatalf("%s catches %v into %v", task, c["ErrorEquals"], c["Next"])
			}
			caught := workflow.CaughtError{Error: "ThrottledError", Cause: "throttled: rate exceeded"}
			setPath(t, doc, c["ResultPath"].(string), map[string]any{"Error": caught.Error, "Cause": caught.Cause})
			var req workflow.NotifyRequest
			decodeStrict(t, step(t, m, workflow.StateNotify, doc), &req)
			want := res
			want.RolloutError = &caught
			if req.Failure != nil || req.Result == nil || !reflect.DeepEqual(*req.Result, want) {
				t.Fatalf("Notify received %+v, want the registered result with the rollout error", req)
			}
		})
	}
}

func TestContractReportPathSkipsEnsure(t *testing.T) {
	m := load(t)
	doc := toDoc(t, sampleInput(policy.Report))
	if next := choose(t, m, workflow.StateCheckMode, doc); next != workflow.StateRegister {
		t.Fatalf("report goes to %s, want Register (nothing is created)", next)
	}
	var req workflow.Request
	decodeStrict(t, step(t, m, workflow.StateRegister, doc), &req)
	if req.Input.Ensured != nil || req.Input.Enforcement != policy.Report {
		t.Fatalf("Register received %+v", req)
	}
}

// Every Catch leads through a Pass that names the failed Task to
// NotifyFailure, whose payload decodes strictly into Failure however far
// the execution got.
func TestContractFailurePaths(t *testing.T) {
	m := load(t)
	in := sampleInput(policy.Enforce)
	for _, task := range []string{workflow.StateEnsureLogGroups, workflow.StateRegister, workflow.StateNotify} {
		t.Run(task, func(t *testing.T) {
			doc := toDoc(t, in)
			if task != workflow.StateEnsureLogGroups {
				result(t, m, workflow.StateEnsureLogGroups, doc, workflow.Ensured{LogGroups: []workflow.LogGroupResult{}})
			}
			if task == workflow.StateNotify {
				result(t, m, workflow.StateRegister, doc, workflow.Result{Version: workflow.Version, Outcome: workflow.OutcomeRemediated, Family: "orders", SourceARN: in.TaskDefinitionARN})
				result(t, m, workflow.StateRollout, doc, workflow.Result{Version: workflow.Version, Outcome: workflow.OutcomeRemediated, Family: "orders", SourceARN: in.TaskDefinitionARN,
					Rollout: &workflow.Rollout{Mode: policy.RolloutNone, Consumers: []workflow.ConsumerRollout{}, Settled: true}})
			}
			catches := m.States[task]["Catch"].([]any)
			if len(catches) != 1 {
				t.Fatalf("%s has %d catchers", task, len(catches))
			}
			c := catches[0].(map[string]any)
			if fmt.Sprint(c["ErrorEquals"]) != "[States.ALL]" {
				t.Fatalf("%s catches %v", task, c["ErrorEquals"])
			}
			setPath(t, doc, c["ResultPath"].(string), map[string]any{"Error": "ThrottledError", "Cause": "throttled: rate exceeded"})
			pass := m.States[c["Next"].(string)]
			if pass["Type"] != "Pass" || pass["Result"] != task || pass["Next"] != workflow.StateNotifyFailure {
				t.Fatalf("%s's catch leads to %v", task, pass)
			}
			setPath(t, doc, pass["ResultPath"].(string), pass["Result"])

			var req workflow.NotifyRequest
			decodeStrict(t, step(t, m, workflow.StateNotifyFailure, doc), &req)
			f := req.Failure
			if req.Result != nil || f == nil || f.State != task || f.Error != "ThrottledError" || f.Cause != "throttled: rate exceeded" ||
				req.ExecutionARN != execID || !reflect.DeepEqual(f.Input.Input, in) {
				t.Fatalf("NotifyFailure received %+v", req)
			}
			if m.States[workflow.StateNotifyFailure]["Next"] != workflow.StateFailed || m.States[workflow.StateFailed]["Type"] != "Fail" {
				t.Fatal("NotifyFailure must end the execution as failed")
			}
		})
	}
}

// The input always carries "enforcement", even when empty: CheckMode's
// Variable would otherwise be a missing path (States.Runtime).
func TestInputAlwaysCarriesEnforcement(t *testing.T) {
	doc := toDoc(t, workflow.Input{})
	if _, ok := doc[strings.TrimPrefix(PathEnforcement, "$.")]; !ok {
		t.Fatalf("an empty Input marshals without %s: %v", PathEnforcement, doc)
	}
}

func choose(t *testing.T, m machine, state string, doc map[string]any) string {
	t.Helper()
	s := m.States[state]
	for _, c := range s["Choices"].([]any) {
		c := c.(map[string]any)
		v := resolve(t, doc, c["Variable"].(string))
		if want, ok := c["StringEquals"]; ok && v == want {
			return c["Next"].(string)
		}
		if want, ok := c["BooleanEquals"]; ok && v == want {
			return c["Next"].(string)
		}
	}
	return s["Default"].(string)
}

// Every Task names the lambda:invoke integration in the partition the
// definition is rendered for: "arn:aws:states:::…" fails every execution in
// aws-cn and aws-us-gov.
func TestDefinitionRendersThePartition(t *testing.T) {
	for _, part := range []string{"aws", "aws-cn", "aws-us-gov", "${AWS::Partition}"} {
		var m machine
		if err := json.Unmarshal([]byte(Definition(part, "r", "n")), &m); err != nil {
			t.Fatal(err)
		}
		tasks := 0
		for name, s := range m.States {
			if s["Type"] != "Task" {
				continue
			}
			tasks++
			if want := "arn:" + part + ":states:::lambda:invoke"; s["Resource"] != want {
				t.Errorf("%s: %s: Resource %v, want %s", part, name, s["Resource"], want)
			}
		}
		if tasks != 6 {
			t.Fatalf("%d tasks", tasks)
		}
	}
}

// retrierOf reads the fields of one rendered retrier.
type retrierOf struct {
	ErrorEquals     []string
	IntervalSeconds float64
	MaxAttempts     int
	BackoffRate     float64
	MaxDelaySeconds float64
	JitterStrategy  string
}

// The arithmetic of the retry budget, read from the rendered definition:
// every retrier of an error that means "wait for your turn" waits, with
// FULL jitter, at least the time a budgeted burst takes to drain (three
// sigma below the mean), and no more retries than that needs; the others
// keep the short budget for Lambda's transient errors.
func TestRetryBudgetCoversTheBurst(t *testing.T) {
	drain := BudgetBurst / BudgetRegisterRate
	if drain != 600 {
		t.Fatalf("drain time %v s", drain)
	}
	queuedErr := map[string]bool{workflow.ErrThrottled: true, workflow.ErrConcurrentRevision: true, LambdaThrottled: true}
	var def struct {
		States map[string]struct{ Retry []retrierOf }
	}
	if err := json.Unmarshal([]byte(Definition("aws", "r", "n")), &def); err != nil {
		t.Fatal(err)
	}
	n := 0
	for name, s := range def.States {
		for _, r := range s.Retry {
			n++
			if r.JitterStrategy != "FULL" {
				t.Errorf("%s %v: jitter %q", name, r.ErrorEquals, r.JitterStrategy)
			}
			mean, sd := RetryWait(r.IntervalSeconds, r.BackoffRate, r.MaxDelaySeconds, r.MaxAttempts)
			if !queuedErr[r.ErrorEquals[0]] {
				if r.MaxAttempts != RetryMaxAttempts {
					t.Errorf("%s %v: %d attempts", name, r.ErrorEquals, r.MaxAttempts)
				}
				continue
			}
			for _, e := range r.ErrorEquals {
				if !queuedErr[e] {
					t.Errorf("%s: %s shares a queueing retrier", name, e)
				}
			}
			if mean-3*sd < drain {
				t.Errorf("%s %v: %d attempts wait %.0f ± %.0f s, short of the %v s a burst of %d takes at %v/s",
					name, r.ErrorEquals, r.MaxAttempts, mean, sd, drain, BudgetBurst, BudgetRegisterRate)
			}
			if m1, sd1 := RetryWait(r.IntervalSeconds, r.BackoffRate, r.MaxDelaySeconds, r.MaxAttempts-1); m1-3*sd1 >= drain {
				t.Errorf("%s %v: %d attempts are more than the burst needs", name, r.ErrorEquals, r.MaxAttempts)
			}
		}
	}
	if n != 18 {
		t.Fatalf("%d retriers", n)
	}
	if got := QueuedAttempts(); got != 34 {
		t.Errorf("queued attempts %d, want 34 (62 s for the first five backoffs, then 60 s each)", got)
	}
}

// FULL jitter halves the wait: the 20 attempts once described as "about 17
// minutes" wait 481 s on average. RetryWait agrees with a simulation of
// Step Functions' draw (uniform on [0, delay]).
func TestRetryWaitMatchesFullJitter(t *testing.T) {
	if mean, _ := RetryWait(2, 2, 60, 20); mean != 481 {
		t.Errorf("20 attempts wait %v s on average, want 481 (half of 962)", mean)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for _, attempts := range []int{6, 20, QueuedAttempts()} {
		const runs = 20000
		var sum, sq float64
		for range runs {
			total := 0.0
			for k := range attempts {
				total += rng.Float64() * math.Min(2*math.Pow(2, float64(k)), 60)
			}
			sum += total
			sq += total * total
		}
		simMean := sum / runs
		simSD := math.Sqrt(sq/runs - simMean*simMean)
		mean, sd := RetryWait(2, 2, 60, attempts)
		if math.Abs(simMean-mean) > 0.01*mean || math.Abs(simSD-sd) > 0.05*sd {
			t.Errorf("%d attempts: simulated %.1f ± %.1f s, computed %.1f ± %.1f s", attempts, simMean, simSD, mean, sd)
		}
	}
}
