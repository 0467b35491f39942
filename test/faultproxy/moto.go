package faultproxy

import (
	"testing"
	"time"

	"github.com/ecslogfix/ecslogfix/test/motoserver"
)

// StartMoto runs a moto server for the duration of a test and returns its
// base URL: motoserver.Private with a 30 s start deadline (a missing moto
// skips the test, or fails it when ECSLOGFIX_REQUIRE_TOOLS=1). It stays for
// the callers under test/reliability.
func StartMoto(tb testing.TB) string {
	tb.Helper()
	return motoserver.Private(tb, 30*time.Second)
}
