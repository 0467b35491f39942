package stacks

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/ecslogfix/ecslogfix/infra/grants"
	"github.com/ecslogfix/ecslogfix/internal/config/fnenv"
	"github.com/ecslogfix/ecslogfix/internal/config/naming"
	"github.com/ecslogfix/ecslogfix/internal/policy"
	"github.com/ecslogfix/ecslogfix/internal/workflow"
	"github.com/ecslogfix/ecslogfix/internal/workflow/asl"
)

// Independent checkers run on every synthesized template and on the
// state machine definition: AWS cfn-guard with the Control Tower proactive
// control rules, the AWS Toolkit's ASL language service beside
// asl-validator, and a second ASL interpreter. Each is installed by the
// Makefile into .tools; ECSLOGFIX_REQUIRE_TOOLS=1 makes a missing one a
// failure.

func toolsDir(t *testing.T) string {
	t.Helper()
	root, err := ModuleRoot(".")
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Join(root, ".tools")
}

// --- Control Tower proactive controls (cfn-guard) ---

// guardControlsToFail are the controls each template fails by default, on
// purpose, each a documented choice (infra/README.md, "Governed
// organizations"): CT.LAMBDA.PR.3 wants every function in a customer VPC,
// which ecslogfix:vpcSubnetIds/vpcSecurityGroupIds turn on; CT.S3.PR.2
// wants the sweep bucket's server access logs, which need a bucket of the
// account for them (ecslogfix:sweepAccessLogBucket).
var guardControlsToFail = map[string][]string{
	"single":                          {"CT.LAMBDA.PR.3", "CT.S3.PR.2"},
	"hub":                             {"CT.LAMBDA.PR.3", "CT.S3.PR.2"},
	"ecslogfix-member":                nil,
	"ecslogfix-member-iam":            nil,
	"ecslogfix-member-execution-role": nil,
}

// guardControlsToPass must be evaluated and pass on the stacks with
// functions: the defaults a governed organization would otherwise block.
var guardControlsToPass = []string{"CT.CLOUDWATCH.PR.1", "CT.CLOUDWATCH.PR.2", "CT.CLOUDWATCH.PR.3", "CT.CLOUDWATCH.PR.4",
	"CT.KMS.PR.1", "CT.KMS.PR.3", "CT.LAMBDA.PR.2", "CT.SQS.PR.2", "CT.STEPFUNCTIONS.PR.1", "CT.STEPFUNCTIONS.PR.2", "CT.IAM.PR.1", "CT.IAM.PR.5",
	// The sweep bucket.
	"CT.S3.PR.1", "CT.S3.PR.3", "CT.S3.PR.4", "CT.S3.PR.5", "CT.S3.PR.6", "CT.S3.PR.8", "CT.S3.PR.9", "CT.S3.PR.10", "CT.S3.PR.11"}

var guardLine = regexp.MustCompile(`^(ct-[a-z0-9-]+)\.guard/\S+\s+(PASS|FAIL|SKIP)$`)

// guard runs cfn-guard's Control Tower rules on file and returns each
// control's status (CT.X.PR.N → PASS|FAIL|SKIP).
func guard(t *testing.T, file string) map[string]string {
	t.Helper()
	pkg := filepath.Join(toolsDir(t), "node_modules", "@cdklabs", "cdk-validator-cfnguard")
	osName, arch := "ubuntu", map[string]string{"amd64": "x86_64", "arm64": "aarch64"}[runtime.GOARCH]
	if runtime.GOOS == "darwin" {
		osName = "macos"
	}
	bin := requireTool(t, "cfn-guard", filepath.Join(pkg, "bin", osName, arch, "cfn-guard"))
	out, err := exec.Command(bin, "validate", "-d", file, "-r", filepath.Join(pkg, "rules", "control-tower", "cfn-guard"),
		"--show-summary", "all", "-o", "single-line-summary").Output()
	var exit *exec.ExitError
	if err != nil && !(errors.As(err, &exit) && exit.ExitCode() == 19) { // 19: some rule failed
		t.Fatalf("cfn-guard %s: %v\n%s", file, err, out)
	}
	status := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		m := guardLine.FindStringSubmatch(strings.TrimSpace(sc.Text()))
		if m == nil {
			continue
		}
		ctl := strings.ToUpper(strings.Replace(strings.Replace(m[1], "-pr-", ".PR.", 1), "ct-", "CT.", 1))
		// A control with several rules fails if any of them does.
		if status[ctl] != "FAIL" && (m[2] != "SKIP" || status[ctl] == "") {
			status[ctl] = m[2]
		}
	}
	if len(status) < 100 {
		t.Fatalf("cfn-guard evaluated %d controls on %s: the rule set did not load", len(status), file)
	}
	return status
}

