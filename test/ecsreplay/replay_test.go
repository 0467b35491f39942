// Package ecsreplay replays the shared task definition corpus through the
// remediation code against a loopback ECS that answers
// DescribeTaskDefinition with each fixture as AWS returned it, and records
// the RegisterTaskDefinition bodies the real SDK client sends. moto cannot
// stand in here: it drops enableFaultInjection, trustedExecutionConfiguration
// and GPU sharingStrategy and rewrites EXTERNAL definitions to awsvpc, so a
// "lossless on moto" test cannot see those fields, and it validates no enum.
//
// Each recorded body is compared field by field with its fixture, and every
// enum value in it is checked against the SDK's Values(), with ECS's
// documented limits.
package ecsreplay

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/smithy-go/middleware"

	"github.com/ecslogfix/ecslogfix/internal/awsclient"
	"github.com/ecslogfix/ecslogfix/internal/policy"
	"github.com/ecslogfix/ecslogfix/internal/policy/awslogs"
	"github.com/ecslogfix/ecslogfix/internal/remediate"
	"github.com/ecslogfix/ecslogfix/internal/taskdef"
	"github.com/ecslogfix/ecslogfix/internal/workflow"
)

// registrar is the one call the replay needs from the remediation code:
// re-read the family, plan and register. newRegistrar is the adapter to
// repoint when that code moves.
type registrar interface {
	Register(ctx context.Context, st workflow.State) (workflow.Result, error)
}

func newRegistrar(cfg aws.Config, pol policy.Policy, partition string) registrar {
	return &remediate.Remediator{
		Policy:    pol,
		Partition: partition,
		Logger:    slog.New(slog.DiscardHandler),
		// The production client stack (retryer, per-attempt register
		// limiter), at its fastest.
		Clients: remediate.ClientsFrom(awsclient.New(cfg, awsclient.Options{ReadRate: awsclient.MaxReadRate, RegisterRate: awsclient.MaxRate, MaxAttempts: 1})),
	}
}

const corpusDir = "../../testdata/taskdefs"

// fixture is one `aws ecs describe-task-definition --include TAGS` output.
type fixture struct {
	name string
	raw  []byte // as stored
	wire []byte // as the API sends it: timestamps in epoch seconds
	doc  struct {
		TaskDefinition map[string]any `json:"taskDefinition"`
		Tags           []any          `json:"tags"`
	}
	family string
	arn    taskdef.ARN
}

// isoTimestamp matches the CLI's rendering of the API's timestamps.
var isoTimestamp = regexp.MustCompile(`"(registeredAt|deregisteredAt|deleteRequestedAt)":\s*"([^"]+)"`)

// wireFormat turns the CLI's ISO 8601 timestamps back into the epoch
// seconds the awsJson1.1 protocol carries; every other byte stays as stored.
func wireFormat(t *testing.T, raw []byte) []byte {
	t.Helper()
	return isoTimestamp.ReplaceAllFunc(raw, func(m []byte) []byte {
		sub := isoTimestamp.FindSubmatch(m)
		ts, err := time.Parse("2006-01-02T15:04:05.999999-07:00", string(sub[2]))
		if err != nil {
			t.Fatalf("timestamp %s: %v", sub[2], err)
		}
		return fmt.Appendf(nil, `"%s": %.3f`, sub[1], float64(ts.UnixMilli())/1000)
	})
}

func loadFixtures(t *testing.T) []*fixture {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(corpusDir, "td*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no fixtures in %s: %v", corpusDir, err)
	}
	var out []*fixture
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		fx := &fixture{name: strings.TrimSuffix(filepath.Base(f), ".json"), raw: raw, wire: wireFormat(t, raw)}
		if err := json.Unmarshal(raw, &fx.doc); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		fx.family, _ = fx.doc.TaskDefinition["family"].(string)
		if fx.arn, err = taskdef.ParseARN(fx.doc.TaskDefinition["taskDefinitionArn"].(string)); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		out = append(out, fx)
	}
	return out
}

// stub is a loopback ECS and CloudWatch Logs: DescribeTaskDefinition
// answers with the fixture of the family asked for, verbatim;
// RegisterTaskDefinition records the body and answers with the next
// revision; CloudWatch Logs has every group and accepts every change.
type stub struct {
	t        *testing.T
	fixtures map[string]*fixture // by family

	mu        sync.Mutex
	registers map[string][]byte // by family: the body sent
	calls     []string
}

