// Package sfnlocal runs an Amazon States Language (JSONPath) state machine
// in-process, for the reliability scenarios that need more executions than
// moto's interpreter and the Lambda emulators can run in a CI budget.
//
// It supports exactly what ecslogfix's workflow uses and refuses any other
// field, so a definition change cannot silently fall outside what it
// interprets: Choice (Variable + StringEquals/BooleanEquals, Default), Task
// (Resource arn:aws:states:::lambda:invoke with Parameters FunctionName and
// Payload, ResultSelector, ResultPath, Retry, Catch), Pass (Result,
// ResultPath), Wait (SecondsPath, scaled by Machine.TimeScale),
// Succeed and Fail. Paths are "$", "$.a.b" and "$$.Execution.Id"
// / "$$.Execution.Name". Retry follows AWS: per-retrier attempt counts,
// IntervalSeconds·BackoffRate^n capped at MaxDelaySeconds, JitterStrategy
// FULL draws uniformly in [0, delay); the delays are multiplied by
// Machine.TimeScale. A Lambda function error becomes the Task error
// errorType with cause {"errorMessage","errorType"}, as Step Functions
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

type state struct {
	Type           string
	Next           string
	End            bool
	Default        string
	Choices        []choice
	Resource       string
	Parameters     map[string]any
	ResultSelector map[string]any
	ResultPath     *string // nil: absent ("$"); "" (null in JSON): discard the result
	Retry          []retrier
	Catch          []catcher
	Result         json.RawMessage
	Error, Cause   string
	SecondsPath    string
	Comment        string
}

var allowed = map[string][]string{
	"Choice":  {"Type", "Choices", "Default", "Comment"},
	"Task":    {"Type", "Resource", "Parameters", "ResultSelector", "ResultPath", "Retry", "Catch", "Next", "End", "Comment"},
	"Pass":    {"Type", "Result", "ResultPath", "Next", "End", "Comment"},
	"Wait":    {"Type", "SecondsPath", "Next", "End", "Comment"},
	"Succeed": {"Type", "Comment"},
	"Fail":    {"Type", "Error", "Cause", "Comment"},
}

// Machine is a parsed state machine.
type Machine struct {
	startAt string
	states  map[string]*state
	// Invoke runs the Lambda functions of Task states.
	Invoke Invoker
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
		StartAt       string
		QueryLanguage string
		Comment       string
		States        map[string]map[string]json.RawMessage
	}
	dec := json.NewDecoder(strings.NewReader(definition))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&top); err != nil {
		return nil, fmt.Errorf("sfnlocal: definition: %w", err)
	}
	if top.QueryLanguage != "" && top.QueryLanguage != "JSONPath" {
		return nil, fmt.Errorf("sfnlocal: QueryLanguage %q is not supported", top.QueryLanguage)
	}
	m := &Machine{startAt: top.StartAt, states: map[string]*state{}, TimeScale: 1, rnd: rand.New(rand.NewPCG(seed, 0x5f17))}
	for name, fields := range top.States {
		var typ string
		if err := json.Unmarshal(fields["Type"], &typ); err != nil {
			return nil, fmt.Errorf("sfnlocal: state %s: Type: %w", name, err)
		}
		keys, ok := allowed[typ]
		if !ok {
			return nil, fmt.Errorf("sfnlocal: state %s: type %s is not supported", name, typ)
		}
		for k := range fields {
			if !slices.Contains(keys, k) {
				return nil, fmt.Errorf("sfnlocal: state %s (%s): field %s is not supported", name, typ, k)
			}
		}
		var s state
		raw, _ := json.Marshal(fields)
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, fmt.Errorf("sfnlocal: state %s: %w", name, err)
		}
		if string(fields["ResultPath"]) == "null" {
			s.ResultPath = new(string) // discard the result
		}
		if typ == "Task" && s.Resource != "arn:aws:states:::lambda:invoke" {
			return nil, fmt.Errorf("sfnlocal: state %s: resource %s is not supported", name, s.Resource)
		}
		for _, c := range s.Choices {
			if c.StringEquals == nil && c.BooleanEquals == nil {
				return nil, fmt.Errorf("sfnlocal: state %s: only StringEquals and BooleanEquals choices are supported", name)
			}
		}
		for _, r := range s.Retry {
			if r.JitterStrategy != "" && r.JitterStrategy != "FULL" && r.JitterStrategy != "NONE" {
				return nil, fmt.Errorf("sfnlocal: state %s: JitterStrategy %s", name, r.JitterStrategy)
			}
		}
		m.states[name] = &s
	}
	if m.states[m.startAt] == nil {
		return nil, fmt.Errorf("sfnlocal: StartAt %q is not a state", m.startAt)
	}
	return m, nil
}

