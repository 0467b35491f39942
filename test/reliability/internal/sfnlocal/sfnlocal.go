// Package sfnlocal runs an Amazon States Language (JSONPath) state machine
// in-process, for the reliability scenarios that need more executions than
// moto's interpreter and the Lambda emulators can run in a CI budget.
//
// It interprets exactly the states and fields ecslogfix's workflow
// (asl.Definition) uses and refuses any other, so a definition change cannot
// silently fall outside what it interprets. Paths are "$", "$.a.b" and
// "$$.Execution.Id". Retry follows AWS: per-retrier attempt counts,
// IntervalSeconds·BackoffRate^n capped at MaxDelaySeconds, JitterStrategy
// FULL draws uniformly in [0, delay). Retry delays and Wait seconds are
// multiplied by Machine.TimeScale. A Lambda function error becomes the Task
// error errorType with cause {"errorMessage","errorType"}, as Step Functions
// reports it.
package sfnlocal

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"time"
)

// Invoker calls a Lambda function with payload. A function error is
// reported as errType/errMsg; err is kept for the invoke itself failing
// (reported to the state machine as Lambda.ServiceException).
type Invoker func(ctx context.Context, function string, payload []byte) (out []byte, errType, errMsg string, err error)

type retrier struct {
	ErrorEquals []string
	// Zero is not a valid IntervalSeconds, BackoffRate or MaxDelaySeconds
	// in AWS: zero means absent. MaxAttempts 0 (no retry) is valid.
	IntervalSeconds float64
	MaxAttempts     *int
	BackoffRate     float64
	MaxDelaySeconds float64
	JitterStrategy  string
}

type catcher struct {
	ErrorEquals []string
	ResultPath  *string
	Next        string
}

type choice struct {
	Variable      string
	StringEquals  *string
	BooleanEquals *bool
	Next          string
}

// state is a state of any type; allowed says which fields each type sets.
type state struct {
	Type, Comment string
	Next          string
	Default       string
	Choices       []choice
	Resource      string
	Parameters    struct {
		FunctionName string
		Payload      map[string]any
	}
	ResultSelector map[string]any
	ResultPath     *string // nil: absent ("$"); "" (null in JSON): discard the result
	Retry          []retrier
	Catch          []catcher
	Result         any
	Error, Cause   string
	SecondsPath    string
}

// allowed is the fields each state type may set besides Type and Comment.
var allowed = map[string][]string{
	"Choice":  {"Choices", "Default"},
	"Task":    {"Resource", "Parameters", "ResultSelector", "ResultPath", "Retry", "Catch", "Next"},
	"Pass":    {"Result", "ResultPath", "Next"},
	"Wait":    {"SecondsPath", "Next"},
	"Succeed": {},
	"Fail":    {"Error", "Cause"},
}

// Machine is a parsed state machine.
type Machine struct {
	startAt string
	states  map[string]*state
	Invoke  Invoker
	// TimeScale multiplies every Retry delay and Wait (e.g. 0.01: 2 s →
	// 20 ms).
	TimeScale float64

	mu  sync.Mutex
	rnd *rand.Rand
}

// Parse parses a definition; it fails on any state type or field outside
// the supported subset.
func Parse(definition string, seed uint64) (*Machine, error) {
	var top struct {
		StartAt, QueryLanguage, Comment string
		States                          map[string]state
	}
	var raw struct {
		States map[string]map[string]json.RawMessage
	}
	dec := json.NewDecoder(strings.NewReader(definition))
	dec.DisallowUnknownFields()
	if err := cmp.Or(dec.Decode(&top), json.Unmarshal([]byte(definition), &raw)); err != nil {
		return nil, fmt.Errorf("sfnlocal: definition: %w", err)
	}
	if top.QueryLanguage != "" && top.QueryLanguage != "JSONPath" {
		return nil, fmt.Errorf("sfnlocal: QueryLanguage %q is not supported", top.QueryLanguage)
	}
	m := &Machine{startAt: top.StartAt, states: map[string]*state{}, TimeScale: 1, rnd: rand.New(rand.NewPCG(seed, 0x5f17))}
	for name, s := range top.States {
		if err := s.check(raw.States[name]); err != nil {
			return nil, fmt.Errorf("sfnlocal: state %s (%s): %w", name, s.Type, err)
		}
		m.states[name] = &s
	}
	if m.states[m.startAt] == nil {
		return nil, fmt.Errorf("sfnlocal: StartAt %q is not a state", m.startAt)
	}
	return m, nil
}