func (s *stub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	target := r.Header.Get("X-Amz-Target")
	op := target[strings.LastIndexByte(target, '.')+1:]
	s.mu.Lock()
	s.calls = append(s.calls, op)
	s.mu.Unlock()
	var in map[string]any
	_ = json.Unmarshal(body, &in)
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	switch op {
	case "DescribeTaskDefinition":
		ref, _ := in["taskDefinition"].(string)
		family := ref
		if a, err := taskdef.ParseARN(ref); err == nil {
			family = a.Family
		} else if i := strings.LastIndexByte(ref, ':'); i > 0 {
			family = ref[:i]
		}
		fx, ok := s.fixtures[family]
		if !ok {
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprintf(w, `{"__type":"ClientException","message":"Unable to describe task definition."}`)
			return
		}
		_, _ = w.Write(fx.wire)
	case "RegisterTaskDefinition":
		family, _ := in["family"].(string)
		s.mu.Lock()
		s.registers[family] = body
		s.mu.Unlock()
		fx := s.fixtures[family]
		next := fx.arn
		next.Revision++
		fmt.Fprintf(w, `{"taskDefinition":{"taskDefinitionArn":%q,"family":%q,"revision":%d,"status":"ACTIVE"}}`, next.String(), family, next.Revision)
	case "CreateLogGroup", "PutRetentionPolicy":
		_, _ = w.Write([]byte(`{}`))
	case "DescribeLogGroups":
		// Every group exists, with a retention: the replay is about the
		// register bodies, not the groups.
		name, _ := in["logGroupNamePrefix"].(string)
		fmt.Fprintf(w, `{"logGroups":[{"logGroupName":%q,"retentionInDays":30,"logGroupArn":"arn:aws:logs:us-east-1:111122223333:log-group:%s"}]}`, name, name)
	default:
		s.t.Errorf("unexpected call %s", target)
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprintf(w, `{"__type":"InvalidAction","message":"not served by the replay stub"}`)
	}
}

// captured records the typed RegisterTaskDefinition inputs, for the enum
// and limit checks.
type captured struct {
	mu  sync.Mutex
	ins map[string]*ecs.RegisterTaskDefinitionInput
}

func (c *captured) middleware(st *middleware.Stack) error {
	return st.Initialize.Add(middleware.InitializeMiddlewareFunc("ecsreplay.Capture",
		func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
			if reg, ok := in.Parameters.(*ecs.RegisterTaskDefinitionInput); ok {
				c.mu.Lock()
				c.ins[aws.ToString(reg.Family)] = reg
				c.mu.Unlock()
			}
			return next.HandleInitialize(ctx, in)
		}), middleware.After)
}

// replayPolicy is the default policy with a default execution role, so the
// Fargate and EXTERNAL fixtures without one are fixed too.
func replayPolicy() policy.Policy {
	p := policy.Default()
	p.DefaultExecutionRoleARN = "arn:aws:iam::" + policy.AccountPlaceholder + ":role/ecslogfix-task-execution"
	return p
}

// outcomes are what the remediation decides for the fixtures it does not
// register; every other fixture is REMEDIATED and its body checked field by
// field.
var outcomes = map[string]workflow.Outcome{
	"td07-firelens":                            workflow.OutcomeNeedsHuman,
	"td11-compliant-fargate":                   workflow.OutcomeAlreadyCompliant,
	"td34-inference-accelerators":              workflow.OutcomeAlreadyCompliant,
	"td38-every-volume-type":                   workflow.OutcomeAlreadyCompliant,
	"td39-trusted-execution-managed-instances": workflow.OutcomeAlreadyCompliant,
	"td42-near-64k":                            workflow.OutcomeBlocked, // the fix crosses 64 KiB
	"td43-delete-in-progress":                  workflow.OutcomeInactive,
	"td44-tags-49-plus-aws":                    workflow.OutcomeBlocked, // 49 user tags + ecslogfix's 2 > 50
	"td45-tags-50":                             workflow.OutcomeBlocked,
}

