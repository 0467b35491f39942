// Package faultproxy is an HTTP reverse proxy that sits between AWS SDK
// clients and an AWS emulator (moto) on 127.0.0.1 and injects the faults real
// AWS produces (Kind), each at a configurable rate per API. It also answers
// as AWS does where moto does not: ECS's UpdateService refusals and service
// deployments (ecs.go), and the stand-ins (standin.go).
//
// An API is named "service:Operation" as in IAM, for example
// "ecs:RegisterTaskDefinition", "logs:CreateLogGroup", "sns:Publish". The
// service is the SigV4 signing name from the Authorization header's
// credential scope (or the X-Amz-Target prefix); the operation is the suffix
// of X-Amz-Target (JSON protocols: ECS, Logs, Step Functions, SQS, Events) or
// the Action form field (query protocol: SNS, STS).
//
// Decisions are deterministic for a seed: the n-th call to an API gets the
// same fault whatever the interleaving with other APIs. The proxy counts
// requests, forwarded requests and faults per API, and records arrival times
// so tests can check the observed request rate (the most calls in any
// sliding window) against a rate budget. With no rules it is a recorder:
// the benchmarks count and pace the AWS requests of a real bootstrap or CLI
// binary on it (Stats.Since, PaceSince).
package faultproxy

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"maps"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"path"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

// Kind is a fault the proxy can inject.
type Kind string

// Fault kinds. None forwards the request unchanged.
const (
	None               Kind = ""
	Throttle           Kind = "throttle"   // HTTP 400 ThrottlingException "Rate exceeded" (query protocol: Throttling / SNS Throttled)
	ConcurrentRevision Kind = "concurrent" // HTTP 400 ClientException ConcurrentRevisionMessage
	InternalError      Kind = "500"        // HTTP 500 InternalFailure
	Unavailable        Kind = "503"        // HTTP 503 ServiceUnavailable
	Reset              Kind = "reset"      // the TCP connection is reset before any response
	// Denied is HTTP 400 AccessDeniedException, as a service control policy
	// answers (not retried by the SDK or the workflow).
	Denied Kind = "denied"
	// The ambiguous failures: the call is forwarded and takes effect, then
	// its response is lost — an HTTP 500 InternalFailure, a connection
	// reset, or no answer until the client gives up (its time-out). A
	// client that retries has already changed the world once.
	AppliedInternalError Kind = "applied-500"
	AppliedReset         Kind = "applied-reset"
	AppliedHang          Kind = "applied-hang"
	// ClientError is HTTP 400 ClientException (the JSON protocols' error
	// shape) with the matching Rule's Message: an AWS error whose message
	// quotes what the caller sent.
	ClientError Kind = "client-error"
)

// Kinds lists the fault kinds in the fixed order used to draw them; a
// Rule's rates are stacked in this order (new kinds go last, so a seed
// draws the same faults for the older ones).
var Kinds = []Kind{Throttle, ConcurrentRevision, InternalError, Unavailable, Reset, Denied, AppliedInternalError, AppliedReset, AppliedHang, ClientError}

// Applied reports whether the fault comes after the call took effect.
func (k Kind) Applied() bool {
	return k == AppliedInternalError || k == AppliedReset || k == AppliedHang
}

// ConcurrentRevisionMessage is the message of ECS's ClientException for
// overlapping registrations to one family.
const ConcurrentRevisionMessage = "Too many concurrent attempts to create a new revision of the specified family."

// Rule says which faults to inject into the calls of the APIs it matches.
type Rule struct {
	// API is "service:Operation", "service:*" or "*".
	API string
	// Region, when set, limits the rule to requests signed for that region.
	Region string
	// Role, when set, limits the rule to sts:AssumeRole calls for that role
	// ARN: a role whose trust policy does not admit the caller.
	Role string
	// Account, when set, limits the rule to calls signed with credentials
	// of that account, as the upstream's sts:GetCallerIdentity names it
	// (moto maps each key its AssumeRole handed out to the role's
	// account): a service control policy on one account.
	Account string
	// Rates maps a fault kind to the probability of injecting it; the sum
	// must not exceed 1.
	Rates map[Kind]float64
	// Script, when set, decides the first len(Script) calls of each matched
	// API (counted from when the rules were set) instead of Rates; None in
	// it forwards that call.
	Script []Kind
	// Latency is added before a call is answered or forwarded, with
	// probability LatencyRate (every call when LatencyRate is 0).
	Latency     time.Duration
	LatencyRate float64
	// Message is the message of the ClientError faults the rule injects.
	Message string
}

