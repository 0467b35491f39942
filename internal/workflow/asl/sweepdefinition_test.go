package asl

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/ecslogfix/ecslogfix/internal/inventory"
	"github.com/ecslogfix/ecslogfix/internal/workflow"
)

// The sweep's contract test, as definition_test.go is the remediation's:
// walk the definition as Step Functions would, resolve every path against
// state documents built from our own types, and decode what each Task and
// the digest receive strictly into the type the sweep function (or the
// digest) decodes.

const sweepName = "0b1c2d3e-sweep"

type sweepMachine struct {
	StartAt string
	States  map[string]map[string]any
}

func loadSweep(t *testing.T, opt SweepOptions) sweepMachine {
	t.Helper()
	var m sweepMachine
	if err := json.Unmarshal([]byte(SweepDefinition("aws", "fn-sweep", "fn-notify", "ecslogfix-sweeps", opt)), &m); err != nil {
		t.Fatal(err)
	}
	return m
}

var sweepContext = map[string]any{PathExecutionName: sweepName}

// payload renders a Task's lambda:invoke payload against doc.
func payload(t *testing.T, s map[string]any, doc any, context map[string]any) map[string]any {
	t.Helper()
	if s["Type"] != "Task" || s["Resource"] != "arn:aws:states:::lambda:invoke" {
		t.Fatalf("%v is not a lambda:invoke Task", s["Type"])
	}
	p := parametersWith(t, s["Parameters"].(map[string]any), doc, context)
	if p["FunctionName"] != "fn-sweep" {
		t.Fatalf("invokes %v", p["FunctionName"])
	}
	return p["Payload"].(map[string]any)
}

// output applies a Task's ResultSelector, ResultPath and OutputPath to doc
// for the function's result, as Step Functions does for lambda:invoke.
func output(t *testing.T, s map[string]any, doc map[string]any, fnResult any) map[string]any {
	t.Helper()
	res := any(map[string]any{"Payload": toDoc(t, fnResult), "StatusCode": 200.0})
	if sel, ok := s["ResultSelector"].(map[string]any); ok {
		res = parameters(t, sel, res)
	}
	rp, set := s["ResultPath"]
	switch {
	case !set || rp == PathState:
		doc = res.(map[string]any)
	case rp == nil:
	default:
		setPath(t, doc, rp.(string), res)
	}
	if op, ok := s["OutputPath"].(string); ok {
		doc = resolve(t, doc, op).(map[string]any)
	}
	return doc
}

// choice evaluates a Choice with BooleanEquals and IsPresent rules.
func choice(t *testing.T, s map[string]any, doc map[string]any) string {
	t.Helper()
	for _, c := range s["Choices"].([]any) {
		c := c.(map[string]any)
		v, present := lookup(doc, c["Variable"].(string))
		switch {
		case c["IsPresent"] != nil && present == c["IsPresent"]:
			return c["Next"].(string)
		case c["BooleanEquals"] != nil && present && v == c["BooleanEquals"]:
			return c["Next"].(string)
		}
	}
	return s["Default"].(string)
}

// lookup finds a "$.a.b" path in doc, if present.
func lookup(doc map[string]any, path string) (any, bool) {
	var v any = doc
	for _, k := range strings.Split(strings.TrimPrefix(path, "$."), ".") {
		m, ok := v.(map[string]any)
		if !ok {
			return nil, false
		}
		if v, ok = m[k]; !ok {
			return nil, false
		}
	}
	return v, true
}

func sampleInventory() workflow.SweepInventory {
	return workflow.SweepInventory{SweepID: sweepName, Bucket: "ecslogfix-sweeps", TargetsKey: "sweeps/" + sweepName + "/targets.jsonl",
		CoverageKey: "sweeps/" + sweepName + "/coverage.json", Targets: 2, Gaps: 1}
}