// unlogged is fx with its first container's logConfiguration removed: a
// compliant fixture's other fields (inference accelerators, every volume
// type, trustedExecutionConfiguration…) then go through the register path
// too. It is the replay's only edit of a fixture.
func unlogged(t *testing.T, fx *fixture) *fixture {
	t.Helper()
	var doc map[string]any
	if err := json.Unmarshal(fx.wire, &doc); err != nil {
		t.Fatal(err)
	}
	for _, d := range []map[string]any{doc["taskDefinition"].(map[string]any), fx.doc.TaskDefinition} {
		delete(d["containerDefinitions"].([]any)[0].(map[string]any), "logConfiguration")
	}
	u := *fx
	u.name += " without its first container's logConfiguration"
	wire, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	u.wire = wire
	return &u
}

func TestReplayCorpusThroughRegister(t *testing.T) {
	all := loadFixtures(t)
	n := replay(t, all, func(fx *fixture) workflow.Outcome { return cmpOr(outcomes[fx.name], workflow.OutcomeRemediated) })
	var compliant []*fixture
	for _, fx := range loadFixtures(t) {
		if outcomes[fx.name] == workflow.OutcomeAlreadyCompliant {
			compliant = append(compliant, unlogged(t, fx))
		}
	}
	n += replay(t, compliant, func(*fixture) workflow.Outcome { return workflow.OutcomeRemediated })
	if n < len(all)-len(outcomes)+len(compliant) {
		t.Errorf("%d registrations checked", n)
	}
	t.Logf("%d fixtures, %d registrations checked field by field", len(all), n)
}

func cmpOr(a, b workflow.Outcome) workflow.Outcome {
	if a != "" {
		return a
	}
	return b
}

// replay runs each fixture through Register against a fresh stub and
// checks the outcome, and every registered body; it returns the number of
// bodies checked.
func replay(t *testing.T, fixtures []*fixture, want func(*fixture) workflow.Outcome) int {
	t.Helper()
	s := &stub{t: t, fixtures: map[string]*fixture{}, registers: map[string][]byte{}}
	for _, fx := range fixtures {
		if prev, dup := s.fixtures[fx.family]; dup {
			t.Fatalf("%s and %s share the family %s", prev.name, fx.name, fx.family)
		}
		s.fixtures[fx.family] = fx
	}
	srv := httptest.NewServer(s)
	defer srv.Close()
	capt := &captured{ins: map[string]*ecs.RegisterTaskDefinitionInput{}}
	cfg := aws.Config{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(srv.URL),
		Credentials:  credentials.NewStaticCredentialsProvider("test", "test", ""),
		APIOptions:   []func(*middleware.Stack) error{capt.middleware},
	}
	ctx := context.Background()
	checked := 0
	for _, fx := range fixtures {
		t.Run(fx.name, func(t *testing.T) {
			a := fx.arn
			res, err := newRegistrar(cfg, replayPolicy(), a.Partition).Register(ctx, workflow.State{Input: workflow.Input{
				Version: workflow.Version, Trigger: workflow.TriggerSweep, Target: workflow.Target{Account: a.Account, Region: a.Region},
				TaskDefinitionARN: a.String(), Family: a.Family, Revision: a.Revision, Enforcement: policy.Enforce,
			}})
			if err != nil {
				t.Fatalf("register: %v", err)
			}
			if w := want(fx); res.Outcome != w {
				t.Fatalf("outcome %s (%s), want %s", res.Outcome, res.Detail, w)
			}
			s.mu.Lock()
			body, registered := s.registers[fx.family]
			s.mu.Unlock()
			if registered != (res.Outcome == workflow.OutcomeRemediated) {
				t.Fatalf("registered %v for outcome %s", registered, res.Outcome)
			}
			if !registered {
				return
			}
			checked++
			compareWithFixture(t, fx, body, res)
			capt.mu.Lock()
			in := capt.ins[fx.family]
			capt.mu.Unlock()
			for _, p := range enumViolations(reflect.ValueOf(in), "RegisterTaskDefinitionInput") {
				t.Errorf("%s: not in the SDK's Values(), so ECS refuses the registration", p)
			}
			for _, p := range limitViolations(in, body) {
				t.Errorf("beyond a documented limit: %s", p)
			}
			// The new revision is compliant.
			td := &types.TaskDefinition{Family: in.Family, ContainerDefinitions: in.ContainerDefinitions, RequiresCompatibilities: in.RequiresCompatibilities, ExecutionRoleArn: in.ExecutionRoleArn}
			if ev := replayPolicy().Evaluate(td, nil); !ev.Compliant {
				t.Errorf("the registered revision is not compliant: %+v", ev.Containers)
			}
		})
	}
	return checked
}