func failed(status map[string]string) []string {
	var out []string
	for ctl, s := range status {
		if s == "FAIL" {
			out = append(out, ctl)
		}
	}
	slices.Sort(out)
	return out
}

// Every synthesized template against the Control Tower proactive controls
// (they run as CloudFormation Hooks where an organization enables them):
// exactly the documented controls fail, the others pass.
func TestControlTowerGuardRules(t *testing.T) {
	for name, file := range templateFiles(t) {
		status := guard(t, file)
		if got, want := failed(status), guardControlsToFail[name]; !slices.Equal(got, want) {
			t.Errorf("%s: controls failed %v, want %v", name, got, want)
		}
		if name == "single" || name == "hub" {
			for _, ctl := range guardControlsToPass {
				if status[ctl] != "PASS" {
					t.Errorf("%s: %s is %s, want PASS", name, ctl, status[ctl])
				}
			}
		}
		// The DLQs declare themselves DLQs (redrivePermission allowAll)
		// instead of asking for a DLQ of their own.
		if status["CT.SQS.PR.1"] == "FAIL" {
			t.Errorf("%s: CT.SQS.PR.1 fails", name)
		}
	}
}

// The guard gate does catch a regression: a log group without the key, or
// kept for less than a year, fails its control.
func TestControlTowerGuardCatchesRegressions(t *testing.T) {
	var tmpl map[string]any
	data, err := os.ReadFile(templateFiles(t)["single"])
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &tmpl); err != nil {
		t.Fatal(err)
	}
	for id, r := range tmpl["Resources"].(map[string]any) {
		r := r.(map[string]any)
		if r["Type"] == "AWS::Logs::LogGroup" && strings.HasPrefix(id, "StateMachineLogs") {
			props := r["Properties"].(map[string]any)
			delete(props, "KmsKeyId")
			props["RetentionInDays"] = 90
		}
	}
	path := filepath.Join(t.TempDir(), "broken.template.json")
	b, _ := json.Marshal(tmpl)
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	if got := failed(guard(t, path)); !slices.Equal(got, []string{"CT.CLOUDWATCH.PR.2", "CT.CLOUDWATCH.PR.3", "CT.LAMBDA.PR.3", "CT.S3.PR.2"}) {
		t.Errorf("broken template fails %v", got)
	}
}

// --- the AWS Toolkit's ASL language service ---

type aslDiagnostic struct {
	Severity, Message, Text string
	Line                    int
}

// aslService validates definitions with amazon-states-language-service
// (scripts/asl-service-validate.cjs) and returns each file's diagnostics.
func aslService(t *testing.T, defs ...string) [][]aslDiagnostic {
	t.Helper()
	tools := toolsDir(t)
	modules := filepath.Join(tools, "node_modules")
	requireTool(t, "amazon-states-language-service", filepath.Join(modules, "amazon-states-language-service", "package.json"))
	node := requireTool(t, "node")
	dir := t.TempDir()
	var files []string
	for i, d := range defs {
		f := filepath.Join(dir, fmt.Sprintf("def%d.asl.json", i))
		if err := os.WriteFile(f, []byte(d), 0o644); err != nil {
			t.Fatal(err)
		}
		files = append(files, f)
	}
	cmd := exec.Command(node, append([]string{filepath.Join(filepath.Dir(tools), "scripts", "asl-service-validate.cjs")}, files...)...)
	cmd.Env = append(os.Environ(), "ECSLOGFIX_NODE_MODULES="+modules)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	var exit *exec.ExitError
	if err != nil && !(errors.As(err, &exit) && exit.ExitCode() == 1) {
		t.Fatalf("asl-service-validate: %v\n%s", err, stderr.String())
	}
	var res [][]aslDiagnostic
	for _, line := range bytes.Split(bytes.TrimSpace(out), []byte("\n")) {
		var r struct{ Diagnostics []aslDiagnostic }
		if err := json.Unmarshal(line, &r); err != nil {
			t.Fatalf("asl-service-validate output %q: %v", line, err)
		}
		res = append(res, r.Diagnostics)
	}
	if len(res) != len(defs) {
		t.Fatalf("asl-service-validate: %d results for %d files", len(res), len(defs))
	}
	return res
}