// Event is one step of an execution's history.
type Event struct {
	Type    string // StateEntered, TaskFailed, TaskRetry, TaskSucceeded, ExecutionSucceeded, ExecutionFailed
	State   string
	Error   string
	Payload string // the task's payload (TaskScheduled) or output
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

// taskError is a failed Task's Error and Cause.
type taskError struct{ name, cause string }

// Run executes the machine on input and returns when it stops.
func (m *Machine) Run(ctx context.Context, arn, name, input string) *Execution {
	ex := &Execution{ARN: arn, Name: name, Input: input, Status: "RUNNING"}
	var doc any
	fail := func(name, cause string) *Execution {
		ex.Status, ex.Error, ex.Cause = "FAILED", name, cause
		return ex
	}
	succeed := func() *Execution {
		b, _ := json.Marshal(doc)
		ex.Status, ex.Output = "SUCCEEDED", string(b)
		return ex
	}
	if err := json.Unmarshal([]byte(input), &doc); err != nil {
		return fail("States.Runtime", "input is not JSON: "+err.Error())
	}
	ctxObj := map[string]any{"Execution": map[string]any{"Id": arn, "Name": name, "Input": doc}}
	cur := m.startAt
	for steps := 0; ; steps++ {
		if steps > 1000 {
			return fail("States.Runtime", "more than 1000 transitions")
		}
		s := m.states[cur]
		if s == nil {
			return fail("States.Runtime", "no state "+cur)
		}
		ex.History = append(ex.History, Event{Type: "StateEntered", State: cur})
		switch s.Type {
		case "Succeed":
			ex.History = append(ex.History, Event{Type: "ExecutionSucceeded"})
			return succeed()
		case "Fail":
			ex.History = append(ex.History, Event{Type: "ExecutionFailed", Error: s.Error})
			return fail(s.Error, s.Cause)
		case "Choice":
			next := s.Default
			for _, c := range s.Choices {
				// A value of another type never equals: comparing
				// interfaces of different dynamic types is false.
				v, err := path(c.Variable, doc, ctxObj)
				if err == nil && (c.StringEquals != nil && v == any(*c.StringEquals) || c.BooleanEquals != nil && v == any(*c.BooleanEquals)) {
					next = c.Next
					break
				}
			}
			if next == "" {
				return fail("States.NoChoiceMatched", cur)
			}
			cur = next
			continue
		case "Pass":
			var result any = doc
			if len(s.Result) > 0 {
				if err := json.Unmarshal(s.Result, &result); err != nil {
					return fail("States.Runtime", err.Error())
				}
			}
			var err error
			if doc, err = applyResultPath(s.ResultPath, doc, result); err != nil {
				return fail("States.Runtime", err.Error())
			}
		case "Wait":
			secs, err := waitSeconds(s, doc, ctxObj)
			if err != nil {
				return fail("States.Runtime", err.Error())
			}
			t := time.NewTimer(time.Duration(secs * m.TimeScale * float64(time.Second)))
			select {
			case <-t.C:
			case <-ctx.Done():
				t.Stop()
				return fail("States.Timeout", ctx.Err().Error())
			}
		case "Task":
			out, terr := m.task(ctx, ex, cur, s, doc, ctxObj)
			if terr != nil {
				ex.History = append(ex.History, Event{Type: "TaskFailed", State: cur, Error: terr.name})
				i := slices.IndexFunc(s.Catch, func(c catcher) bool { return matches(c.ErrorEquals, terr.name) })
				if i < 0 {
					ex.History = append(ex.History, Event{Type: "ExecutionFailed", Error: terr.name})
					return fail(terr.name, terr.cause)
				}
				var err error
				if doc, err = applyResultPath(s.Catch[i].ResultPath, doc, map[string]any{"Error": terr.name, "Cause": terr.cause}); err != nil {
					return fail("States.Runtime", err.Error())
				}
				cur = s.Catch[i].Next
				continue
			}
			doc = out
		}
		if s.End || s.Next == "" {
			return succeed()
		}
		cur = s.Next
	}
}

// waitSeconds is a Wait state's duration: the non-negative integer at
// SecondsPath (a missing path is States.Runtime, as in AWS).
func waitSeconds(s *state, doc, ctxObj any) (float64, error) {
	v, err := path(s.SecondsPath, doc, ctxObj)
	if err != nil {
		return 0, err
	}
	n, ok := v.(float64)
	if !ok || n < 0 || n != math.Trunc(n) {
		return 0, fmt.Errorf("SecondsPath %s: %v is not a non-negative integer", s.SecondsPath, v)
	}
	return n, nil
}

// task runs a Task state with its retries; it returns the state's output.
func (m *Machine) task(ctx context.Context, ex *Execution, name string, s *state, doc, ctxObj any) (any, *taskError) {
	params, err := resolve(s.Parameters, doc, ctxObj)
	if err != nil {
		return nil, &taskError{"States.Runtime", err.Error()}
	}
	p := params.(map[string]any)
	fn, _ := p["FunctionName"].(string)
	payload, err := json.Marshal(p["Payload"])
	if err != nil {
		return nil, &taskError{"States.Runtime", err.Error()}
	}
	attempts := make([]int, len(s.Retry))
	for {
		ex.History = append(ex.History, Event{Type: "TaskScheduled", State: name, Payload: string(payload)})
		out, errType, errMsg, ierr := m.Invoke(ctx, fn, payload)
		var terr *taskError
		switch {
		case ierr != nil:
			terr = &taskError{"Lambda.ServiceException", ierr.Error()}
		case errType != "":
			cause, _ := json.Marshal(map[string]string{"errorMessage": errMsg, "errorType": errType})
			terr = &taskError{errType, string(cause)}
		}
		if terr == nil {
			var payloadDoc any
			if err := json.Unmarshal(out, &payloadDoc); err != nil {
				return nil, &taskError{"States.Runtime", "function output is not JSON: " + err.Error()}
			}
			ex.History = append(ex.History, Event{Type: "TaskSucceeded", State: name, Payload: string(out)})
			var result any = map[string]any{"ExecutedVersion": "$LATEST", "Payload": payloadDoc, "StatusCode": 200}
			if s.ResultSelector != nil {
				if result, err = resolve(s.ResultSelector, result, ctxObj); err != nil {
					return nil, &taskError{"States.Runtime", err.Error()}
				}
			}
			res, err := applyResultPath(s.ResultPath, doc, result)
			if err != nil {
				return nil, &taskError{"States.Runtime", err.Error()}
			}
			return res, nil
		}
		// Retry: the first retrier whose ErrorEquals matches decides.
		i := slices.IndexFunc(s.Retry, func(r retrier) bool { return matches(r.ErrorEquals, terr.name) })
		if i < 0 {
			return nil, terr
		}
		r := s.Retry[i]
		max := 3
		if r.MaxAttempts != nil {
			max = *r.MaxAttempts
		}
		if attempts[i] >= max {
			return nil, terr
		}
		delay := m.delay(r, attempts[i])
		attempts[i]++
		ex.Retries++
		ex.History = append(ex.History, Event{Type: "TaskRetry", State: name, Error: terr.name})
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, &taskError{"States.Timeout", ctx.Err().Error()}
		case <-t.C:
		}
	}
}

