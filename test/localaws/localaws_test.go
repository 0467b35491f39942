package localaws

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/aws-sdk-go-v2/service/sns"

	"github.com/ecslogfix/ecslogfix/internal/workflow"
	"github.com/ecslogfix/ecslogfix/test/faultproxy"
)

func TestMain(m *testing.M) { Main(m) }

// A started server answers the SDK through Config, lists what was
// published, and after Close nothing listens on its port any more.
func TestMotoServesUntilClose(t *testing.T) {
	m, err := StartMoto(context.Background(), MotoOptions{})
	RequireTool(t, err)
	defer m.Close()
	ctx := context.Background()
	if m.Version == "" {
		t.Error("the launcher did not report moto's version")
	}
	c := sns.NewFromConfig(m.Config())
	topic, err := c.CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String("t")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Publish(ctx, &sns.PublishInput{TopicArn: topic.TopicArn, Subject: aws.String("s"),
		MessageStructure: aws.String("json"), Message: aws.String(`{"default":"d","email":"e"}`)}); err != nil {
		t.Fatal(err)
	}
	msgs, err := m.Published(ctx)
	if err != nil || len(msgs) != 1 || msgs[0].Structured("email") != "e" || msgs[0].Structured("sqs") != "d" || msgs[0].Subject != "s" {
		t.Errorf("Published = %+v, %v; want the one message, whole", msgs, err)
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	if err := m.Close(); err != nil { // a second Close is harmless
		t.Error(err)
	}
	if resp, err := http.Post(m.Endpoint+"/moto-api/reset", "application/json", nil); err == nil {
		resp.Body.Close()
		t.Fatalf("moto still answers after Close: %s", resp.Status)
	}
}

// Shared starts one server per test binary.
func TestSharedIsOne(t *testing.T) {
	if a, b := Shared(t), Shared(t); a != b {
		t.Fatalf("two shared servers: %s, %s", a.Endpoint, b.Endpoint)
	}
}

// The function's URL (where moto's lambda:invoke Tasks go) and Invoke
// share one emulator, which crashes on concurrent invokes: invokes made
// through both at once are each answered, one at a time, as the attempt
// count of one key shows.
func TestFunctionURLAndInvokeTakeTurns(t *testing.T) {
	f := NewFunction(t, FunctionOptions{Name: "echo", Bootstrap: Bootstrap(t, "./test/localaws/testdata/echo")})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	const n = 8
	attempts := make(chan int, n)
	errs := make(chan error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			var got struct {
				Function string `json:"function"`
				Attempt  int    `json:"attempt"`
			}
			var body []byte
			if i%2 == 0 {
				inv, err := f.Invoke(ctx, []byte(`{"key":"k"}`))
				if err != nil {
					errs <- err
					return
				}
				body = inv.Payload
			} else {
				resp, err := http.Post(f.URL, "application/json", strings.NewReader(`{"key":"k"}`))
				if err != nil {
					errs <- err
					return
				}
				defer resp.Body.Close()
				if body, err = io.ReadAll(resp.Body); err != nil || resp.StatusCode != http.StatusOK {
					errs <- fmt.Errorf("POST %s: HTTP %d, %v", f.URL, resp.StatusCode, err)
					return
				}
			}
			if err := json.Unmarshal(body, &got); err != nil || got.Function != "echo" {
				errs <- fmt.Errorf("answer %s, %v", body, err)
				return
			}
			attempts <- got.Attempt
		})
	}
	wg.Wait()
	close(errs)
	close(attempts)
	for err := range errs {
		t.Error(err)
	}
	var seen []int
	for a := range attempts {
		seen = append(seen, a)
	}
	slices.Sort(seen)
	if want := []int{1, 2, 3, 4, 5, 6, 7, 8}; !slices.Equal(seen, want) {
		t.Errorf("attempts %v, want %v", seen, want)
	}
}

// A function under the emulator answers its invoke URL; the first answer
// is the cold start, and an error return is reported, not failed.
func TestFunctionInvoke(t *testing.T) {
	f := NewFunction(t, FunctionOptions{Name: "echo", Bootstrap: Bootstrap(t, "./test/localaws/testdata/echo")})
	ctx := context.Background()
	var got struct {
		Attempt int `json:"attempt"`
	}
	inv, err := f.Invoke(ctx, []byte(`{"key":"k"}`))
	if err != nil || !inv.Cold || inv.Err(f.Name) != nil || json.Unmarshal(inv.Payload, &got) != nil || got.Attempt != 1 {
		t.Fatalf("first invoke: %+v, %v, attempt %d", inv, err, got.Attempt)
	}
	if time.Since(f.Started) < inv.Duration {
		t.Errorf("started %s ago, yet the invoke took %s", time.Since(f.Started), inv.Duration)
	}
	inv, err = f.Invoke(ctx, []byte(`{"key":"k","fail":"`+workflow.ErrInvalidInput+`","failTimes":-1}`))
	var fe *FunctionError
	if err != nil || inv.Cold || !errors.As(inv.Err(f.Name), &fe) || fe.Type != workflow.ErrInvalidInput {
		t.Errorf("failing invoke: %+v, %v; want a FunctionError %s", inv, err, workflow.ErrInvalidInput)
	}
}

func TestParseFunctionError(t *testing.T) {
	tests := []struct {
		body     string
		typ, msg string
		ok       bool
	}{
		{`{"errorMessage":"concurrent revision: x","errorType":"ConcurrentRevisionError"}`, "ConcurrentRevisionError", "concurrent revision: x", true},
		{`{"errorMessage":"m","errorType":"T","stackTrace":[]}`, "T", "m", true},
		{`{"errorMessage":"m","errorType":"T","status":"ok"}`, "", "", false}, // a payload that happens to carry the names
		{`{"status":"started"}`, "", "", false},
		{`"just a string"`, "", "", false},
		{`not json`, "", "", false},
	}
	for _, tc := range tests {
		typ, msg, ok := ParseFunctionError([]byte(tc.body))
		if typ != tc.typ || msg != tc.msg || ok != tc.ok {
			t.Errorf("ParseFunctionError(%s) = %q, %q, %v; want %q, %q, %v", tc.body, typ, msg, ok, tc.typ, tc.msg, tc.ok)
		}
	}
}