// runSweep runs the definition to its end; walkFails makes the Map fail
// (its Catch) after the children ran.
func runSweep(t *testing.T, walkFails bool) (doc map[string]any, end string, summarized workflow.SweepState, digest workflow.DigestRequest) {
	t.Helper()
	m := loadSweep(t, SweepOptions{MaxConcurrency: 40, ToleratedFailurePercentage: 5})
	if m.StartAt != workflow.StateInventory {
		t.Fatalf("starts at %s", m.StartAt)
	}
	// The schedule's input is not kept.
	doc = map[string]any{"from": "the schedule"}

	inv := m.States[workflow.StateInventory]
	var req workflow.SweepRequest
	decodeStrict(t, payload(t, inv, doc, sweepContext), &req)
	if req.Action != workflow.SweepActionInventory || req.SweepID != sweepName || req.Walk != nil || req.Sweep != nil {
		t.Fatalf("Inventory received %+v", req)
	}
	doc = output(t, inv, doc, sampleInventory())
	if inv["Next"] != workflow.StateWalk {
		t.Fatalf("Inventory leads to %v", inv["Next"])
	}

	walk := m.States[workflow.StateWalk]
	reader := walk["ItemReader"].(map[string]any)
	if got := parameters(t, reader["Parameters"].(map[string]any), doc); !reflect.DeepEqual(got, map[string]any{"Bucket": "ecslogfix-sweeps", "Key": sampleInventory().TargetsKey}) {
		t.Errorf("ItemReader reads %v", got)
	}
	writer := walk["ResultWriter"].(map[string]any)
	if got := parameters(t, writer["Parameters"].(map[string]any), doc); !reflect.DeepEqual(got, map[string]any{"Bucket": "ecslogfix-sweeps", "Prefix": SweepMapResultPrefix}) {
		t.Errorf("ResultWriter writes %v", got)
	}
	// Each item is one line of the targets object, as the sweep writes it.
	for _, target := range []workflow.Target{{Account: "222222222222", Region: "eu-west-1"}, {Account: "111111111111", Region: "us-east-1"}} {
		line, _ := json.Marshal(target)
		var item any
		if err := json.Unmarshal(line, &item); err != nil {
			t.Fatal(err)
		}
		var child workflow.Walk
		decodeStrict(t, parametersWith(t, walk["ItemSelector"].(map[string]any), doc, map[string]any{PathMapItemValue: item}), &child)
		if child != (workflow.Walk{SweepID: sweepName, Target: target}) {
			t.Fatalf("a child starts with %+v", child)
		}
		runChild(t, walk["ItemProcessor"].(map[string]any), toDoc(t, child), child)
	}
	next := walk["Next"].(string)
	if walkFails {
		c := walk["Catch"].([]any)[0].(map[string]any)
		if !reflect.DeepEqual(c["ErrorEquals"], []any{"States.ALL"}) {
			t.Fatalf("the Map catches %v", c["ErrorEquals"])
		}
		setPath(t, doc, c["ResultPath"].(string), map[string]any{"Error": "States.ExceedToleratedFailureThreshold", "Cause": "The specified tolerated failure threshold was exceeded"})
		next = c["Next"].(string)
	} else if walk["ResultPath"] != nil {
		t.Fatalf("the Map keeps its output at %v", walk["ResultPath"])
	}
	if next != workflow.StateSummarize {
		t.Fatalf("the Map leads to %s", next)
	}

	sum := m.States[workflow.StateSummarize]
	decodeStrict(t, payload(t, sum, doc, sweepContext), &req)
	if req.Action != workflow.SweepActionSummarize || req.Sweep == nil || req.Sweep.Inventory != sampleInventory() || (req.Sweep.WalkError != nil) != walkFails {
		t.Fatalf("Summarize received %+v", req)
	}
	summarized = *req.Sweep
	summarized.Summary = &workflow.SweepSummary{Version: workflow.Version, SweepID: sweepName, Bucket: "ecslogfix-sweeps", Targets: 2, TargetsWalked: 2,
		FailedTargets: []workflow.Target{}, SweepCounts: workflow.SweepCounts{Evaluated: 7, Violations: 2, Started: 2}, CoverageGaps: 1,
		Gaps: []workflow.CoverageGap{{Account: "333333333333", Reason: "member-role", StackSet: "ecslogfix-member-iam", Status: "MISSING"}}, WalkError: req.Sweep.WalkError}
	doc = output(t, sum, doc, summarized)

	notify := m.States[workflow.StateNotifyDigest]
	if notify["Type"] != "Pass" || notify["Next"] != workflow.StatePublishDigest {
		t.Fatalf("NotifyDigest %v", notify)
	}
	decodeStrict(t, parametersWith(t, notify["Parameters"].(map[string]any), doc, sweepContext), &digest)
	setPath(t, doc, notify["ResultPath"].(string), toDoc(t, digest))

	// PublishDigest hands the request to notify, which decodes it as a
	// workflow.NotifyRequest of its own; while outcomes are missing it answers
	// pending and the machine waits as long as notify says, then asks again.
	state := workflow.StatePublishDigest
	answers := []workflow.DigestResult{{Pending: true, RetryAfterSeconds: 30}, {Published: true}}
	for steps := 0; state != workflow.StateCheckWalk; steps++ {
		if steps > 10 {
			t.Fatal("the digest loop does not end")
		}
		s := m.States[state]
		switch state {
		case workflow.StatePublishDigest:
			if len(answers) == 0 {
				t.Fatal("PublishDigest asked again after publishing")
			}
			p := parametersWith(t, s["Parameters"].(map[string]any), doc, sweepContext)
			if p["FunctionName"] != "fn-notify" || s["Resource"] != "arn:aws:states:::lambda:invoke" {
				t.Fatalf("PublishDigest invokes %v with %v", p["FunctionName"], s["Resource"])
			}
			var req workflow.NotifyRequest
			decodeStrict(t, p["Payload"], &req)
			if req.Summary == nil || !reflect.DeepEqual(*req.Summary, *summarized.Summary) || req.ExecutionARN != execID || req.Result != nil || req.Failure != nil {
				t.Fatalf("notify receives %+v", req)
			}
			doc = output(t, s, doc, answers[0])
			answers = answers[1:]
			state = s["Next"].(string)
		case workflow.StateDigestPending:
			state = choice(t, s, doc)
		case workflow.StateDigestWait:
			if s["Type"] != "Wait" || resolve(t, doc, s["SecondsPath"].(string)) != 30.0 {
				t.Fatalf("DigestWait %v waits %v", s, resolve(t, doc, s["SecondsPath"].(string)))
			}
			state = s["Next"].(string)
		default:
			t.Fatalf("the digest loop reaches %s", state)
		}
	}
	if len(answers) != 0 {
		t.Fatal("the digest was not published")
	}

	end = choice(t, m.States[workflow.StateCheckWalk], doc)
	return doc, end, summarized, digest
}

