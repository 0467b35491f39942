package harness

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"sync"
	"time"
)

// BuildBootstrap cross-compiles the Lambda main package pkg (a path
// relative to the repository root, e.g. "./functions/detect") as
// outDir/bootstrap for linux on the host's architecture, the way the
// Makefile builds it for AWS (which targets arm64).
func BuildBootstrap(ctx context.Context, tools Tools, pkg, outDir string) (string, error) {
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return "", err
	}
	out := filepath.Join(outDir, "bootstrap")
	cmd := exec.CommandContext(ctx, tools.Go, "build", "-tags", "lambda.norpc", "-trimpath", "-ldflags=-s -w", "-o", out, pkg)
	cmd.Dir = tools.Root
	cmd.Env = append(os.Environ(), "GOOS=linux", "GOARCH="+runtime.GOARCH, "CGO_ENABLED=0")
	var log bytes.Buffer
	cmd.Stdout, cmd.Stderr = &log, &log
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("go build %s: %w\n%s", pkg, err, log.String())
	}
	return out, nil
}

// Function is one Lambda function's bootstrap running under the Runtime
// Interface Emulator on loopback.
type Function struct {
	Name string
	// URL is the emulator's invoke URL.
	URL string

	proc *process
	// mu serializes invokes: the emulator crashes on concurrent ones.
	// (Step Functions' invokes go through moto, which serializes per URL.)
	mu      sync.Mutex
	invoked int
}

// FunctionOptions configure StartFunction.
type FunctionOptions struct {
	Name      string            // AWS_LAMBDA_FUNCTION_NAME
	Bootstrap string            // the built bootstrap
	Env       map[string]string // the function's environment (see Moto.LambdaEnv)
	Timeout   time.Duration     // the function timeout (default 60 s)
	Log       io.Writer         // receives the emulator's and the function's output
}

// StartFunction starts the emulator with the bootstrap and waits until it
// accepts connections. The bootstrap itself starts on the first invoke
// (a cold start, as in Lambda).
func StartFunction(ctx context.Context, tools Tools, opts FunctionOptions) (*Function, error) {
	timeout := opts.Timeout
	if timeout == 0 {
		timeout = 60 * time.Second
	}
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		apiPort, err := freePort()
		if err != nil {
			return nil, err
		}
		runtimePort, err := freePort()
		if err != nil {
			return nil, err
		}
		if runtimePort == apiPort {
			continue
		}
		env := map[string]string{
			"PATH":                        "/usr/bin:/bin",
			"TZ":                          "UTC",
			"AWS_LAMBDA_FUNCTION_NAME":    opts.Name,
			"AWS_LAMBDA_FUNCTION_TIMEOUT": strconv.Itoa(int(timeout / time.Second)),
			"AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
			"LOG_LEVEL":                   "warn", // the emulator's own chatter
		}
		for k, v := range opts.Env {
			env[k] = v
		}
		name := "lambda " + opts.Name
		p, err := startProcess(name, filepath.Dir(opts.Bootstrap), environ(env), opts.Log, tools.RIE,
			"--runtime-interface-emulator-address", "127.0.0.1:"+strconv.Itoa(apiPort),
			"--runtime-api-address", "127.0.0.1:"+strconv.Itoa(runtimePort),
			opts.Bootstrap)
		if err != nil {
			return nil, err
		}
		f := &Function{
			Name: opts.Name,
			URL:  "http://127.0.0.1:" + strconv.Itoa(apiPort) + "/2015-03-31/functions/function/invocations",
			proc: p,
		}
		if lastErr = waitListening(ctx, p, "127.0.0.1:"+strconv.Itoa(apiPort), 15*time.Second); lastErr == nil {
			return f, nil
		}
		_ = p.stop(time.Second)
	}
	return nil, lastErr
}

func environ(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k, v := range m {
		out = append(out, k+"="+v)
	}
	sort.Strings(out)
	return out
}