// matches reports whether r applies to call, made with credentials of
// account ("" when unknown).
func (r Rule) matches(call Call, account string) bool {
	if r.Region != "" && r.Region != call.Region || r.Role != "" && r.Role != call.RoleARN || r.Account != "" && r.Account != account {
		return false
	}
	if r.API == "*" || r.API == call.API {
		return true
	}
	svc, ok := strings.CutSuffix(r.API, ":*")
	return ok && strings.HasPrefix(call.API, svc+":")
}

func (r Rule) validate() error {
	if r.API == "" {
		return errors.New("faultproxy: rule without API")
	}
	sum := 0.0
	for k, v := range r.Rates {
		if !slices.Contains(Kinds, k) {
			return fmt.Errorf("faultproxy: rule %s: unknown fault %q", r.API, k)
		}
		if v < 0 || v > 1 {
			return fmt.Errorf("faultproxy: rule %s: rate of %s is %v, want 0..1", r.API, k, v)
		}
		sum += v
	}
	if sum > 1+1e-9 {
		return fmt.Errorf("faultproxy: rule %s: fault rates add up to %v > 1", r.API, sum)
	}
	for _, k := range r.Script {
		if k != None && !slices.Contains(Kinds, k) {
			return fmt.Errorf("faultproxy: rule %s: unknown fault %q in script", r.API, k)
		}
	}
	if r.Latency < 0 || r.LatencyRate < 0 || r.LatencyRate > 1 {
		return fmt.Errorf("faultproxy: rule %s: bad latency %v at rate %v", r.API, r.Latency, r.LatencyRate)
	}
	return nil
}

// Config configures a Proxy.
type Config struct {
	// Upstream is the emulator's base URL, e.g. http://127.0.0.1:5000.
	Upstream string
	// Seed makes the fault decisions reproducible.
	Seed uint64
	// Rules are tried in order; the first that matches an API applies.
	Rules []Rule
	// Now is the clock used for the rate records; time.Now when nil.
	Now func() time.Time
	// StandIns makes the proxy answer as AWS does where moto does not
	// (standin.go lists them). A call that draws a fault gets the fault
	// first.
	StandIns bool
	// ECS shapes the ECS deployment model (ecs.go): what real ECS answers
	// to UpdateService and DescribeServices where moto does not.
	ECS ECSConfig
}

// APIStats are the counters of one API (or the total over all APIs).
type APIStats struct {
	Requests  int          `json:"requests"`  // calls that reached the proxy
	Forwarded int          `json:"forwarded"` // calls passed on to the upstream
	Faults    map[Kind]int `json:"faults"`    // injected faults by kind
	Delayed   int          `json:"delayed"`   // calls that got added latency
	// MaxPer1s and MaxPer10s are the most calls (requests, faulted or not)
	// seen in any sliding window of 1 s and 10 s.
	MaxPer1s  int `json:"maxPer1s"`
	MaxPer10s int `json:"maxPer10s"`
}

// FaultCount is the number of injected faults of every kind.
func (s APIStats) FaultCount() int {
	n := 0
	for _, v := range s.Faults {
		n += v
	}
	return n
}

// Stats is a snapshot of the proxy's counters.
type Stats struct {
	APIs  map[string]APIStats `json:"apis"`
	Total APIStats            `json:"total"`
}

type apiState struct {
	rng       *rand.Rand
	scriptPos int
	stats     APIStats
	arrivals  []time.Time
}

// Proxy is the fault-injecting reverse proxy; it is an http.Handler.
type Proxy struct {
	seed     uint64
	now      func() time.Time
	proxy    *httputil.ReverseProxy
	upstream *url.URL
	client   *http.Client
	ecs      *ecsModel

	mu    sync.Mutex
	rules []Rule
	apis  map[string]*apiState
	// byAccount: a rule has an Account, so each call's account is asked for.
	byAccount atomic.Bool

	standIns *standIns // nil without Config.StandIns
}