// The synthesized definition passes the AWS Toolkit's validator, which
// does catch retrier fields Step Functions would refuse (asl-validator
// misses these).
func TestASLLanguageService(t *testing.T) {
	def, err := single(t).Template.StateMachineDefinition("ecslogfix-remediation", "aws")
	if err != nil {
		t.Fatal(err)
	}
	cases := map[string]string{
		"synthesized":     def,
		"JitterStrategy":  strings.Replace(def, `"JitterStrategy":"FULL"`, `"JitterStrategy":"HALF"`, 1),
		"BackoffRate":     strings.Replace(def, `"BackoffRate":2`, `"BackoffRate":0.5`, 1),
		"MaxDelaySeconds": strings.Replace(def, `"MaxDelaySeconds":60`, `"MaxDelaySeconds":0`, 1),
		"a dangling Next": strings.Replace(def, `"Next":"NotifyFailure"`, `"Next":"Nowhere"`, 1),
		"an unknown type": strings.Replace(def, `"Type":"Succeed"`, `"Type":"Succeeds"`, 1),
	}
	names := slices.Sorted(maps.Keys(cases))
	var defs []string
	for _, n := range names {
		if n != "synthesized" && cases[n] == def {
			t.Fatalf("%s: the mutation did not apply", n)
		}
		defs = append(defs, cases[n])
	}
	for i, diags := range aslService(t, defs...) {
		var errs []string
		for _, d := range diags {
			if d.Severity == "error" {
				errs = append(errs, fmt.Sprintf("line %d %s: %s", d.Line, d.Text, d.Message))
			}
		}
		switch {
		case names[i] == "synthesized" && len(diags) > 0:
			t.Errorf("the synthesized definition: %v", diags)
		case names[i] != "synthesized" && len(errs) == 0:
			t.Errorf("the validator accepted %s", names[i])
		}
	}
}

// --- a second ASL interpreter: aws-local-stepfunctions ---

type sfnAnswer struct {
	OK    any    `json:"ok,omitempty"`
	Error string `json:"error,omitempty"`
	Cause string `json:"cause,omitempty"`
}

type sfnScenario struct {
	Name   string                 `json:"name"`
	Input  any                    `json:"input"`
	Script map[string][]sfnAnswer `json:"script"`
}

type sfnCall struct {
	State string
	Input struct {
		FunctionName string
		Payload      json.RawMessage
	}
}

type sfnRun struct {
	Name, Status, Error, Cause string
	Output                     json.RawMessage
	Entered                    []string
	Calls                      []sfnCall
}

// calls counts the invocations of state.
func (r sfnRun) calls(state string) int {
	n := 0
	for _, c := range r.Calls {
		if c.State == state {
			n++
		}
	}
	return n
}

// payload returns the last payload state received.
func (r sfnRun) payload(state string) json.RawMessage {
	for i := len(r.Calls) - 1; i >= 0; i-- {
		if r.Calls[i].State == state {
			return r.Calls[i].Input.Payload
		}
	}
	return nil
}

const sfnExecutionID = "arn:aws:states:us-east-1:111122223333:execution:ecslogfix-remediation:orders-3-abc"

// localSFN runs scenarios on aws-local-stepfunctions
// (scripts/local-sfn-scenarios.cjs, Node 22 from .tools/node22).
func localSFN(t *testing.T, def string, scenarios []sfnScenario) map[string]sfnRun {
	t.Helper()
	tools := toolsDir(t)
	modules := filepath.Join(tools, "node22", "node_modules")
	node := requireTool(t, "node (22, for aws-local-stepfunctions)", filepath.Join(modules, ".bin", "node"))
	requireTool(t, "aws-local-stepfunctions", filepath.Join(modules, "aws-local-stepfunctions", "package.json"))
	lines := runNodeScript(t, node, modules, "local-sfn-scenarios", map[string]any{
		"definition": def, "scenarios": scenarios,
		"context": map[string]any{"Execution": map[string]any{"Id": sfnExecutionID}},
	})
	runs := map[string]sfnRun{}
	for _, line := range lines {
		var r sfnRun
		if err := json.Unmarshal(line, &r); err != nil {
			t.Fatalf("local-sfn-scenarios output %q: %v", line, err)
		}
		runs[r.Name] = r
	}
	if len(runs) != len(scenarios) {
		t.Fatalf("%d runs for %d scenarios", len(runs), len(scenarios))
	}
	return runs
}

