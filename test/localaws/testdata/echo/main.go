// Command echo is a tiny Lambda function the local-AWS harness uses to
// prove its own mechanism (Step Functions lambda:invoke → the Runtime
// Interface Emulator → a Go bootstrap, Retry and Catch on our error type
// names) before the real functions exist.
//
// Input {"key":"k","fail":"ConcurrentRevisionError","failTimes":2} fails
// the first two invocations for key "k" with that error type, then echoes.
// failTimes < 0 fails every time. fail is the error type Lambda reports,
// e.g. ConcurrentRevisionError, ThrottledError or InvalidInputError (the
// workflow package's names; its tests hold its error types to them).
//
// With ECHO_FAIL=<type> in its environment every invocation fails with that
// type whatever the input: the end-to-end tests map a real function's name
// to such an instance to inject a fault.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"sync"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambda/messages"
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
		return response{}, messages.InvokeResponse_Error{Type: req.Fail, Message: fmt.Sprintf("echo: attempt %d for %q fails on purpose", n, req.Key)}
	}
	return response{Key: req.Key, Attempt: n, Function: os.Getenv("AWS_LAMBDA_FUNCTION_NAME"), Data: req.Data}, nil
}

func main() {
	h := &handler{attempts: map[string]int{}}
	lambda.Start(h.handle)
}
