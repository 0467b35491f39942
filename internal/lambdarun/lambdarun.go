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

	"github.com/aws/aws-lambda-go/lambda"
)

// Build is an adapter's build step: environment → clients → handler.
type Build[H any] func(context.Context, *slog.Logger) (H, error)

// Main builds the handler with build and serves it with start; a build
// error is logged and ends the process with status 1 (Lambda then reports
// an init error, and the invocation is retried).
func Main[H any](function string, build Build[H], start func(H)) {
	log := slog.New(slog.NewJSONHandler(os.Stdout, &slog.HandlerOptions{ReplaceAttr: publicLogAttr})).With("function", function)
	h, err := build(context.Background(), log)
	if err != nil {
		log.Error("startup failed", "error", err.Error())
		os.Exit(1)
	}
	start(h)
}

// Strict is Main for a handler whose input is ecslogfix's own contract
// (a workflow request, a sweep request, a report job): it is decoded
// strictly, an unknown field failing the invocation
// (lambda.WithDisallowUnknownFields), and its error leaves through Public.
// handle is the handler's method, e.g. (*remediate.Remediator).Handle.
func Strict[H, In, Out any](function string, build Build[H], handle func(H, context.Context, In) (Out, error)) {
	Main(function, build, func(h H) {
		lambda.StartHandlerFunc(Public(bind(h, handle)), lambda.WithDisallowUnknownFields(true))
	})
}

// Lenient is Main for a handler whose input is AWS's (a CloudTrail event,
// a CloudFormation hook request): AWS adds fields to those, so unknown
// ones are ignored; its error leaves through Public.
func Lenient[H, In, Out any](function string, build Build[H], handle func(H, context.Context, In) (Out, error)) {
	Main(function, build, func(h H) {
		lambda.StartHandlerFunc(Public(bind(h, handle)))
	})
}

// bind is the handler method handle of h as a handler function.
func bind[H, In, Out any](h H, handle func(H, context.Context, In) (Out, error)) func(context.Context, In) (Out, error) {
	return func(ctx context.Context, in In) (Out, error) { return handle(h, ctx, in) }
}