// decodeStrictly decodes a recorded payload into the type its function
// decodes, refusing unknown fields, as the functions do.
func decodeStrictly(t *testing.T, what string, raw json.RawMessage, out any) {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(out); err != nil {
		t.Errorf("%s: %v\n%s", what, err, raw)
	}
}

// The synthesized definition executed by an interpreter other than moto's:
// every path (enforce, report), every retrier of every Task recovering
// after its last allowed retry and exhausted, a non-retryable error on each
// Task, the failure notification and its own failure. What each Task
// receives decodes strictly into its function's request type.
func TestSecondInterpreterEveryPath(t *testing.T) {
	def, err := single(t).Template.StateMachineDefinition("ecslogfix-remediation", "aws")
	if err != nil {
		t.Fatal(err)
	}
	var machine struct {
		States map[string]struct {
			Type  string
			Retry []struct {
				ErrorEquals []string
				MaxAttempts int
			}
		}
	}
	if err := json.Unmarshal([]byte(def), &machine); err != nil {
		t.Fatal(err)
	}
	input := func(enf policy.Enforcement) workflow.Input {
		return workflow.Input{Version: workflow.Version, Trigger: workflow.TriggerEvent, EventID: "e-1",
			Target: workflow.Target{Account: "111122223333", Region: "us-east-1"}, TaskDefinitionARN: "arn:aws:ecs:us-east-1:111122223333:task-definition/orders:3",
			Family: "orders", Revision: 3, Enforcement: enf, Reasons: []workflow.ContainerReasons{}}
	}
	ensured := workflow.Ensured{LogGroups: []workflow.LogGroupResult{{Name: "/ecs/orders", Region: "us-east-1", Created: true, RetentionDays: 365}}}
	registered := workflow.Result{Version: workflow.Version, Outcome: workflow.OutcomeRemediated, Family: "orders",
		SourceARN: "arn:aws:ecs:us-east-1:111122223333:task-definition/orders:3", NewARN: "arn:aws:ecs:us-east-1:111122223333:task-definition/orders:4"}
	// Rollout moves a service and leaves it deploying; Watch sees it done.
	svc := workflow.ConsumerRollout{Consumer: workflow.Consumer{Kind: workflow.KindService, ARN: "arn:aws:ecs:us-east-1:111122223333:service/prod/orders",
		Name: "orders", Cluster: "arn:aws:ecs:us-east-1:111122223333:cluster/prod", Controller: workflow.ControllerECS, TaskDefinition: registered.SourceARN, Revision: 3},
		Status: workflow.ConsumerDeploying, Before: registered.SourceARN, After: registered.NewARN, Deployment: "ecs-svc/1"}
	rolling := registered
	rolling.Rollout = &workflow.Rollout{Mode: policy.RolloutServices, Consumers: []workflow.ConsumerRollout{svc}, WaitSeconds: 30, Deadline: "2026-12-01T10:30:00Z"}
	result := rolling
	moved := svc
	moved.Status = workflow.ConsumerMoved
	result.Rollout = &workflow.Rollout{Mode: policy.RolloutServices, Consumers: []workflow.ConsumerRollout{moved}, Settled: true, Deadline: "2026-12-01T10:30:00Z"}
	ok := func(v any) []sfnAnswer { return []sfnAnswer{{OK: v}} }
	happy := map[string][]sfnAnswer{workflow.StateEnsureLogGroups: ok(ensured), workflow.StateRegister: ok(registered),
		workflow.StateRollout: ok(rolling), workflow.StateWatch: ok(result),
		workflow.StateNotify: ok(map[string]any{}), workflow.StateNotifyFailure: ok(map[string]any{})}
	reportOnly := registered
	reportOnly.Outcome, reportOnly.NewARN = workflow.OutcomeReportOnly, ""
	with := func(state string, answers []sfnAnswer) map[string][]sfnAnswer {
		m := maps.Clone(happy)
		m[state] = answers
		return m
	}
	fail := func(name string) sfnAnswer { return sfnAnswer{Error: name, Cause: name + ": injected"} }
	// How each Task is reached: NotifyFailure through a failed Register.
	reach := func(state string, answers []sfnAnswer) map[string][]sfnAnswer {
		s := with(state, answers)
		if state == workflow.StateNotifyFailure {
			s[workflow.StateRegister] = []sfnAnswer{fail(workflow.ErrInvalidInput)}
		}
		return s
	}

	type expect struct {
		status, error string
		entered       []string
		calls         map[string]int
		failedState   string // NotifyFailure's failure.state
		failedError   string
		rolloutError  string // the error Notify's result carries (Rollout, Watch caught)
	}
	rollingPath := []string{workflow.StateCheckMode, workflow.StateEnsureLogGroups, workflow.StateRegister, workflow.StateRolloutChoice,
		workflow.StateRollout, workflow.StateRolloutSettled, workflow.StateRolloutWait, workflow.StateWatch, workflow.StateRolloutSettled}
	scenarios := []sfnScenario{
		{Name: "enforce", Input: input(policy.Enforce), Script: happy},
		{Name: "report", Input: input(policy.Report), Script: with(workflow.StateRegister, ok(reportOnly))},
	}
	want := map[string]expect{
		"enforce": {status: "SUCCEEDED", entered: append(slices.Clone(rollingPath), workflow.StateNotify, workflow.StateDone)},
		"report":  {status: "SUCCEEDED", entered: []string{workflow.StateCheckMode, workflow.StateRegister, workflow.StateRolloutChoice, workflow.StateNotify, workflow.StateDone}},
	}
	catchPath := func(state string) []string {
		p := append(slices.Clone(rollingPath), workflow.StateNotify)
		p = p[:slices.Index(p, state)+1]
		if state == workflow.StateRollout || state == workflow.StateWatch {
			// Caught into the result and notified: the revision stays.
			return append(p, workflow.StateNotify, workflow.StateDone)
		}
		return append(p, state+"Failed", workflow.StateNotifyFailure, workflow.StateFailed)
	}
	caughtIntoResult := func(state string) bool { return state == workflow.StateRollout || state == workflow.StateWatch }
	for _, state := range []string{workflow.StateEnsureLogGroups, workflow.StateRegister, workflow.StateRollout, workflow.StateWatch, workflow.StateNotify, workflow.StateNotifyFailure} {
		s := machine.States[state]
		if s.Type != "Task" || len(s.Retry) != 3 {
			t.Fatalf("%s: %s with %d retriers", state, s.Type, len(s.Retry))
		}
		exhausted := catchPath(state)
		if state == workflow.StateNotifyFailure {
			exhausted = []string{workflow.StateCheckMode, workflow.StateEnsureLogGroups, workflow.StateRegister, workflow.StateRegisterFailed, workflow.StateNotifyFailure}
		}
		for _, r := range s.Retry {
			for _, e := range r.ErrorEquals {
				// Recovers on the last retry the retrier allows.
				answers := slices.Repeat([]sfnAnswer{fail(e)}, r.MaxAttempts)
				name := state + " recovers from " + e
				scenarios = append(scenarios, sfnScenario{Name: name, Input: input(policy.Enforce), Script: reach(state, append(answers, happy[state]...))})
				w := expect{status: "SUCCEEDED", calls: map[string]int{state: r.MaxAttempts + 1}}
				if state == workflow.StateNotifyFailure {
					w = expect{status: "FAILED", error: "ecslogfix.Failed", calls: w.calls, failedState: workflow.StateRegister, failedError: workflow.ErrInvalidInput}
				}
				want[name] = w
				// Exhausted: caught, and the failure notification names it.
				name = state + " exhausts " + e
				scenarios = append(scenarios, sfnScenario{Name: name, Input: input(policy.Enforce), Script: reach(state, []sfnAnswer{fail(e)})})
				w = expect{status: "FAILED", error: "ecslogfix.Failed", entered: exhausted, calls: map[string]int{state: r.MaxAttempts + 1}, failedState: state, failedError: e}
				if caughtIntoResult(state) {
					w = expect{status: "SUCCEEDED", entered: exhausted, calls: map[string]int{state: r.MaxAttempts + 1, workflow.StateNotifyFailure: 0}, rolloutError: e}
				}
				if state == workflow.StateNotifyFailure {
					// Nothing catches the failure notification's own failure.
					w.error, w.failedState, w.failedError = e, workflow.StateRegister, workflow.ErrInvalidInput
				}
				want[name] = w
			}
		}
		// A non-retryable error is caught at once.
		name := state + " fails with " + workflow.ErrInvalidInput
		scenarios = append(scenarios, sfnScenario{Name: name, Input: input(policy.Enforce), Script: reach(state, []sfnAnswer{fail(workflow.ErrInvalidInput)})})
		w := expect{status: "FAILED", error: "ecslogfix.Failed", entered: catchPath(state), calls: map[string]int{state: 1}, failedState: state, failedError: workflow.ErrInvalidInput}
		if caughtIntoResult(state) {
			w = expect{status: "SUCCEEDED", entered: catchPath(state), calls: map[string]int{state: 1}, rolloutError: workflow.ErrInvalidInput}
		}
		if state == workflow.StateNotifyFailure {
			w = expect{status: "FAILED", error: workflow.ErrInvalidInput, entered: exhausted, calls: map[string]int{state: 1}, failedState: workflow.StateRegister, failedError: workflow.ErrInvalidInput}
		}
		want[name] = w
	}

	runs := localSFN(t, def, scenarios)
	for _, sc := range scenarios {
		r, w := runs[sc.Name], want[sc.Name]
		if r.Status != w.status || r.Error != w.error {
			t.Errorf("%s: %s %s (%s), want %s %s", sc.Name, r.Status, r.Error, r.Cause, w.status, w.error)
			continue
		}
		if w.entered != nil && !slices.Equal(r.Entered, w.entered) {
			t.Errorf("%s: entered %v, want %v", sc.Name, r.Entered, w.entered)
		}
		for state, n := range w.calls {
			if got := r.calls(state); got != n {
				t.Errorf("%s: %s invoked %d times, want %d", sc.Name, state, got, n)
			}
		}
		// What each Task received is what its function decodes.
		for _, c := range r.Calls {
			var fn string
			switch c.State {
			case workflow.StateEnsureLogGroups, workflow.StateRegister, workflow.StateRollout, workflow.StateWatch:
				fn = "ecslogfix-remediate"
				var req workflow.Request
				decodeStrictly(t, sc.Name+" "+c.State, c.Input.Payload, &req)
			default:
				fn = "ecslogfix-notify"
				var req workflow.NotifyRequest
				decodeStrictly(t, sc.Name+" "+c.State, c.Input.Payload, &req)
				if req.ExecutionARN != sfnExecutionID {
					t.Errorf("%s: %s executionArn %q", sc.Name, c.State, req.ExecutionARN)
				}
			}
			if c.Input.FunctionName != fn {
				t.Errorf("%s: %s invokes %s", sc.Name, c.State, c.Input.FunctionName)
			}
		}
		if w.rolloutError != "" {
			var req workflow.NotifyRequest
			decodeStrictly(t, sc.Name, r.payload(workflow.StateNotify), &req)
			if res := req.Result; res == nil || res.RolloutError == nil || res.RolloutError.Error != w.rolloutError || res.NewARN != registered.NewARN || res.Outcome != workflow.OutcomeRemediated {
				t.Errorf("%s: Notify received %+v, want the registered result with rollout error %s", sc.Name, req.Result, w.rolloutError)
			}
		}
		if w.failedState != "" {
			var req workflow.NotifyRequest
			decodeStrictly(t, sc.Name, r.payload(workflow.StateNotifyFailure), &req)
			if f := req.Failure; f == nil || f.State != w.failedState || f.Error != w.failedError || f.Cause != w.failedError+": injected" || f.Input.TaskDefinitionARN != result.SourceARN {
				t.Errorf("%s: failure notification %+v, want state %s error %s", sc.Name, f, w.failedState, w.failedError)
			}
		}
	}

	// The happy paths hand each step the previous one's result.
	var reg workflow.Request
	decodeStrictly(t, "enforce Register", runs["enforce"].payload(workflow.StateRegister), &reg)
	if reg.Action != workflow.ActionRegister || reg.Input.Ensured == nil || !reflect.DeepEqual(*reg.Input.Ensured, ensured) {
		t.Errorf("enforce: Register received %+v", reg)
	}
	var watch workflow.Request
	decodeStrictly(t, "enforce Watch", runs["enforce"].payload(workflow.StateWatch), &watch)
	if watch.Action != workflow.ActionWatch || watch.Input.Registered == nil || !reflect.DeepEqual(watch.Input.Registered.Result, rolling) {
		t.Errorf("enforce: Watch received %+v", watch)
	}
	var note workflow.NotifyRequest
	decodeStrictly(t, "enforce Notify", runs["enforce"].payload(workflow.StateNotify), &note)
	if note.Result == nil || !reflect.DeepEqual(*note.Result, result) || note.Failure != nil {
		t.Errorf("enforce: Notify received %+v", note)
	}
	var reported workflow.Request
	decodeStrictly(t, "report Register", runs["report"].payload(workflow.StateRegister), &reported)
	if reported.Input.Ensured != nil || reported.Input.Enforcement != policy.Report || runs["report"].calls(workflow.StateEnsureLogGroups) != 0 {
		t.Errorf("report: Register received %+v", reported)
	}
	t.Logf("%d scenarios on aws-local-stepfunctions", len(scenarios))
}