// runChild loops a child execution until its walk is done: each
// WalkTarget receives the Walk the previous one returned.
func runChild(t *testing.T, processor map[string]any, doc map[string]any, first workflow.Walk) {
	t.Helper()
	if cfg := processor["ProcessorConfig"].(map[string]any); cfg["Mode"] != "DISTRIBUTED" || cfg["ExecutionType"] != "STANDARD" {
		t.Fatalf("children run as %v", cfg)
	}
	states := processor["States"].(map[string]any)
	state := processor["StartAt"].(string)
	want := first
	for steps := 0; ; steps++ {
		if steps > 10 {
			t.Fatal("the child does not end")
		}
		s := states[state].(map[string]any)
		switch s["Type"] {
		case "Task":
			var req workflow.SweepRequest
			decodeStrict(t, payload(t, s, doc, sweepContext), &req)
			if req.Action != workflow.SweepActionWalk || req.Walk == nil || *req.Walk != want {
				t.Fatalf("WalkTarget received %+v, want %+v", req.Walk, want)
			}
			// Three invocations: two cut off, the third done.
			want.Invocation++
			want.Checkpoint = inventory.Checkpoint{NextToken: "page-2", Done: want.Invocation * 10, Last: "svc-0042"}
			want.Done = want.Invocation == 3
			doc = output(t, s, doc, want)
			state = s["Next"].(string)
		case "Choice":
			state = choice(t, s, doc)
		case "Succeed":
			if !want.Done || want.Invocation != 3 {
				t.Fatalf("the child ended after %d invocations", want.Invocation)
			}
			var last workflow.Walk
			decodeStrict(t, doc, &last)
			if last != want {
				t.Fatalf("the child ends with %+v", last)
			}
			return
		default:
			t.Fatalf("%s: %v", state, s["Type"])
		}
	}
}

func TestSweepContractSucceeds(t *testing.T) {
	doc, end, summarized, digest := runSweep(t, false)
	if end != workflow.StateSweepDone || loadSweep(t, SweepOptions{}).States[end]["Type"] != "Succeed" {
		t.Fatalf("ends in %s", end)
	}
	if !reflect.DeepEqual(digest, workflow.DigestRequest{Summary: *summarized.Summary, ExecutionARN: execID}) {
		t.Fatalf("the digest receives %+v", digest)
	}
	// Every field a state added is named in SweepState.
	var final workflow.SweepState
	decodeStrict(t, doc, &final)
	if final.Summary == nil || final.Digest == nil || final.WalkError != nil || final.Inventory != sampleInventory() ||
		final.DigestPublished == nil || !final.DigestPublished.Published {
		t.Fatalf("final state %+v", final)
	}
}

// A Map that fails (more failed children than it tolerates, an unreadable
// targets object) still gets its summary and digest, then fails the
// execution.
func TestSweepContractSummarizesAFailedWalk(t *testing.T) {
	doc, end, summarized, digest := runSweep(t, true)
	if end != workflow.StateSweepFailed {
		t.Fatalf("ends in %s", end)
	}
	if s := loadSweep(t, SweepOptions{}).States[end]; s["Type"] != "Fail" || s["Error"] != workflow.ErrSweepWalkFailed {
		t.Fatalf("%s is %v", end, s)
	}
	if digest.Summary.WalkError == nil || digest.Summary.WalkError.Error != "States.ExceedToleratedFailureThreshold" || summarized.WalkError == nil {
		t.Fatalf("the digest does not say the walk failed: %+v", digest.Summary)
	}
	var final workflow.SweepState
	decodeStrict(t, doc, &final)
}