func (m *Machine) delay(r retrier, attempt int) time.Duration {
	d := cmp.Or(r.IntervalSeconds, 1) * math.Pow(cmp.Or(r.BackoffRate, 2), float64(attempt))
	if r.MaxDelaySeconds > 0 {
		d = min(d, r.MaxDelaySeconds)
	}
	if r.JitterStrategy == "FULL" {
		m.mu.Lock()
		d *= m.rnd.Float64()
		m.mu.Unlock()
	}
	return time.Duration(d * m.TimeScale * float64(time.Second))
}

func matches(errs []string, name string) bool {
	for _, e := range errs {
		if e == name || e == "States.ALL" || (e == "States.TaskFailed" && !strings.HasPrefix(name, "States.")) {
			return true
		}
	}
	return false
}

// resolve applies a Parameters / ResultSelector template: keys ending in
// ".$" take the value of their path.
func resolve(tmpl any, doc, ctxObj any) (any, error) {
	switch t := tmpl.(type) {
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, v := range t {
			if key, ok := strings.CutSuffix(k, ".$"); ok {
				ps, ok := v.(string)
				if !ok {
					return nil, fmt.Errorf("%s: path is not a string", k)
				}
				val, err := path(ps, doc, ctxObj)
				if err != nil {
					return nil, err
				}
				out[key] = val
				continue
			}
			r, err := resolve(v, doc, ctxObj)
			if err != nil {
				return nil, err
			}
			out[k] = r
		}
		return out, nil
	case []any: // asl.Definition's templates hold none
		return nil, errors.New("arrays in a Parameters or ResultSelector template are not supported")
	}
	return tmpl, nil
}