type noBackoff struct{}

func (noBackoff) BackoffDelay(int, error) (time.Duration, error) { return 0, nil }

// Through the fault proxy at a 30 % fault rate on every API, an SDK client
// with enough retries still registers every revision exactly once per
// successful call, and moto agrees with the proxy's count of forwarded
// registrations.
func TestFaultProxyInFrontOfMoto(t *testing.T) {
	env := Start(t, Options{Faults: &faultproxy.Config{Seed: 3, Rules: []faultproxy.Rule{{API: "*", Rates: map[faultproxy.Kind]float64{
		faultproxy.Throttle: 0.1, faultproxy.InternalError: 0.05, faultproxy.Unavailable: 0.05, faultproxy.Reset: 0.1,
	}}}}})
	ctx := context.Background()
	cfg := env.Config()
	cfg.Retryer = func() aws.Retryer {
		return retry.NewStandard(func(o *retry.StandardOptions) {
			o.MaxAttempts, o.Backoff, o.RateLimiter = 20, noBackoff{}, ratelimit.None
		})
	}
	viaProxy := ecs.NewFromConfig(cfg)
	const n = 20
	for i := range n {
		if _, err := viaProxy.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{Family: aws.String("web"),
			ContainerDefinitions: []ecstypes.ContainerDefinition{{Name: aws.String("app"), Image: aws.String("nginx"), Memory: aws.Int32(128)}},
		}); err != nil {
			t.Fatalf("register %d: %v", i, err)
		}
	}
	out, err := ecs.NewFromConfig(env.Direct()).ListTaskDefinitions(ctx, &ecs.ListTaskDefinitionsInput{FamilyPrefix: aws.String("web"), Status: ecstypes.TaskDefinitionStatusActive})
	if err != nil {
		t.Fatal(err)
	}
	st := env.Proxy.Stats().APIs["ecs:RegisterTaskDefinition"]
	t.Logf("RegisterTaskDefinition: %d requests, %d forwarded, faults %v", st.Requests, st.Forwarded, st.Faults)
	if len(out.TaskDefinitionArns) != n || st.Forwarded != n {
		t.Errorf("moto holds %d revisions, proxy forwarded %d; want %d", len(out.TaskDefinitionArns), st.Forwarded, n)
	}
	if st.FaultCount() == 0 {
		t.Error("no fault injected")
	}
}

// The Makefile's build target and infra's bundler, which build the
// bootstraps deployed to AWS, use BuildBootstrap's environment and flags.
func TestBootstrapBuildsAgree(t *testing.T) {
	root, err := RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	makefile, err := os.ReadFile(filepath.Join(root, "Makefile"))
	if err != nil {
		t.Fatal(err)
	}
	var line string
	for l := range strings.Lines(string(makefile)) {
		if strings.Contains(l, "go build") && strings.Contains(l, "bootstrap") {
			line = l
		}
	}
	env, args, ok := strings.Cut(line, " go build ")
	if !ok {
		t.Fatalf("no bootstrap `go build` line in the Makefile")
	}
	for _, kv := range bootstrapEnv {
		if !slices.Contains(strings.Fields(env), kv) {
			t.Errorf("the Makefile's bootstrap build lacks %s: %s", kv, strings.TrimSpace(line))
		}
	}
	if want := shellFlags(bootstrapFlags); !strings.HasPrefix(args, want+" -o ") {
		t.Errorf("the Makefile builds bootstraps with %q, want %q first", strings.TrimSpace(args), want)
	}

	// infra/assets/bundling.go: exec.Command("go", "build", flags..., "-o", …)
	// with Env appending GOOS=linux, GOARCH=arm64, CGO_ENABLED=0.
	file, err := parser.ParseFile(token.NewFileSet(), filepath.Join(root, "infra", "assets", "bundling.go"), nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	var strs []string
	ast.Inspect(file, func(n ast.Node) bool {
		if lit, ok := n.(*ast.BasicLit); ok && lit.Kind == token.STRING {
			s, _ := strconv.Unquote(lit.Value)
			strs = append(strs, s)
		}
		return true
	})
	i := slices.Index(strs, "build")
	j := slices.Index(strs, "-o")
	if i < 0 || j < i {
		t.Fatalf("no go build … -o in bundling.go: %q", strs)
	}
	// The bundler runs outside make, which exports GOFLAGS=-buildvcs=false.
	flags := slices.DeleteFunc(slices.Clone(strs[i+1:j]), func(s string) bool { return s == "-buildvcs=false" })
	if !slices.Equal(flags, bootstrapFlags) {
		t.Errorf("bundling.go builds with %q, want %q", flags, bootstrapFlags)
	}
	for _, kv := range append(bootstrapEnv, "GOARCH=arm64") {
		if !slices.Contains(strs, kv) {
			t.Errorf("bundling.go's build environment lacks %s", kv)
		}
	}
}

// shellFlags renders flags as the Makefile writes them (a value with a
// space in single quotes).
func shellFlags(flags []string) string {
	var out []string
	for _, f := range flags {
		if k, v, ok := strings.Cut(f, "="); ok && strings.Contains(v, " ") {
			f = k + "='" + v + "'"
		}
		out = append(out, f)
	}
	return strings.Join(out, " ")
}
