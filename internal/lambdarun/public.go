package lambdarun

import (
	"context"
	"log/slog"
	"reflect"

	"github.com/aws/aws-lambda-go/lambda/messages"

	"github.com/ecslogfix/ecslogfix/internal/escape"
	"github.com/ecslogfix/ecslogfix/internal/workflow"
)

// maxErrorText bounds the text of an error the function returns: Step
// Functions keeps at most 32,768 characters of a task failure's cause.
const maxErrorText = 32768

// Public wraps a handler so that its error leaves the function as
// PublicError says. Every adapter serves its handler through it.
func Public[In, Out any](h func(context.Context, In) (Out, error)) func(context.Context, In) (Out, error) {
	return func(ctx context.Context, in In) (Out, error) {
		out, err := h(ctx, in)
		return out, PublicError(err)
	}
}

// PublicError is err as it leaves the function. The Lambda runtime reports
// an error's type name as errorType, which the state machine's Retry and
// Catch match, and its text as errorMessage, which becomes the failed
// task's cause in the execution history and the runtime's log line. An AWS
// error message can quote the request, so the text is sanitised with
// escape.Cause, the redaction rule of every record of an outcome; the type
// stays (the workflow's error types keep wrapping their cause).
func PublicError(err error) error {
	switch e := err.(type) {
	case nil:
		return nil
	case *workflow.ThrottledError:
		return &workflow.ThrottledError{Err: redactedError{e.Err}}
	case *workflow.ConcurrentRevisionError:
		return &workflow.ConcurrentRevisionError{Err: redactedError{e.Err}}
	case *workflow.InvalidInputError:
		return &workflow.InvalidInputError{Err: redactedError{e.Err}}
	case messages.InvokeResponse_Error:
		// Already as the runtime reports it: keep its type.
		e.Message = escape.Cause(e.Message, maxErrorText)
		return e
	}
	// Any other error: the runtime sends an InvokeResponse_Error as it
	// is, so it names the type the runtime would have named.
	t := reflect.TypeOf(err)
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return messages.InvokeResponse_Error{Type: t.Name(), Message: redactedError{err}.Error()}
}

// redactedError is err with its text sanitised by escape.Cause.
type redactedError struct{ err error }

func (e redactedError) Error() string { return escape.Cause(e.err.Error(), maxErrorText) }
func (e redactedError) Unwrap() error { return e.err }

// publicLogAttr sanitises the error attribute of every log line with
// escape.Cause, for the same reason: a logged AWS error message can quote
// the request, and the runtime's log lines go to CloudWatch Logs.
func publicLogAttr(_ []string, a slog.Attr) slog.Attr {
	if a.Key == logKeyError {
		a.Value = slog.StringValue(escape.Cause(a.Value.String(), maxErrorText))
	}
	return a
}

// logKeyError is the key every function logs an error under.
const logKeyError = "error"
