package e2e

import (
	"context"
	"errors"
	"os"
	"testing"
	"time"

	"github.com/ecslogfix/ecslogfix/test/e2e/harness"
)

// verbose streams the started processes' output to the test log's stderr
// when ECSLOGFIX_E2E_VERBOSE=1.
func verbose() *os.File {
	if os.Getenv("ECSLOGFIX_E2E_VERBOSE") == "1" {
		return os.Stderr
	}
	return nil
}

// startMoto starts the launcher for the test and stops it at cleanup; on
// failure the server's output is logged.
func startMoto(t *testing.T, tools harness.Tools) *harness.Moto {
	t.Helper()
	opts := harness.MotoOptions{Tools: tools, Dir: t.TempDir()}
	if v := verbose(); v != nil {
		opts.Log = v
	}
	m, err := harness.StartMoto(context.Background(), opts)
	if err != nil {
		t.Fatalf("start moto: %v", err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("moto output (tail):\n%s", tail(m.Logs(), 6000))
		}
		if err := m.Close(); err != nil {
			t.Errorf("stop moto: %v", err)
		}
	})
	return m
}

// startFunction builds nothing: it starts an emulator with a built
// bootstrap and stops it at cleanup.
func startFunction(t *testing.T, tools harness.Tools, opts harness.FunctionOptions) *harness.Function {
	t.Helper()
	if v := verbose(); v != nil {
		opts.Log = v
	}
	f, err := harness.StartFunction(context.Background(), tools, opts)
	if err != nil {
		t.Fatalf("start %s: %v", opts.Name, err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("%s output (tail):\n%s", opts.Name, tail(f.Logs(), 6000))
		}
		if err := f.Close(); err != nil {
			t.Errorf("stop %s: %v", opts.Name, err)
		}
	})
	return f
}

func build(t *testing.T, tools harness.Tools, pkg string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	p, err := harness.BuildBootstrap(ctx, tools, pkg, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n:]
}

// testContext bounds a test's AWS calls and waits.
func testContext(t *testing.T, d time.Duration) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

func errorsAs(err error, target any) bool { return err != nil && errors.As(err, target) }
