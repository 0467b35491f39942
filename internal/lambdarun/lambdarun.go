// Package lambdarun is how every ecslogfix function starts: JSON logs on
// stdout with the function's name (log/slog, stable keys), the adapter's
// build step (environment → clients → handler), and a failed build ending
// the process with one log line instead of serving a broken handler. What
// leaves a function as text — its returned error (Public) and every log
// line's error attribute — is sanitised here with escape.Cause.
package lambdarun

import (
	"context"
	"log/slog"
	"os"
)

// Main builds the handler with build and serves it with start; a build
// error is logged and ends the process with status 1 (Lambda then reports
// an init error, and the invocation is retried).
func Main[H any](function string, build func(context.Context, *slog.Logger) (H, error), start func(H)) {
	log := slog.New(slog.NewJSONHandler(os.Stdout, &slog.HandlerOptions{ReplaceAttr: publicLogAttr})).With("function", function)
	h, err := build(context.Background(), log)
	if err != nil {
		log.Error("startup failed", "error", err.Error())
		os.Exit(1)
	}
	start(h)
}