var tunedSynth synthOnce

// tuned is the single stack with the choices a governed or large account
// makes: functions in a VPC, reserved concurrency for remediate, a lower
// register rate, a bucket for the sweep bucket's access logs.
func tuned(t *testing.T) *Synthesized {
	return synthContext(t, &tunedSynth, "tuned", map[string]any{
		"ecslogfix:vpcSubnetIds":         "subnet-0123456789abcdef0,subnet-0fedcba9876543210",
		"ecslogfix:vpcSecurityGroupIds":  "sg-0123456789abcdef0",
		"ecslogfix:remediateConcurrency": "2",
		"ecslogfix:registerRate":         "0.25",
		"ecslogfix:policy.kmsKeyArn":     "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab",
		"ecslogfix:sweepAccessLogBucket": "acme-access-logs-eu-west-1",
	})
}

// With the VPC keys and an access-log bucket set every function runs in
// the VPC and the stack passes every Control Tower control; reserved concurrency is what was
// asked, each instance gets its share of the rate, and the synth warns
// about the concurrency quota and the burst the rate no longer covers. A
// policy key with no region configured makes the template refuse any other
// region than the key's.
func TestTunedStack(t *testing.T) {
	s := tuned(t)
	rules, _ := s.Template["Rules"].(map[string]any)
	if got := Flatten(rules["PolicyKeyRegion"]); !strings.Contains(got, `"Assert":{"Fn::Equals":[{"Ref":"AWS::Region"},"eu-west-1"]}`) {
		t.Errorf("PolicyKeyRegion rule %s", got)
	}
	if _, ok := single(t).Template["Rules"].(map[string]any)["PolicyKeyRegion"]; ok {
		t.Error("PolicyKeyRegion without a policy key")
	}
	for _, fn := range naming.Functions() {
		p := s.Template.Resource(mustFn(t, s.Template, "ecslogfix-"+fn))["Properties"].(map[string]any)
		if flat(p["VpcConfig"]) != `{"SecurityGroupIds":["sg-0123456789abcdef0"],"SubnetIds":["subnet-0123456789abcdef0","subnet-0fedcba9876543210"]}` {
			t.Errorf("%s: VPC %v", fn, flat(p["VpcConfig"]))
		}
		want := any(nil)
		if fn == naming.FunctionRemediate {
			want = float64(2)
		}
		if p["ReservedConcurrentExecutions"] != want {
			t.Errorf("%s: reserved %v", fn, p["ReservedConcurrentExecutions"])
		}
		got := actionsOf(roleStatements(t, s.Template, "ecslogfix-"+fn))
		for _, a := range grants.VPCActions {
			if !reflect.DeepEqual(got[a], []string{"*"}) {
				t.Errorf("%s: %s on %v", fn, a, got[a])
			}
		}
	}
	env, err := s.Template.FunctionEnvironment("ecslogfix-remediate")
	if err != nil || env[fnenv.EnvRegisterRate] != "0.125" {
		t.Errorf("remediate register rate %q (%v), want 0.25/2", env[fnenv.EnvRegisterRate], err)
	}
	warns := strings.Join(Warnings(s.Stack), "\n")
	for _, want := range []string{"reserves 2 concurrent executions", "registerRate 0.25 is below the 0.5/s", "about 150 would drain"} {
		if !strings.Contains(warns, want) {
			t.Errorf("warnings lack %q:\n%s", want, warns)
		}
	}
	if got := failed(guard(t, filepath.Join(s.Dir, *s.Stack.TemplateFile()))); len(got) != 0 {
		t.Errorf("controls failed with the VPC configured: %v", got)
	}
	errs, _ := NagFindings(s.Stack)
	for _, e := range errs {
		t.Errorf("cdk-nag error: %s", e)
	}
}