// New returns a Proxy forwarding to cfg.Upstream.
func New(cfg Config) (*Proxy, error) {
	up, err := url.Parse(cfg.Upstream)
	if err != nil || up.Scheme == "" || up.Host == "" {
		return nil, fmt.Errorf("faultproxy: bad upstream %q", cfg.Upstream)
	}
	p := &Proxy{seed: cfg.Seed, now: cfg.Now, apis: map[string]*apiState{}, upstream: up, ecs: &ecsModel{cfg: ECSConfig{Polls: cfg.ECS.Polls, Fail: maps.Clone(cfg.ECS.Fail)}, services: map[string]*rollout{}}}
	if cfg.StandIns {
		p.standIns = &standIns{}
	}
	if p.now == nil {
		p.now = time.Now
	}
	if err := p.SetRules(cfg.Rules); err != nil {
		return nil, err
	}
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.Proxy = nil
	transport.MaxIdleConnsPerHost = 64
	p.client = &http.Client{Transport: transport}
	p.proxy = &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(up)
			pr.Out.Host = pr.In.Host // keep the host the client signed
		},
		Transport: transport,
	}
	return p, nil
}

// SetRules replaces the rules and restarts every API's Script. Counters and
// the random streams carry on.
func (p *Proxy) SetRules(rules []Rule) error {
	for _, r := range rules {
		if err := r.validate(); err != nil {
			return err
		}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.rules = append([]Rule(nil), rules...)
	p.byAccount.Store(slices.ContainsFunc(rules, func(r Rule) bool { return r.Account != "" }))
	for _, a := range p.apis {
		a.scriptPos = 0
	}
	return nil
}

// decision is what the proxy does with one call.
type decision struct {
	fault   Kind
	latency time.Duration
	message string // the rule's Message
}

// decideFor records one call, made with credentials of account, and draws
// its fault.
func (p *Proxy) decideFor(call Call, account string) decision {
	p.mu.Lock()
	defer p.mu.Unlock()
	a := p.apis[call.API]
	if a == nil {
		h := fnv.New64a()
		h.Write([]byte(call.API))
		a = &apiState{
			rng:   rand.New(rand.NewPCG(p.seed, h.Sum64())),
			stats: APIStats{Faults: map[Kind]int{}},
		}
		p.apis[call.API] = a
	}
	a.stats.Requests++
	a.arrivals = append(a.arrivals, p.now())
	// Draw both numbers on every call so the stream stays aligned with the
	// call count whatever the rules.
	u, v := a.rng.Float64(), a.rng.Float64()
	var d decision
	if i := slices.IndexFunc(p.rules, func(r Rule) bool { return r.matches(call, account) }); i >= 0 {
		r := p.rules[i]
		if a.scriptPos < len(r.Script) {
			d.fault = r.Script[a.scriptPos]
			a.scriptPos++
		} else {
			acc := 0.0
			for _, k := range Kinds {
				acc += r.Rates[k]
				if u < acc {
					d.fault = k
					break
				}
			}
		}
		d.message = r.Message
		if r.Latency > 0 && (r.LatencyRate == 0 || v < r.LatencyRate) {
			d.latency = r.Latency
			a.stats.Delayed++
		}
	}
	if d.fault == None || d.fault.Applied() {
		a.stats.Forwarded++
	}
	if d.fault != None {
		a.stats.Faults[d.fault]++
	}
	return d
}

// Stats returns a snapshot of the counters.
func (p *Proxy) Stats() Stats {
	p.mu.Lock()
	defer p.mu.Unlock()
	s := Stats{APIs: map[string]APIStats{}, Total: APIStats{Faults: map[Kind]int{}}}
	for name, a := range p.apis {
		st := a.stats
		st.Faults = maps.Clone(a.stats.Faults)
		for k, v := range st.Faults {
			s.Total.Faults[k] += v
		}
		st.MaxPer1s = maxInWindow(a.arrivals, time.Second)
		st.MaxPer10s = maxInWindow(a.arrivals, 10*time.Second)
		s.APIs[name] = st
		s.Total.Requests += st.Requests
		s.Total.Forwarded += st.Forwarded
		s.Total.Delayed += st.Delayed
	}
	return s
}

// Since counts the requests per API that reached the proxy after before
// was taken (a Stats of the same proxy; the zero Stats counts them all).
func (s Stats) Since(before Stats) map[string]int {
	out := map[string]int{}
	for api, a := range s.APIs {
		if n := a.Requests - before.APIs[api].Requests; n > 0 {
			out[api] = n
		}
	}
	return out
}

// Pace is how fast a sequence of calls arrived.
type Pace struct {
	N int
	// Mean is (N−1) ÷ (last − first arrival): the sustained rate per second.
	Mean float64
	// MaxPer1s and MaxPer10s are the most calls in any sliding window of 1 s
	// and 10 s.
	MaxPer1s, MaxPer10s int
}

// PaceSince measures the calls of the APIs named, taken together, that
// arrived at or after since.
func (p *Proxy) PaceSince(since time.Time, apis ...string) Pace {
	ts := p.arrivals(since, apis...)
	pace := Pace{N: len(ts), MaxPer1s: maxInWindow(ts, time.Second), MaxPer10s: maxInWindow(ts, 10*time.Second)}
	if len(ts) > 1 {
		if span := ts[len(ts)-1].Sub(ts[0]); span > 0 {
			pace.Mean = float64(len(ts)-1) / span.Seconds()
		}
	}
	return pace
}

// MaxInWindow returns the most calls of api that arrived within any sliding
// window of length d (a half-open interval [t, t+d)).
func (p *Proxy) MaxInWindow(api string, d time.Duration) int {
	return maxInWindow(p.arrivals(time.Time{}, api), d)
}

// arrivals are the arrival times of the calls of apis at or after since, in
// order.
func (p *Proxy) arrivals(since time.Time, apis ...string) []time.Time {
	p.mu.Lock()
	defer p.mu.Unlock()
	var ts []time.Time
	for _, api := range apis {
		if a := p.apis[api]; a != nil {
			i, _ := slices.BinarySearchFunc(a.arrivals, since, time.Time.Compare)
			ts = append(ts, a.arrivals[i:]...)
		}
	}
	slices.SortFunc(ts, time.Time.Compare)
	return ts
}

// maxInWindow expects ts in arrival (non-decreasing) order.
func maxInWindow(ts []time.Time, d time.Duration) int {
	best, i := 0, 0
	for j := range ts {
		for ts[j].Sub(ts[i]) >= d {
			i++
		}
		best = max(best, j-i+1)
	}
	return best
}

// ServeHTTP identifies the API of r, injects its fault or forwards it.
func (p *Proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, "/moto-api/") { // moto's own endpoints: never faulted nor counted
		if r.URL.Path == "/moto-api/reset" && p.standIns != nil {
			p.standIns.reset() // moto forgets everything: so do the stand-ins
		}
		p.proxy.ServeHTTP(w, r)
		return
	}
	call, err := Identify(r)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	x := &exchange{p: p, call: call, w: w, r: r}
	account := ""
	if p.byAccount.Load() {
		account = aws.ToString(x.caller().Account)
	}
	d := p.decideFor(call, account)
	if d.latency > 0 {
		select {
		case <-time.After(d.latency):
		case <-r.Context().Done():
			return
		}
	}
	switch {
	case d.fault.Applied():
		p.applyThenFail(x, d.fault)
	case d.fault == Reset:
		resetConnection(w)
	case d.fault != None:
		writeError(w, call, faultFor(call, d.fault, d.message))
	default:
		p.pass(x)
	}
}