// check refuses the fields s's type does not allow and the values outside
// the supported subset.
func (s *state) check(fields map[string]json.RawMessage) error {
	keys, ok := allowed[s.Type]
	if !ok {
		return errors.New("type is not supported")
	}
	for k := range fields {
		if k != "Type" && k != "Comment" && !slices.Contains(keys, k) {
			return fmt.Errorf("field %s is not supported", k)
		}
	}
	if string(fields["ResultPath"]) == "null" {
		s.ResultPath = new(string) // discard the result
	}
	if s.Type == "Task" && s.Resource != "arn:aws:states:::lambda:invoke" {
		return fmt.Errorf("resource %s is not supported", s.Resource)
	}
	if slices.ContainsFunc(s.Choices, func(c choice) bool { return c.StringEquals == nil && c.BooleanEquals == nil }) {
		return errors.New("only StringEquals and BooleanEquals choices are supported")
	}
	if slices.ContainsFunc(s.Retry, func(r retrier) bool { return r.JitterStrategy != "FULL" }) {
		return errors.New("only JitterStrategy FULL is supported")
	}
	return nil
}

// Event is one step of an execution's history.
type Event struct {
	Type    string // StateEntered, TaskFailed, TaskRetry, TaskSucceeded
	State   string
	Error   string
	Payload string // the function's output (TaskSucceeded)
}

// Execution is one run.
type Execution struct {
	ARN, Name string
	Input     string
	Status    string // RUNNING, SUCCEEDED, FAILED
	Output    string
	Error     string
	Cause     string
	History   []Event
	Retries   int // Retry attempts taken, all states
}

// stateError is an error Step Functions names; failure names any other
// States.Runtime.
type stateError struct{ name, cause string }

func (e *stateError) Error() string { return e.name + ": " + e.cause }

func failure(err error) *stateError {
	if e, ok := errors.AsType[*stateError](err); ok {
		return e
	}
	return &stateError{"States.Runtime", err.Error()}
}

// Run executes the machine on input and returns when it stops.
func (m *Machine) Run(ctx context.Context, arn, name, input string) *Execution {
	ex := &Execution{ARN: arn, Name: name, Input: input, Status: "FAILED"}
	fail := func(err error) *Execution {
		f := failure(err)
		ex.Error, ex.Cause = f.name, f.cause
		return ex
	}
	var doc any
	if err := json.Unmarshal([]byte(input), &doc); err != nil {
		return fail(fmt.Errorf("input is not JSON: %w", err))
	}
	ctxObj := map[string]any{"Execution": map[string]any{"Id": arn, "Name": name, "Input": doc}}
	for cur, steps := m.startAt, 0; cur != ""; steps++ {
		s := m.states[cur]
		if steps > 1000 || s == nil {
			return fail(fmt.Errorf("no state %s or more than 1000 transitions", cur))
		}
		ex.History = append(ex.History, Event{Type: "StateEntered", State: cur})
		next, out, err := m.step(ctx, ex, cur, s, map[string]any{"$": doc, "$$": ctxObj})
		if err != nil {
			f := failure(err)
			i := slices.IndexFunc(s.Catch, func(c catcher) bool { return matches(c.ErrorEquals, f.name) })
			if i < 0 {
				return fail(f)
			}
			next = s.Catch[i].Next
			if out, err = applyResultPath(s.Catch[i].ResultPath, doc, map[string]any{"Error": f.name, "Cause": f.cause}); err != nil {
				return fail(err)
			}
		}
		doc, cur = out, next
	}
	b, _ := json.Marshal(doc)
	ex.Status, ex.Output = "SUCCEEDED", string(b)
	return ex
}