// The Map's settings come from the options; the percentage is written
// with a decimal point (moto's parser refuses an integer; AWS takes both).
func TestSweepMapSettings(t *testing.T) {
	def := SweepDefinition("aws", "fn-sweep", "fn-notify", "b", SweepOptions{MaxConcurrency: 7, ToleratedFailurePercentage: 10})
	if !strings.Contains(def, `"ToleratedFailurePercentage":10.0`) || !strings.Contains(def, `"MaxConcurrency":7`) {
		t.Fatalf("map settings in %s", def)
	}
	for _, part := range []string{"aws", "aws-us-gov", "${AWS::Partition}"} {
		def := SweepDefinition(part, "fn", "fn-notify", "b", SweepOptions{MaxConcurrency: 1})
		for _, res := range []string{"states:::lambda:invoke", "states:::s3:getObject", "states:::s3:putObject"} {
			if !strings.Contains(def, `"arn:`+part+`:`+res+`"`) {
				t.Errorf("%s: no arn:%s:%s", part, part, res)
			}
		}
		if strings.Count(def, `"arn:`) != strings.Count(def, `"arn:`+part+`:`) {
			t.Errorf("%s: an integration ARN of another partition", part)
		}
	}
}

// A PublishDigest that fails after its retries is caught: notify receives
// the summary and the error (a workflow.NotifyRequest it decodes strictly)
// and publishes a notice of the failure, then the sweep fails.
func TestSweepContractNotifiesAFailedDigest(t *testing.T) {
	m := loadSweep(t, SweepOptions{MaxConcurrency: 40, ToleratedFailurePercentage: 5})
	summary := workflow.SweepSummary{Version: workflow.Version, SweepID: sweepName, Bucket: "ecslogfix-sweeps", Targets: 2, TargetsWalked: 2,
		FailedTargets: []workflow.Target{}, Gaps: []workflow.CoverageGap{}}
	doc := toDoc(t, workflow.SweepState{Inventory: sampleInventory(), Summary: &summary,
		Digest: &workflow.DigestRequest{Summary: summary, ExecutionARN: execID}})

	publish := m.States[workflow.StatePublishDigest]
	catches, _ := publish["Catch"].([]any)
	if len(catches) != 1 {
		t.Fatalf("PublishDigest catches %v", publish["Catch"])
	}
	c := catches[0].(map[string]any)
	if !reflect.DeepEqual(c["ErrorEquals"], []any{"States.ALL"}) || c["Next"] != workflow.StateNotifyDigestFailure {
		t.Fatalf("PublishDigest's Catch %v", c)
	}
	caught := workflow.CaughtError{Error: "ecslogfix.InvalidInput", Cause: "digest: sweep is too large"}
	setPath(t, doc, c["ResultPath"].(string), toDoc(t, caught))

	notice := m.States[workflow.StateNotifyDigestFailure]
	p := parametersWith(t, notice["Parameters"].(map[string]any), doc, sweepContext)
	if p["FunctionName"] != "fn-notify" || notice["Resource"] != "arn:aws:states:::lambda:invoke" {
		t.Fatalf("NotifyDigestFailure invokes %v with %v", p["FunctionName"], notice["Resource"])
	}
	var req workflow.NotifyRequest
	decodeStrict(t, p["Payload"], &req)
	if req.Summary == nil || !reflect.DeepEqual(*req.Summary, summary) || req.DigestError == nil || *req.DigestError != caught ||
		req.ExecutionARN != execID || req.Result != nil || req.Failure != nil {
		t.Fatalf("notify receives %+v", req)
	}
	if notice["Retry"] == nil || notice["Catch"] != nil {
		t.Errorf("NotifyDigestFailure retries %v, catches %v", notice["Retry"], notice["Catch"])
	}
	doc = output(t, notice, doc, workflow.DigestResult{Published: true})
	var final workflow.SweepState
	decodeStrict(t, doc, &final)
	if final.DigestError == nil || *final.DigestError != caught {
		t.Fatalf("final state %+v", final)
	}
	end := m.States[notice["Next"].(string)]
	if end["Type"] != "Fail" || end["Error"] != workflow.ErrSweepDigestFailed {
		t.Fatalf("after the notice: %v", end)
	}
}
