package bench

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"slices"
	"sync"
	"time"

	"github.com/ecslogfix/ecslogfix/test/faultproxy"
)

// WireCall is one AWS API request seen on the wire.
type WireCall struct {
	API string    // signing name:Operation, e.g. ecs:DescribeTaskDefinition, sns:Publish
	At  time.Time // arrival
}

// Wire is a pass-through reverse proxy on loopback that records every AWS
// API request crossing it (named as faultproxy.Identify names it) with its
// arrival time. Point a process's AWS_ENDPOINT_URL at URL to count the
// requests of code that cannot take the SDK middleware (a real bootstrap,
// the CLI binary). Requests are attempts: retries included. Its upstream
// may be set after it starts, so it can stand in front of a server that
// starts later.
type Wire struct {
	// URL is the proxy's base URL, e.g. http://127.0.0.1:40123.
	URL string

	srv *http.Server

	mu    sync.Mutex
	proxy *httputil.ReverseProxy
	calls []WireCall
}

// StartWire starts a Wire forwarding to upstream ("" to set it later with
// SetUpstream; until then requests get HTTP 503).
func StartWire(upstream string) (*Wire, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	w := &Wire{URL: "http://" + ln.Addr().String()}
	if upstream != "" {
		if err := w.SetUpstream(upstream); err != nil {
			ln.Close()
			return nil, err
		}
	}
	w.srv = &http.Server{Handler: w, ReadHeaderTimeout: 10 * time.Second}
	go w.srv.Serve(ln)
	return w, nil
}

// SetUpstream sets the server requests are forwarded to.
func (w *Wire) SetUpstream(upstream string) error {
	up, err := url.Parse(upstream)
	if err != nil || up.Scheme == "" || up.Host == "" {
		return fmt.Errorf("wire: bad upstream %q", upstream)
	}
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.Proxy = nil
	transport.MaxIdleConnsPerHost = 64
	p := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(up)
			pr.Out.Host = pr.In.Host // keep the host the client signed
		},
		Transport: transport,
	}
	w.mu.Lock()
	w.proxy = p
	w.mu.Unlock()
	return nil
}

// ServeHTTP records the call and forwards it.
func (w *Wire) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	at := time.Now()
	call, err := faultproxy.Identify(r)
	if err != nil {
		call.API = "unknown"
	}
	w.mu.Lock()
	w.calls = append(w.calls, WireCall{API: call.API, At: at})
	p := w.proxy
	w.mu.Unlock()
	if p == nil {
		http.Error(rw, "wire: no upstream yet", http.StatusServiceUnavailable)
		return
	}
	p.ServeHTTP(rw, r)
}

// Mark returns the number of calls recorded so far, for Since.
func (w *Wire) Mark() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.calls)
}

// Since returns the calls recorded after mark (see Mark).
func (w *Wire) Since(mark int) []WireCall {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.calls[min(mark, len(w.calls)):])
}

// Close stops the proxy.
func (w *Wire) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return w.srv.Shutdown(ctx)
}

// CountAPIs counts calls per API.
func CountAPIs(calls []WireCall) map[string]int {
	m := map[string]int{}
	for _, c := range calls {
		m[c.API]++
	}
	return m
}

// Filter returns the calls of the APIs named (all when none).
func Filter(calls []WireCall, apis ...string) []WireCall {
	if len(apis) == 0 {
		return calls
	}
	var out []WireCall
	for _, c := range calls {
		if slices.Contains(apis, c.API) {
			out = append(out, c)
		}
	}
	return out
}

// RateStats describe the pace of a sequence of calls.
type RateStats struct {
	N int
	// Mean is (N−1) ÷ (last − first arrival): the sustained rate.
	Mean float64
	// MaxPer1s is the most calls in any sliding 1 s window; MaxPer10s ÷ 10
	// is the best sustained rate over 10 s.
	MaxPer1s, MaxPer10s int
}

// Rate measures the pace of calls (in arrival order).
func Rate(calls []WireCall) RateStats {
	s := RateStats{N: len(calls)}
	if len(calls) < 2 {
		return s
	}
	span := calls[len(calls)-1].At.Sub(calls[0].At)
	if span > 0 {
		s.Mean = float64(len(calls)-1) / span.Seconds()
	}
	window := func(d time.Duration) int {
		best, i := 0, 0
		for j := range calls {
			for calls[j].At.Sub(calls[i].At) >= d {
				i++
			}
			best = max(best, j-i+1)
		}
		return best
	}
	s.MaxPer1s, s.MaxPer10s = window(time.Second), window(10*time.Second)
	return s
}