// errPath is a path that selects nothing (States.Runtime in AWS).
var errPath = errors.New("path not found")

func path(p string, doc, ctxObj any) (any, error) {
	root := doc
	rest := ""
	switch {
	case p == "$":
		return doc, nil
	case strings.HasPrefix(p, "$$."):
		root, rest = ctxObj, p[3:]
	case strings.HasPrefix(p, "$."):
		rest = p[2:]
	default:
		return nil, fmt.Errorf("unsupported path %q", p)
	}
	cur := root
	for _, seg := range strings.Split(rest, ".") {
		if strings.ContainsAny(seg, "[]*") {
			return nil, fmt.Errorf("unsupported path %q", p)
		}
		m, ok := cur.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("%s: %w", p, errPath)
		}
		if cur, ok = m[seg]; !ok {
			return nil, fmt.Errorf("%s: %w", p, errPath)
		}
	}
	return cur, nil
}

// applyResultPath places result into doc at rp (nil: "$" replaces doc;
// "": null discards result).
func applyResultPath(rp *string, doc, result any) (any, error) {
	if rp == nil || *rp == "$" {
		return result, nil
	}
	if *rp == "" {
		return doc, nil
	}
	rest, ok := strings.CutPrefix(*rp, "$.")
	if !ok || strings.ContainsAny(rest, "[]*") {
		return nil, fmt.Errorf("unsupported ResultPath %q", *rp)
	}
	// Copy the top-level object so earlier history entries are not changed.
	top, ok := doc.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("ResultPath %s on a non-object", *rp)
	}
	out := maps.Clone(top)
	segs := strings.Split(rest, ".")
	cur := out
	for _, seg := range segs[:len(segs)-1] {
		next, ok := cur[seg].(map[string]any)
		if next = maps.Clone(next); !ok || next == nil {
			next = map[string]any{}
		}
		cur[seg] = next
		cur = next
	}
	cur[segs[len(segs)-1]] = result
	return out, nil
}