// step runs state s (named name) on root {"$": input, "$$": context
// object}; it returns the next state ("": the execution succeeds) and the
// state's output.
func (m *Machine) step(ctx context.Context, ex *Execution, name string, s *state, root map[string]any) (string, any, error) {
	doc := root["$"]
	switch s.Type {
	case "Fail":
		return "", nil, &stateError{s.Error, s.Cause}
	case "Choice":
		for _, c := range s.Choices {
			// A value of another type never equals: comparing
			// interfaces of different dynamic types is false.
			v, err := get(c.Variable, root)
			if err == nil && (c.StringEquals != nil && v == any(*c.StringEquals) || c.BooleanEquals != nil && v == any(*c.BooleanEquals)) {
				return c.Next, doc, nil
			}
		}
		if s.Default == "" {
			return "", nil, &stateError{"States.NoChoiceMatched", name}
		}
		return s.Default, doc, nil
	case "Wait":
		// The non-negative integer at SecondsPath; a missing path is
		// States.Runtime, as in AWS.
		v, err := get(s.SecondsPath, root)
		n, ok := v.(float64)
		if err == nil && (!ok || n < 0 || n != math.Trunc(n)) {
			err = fmt.Errorf("SecondsPath %s: %v is not a non-negative integer", s.SecondsPath, v)
		}
		if err != nil {
			return "", nil, err
		}
		return s.Next, doc, m.sleep(ctx, n)
	case "Pass":
		result := s.Result
		if result == nil {
			result = doc
		}
		out, err := applyResultPath(s.ResultPath, doc, result)
		return s.Next, out, err
	case "Task":
		out, err := m.task(ctx, ex, name, s, root)
		if err != nil {
			ex.History = append(ex.History, Event{Type: "TaskFailed", State: name, Error: failure(err).name})
		}
		return s.Next, out, err
	}
	return "", doc, nil // Succeed
}

// task runs a Task state with its retries; it returns the state's output.
func (m *Machine) task(ctx context.Context, ex *Execution, name string, s *state, root map[string]any) (any, error) {
	payload, err := resolve(s.Parameters.Payload, root)
	if err != nil {
		return nil, err
	}
	body, _ := json.Marshal(payload) // values decoded from JSON always encode
	attempts := make([]int, len(s.Retry))
	for {
		out, errType, errMsg, err := m.Invoke(ctx, s.Parameters.FunctionName, body)
		f := &stateError{errType, errMsg}
		switch {
		case err != nil:
			f = &stateError{"Lambda.ServiceException", err.Error()}
		case errType != "":
			cause, _ := json.Marshal(map[string]string{"errorMessage": errMsg, "errorType": errType})
			f.cause = string(cause)
		default:
			var payload any
			if err := json.Unmarshal(out, &payload); err != nil {
				return nil, fmt.Errorf("function output is not JSON: %w", err)
			}
			ex.History = append(ex.History, Event{Type: "TaskSucceeded", State: name, Payload: string(out)})
			// The lambda:invoke response, through ResultSelector.
			var result any = map[string]any{"ExecutedVersion": "$LATEST", "Payload": payload, "StatusCode": 200}
			if s.ResultSelector != nil {
				if result, err = resolve(s.ResultSelector, map[string]any{"$": result, "$$": root["$$"]}); err != nil {
					return nil, err
				}
			}
			return applyResultPath(s.ResultPath, root["$"], result)
		}
		// Retry: the first retrier whose ErrorEquals matches decides.
		i := slices.IndexFunc(s.Retry, func(r retrier) bool { return matches(r.ErrorEquals, f.name) })
		if i < 0 || attempts[i] >= *cmp.Or(s.Retry[i].MaxAttempts, new(3)) {
			return nil, f
		}
		attempts[i]++
		ex.Retries++
		ex.History = append(ex.History, Event{Type: "TaskRetry", State: name, Error: f.name})
		if err := m.sleep(ctx, m.delay(s.Retry[i], attempts[i]-1)); err != nil {
			return nil, err
		}
	}
}

