package localaws

import (
	"context"
	"io"
	"os"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/ecslogfix/ecslogfix/test/faultproxy"
)

// shared is the server Shared starts once per test binary.
var shared struct {
	once sync.Once
	moto *Moto
	err  error
}

// Shared returns the moto server shared by the tests of this test binary
// (Step Functions executions stay RUNNING), starting it on first use; the
// binary's TestMain is Main. Tests sharing it must keep out of each
// other's way (distinct regions or names, or a Reset).
func Shared(tb testing.TB) *Moto {
	tb.Helper()
	shared.once.Do(func() { shared.moto, shared.err = StartMoto(context.Background(), MotoOptions{}) })
	RequireTool(tb, shared.err)
	return shared.moto
}

// Main is the TestMain of a test binary that uses Shared: it runs the
// tests, then the closers (the test's own servers), stops the shared
// server and exits with the tests' status.
func Main(m *testing.M, closers ...func()) {
	code := m.Run()
	for _, c := range closers {
		c()
	}
	if shared.moto != nil {
		_ = shared.moto.Close()
	}
	os.Exit(code)
}

// Options say what Start runs for one test.
type Options struct {
	// StepFunctions makes moto run state machines (see MotoOptions).
	StepFunctions bool
	// Faults, when set, puts the fault proxy in front of moto (Start sets
	// its Upstream): Endpoint and Config then go through it.
	Faults *faultproxy.Config
	// Log receives moto's output line by line.
	Log io.Writer
}

// Env is a local AWS for one test.
type Env struct {
	Moto  *Moto
	Proxy *faultproxy.Server // nil without Options.Faults
	// Endpoint is where the code under test sends its AWS calls: the
	// proxy when there is one, else moto.
	Endpoint string
}

// Start starts moto (and the fault proxy) for tb alone, stopped at tb's
// cleanup; when tb failed, the cleanup logs the tail of moto's output.
func Start(tb testing.TB, opts Options) *Env {
	tb.Helper()
	m, err := StartMoto(context.Background(), MotoOptions{StepFunctions: opts.StepFunctions, Log: opts.Log})
	RequireTool(tb, err)
	stopAtCleanup(tb, "moto", m)
	e := &Env{Moto: m, Endpoint: m.Endpoint}
	if opts.Faults != nil {
		cfg := *opts.Faults
		cfg.Upstream = m.Endpoint
		if e.Proxy, err = faultproxy.Start(cfg); err != nil {
			tb.Fatalf("start the fault proxy: %v", err)
		}
		tb.Cleanup(func() { e.Proxy.Close() })
		e.Endpoint = e.Proxy.URL
	}
	return e
}

// Config is an SDK configuration for Endpoint.
func (e *Env) Config() aws.Config { return Config(e.Endpoint) }

// Direct is an SDK configuration for moto itself, past any fault proxy:
// for a test's own set-up and checks.
func (e *Env) Direct() aws.Config { return e.Moto.Config() }

// LambdaEnv is the environment a function needs to reach Endpoint.
func (e *Env) LambdaEnv() map[string]string { return LambdaEnv(e.Endpoint) }

// NewFunction starts a function under the emulator for tb alone, stopped
// at tb's cleanup; when tb failed, the cleanup logs the tail of its output.
func NewFunction(tb testing.TB, opts FunctionOptions) *Function {
	tb.Helper()
	f, err := StartFunction(context.Background(), opts)
	RequireTool(tb, err)
	stopAtCleanup(tb, opts.Name, f)
	return f
}

// stopAtCleanup closes c at tb's cleanup, after logging the tail of its
// output when tb failed.
func stopAtCleanup(tb testing.TB, name string, c interface {
	Logs() string
	Close() error
}) {
	tb.Cleanup(func() {
		if tb.Failed() {
			tb.Logf("%s output (tail):\n%s", name, tail(c.Logs(), 6000))
		}
		if err := c.Close(); err != nil {
			tb.Errorf("stop %s: %v", name, err)
		}
	})
}

// Bootstrap builds the Lambda main package pkg (see BuildBootstrap) for
// this host's architecture, to run under the emulator, into a directory
// of tb's.
func Bootstrap(tb testing.TB, pkg string) string {
	tb.Helper()
	root, err := RepoRoot()
	if err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	p, err := BuildBootstrap(ctx, root, pkg, runtime.GOARCH, tb.TempDir())
	if err != nil {
		tb.Fatal(err)
	}
	return p
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n:]
}