// pass answers x as the upstream does, through the stand-ins and the ECS
// model.
func (p *Proxy) pass(x *exchange) {
	if (p.standIns == nil || !p.standIns.serve(x)) && !p.ecs.serve(x) {
		p.proxy.ServeHTTP(x.w, x.r)
	}
}

// exchange is one call the proxy answers itself, in whole or in part,
// where moto does not answer as AWS does (ecs.go, standin.go).
type exchange struct {
	p    *Proxy
	call Call
	w    http.ResponseWriter
	r    *http.Request
}

// peekBody reads r's body and leaves it readable again.
func peekBody(r *http.Request) ([]byte, error) {
	body, err := io.ReadAll(r.Body)
	r.Body.Close()
	r.Body = io.NopCloser(bytes.NewReader(body))
	return body, err
}

// decode reads the request's JSON body into v; a malformed (or cut) body
// is the upstream's to answer.
func (x *exchange) decode(v any) {
	body, _ := peekBody(x.r)
	_ = json.Unmarshal(body, v)
}

// setBody replaces the request's body with v as JSON.
func (x *exchange) setBody(v any) {
	b, _ := json.Marshal(v)
	x.r.Body, x.r.ContentLength = io.NopCloser(bytes.NewReader(b)), int64(len(b))
}

// forward passes the request on to the upstream and relays its answer,
// a successful one edited by edit first: edit gets the body's JSON object
// (nil when it is none) before anything is written.
func (x *exchange) forward(edit func(map[string]any)) {
	rec := httptest.NewRecorder()
	x.p.proxy.ServeHTTP(rec, x.r)
	body := rec.Body.Bytes()
	if rec.Code == http.StatusOK {
		var out map[string]any
		_ = json.Unmarshal(body, &out)
		edit(out)
		if out != nil {
			body, _ = json.Marshal(out)
		}
	}
	maps.Copy(x.w.Header(), rec.Header())
	x.w.Header().Del("Content-Length")
	x.w.WriteHeader(rec.Code)
	x.w.Write(body)
}

