package lambdarun

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/lambda/messages"

	"github.com/ecslogfix/ecslogfix/internal/workflow"
)

const secret = "FAKE-quoted-by-aws-c0ffee"

// An AWS error message can quote the request: the error a handler returns
// leaves the function sanitised, with the type the state machine matches.
func TestPublicSanitisesErrorText(t *testing.T) {
	quoted := errors.New("ClientException: Invalid parameter: token=" + secret + " is not valid.")
	tests := []struct {
		name string
		err  error
		want string // the errorType the runtime reports
	}{
		{"throttled", &workflow.ThrottledError{Err: quoted}, workflow.ErrThrottled},
		{"invalid input", &workflow.InvalidInputError{Err: quoted}, workflow.ErrInvalidInput},
		{"other", fmt.Errorf("describe task definition: %w", quoted), "wrapError"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := Public(func(context.Context, string) (int, error) { return 0, tc.err })
			_, err := h(context.Background(), "")
			// Twice: an error already public stays as it is.
			for i, e := range []error{err, PublicError(err)} {
				typ := fmt.Sprintf("%T", e)
				typ = typ[strings.LastIndex(typ, ".")+1:]
				if ir, ok := e.(messages.InvokeResponse_Error); ok {
					typ = ir.Type
				}
				if typ != tc.want {
					t.Errorf("%d: errorType %q (%v), want %q", i, typ, e, tc.want)
				}
				if strings.Contains(e.Error(), secret) || !strings.Contains(e.Error(), "token=[redacted]") {
					t.Errorf("%d: error text not sanitised: %v", i, e)
				}
			}
		})
	}
	h := Public(func(context.Context, string) (int, error) { return 7, nil })
	if out, err := h(context.Background(), ""); out != 7 || err != nil {
		t.Errorf("Public changed a success: %d %v", out, err)
	}
}

// Every log line's error attribute is sanitised the same way.
func TestLogLinesSanitiseErrors(t *testing.T) {
	var b bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&b, &slog.HandlerOptions{ReplaceAttr: publicLogAttr})).With("function", "notify")
	log.Error("notification not published", "error", "publish: api error ClientException: token="+secret+" is not valid.")
	out := b.String()
	if strings.Contains(out, secret) || !strings.Contains(out, `"error":"publish: api error ClientException: token=[redacted] is not valid."`) {
		t.Errorf("the error attribute is not sanitised: %s", out)
	}
}