// outputOnly are DescribeTaskDefinition fields RegisterTaskDefinition does
// not take.
var outputOnly = []string{"taskDefinitionArn", "revision", "status", "requiresAttributes", "compatibilities",
	"registeredAt", "registeredBy", "deregisteredAt", "deleteRequestedAt"}

// compareWithFixture checks the body field by field against the fixture's
// taskDefinition: output-only fields absent, every other field equal, except
// what the plan changes (the logConfiguration of the containers it fixes,
// an execution role it adds), networkMode "default" (registered by leaving
// it out), and the tags (aws: ones dropped, ecslogfix's added).
func compareWithFixture(t *testing.T, fx *fixture, body []byte, res workflow.Result) {
	t.Helper()
	var got map[string]any
	if err := json.Unmarshal(body, &got); err != nil {
		t.Fatal(err)
	}
	src := fx.doc.TaskDefinition
	changed := map[string]bool{}
	if res.Plan != nil {
		for _, c := range res.Plan.Containers {
			if c.After != nil {
				changed[c.Name] = true
			}
		}
	}
	for _, k := range outputOnly {
		if _, ok := got[k]; ok {
			t.Errorf("output-only field %s was sent", k)
		}
	}
	for k, want := range src {
		if slices.Contains(outputOnly, k) {
			continue
		}
		v, ok := got[k]
		switch {
		case k == "networkMode" && want == "default":
			if ok {
				t.Errorf("networkMode %v sent; \"default\" is registered by leaving it out", v)
			}
		case k == "containerDefinitions":
			compareContainers(t, want.([]any), v, changed)
		case !ok:
			t.Errorf("field %s (%s) was not sent", k, short(want))
		case !reflect.DeepEqual(v, want):
			t.Errorf("field %s: sent %s, fixture %s", k, short(v), short(want))
		}
	}
	for k, v := range got {
		if _, ok := src[k]; ok || k == "tags" {
			continue
		}
		if k == "executionRoleArn" && res.Plan != nil && res.Plan.ExecutionRoleARN == v {
			continue
		}
		t.Errorf("field %s (%s) is not in the fixture", k, short(v))
	}
	// Tags: the fixture's without aws:*, then ecslogfix's provenance.
	var wantTags []any
	for _, tg := range fx.doc.Tags {
		if !taskdef.IsReservedTagKey(tg.(map[string]any)["key"].(string)) {
			wantTags = append(wantTags, tg)
		}
	}
	for _, tg := range taskdef.ProvenanceTags(fx.arn.Revision) {
		wantTags = append(wantTags, map[string]any{"key": aws.ToString(tg.Key), "value": aws.ToString(tg.Value)})
	}
	if gotTags, _ := got["tags"].([]any); !reflect.DeepEqual(gotTags, wantTags) {
		t.Errorf("tags: sent %s, want %s", short(gotTags), short(wantTags))
	}
}

func compareContainers(t *testing.T, want []any, gotV any, changed map[string]bool) {
	t.Helper()
	got, _ := gotV.([]any)
	if len(got) != len(want) {
		t.Errorf("%d containers sent, fixture has %d", len(got), len(want))
		return
	}
	for i := range want {
		w, g := want[i].(map[string]any), got[i].(map[string]any)
		name, _ := w["name"].(string)
		for k, wv := range w {
			gv, ok := g[k]
			switch {
			case k == "logConfiguration" && changed[name]:
				continue // the fix; checked by the compliance evaluation
			case k == "cpu" && wv == float64(0) && !ok:
				continue // ContainerDefinition.Cpu is a plain int32: 0 is not sent, and means the same
			case !ok:
				t.Errorf("container %s: field %s (%s) was not sent", name, k, short(wv))
			case !reflect.DeepEqual(gv, wv):
				t.Errorf("container %s: field %s: sent %s, fixture %s", name, k, short(gv), short(wv))
			}
		}
		for k, gv := range g {
			if _, ok := w[k]; !ok && !(k == "logConfiguration" && changed[name]) {
				t.Errorf("container %s: field %s (%s) is not in the fixture", name, k, short(gv))
			}
		}
	}
}