// fail answers the error f as the service does.
func (x *exchange) fail(status int, code, message string) {
	writeError(x.w, x.call, fault{status, code, message})
}

// aws is the SDK configuration of the calls the proxy makes to the
// upstream on the caller's behalf: its region and access key, which moto
// maps to an account (moto checks no signature).
func (x *exchange) aws() aws.Config {
	return aws.Config{Region: x.call.Region, BaseEndpoint: aws.String(x.p.upstream.String()), HTTPClient: x.p.client,
		Credentials: credentials.NewStaticCredentialsProvider(x.call.AccessKey, "faultproxy", x.r.Header.Get("X-Amz-Security-Token"))}
}

// caller is the upstream's GetCallerIdentity for the call's credentials
// (empty when it does not answer): moto names the assumed-role session of
// a key its AssumeRole handed out, else its default account's user.
func (x *exchange) caller() *sts.GetCallerIdentityOutput {
	out, err := sts.NewFromConfig(x.aws()).GetCallerIdentity(x.r.Context(), &sts.GetCallerIdentityInput{})
	if err != nil {
		return &sts.GetCallerIdentityOutput{}
	}
	return out
}

// answer answers HTTP 200 with v as the call's JSON.
func (x *exchange) answer(v any) {
	x.w.Header().Set("Content-Type", x.call.ContentType)
	json.NewEncoder(x.w).Encode(v)
}

// applyThenFail lets x take effect, drops the response and fails as k
// says: the client cannot tell whether its call was applied.
func (p *Proxy) applyThenFail(x *exchange, k Kind) {
	p.pass(&exchange{p: p, call: x.call, w: httptest.NewRecorder(), r: x.r.WithContext(context.WithoutCancel(x.r.Context()))})
	switch k {
	case AppliedReset:
		resetConnection(x.w)
	case AppliedHang:
		<-x.r.Context().Done() // the client's time-out, or its connection closed
	default:
		writeError(x.w, x.call, faultFor(x.call, InternalError, ""))
	}
}

// Call is an identified AWS API call.
type Call struct {
	API      string // service:Operation
	Service  string // SigV4 signing name, e.g. ecs, logs, sns
	Protocol string // "json" (X-Amz-Target), "query" (Action form field) or "rest"
	// ContentType is the request's JSON content type (application/x-amz-json-1.0
	// or -1.1), echoed on JSON faults.
	ContentType string
	Region      string // SigV4 signing region
	AccessKey   string // SigV4 access key ID
	RoleARN     string // sts:AssumeRole's RoleArn
}

// targetServices maps X-Amz-Target prefixes to signing names, used when a
// request is not signed.
var targetServices = map[string]string{
	"AmazonEC2ContainerServiceV20141113": "ecs",
	"Logs_20140328":                      "logs",
	"AWSStepFunctions":                   "states",
	"AmazonSQS":                          "sqs",
	"AWSEvents":                          "events",
	"AmazonSimpleNotificationService":    "sns",
}

// Identify names the API of r. It reads (and restores) a form-encoded body
// to find the Action field.
func Identify(r *http.Request) (Call, error) {
	var call Call
	// The SigV4 credential scope: "AWS4-HMAC-SHA256
	// Credential=AKID/20260101/us-east-1/ecs/aws4_request, ...".
	if _, cred, ok := strings.Cut(r.Header.Get("Authorization"), "Credential="); ok {
		cred, _, _ = strings.Cut(cred, ",")
		if scope := strings.Split(strings.TrimSpace(cred), "/"); len(scope) >= 5 {
			call.AccessKey, call.Region, call.Service = scope[0], scope[2], scope[3]
		}
	}
	if target := r.Header.Get("X-Amz-Target"); target != "" {
		prefix, op, ok := strings.Cut(target, ".")
		if !ok || op == "" {
			return Call{}, fmt.Errorf("faultproxy: bad X-Amz-Target %q", target)
		}
		call.Service = cmp.Or(call.Service, targetServices[prefix], strings.ToLower(prefix))
		call.API, call.Protocol, call.ContentType = call.Service+":"+op, "json", r.Header.Get("Content-Type")
		if !strings.HasPrefix(call.ContentType, "application/x-amz-json") {
			call.ContentType = "application/x-amz-json-1.1"
		}
		return call, nil
	}
	form := r.URL.Query()
	if form.Get("Action") == "" && strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
		body, err := peekBody(r)
		if err != nil {
			return Call{}, fmt.Errorf("faultproxy: read body: %w", err)
		}
		if form, err = url.ParseQuery(string(body)); err != nil {
			return Call{}, fmt.Errorf("faultproxy: parse form: %w", err)
		}
	}
	call.Service = cmp.Or(call.Service, "unknown")
	if action := form.Get("Action"); action != "" {
		call.API, call.Protocol, call.RoleARN = call.Service+":"+action, "query", form.Get("RoleArn")
		return call, nil
	}
	// REST protocols (Lambda, S3): name the call by method and path.
	call.API, call.Protocol = call.Service+":"+r.Method+" "+path.Clean("/"+r.URL.Path), "rest"
	return call, nil
}

