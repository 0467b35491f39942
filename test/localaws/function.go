package localaws

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"
)

// How a Lambda bootstrap is built, for AWS (the Makefile's build target and
// infra's bundler, arm64) and for the emulator here (the host's
// architecture): a static Linux binary without the RPC runtime, without
// paths or symbols. TestBootstrapBuildsAgree holds the three to one spelling.
var (
	bootstrapEnv   = []string{"GOOS=linux", "CGO_ENABLED=0"}
	bootstrapFlags = []string{"-tags", "lambda.norpc", "-trimpath", "-ldflags=-s -w"}
)

// BuildBootstrap cross-compiles the Lambda main package pkg (relative to
// the repository root, e.g. "./functions/detect") for linux/goarch as
// dir/bootstrap and returns its path.
func BuildBootstrap(ctx context.Context, root, pkg, goarch, dir string) (string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	out := filepath.Join(dir, "bootstrap")
	cmd := Command(ctx, "go", append(append([]string{"build"}, bootstrapFlags...), "-o", out, pkg)...)
	cmd.Dir = root
	cmd.Env = append(append(os.Environ(), bootstrapEnv...), "GOARCH="+goarch)
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build %s (%s): %w\n%s", pkg, goarch, err, b)
	}
	return out, nil
}

// FunctionOptions configure StartFunction.
type FunctionOptions struct {
	Name      string            // AWS_LAMBDA_FUNCTION_NAME
	Bootstrap string            // the built bootstrap
	Env       map[string]string // the function's environment (see LambdaEnv)
	Timeout   time.Duration     // the function timeout (default 60 s)
	Log       io.Writer         // receives the emulator's and the function's output, each line prefixed "lambda NAME: "
}

// Function is one Lambda function's bootstrap running under the Runtime
// Interface Emulator on loopback.
type Function struct {
	Name string
	// URL is the function's invoke URL for other processes (moto's
	// lambda:invoke Tasks): a loopback front that passes each invoke on to
	// the emulator under the same lock as Invoke.
	URL string
	// Started is when the emulator was started: a cold start ends with the
	// first invoke's answer.
	Started time.Time

	proc   *process
	client *http.Client
	rie    string // the emulator's own invoke URL
	front  *http.Server
	// mu serializes invokes, Invoke's and the front's: the emulator
	// crashes on concurrent ones.
	mu      sync.Mutex
	invoked int
}

// StartFunction starts the emulator with the bootstrap and waits until it
// accepts connections. The bootstrap itself starts on the first invoke (a
// cold start, as in Lambda). Nothing of this process's environment is
// passed on: only opts.Env and the Lambda runtime's own variables.
func StartFunction(ctx context.Context, opts FunctionOptions) (*Function, error) {
	rie, err := FindRIE()
	if err != nil {
		return nil, err
	}
	bootstrap, err := filepath.Abs(opts.Bootstrap)
	if err != nil {
		return nil, err
	}
	env := map[string]string{
		"PATH":                        "/usr/bin:/bin",
		"TZ":                          "UTC",
		"AWS_LAMBDA_FUNCTION_NAME":    opts.Name,
		"AWS_LAMBDA_FUNCTION_TIMEOUT": strconv.Itoa(int(cmp.Or(opts.Timeout, 60*time.Second) / time.Second)),
		"AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
		"LOG_LEVEL":                   "warn", // the emulator's own chatter
	}
	maps.Copy(env, opts.Env)
	var f *Function
	err = onFreePorts(2, func(addrs []string) error {
		api := addrs[0]
		started := time.Now()
		p, err := startProcess("lambda "+opts.Name, filepath.Dir(bootstrap), env, opts.Log, 2*time.Second, rie,
			"--runtime-interface-emulator-address", api, "--runtime-api-address", addrs[1], bootstrap)
		if err != nil {
			return err
		}
		// A fine poll: cold starts are measured from Started and last tens
		// of milliseconds.
		if err = p.waitReady(ctx, 15*time.Second, 500*time.Microsecond, listening(api)); err == nil {
			f = &Function{
				Name:    opts.Name,
				Started: started,
				proc:    p,
				client:  &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1}},
				rie:     "http://" + api + invokePath,
			}
			if err = f.serveFront(&url.URL{Scheme: "http", Host: api}); err == nil {
				return nil
			}
		}
		p.close()
		return err
	})
	if err != nil {
		return nil, err
	}
	return f, nil
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

// invokePath is the emulator's invoke path, as Lambda's Invoke API has it.
const invokePath = "/2015-03-31/functions/function/invocations"

// Invoke calls the function with payload (JSON) and waits for its answer,
// one invoke at a time. A function error is reported in the Invocation,
// not as the error, which is kept for the emulator failing.
func (f *Function) Invoke(ctx context.Context, payload []byte) (*Invocation, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, f.rie, bytes.NewReader(payload))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	start := time.Now()
	resp, err := f.client.Do(req)
	var body []byte
	if err == nil {
		f.invoked++
		body, err = io.ReadAll(resp.Body)
		resp.Body.Close()
		if err == nil && resp.StatusCode != http.StatusOK {
			err = fmt.Errorf("HTTP %d: %s", resp.StatusCode, body)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("invoke %s: %w\n%s", f.Name, err, f.proc.out.String())
	}
	inv := &Invocation{Payload: body, Duration: time.Since(start), Cold: f.invoked == 1}
	inv.ErrorType, inv.ErrorMessage, _ = ParseFunctionError(body)
	return inv, nil
}

// serveFront starts the loopback front at URL: a reverse proxy to the
// emulator, under the same lock as Invoke.
func (f *Function) serveFront(rie *url.URL) error {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	f.URL = "http://" + ln.Addr().String() + invokePath
	proxy := httputil.NewSingleHostReverseProxy(rie)
	proxy.Transport = f.client.Transport
	f.front = &http.Server{ReadHeaderTimeout: 10 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		defer f.mu.Unlock()
		f.invoked++
		proxy.ServeHTTP(w, r)
	})}
	go f.front.Serve(ln)
	return nil
}

// ParseFunctionError recognizes the document the emulator returns, with
// HTTP 200 and no X-Amz-Function-Error header, when the handler returned an
// error: exactly errorMessage and errorType (and optionally stackTrace and
// cause). scripts/moto_server.py applies the same rule to lambda:invoke
// Tasks.
func ParseFunctionError(body []byte) (typ, msg string, ok bool) {
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
func (f *Function) Logs() string { return f.proc.out.String() }

// Close stops the front, the emulator and the bootstrap. It may be called
// more than once.
func (f *Function) Close() error {
	f.front.Close()
	f.client.CloseIdleConnections()
	f.proc.close()
	return nil
}