// sleep waits seconds (scaled by TimeScale), or fails with States.Timeout
// when ctx ends first.
func (m *Machine) sleep(ctx context.Context, seconds float64) error {
	select {
	case <-time.After(time.Duration(seconds * m.TimeScale * float64(time.Second))):
		return nil
	case <-ctx.Done():
		return &stateError{"States.Timeout", ctx.Err().Error()}
	}
}

// delay is a retrier's delay in seconds before retry attempt+1.
func (m *Machine) delay(r retrier, attempt int) float64 {
	d := cmp.Or(r.IntervalSeconds, 1) * math.Pow(cmp.Or(r.BackoffRate, 2), float64(attempt))
	if r.MaxDelaySeconds > 0 {
		d = min(d, r.MaxDelaySeconds)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	return d * m.rnd.Float64() // JitterStrategy FULL
}

func matches(errs []string, name string) bool {
	return slices.ContainsFunc(errs, func(e string) bool {
		return e == name || e == "States.ALL" || (e == "States.TaskFailed" && !strings.HasPrefix(name, "States."))
	})
}

// resolve applies a Parameters Payload or ResultSelector template: keys
// ending in ".$" take the value of their path.
func resolve(tmpl map[string]any, root map[string]any) (map[string]any, error) {
	out := make(map[string]any, len(tmpl))
	for k, v := range tmpl {
		var err error
		if key, ok := strings.CutSuffix(k, ".$"); ok {
			p, ok := v.(string)
			if !ok {
				return nil, fmt.Errorf("%s: path is not a string", k)
			}
			k = key
			v, err = get(p, root)
		} else if t, ok := v.(map[string]any); ok {
			v, err = resolve(t, root)
		} else if _, ok := v.([]any); ok { // asl.Definition's templates hold none
			err = fmt.Errorf("%s: arrays in a template are not supported", k)
		}
		if err != nil {
			return nil, err
		}
		out[k] = v
	}
	return out, nil
}

// fields splits a path ("$", "$.a.b", "$$.Execution.Id") into the keys
// that select it from {"$": input, "$$": context object}.
func fields(p string) ([]string, error) {
	keys := strings.Split(p, ".")
	if keys[0] != "$" && keys[0] != "$$" || strings.ContainsAny(p, "[]*") || slices.Contains(keys, "") {
		return nil, fmt.Errorf("unsupported path %q", p)
	}
	return keys, nil
}

// get is the value at path p; a path that selects nothing is
// States.Runtime in AWS.
func get(p string, root map[string]any) (any, error) {
	keys, err := fields(p)
	if err != nil {
		return nil, err
	}
	var cur any = root
	for _, k := range keys {
		m, _ := cur.(map[string]any)
		v, ok := m[k]
		if !ok {
			return nil, fmt.Errorf("path %s selects nothing", p)
		}
		cur = v
	}
	return cur, nil
}

// applyResultPath places result into doc at rp (nil: "$" replaces doc;
// "": null discards result).
func applyResultPath(rp *string, doc, result any) (any, error) {
	if rp == nil {
		return result, nil
	}
	if *rp == "" {
		return doc, nil
	}
	keys, err := fields(*rp)
	if err != nil || keys[0] != "$" {
		return nil, fmt.Errorf("unsupported ResultPath %q", *rp)
	}
	return put(doc, keys[1:], result)
}

// put returns doc with v at keys, creating missing objects as AWS does; it
// copies the objects on the way so earlier history entries are not changed.
func put(doc any, keys []string, v any) (any, error) {
	if len(keys) == 0 {
		return v, nil
	}
	m, ok := doc.(map[string]any)
	if !ok && doc != nil {
		return nil, fmt.Errorf("ResultPath through a non-object at %s", keys[0])
	}
	out := make(map[string]any, len(m)+1)
	maps.Copy(out, m)
	var err error
	out[keys[0]], err = put(m[keys[0]], keys[1:], v)
	return out, err
}