// fault is an AWS error answer.
type fault struct {
	status  int
	code    string
	message string
}

func faultFor(call Call, k Kind, message string) fault {
	switch k {
	case ClientError:
		return fault{http.StatusBadRequest, "ClientException", message}
	case Throttle:
		code := "ThrottlingException"
		if call.Protocol == "query" {
			code = "Throttling"
			if call.Service == "sns" {
				code = "Throttled" // SNS's modeled ThrottledException
			}
		}
		return fault{http.StatusBadRequest, code, "Rate exceeded"}
	case ConcurrentRevision:
		return fault{http.StatusBadRequest, "ClientException", ConcurrentRevisionMessage}
	case InternalError:
		return fault{http.StatusInternalServerError, "InternalFailure", "We encountered an internal error. Please try again."}
	case Denied:
		if call.API == "sts:AssumeRole" {
			// STS's answer to a role whose trust policy does not admit the
			// caller: HTTP 403 AccessDenied
			// (https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRole.html).
			return fault{http.StatusForbidden, "AccessDenied", "User is not authorized to perform: sts:AssumeRole on resource: " + call.RoleARN}
		}
		return fault{http.StatusBadRequest, "AccessDeniedException", "User is not authorized to perform: " + call.API + " with an explicit deny in a service control policy"}
	default: // Unavailable
		return fault{http.StatusServiceUnavailable, "ServiceUnavailable", "Service Unavailable"}
	}
}

// writeError answers f in the call's protocol: an XML ErrorResponse (query)
// or a JSON __type and message.
func writeError(w http.ResponseWriter, call Call, f fault) {
	requestID := fmt.Sprintf("faultproxy-%d", time.Now().UnixNano())
	w.Header().Set("X-Amzn-RequestId", requestID)
	if call.Protocol == "query" {
		w.Header().Set("Content-Type", "text/xml")
		w.WriteHeader(f.status)
		typ := "Sender"
		if f.status >= 500 {
			typ = "Receiver"
		}
		fmt.Fprintf(w, `<ErrorResponse><Error><Type>%s</Type><Code>%s</Code><Message>%s</Message></Error><RequestId>%s</RequestId></ErrorResponse>`,
			typ, f.code, f.message, requestID)
		return
	}
	w.Header().Set("Content-Type", call.ContentType)
	w.Header().Set("X-Amzn-ErrorType", f.code)
	w.WriteHeader(f.status)
	json.NewEncoder(w).Encode(map[string]string{"__type": f.code, "message": f.message})
}

// resetConnection closes the client's TCP connection with an RST (linger 0)
// before any response byte is written.
func resetConnection(w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic(http.ErrAbortHandler) // HTTP/2: the server resets the stream
	}
	conn, _, err := hj.Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	if tcp, ok := conn.(*net.TCPConn); ok {
		tcp.SetLinger(0)
	}
	conn.Close()
}

// Server is a Proxy listening on a loopback port.
type Server struct {
	*Proxy
	// URL is the proxy's base URL, e.g. http://127.0.0.1:40123: use it as
	// AWS_ENDPOINT_URL.
	URL string
	srv *http.Server
}

// Start starts a Proxy for cfg on a free loopback port.
func Start(cfg Config) (*Server, error) {
	p, err := New(cfg)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("faultproxy: listen: %w", err)
	}
	s := &Server{Proxy: p, URL: "http://" + ln.Addr().String(), srv: &http.Server{Handler: p, ReadHeaderTimeout: 10 * time.Second}}
	go s.srv.Serve(ln)
	return s, nil
}

// Close stops the server, waiting up to 5 s for calls in flight.
func (s *Server) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return s.srv.Shutdown(ctx)
}