// The sweep's digest steps executed by the second interpreter, from
// NotifyDigest on (the Distributed Map before them reads S3, which the
// stubbed interpreter has not): a published digest ends the sweep; a
// PublishDigest that exhausts its throttle retrier, or fails with an error
// it never retries, is caught, NotifyDigestFailure receives the summary
// and the error, and the sweep fails.
func TestSecondInterpreterDigestFailure(t *testing.T) {
	var machine map[string]any
	if err := json.Unmarshal([]byte(asl.SweepDefinition("aws", "fn-sweep", "fn-notify", "ecslogfix-sweeps", asl.SweepOptions{MaxConcurrency: 4})), &machine); err != nil {
		t.Fatal(err)
	}
	states := machine["States"].(map[string]any)
	for _, s := range []string{workflow.StateInventory, workflow.StateWalk, workflow.StateSummarize} {
		delete(states, s)
	}
	machine["StartAt"] = workflow.StateNotifyDigest
	def, err := json.Marshal(machine)
	if err != nil {
		t.Fatal(err)
	}
	var throttleAttempts int
	for _, r := range states[workflow.StatePublishDigest].(map[string]any)["Retry"].([]any) {
		r := r.(map[string]any)
		if slices.Contains(r["ErrorEquals"].([]any), any(workflow.ErrThrottled)) {
			throttleAttempts = int(r["MaxAttempts"].(float64))
		}
	}
	if throttleAttempts == 0 {
		t.Fatal("PublishDigest does not retry ThrottledError")
	}
	summary := workflow.SweepSummary{Version: workflow.Version, SweepID: "sweep-1", Bucket: "ecslogfix-sweeps", Targets: 1, TargetsWalked: 1,
		FailedTargets: []workflow.Target{}, Gaps: []workflow.CoverageGap{}}
	input := workflow.SweepState{Inventory: workflow.SweepInventory{SweepID: "sweep-1", Bucket: "ecslogfix-sweeps"}, Summary: &summary}
	published := []sfnAnswer{{OK: workflow.DigestResult{Published: true}}}
	throttled := sfnAnswer{Error: workflow.ErrThrottled, Cause: "publish: Rate exceeded"}
	scenarios := []sfnScenario{
		{Name: "published", Input: input, Script: map[string][]sfnAnswer{workflow.StatePublishDigest: published}},
		{Name: "throttled past the retries", Input: input, Script: map[string][]sfnAnswer{workflow.StatePublishDigest: {throttled}}},
		{Name: "invalid", Input: input, Script: map[string][]sfnAnswer{workflow.StatePublishDigest: {{Error: workflow.ErrInvalidInput, Cause: "digest: too large"}}}},
	}
	runs := localSFN(t, string(def), scenarios)
	if r := runs["published"]; r.Status != "SUCCEEDED" || r.calls(workflow.StateNotifyDigestFailure) != 0 {
		t.Errorf("published: %s %s, entered %v", r.Status, r.Error, r.Entered)
	}
	for name, want := range map[string]struct {
		attempts int
		caught   workflow.CaughtError
	}{
		"throttled past the retries": {throttleAttempts + 1, workflow.CaughtError{Error: workflow.ErrThrottled, Cause: "publish: Rate exceeded"}},
		"invalid":                    {1, workflow.CaughtError{Error: workflow.ErrInvalidInput, Cause: "digest: too large"}},
	} {
		r := runs[name]
		if r.Status != "FAILED" || r.Error != workflow.ErrSweepDigestFailed || r.calls(workflow.StatePublishDigest) != want.attempts || r.calls(workflow.StateNotifyDigestFailure) != 1 {
			t.Errorf("%s: %s %s, entered %v, %d PublishDigest calls", name, r.Status, r.Error, r.Entered, r.calls(workflow.StatePublishDigest))
			continue
		}
		for _, c := range r.Calls {
			if c.State != workflow.StateNotifyDigestFailure {
				continue
			}
			var req workflow.NotifyRequest
			decodeStrictly(t, name, c.Input.Payload, &req)
			if c.Input.FunctionName != "fn-notify" || req.Summary == nil || req.Summary.SweepID != "sweep-1" || req.DigestError == nil || *req.DigestError != want.caught ||
				req.ExecutionARN != sfnExecutionID {
				t.Errorf("%s: NotifyDigestFailure receives %s", name, c.Input.Payload)
			}
		}
	}
}
