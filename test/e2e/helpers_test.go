package e2e

import (
	"context"
	"errors"
	"io"
	"os"
	"testing"
	"time"
)

// verbose streams the started processes' output to the test log's stderr
// when ECSLOGFIX_E2E_VERBOSE=1.
func verbose() io.Writer {
	if os.Getenv("ECSLOGFIX_E2E_VERBOSE") == "1" {
		return os.Stderr
	}
	return nil
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