func short(v any) string {
	b, _ := json.Marshal(v)
	if len(b) > 200 {
		return string(b[:200]) + "…"
	}
	return string(b)
}

// enumViolations walks v and returns the path of every value of an SDK
// enum type (a string type with a Values method) that is not among its
// Values(): a value ECS's model does not know, which the service refuses.
func enumViolations(v reflect.Value, path string) []string {
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return nil
		}
		return enumViolations(v.Elem(), path)
	case reflect.Struct:
		var out []string
		for i := range v.NumField() {
			if f := v.Type().Field(i); f.IsExported() {
				out = append(out, enumViolations(v.Field(i), path+"."+f.Name)...)
			}
		}
		return out
	case reflect.Slice:
		var out []string
		for i := range v.Len() {
			out = append(out, enumViolations(v.Index(i), fmt.Sprintf("%s[%d]", path, i))...)
		}
		return out
	case reflect.Map:
		var out []string
		it := v.MapRange()
		for it.Next() {
			out = append(out, enumViolations(it.Value(), fmt.Sprintf("%s[%v]", path, it.Key()))...)
		}
		return out
	case reflect.String:
		m := v.MethodByName("Values")
		if !m.IsValid() || v.Len() == 0 {
			return nil
		}
		values := m.Call(nil)[0]
		for i := range values.Len() {
			if values.Index(i).String() == v.String() {
				return nil
			}
		}
		return []string{fmt.Sprintf("%s = %q", path, v.String())}
	}
	return nil
}

// Documented limits of RegisterTaskDefinition (API reference and "Amazon
// ECS service quotas"): the family, container and volume names, ten
// containers, 50 tags of at most 128/256 characters without the aws:
// prefix, a 64 KiB request, valid awslogs groups.
var nameRE = regexp.MustCompile(`^[A-Za-z0-9_-]{1,255}$`)

func limitViolations(in *ecs.RegisterTaskDefinitionInput, body []byte) []string {
	var out []string
	if !nameRE.MatchString(aws.ToString(in.Family)) {
		out = append(out, fmt.Sprintf("family %q", aws.ToString(in.Family)))
	}
	if n := len(in.ContainerDefinitions); n < 1 || n > 10 {
		out = append(out, fmt.Sprintf("%d containers", n))
	}
	for _, c := range in.ContainerDefinitions {
		if !nameRE.MatchString(aws.ToString(c.Name)) {
			out = append(out, fmt.Sprintf("container name %q", aws.ToString(c.Name)))
		}
		if lc := c.LogConfiguration; lc != nil && lc.LogDriver == "awslogs" && !awslogs.ValidLogGroupName(lc.Options["awslogs-group"]) {
			out = append(out, fmt.Sprintf("container %s: awslogs-group %q", aws.ToString(c.Name), lc.Options["awslogs-group"]))
		}
	}
	for _, v := range in.Volumes {
		if !nameRE.MatchString(aws.ToString(v.Name)) {
			out = append(out, fmt.Sprintf("volume name %q", aws.ToString(v.Name)))
		}
	}
	if len(in.Tags) > taskdef.MaxTags {
		out = append(out, fmt.Sprintf("%d tags", len(in.Tags)))
	}
	for _, tg := range in.Tags {
		k, v := aws.ToString(tg.Key), aws.ToString(tg.Value)
		if k == "" || utf8.RuneCountInString(k) > taskdef.MaxTagKeyLength || utf8.RuneCountInString(v) > taskdef.MaxTagValueLength || taskdef.IsReservedTagKey(k) {
			out = append(out, fmt.Sprintf("tag %q=%q", k, v))
		}
	}
	if len(body) > taskdef.MaxRegisterBytes || !bytes.HasPrefix(body, []byte("{")) {
		out = append(out, fmt.Sprintf("request of %d bytes", len(body)))
	}
	return out
}
