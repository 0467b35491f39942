// Command echo is a tiny Lambda function the local-AWS harness uses to
// prove its own mechanism (Step Functions lambda:invoke → the Runtime
// Interface Emulator → a Go bootstrap, Retry and Catch on our error type
// names) before the real functions exist.
//
// Input {"key":"k","fail":"ConcurrentRevisionError","failTimes":2} fails
// the first two invocations for key "k" with that error type, then echoes.
// failTimes < 0 fails every time. fail may be ConcurrentRevisionError,
// ThrottledError or InvalidInputError (the workflow package's types).
//
// With ECHO_FAIL=<type> in its environment every invocation fails with that
// type whatever the input: the end-to-end tests map a real function's name
// to such an instance to inject a fault.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sync"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/ecslogfix/ecslogfix/internal/workflow"
)

type request struct {
	Key       string          `json:"key"`
	Fail      string          `json:"fail,omitempty"`
	FailTimes int             `json:"failTimes,omitempty"`
	Data      json.RawMessage `json:"data,omitempty"`
}

type response struct {
	Key      string          `json:"key"`
	Attempt  int             `json:"attempt"`
	Function string          `json:"function"`
	Data     json.RawMessage `json:"data,omitempty"`
}

// handler counts attempts per key for the life of the process (one warm
// instance under the emulator).
type handler struct {
	mu       sync.Mutex
	attempts map[string]int
}

func (h *handler) handle(_ context.Context, req request) (response, error) {
	if always := os.Getenv("ECHO_FAIL"); always != "" {
		req.Fail, req.FailTimes = always, -1
	}
	h.mu.Lock()
	h.attempts[req.Key]++
	n := h.attempts[req.Key]
	h.mu.Unlock()
	if req.Fail != "" && (req.FailTimes < 0 || n <= req.FailTimes) {
		cause := fmt.Errorf("echo: attempt %d for %q fails on purpose", n, req.Key)
		switch req.Fail {
		case workflow.ErrConcurrentRevision:
			return response{}, &workflow.ConcurrentRevisionError{Err: cause}
		case workflow.ErrThrottled:
			return response{}, &workflow.ThrottledError{Err: cause}
		case workflow.ErrInvalidInput:
			return response{}, &workflow.InvalidInputError{Err: cause}
		default:
			return response{}, errors.New("echo: unknown failure type " + req.Fail)
		}
	}
	return response{Key: req.Key, Attempt: n, Function: os.Getenv("AWS_LAMBDA_FUNCTION_NAME"), Data: req.Data}, nil
}

func main() {
	h := &handler{attempts: map[string]int{}}
	lambda.Start(h.handle)
}