func waitListening(ctx context.Context, p *process, addr string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	tick := time.NewTicker(pollInterval)
	defer tick.Stop()
	var d net.Dialer
	for {
		c, err := d.DialContext(ctx, "tcp", addr)
		if err == nil {
			c.Close()
			return nil
		}
		select {
		case <-p.exited():
			return fmt.Errorf("%w\n%s", p.exitError(), p.logs())
		case <-ctx.Done():
			return fmt.Errorf("%s not listening on %s: %w\n%s", p.name, addr, ctx.Err(), p.logs())
		case <-tick.C:
		}
	}
}

// Invocation is the outcome of one invoke.
type Invocation struct {
	Payload      []byte // the response, or the error document
	ErrorType    string // set when the function returned an error
	ErrorMessage string
	Duration     time.Duration // request to response, as the caller saw it
	Cold         bool          // the first invoke of this emulator (includes the bootstrap's start)
}

// FunctionError is a function's error return, as Lambda reports it.
type FunctionError struct {
	Function, Type, Message string
}

func (e *FunctionError) Error() string {
	return fmt.Sprintf("%s returned %s: %s", e.Function, e.Type, e.Message)
}

// Err returns a *FunctionError when the function failed, else nil.
func (i *Invocation) Err(function string) error {
	if i.ErrorType == "" {
		return nil
	}
	return &FunctionError{Function: function, Type: i.ErrorType, Message: i.ErrorMessage}
}

// Invoke calls the function with payload (JSON) and waits for its answer.
// A function error is reported in the Invocation, not as the error, which
// is kept for the emulator failing.
func (f *Function) Invoke(ctx context.Context, payload []byte) (*Invocation, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, f.URL, bytes.NewReader(payload))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	start := time.Now()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("invoke %s: %w\n%s", f.Name, err, f.proc.logs())
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	inv := &Invocation{Payload: body, Duration: time.Since(start), Cold: f.invoked == 0}
	f.invoked++
	if err != nil {
		return nil, fmt.Errorf("invoke %s: read: %w", f.Name, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("invoke %s: HTTP %d: %s\n%s", f.Name, resp.StatusCode, body, f.proc.logs())
	}
	if t, m, ok := functionError(body); ok {
		inv.ErrorType, inv.ErrorMessage = t, m
	}
	return inv, nil
}

// InvokeJSON marshals in, invokes, and unmarshals a successful answer into
// out (when not nil). A function error is returned as *FunctionError.
func (f *Function) InvokeJSON(ctx context.Context, in, out any) (*Invocation, error) {
	payload, err := json.Marshal(in)
	if err != nil {
		return nil, err
	}
	inv, err := f.Invoke(ctx, payload)
	if err != nil {
		return nil, err
	}
	if err := inv.Err(f.Name); err != nil {
		return inv, err
	}
	if out != nil {
		if err := json.Unmarshal(inv.Payload, out); err != nil {
			return inv, fmt.Errorf("%s answered %s: %w", f.Name, inv.Payload, err)
		}
	}
	return inv, nil
}

// functionError recognizes the document the emulator returns, with HTTP
// 200 and no X-Amz-Function-Error header, when the handler returned an
// error: exactly errorMessage and errorType (and optionally stackTrace).
func functionError(body []byte) (typ, msg string, ok bool) {
	var doc map[string]json.RawMessage
	if json.Unmarshal(body, &doc) != nil {
		return "", "", false
	}
	for k := range doc {
		switch k {
		case "errorType", "errorMessage", "stackTrace", "cause":
		default:
			return "", "", false
		}
	}
	if json.Unmarshal(doc["errorType"], &typ) != nil || json.Unmarshal(doc["errorMessage"], &msg) != nil || typ == "" {
		return "", "", false
	}
	return typ, msg, true
}

// Logs returns the tail of the emulator's and the function's output.
func (f *Function) Logs() string { return f.proc.logs() }

// Close stops the emulator and the bootstrap.
func (f *Function) Close() error { return f.proc.stop(2 * time.Second) }
