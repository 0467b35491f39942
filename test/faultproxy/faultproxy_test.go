package faultproxy

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/smithy-go"
)

const registerAPI = "ecs:RegisterTaskDefinition"

// decide records one call of api and draws its fault.
func (p *Proxy) decide(api string) decision { return p.decideIn(api, "") }

// decideIn is decide for a call signed for region.
func (p *Proxy) decideIn(api, region string) decision {
	return p.decideFor(Call{API: api, Region: region}, "")
}

// fakeAWS answers ECS RegisterTaskDefinition and SNS Publish like AWS does
// and counts the calls that reach it.
type fakeAWS struct{ calls atomic.Int64 }

func (f *fakeAWS) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.calls.Add(1)
	io.Copy(io.Discard, r.Body)
	if strings.HasSuffix(r.Header.Get("X-Amz-Target"), ".RegisterTaskDefinition") {
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		io.WriteString(w, `{"taskDefinition":{"family":"web","revision":7,"taskDefinitionArn":"arn:aws:ecs:us-east-1:123456789012:task-definition/web:7"}}`)
		return
	}
	w.Header().Set("Content-Type", "text/xml")
	io.WriteString(w, `<PublishResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><PublishResult><MessageId>m-1</MessageId></PublishResult><ResponseMetadata><RequestId>r-1</RequestId></ResponseMetadata></PublishResponse>`)
}

func startProxy(t *testing.T, rules ...Rule) (*Server, *fakeAWS) {
	t.Helper()
	backend := &fakeAWS{}
	up := httptest.NewServer(backend)
	t.Cleanup(up.Close)
	srv, err := Start(Config{Upstream: up.URL, Seed: 42, Rules: rules})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	return srv, backend
}

type noBackoff struct{}

func (noBackoff) BackoffDelay(int, error) (time.Duration, error) { return 0, nil }

func sdkConfig(endpoint string, maxAttempts int) aws.Config {
	// localaws.Config's settings: localaws imports this package.
	cfg := aws.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider("test", "test", ""), BaseEndpoint: aws.String(endpoint)}
	cfg.Retryer = func() aws.Retryer {
		return retry.NewStandard(func(o *retry.StandardOptions) {
			o.MaxAttempts = maxAttempts
			o.Backoff = noBackoff{}
			o.RateLimiter = ratelimit.None
		})
	}
	return cfg
}

func register(ctx context.Context, c *ecs.Client) error {
	_, err := c.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{
		Family: aws.String("web"),
		ContainerDefinitions: []ecstypes.ContainerDefinition{{
			Name: aws.String("app"), Image: aws.String("nginx"), Memory: aws.Int32(128),
		}},
	})
	return err
}

func TestSDKSeesTypedErrors(t *testing.T) {
	tests := []struct {
		kind    Kind
		code    string
		message string
	}{
		{Throttle, "ThrottlingException", "Rate exceeded"},
		{ConcurrentRevision, "ClientException", ConcurrentRevisionMessage},
		{InternalError, "InternalFailure", ""},
		{Unavailable, "ServiceUnavailable", ""},
		{ClientError, "ClientException", "Invalid setting for container 'app': token=FAKE-quoted-value"},
	}
	for _, tt := range tests {
		t.Run(string(tt.kind), func(t *testing.T) {
			srv, backend := startProxy(t, Rule{API: registerAPI, Script: []Kind{tt.kind}, Message: tt.message})
			err := register(context.Background(), ecs.NewFromConfig(sdkConfig(srv.URL, 1)))
			var apiErr smithy.APIError
			if !errors.As(err, &apiErr) {
				t.Fatalf("err = %v, want a smithy.APIError", err)
			}
			if apiErr.ErrorCode() != tt.code {
				t.Errorf("code = %q, want %q", apiErr.ErrorCode(), tt.code)
			}
			if tt.message != "" && apiErr.ErrorMessage() != tt.message {
				t.Errorf("message = %q, want %q", apiErr.ErrorMessage(), tt.message)
			}
			if tt.kind == ConcurrentRevision || tt.kind == ClientError {
				var ce *ecstypes.ClientException
				if !errors.As(err, &ce) {
					t.Errorf("err = %T, want *types.ClientException", err)
				}
			}
			if n := backend.calls.Load(); n != 0 {
				t.Errorf("backend saw %d calls, want 0", n)
			}
			st := srv.Stats().APIs[registerAPI]
			if st.Requests != 1 || st.Faults[tt.kind] != 1 || st.Forwarded != 0 {
				t.Errorf("stats = %+v, want 1 request, 1 %s fault", st, tt.kind)
			}
		})
	}
}

func TestSDKRetriesTransientFaultsButNotConcurrentRevision(t *testing.T) {
	tests := []struct {
		name      string
		script    []Kind
		wantErr   bool
		wantCalls int // requests at the proxy
	}{
		{"throttle twice then ok", []Kind{Throttle, Throttle}, false, 3},
		{"500 then 503 then ok", []Kind{InternalError, Unavailable}, false, 3},
		{"reset then ok", []Kind{Reset}, false, 2},
		{"throttled out", []Kind{Throttle, Throttle, Throttle}, true, 3},
		{"concurrent revision is not retried", []Kind{ConcurrentRevision}, true, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, backend := startProxy(t, Rule{API: registerAPI, Script: tt.script})
			err := register(context.Background(), ecs.NewFromConfig(sdkConfig(srv.URL, 3)))
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			st := srv.Stats().APIs[registerAPI]
			if st.Requests != tt.wantCalls {
				t.Errorf("requests = %d, want %d", st.Requests, tt.wantCalls)
			}
			if int(backend.calls.Load()) != st.Forwarded {
				t.Errorf("backend calls %d != forwarded %d", backend.calls.Load(), st.Forwarded)
			}
		})
	}
}

// Step Functions speaks awsJson1_0: its client sees the typed error too.
func TestSFNSeesThrottling(t *testing.T) {
	srv, _ := startProxy(t, Rule{API: "states:*", Script: []Kind{Throttle}})
	c := sfn.NewFromConfig(sdkConfig(srv.URL, 1))
	_, err := c.StartExecution(context.Background(), &sfn.StartExecutionInput{
		StateMachineArn: aws.String("arn:aws:states:us-east-1:123456789012:stateMachine:ecslogfix"), Name: aws.String("x"),
	})
	var apiErr smithy.APIError
	if !errors.As(err, &apiErr) || apiErr.ErrorCode() != "ThrottlingException" {
		t.Fatalf("err = %v, want APIError ThrottlingException", err)
	}
}

// SNS speaks the query protocol: the fault is an XML ErrorResponse and SNS's
// throttling code is "Throttled", which the SDK's standard retryer does not
// treat as a throttle: a notifier must retry it itself.
func TestSNSQueryProtocolFaults(t *testing.T) {
	srv, backend := startProxy(t, Rule{API: "sns:Publish", Script: []Kind{Throttle, Throttle}})
	c := sns.NewFromConfig(sdkConfig(srv.URL, 3))
	_, err := c.Publish(context.Background(), &sns.PublishInput{
		TopicArn: aws.String("arn:aws:sns:us-east-1:123456789012:t"), Message: aws.String("hi"),
	})
	var apiErr smithy.APIError
	if !errors.As(err, &apiErr) || apiErr.ErrorCode() != "Throttled" {
		t.Fatalf("err = %v, want APIError Throttled", err)
	}
	if st := srv.Stats().APIs["sns:Publish"]; st.Requests != 1 {
		t.Errorf("sns:Publish requests = %d, want 1 (not retried by the SDK)", st.Requests)
	}
	if _, err := c.Publish(context.Background(), &sns.PublishInput{
		TopicArn: aws.String("arn:aws:sns:us-east-1:123456789012:t"), Message: aws.String("hi"),
	}); err == nil {
		t.Fatal("second publish: want the scripted throttle")
	}
	if _, err := c.Publish(context.Background(), &sns.PublishInput{
		TopicArn: aws.String("arn:aws:sns:us-east-1:123456789012:t"), Message: aws.String("hi"),
	}); err != nil {
		t.Fatalf("third publish: %v", err)
	}
	if backend.calls.Load() != 1 {
		t.Errorf("backend calls = %d, want 1", backend.calls.Load())
	}
}

func TestResetClosesConnection(t *testing.T) {
	srv, _ := startProxy(t, Rule{API: "*", Rates: map[Kind]float64{Reset: 1}})
	req, _ := http.NewRequest(http.MethodPost, srv.URL, strings.NewReader("{}"))
	req.Header.Set("X-Amz-Target", "Logs_20140328.CreateLogGroup")
	resp, err := http.DefaultClient.Do(req)
	if err == nil {
		resp.Body.Close()
		t.Fatalf("got HTTP %d, want a transport error", resp.StatusCode)
	}
	if got := srv.Stats().APIs["logs:CreateLogGroup"].Faults[Reset]; got != 1 {
		t.Errorf("reset faults = %d, want 1", got)
	}
}

func TestLatencyIsAdded(t *testing.T) {
	const delay = 60 * time.Millisecond
	srv, _ := startProxy(t, Rule{API: registerAPI, Latency: delay})
	start := time.Now()
	if err := register(context.Background(), ecs.NewFromConfig(sdkConfig(srv.URL, 1))); err != nil {
		t.Fatal(err)
	}
	if el := time.Since(start); el < delay {
		t.Errorf("call took %v, want ≥ %v", el, delay)
	}
	if st := srv.Stats().APIs[registerAPI]; st.Delayed != 1 || st.Forwarded != 1 {
		t.Errorf("stats = %+v", st)
	}
}

func TestIdentify(t *testing.T) {
	const auth = "AWS4-HMAC-SHA256 Credential=test/20261126/us-east-1/%s/aws4_request, SignedHeaders=host, Signature=x"
	tests := []struct {
		name, target, auth, ctype, body, query string
		want                                   Call
	}{
		{name: "ecs json", target: "AmazonEC2ContainerServiceV20141113.RegisterTaskDefinition",
			auth: strings.Replace(auth, "%s", "ecs", 1), ctype: "application/x-amz-json-1.1",
			want: Call{"ecs:RegisterTaskDefinition", "ecs", "json", "application/x-amz-json-1.1", "us-east-1", "test", ""}},
		{name: "logs unsigned", target: "Logs_20140328.CreateLogGroup",
			want: Call{"logs:CreateLogGroup", "logs", "json", "application/x-amz-json-1.1", "", "", ""}},
		{name: "sfn", target: "AWSStepFunctions.StartExecution", auth: strings.Replace(auth, "%s", "states", 1), ctype: "application/x-amz-json-1.0",
			want: Call{"states:StartExecution", "states", "json", "application/x-amz-json-1.0", "us-east-1", "test", ""}},
		{name: "sns query form", auth: strings.Replace(auth, "%s", "sns", 1), ctype: "application/x-www-form-urlencoded; charset=utf-8",
			body: "Action=Publish&Version=2010-03-31&Message=hi", want: Call{"sns:Publish", "sns", "query", "", "us-east-1", "test", ""}},
		{name: "sts query string", auth: strings.Replace(auth, "%s", "sts", 1), query: "?Action=GetCallerIdentity&Version=2011-06-15",
			want: Call{"sts:GetCallerIdentity", "sts", "query", "", "us-east-1", "test", ""}},
		{name: "sts assume role", auth: strings.Replace(auth, "%s", "sts", 1), ctype: "application/x-www-form-urlencoded",
			body: "Action=AssumeRole&RoleArn=arn%3Aaws%3Aiam%3A%3A111122223333%3Arole%2Fecslogfix-member&RoleSessionName=s",
			want: Call{"sts:AssumeRole", "sts", "query", "", "us-east-1", "test", "arn:aws:iam::111122223333:role/ecslogfix-member"}},
		{name: "rest", auth: strings.Replace(auth, "%s", "lambda", 1), query: "",
			want: Call{"lambda:POST /", "lambda", "rest", "", "us-east-1", "test", ""}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodPost, "http://x/"+tt.query, strings.NewReader(tt.body))
			for k, v := range map[string]string{"X-Amz-Target": tt.target, "Authorization": tt.auth, "Content-Type": tt.ctype} {
				if v != "" {
					r.Header.Set(k, v)
				}
			}
			got, err := Identify(r)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("Identify = %+v, want %+v", got, tt.want)
			}
			rest, _ := io.ReadAll(r.Body)
			if !bytes.Equal(rest, []byte(tt.body)) {
				t.Errorf("body after Identify = %q, want it restored", rest)
			}
		})
	}
}

func decisions(t *testing.T, seed uint64, rules []Rule, api string, n int) []Kind {
	t.Helper()
	p, err := New(Config{Upstream: "http://127.0.0.1:1", Seed: seed, Rules: rules})
	if err != nil {
		t.Fatal(err)
	}
	out := make([]Kind, n)
	for i := range out {
		out[i] = p.decide(api).fault
		p.decide("logs:CreateLogGroup") // interleaved calls to another API must not shift the stream
	}
	return out
}

func TestDecisionsAreDeterministicAndHonourRates(t *testing.T) {
	rules := []Rule{{API: "ecs:*", Rates: map[Kind]float64{Throttle: 0.1, ConcurrentRevision: 0.1, InternalError: 0.05, Unavailable: 0.03, Reset: 0.02}}, {API: "*", Rates: map[Kind]float64{Throttle: 0.5}}}
	const n = 20000
	a := decisions(t, 7, rules, registerAPI, n)
	b := decisions(t, 7, rules, registerAPI, n)
	c := decisions(t, 8, rules, registerAPI, n)
	same, counts := 0, map[Kind]int{}
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("decision %d differs for the same seed: %q vs %q", i, a[i], b[i])
		}
		if a[i] == c[i] {
			same++
		}
		counts[a[i]]++
	}
	if same == n {
		t.Error("a different seed gave the same decisions")
	}
	for k, want := range rules[0].Rates {
		got := float64(counts[k]) / n
		if got < want*0.85 || got > want*1.15 {
			t.Errorf("rate of %s = %.4f, want %.4f ±15%%", k, got, want)
		}
	}
}

func TestScriptThenRates(t *testing.T) {
	got := decisions(t, 1, []Rule{{API: registerAPI, Script: []Kind{Throttle, None, ConcurrentRevision}}}, registerAPI, 5)
	want := []Kind{Throttle, None, ConcurrentRevision, None, None}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("decisions = %q, want %q", got, want)
		}
	}
}

// clockedProxy is a Proxy (not serving) whose clock is *now.
func clockedProxy(t *testing.T, now *time.Time) *Proxy {
	t.Helper()
	p, err := New(Config{Upstream: "http://127.0.0.1:1", Now: func() time.Time { return *now }})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestMaxInWindow(t *testing.T) {
	base := time.Date(2026, 11, 26, 0, 0, 0, 0, time.UTC)
	var now time.Time
	p := clockedProxy(t, &now)
	// 3 calls in the first 0.5 s, then 1 per second for 10 s, then a burst of 5 in 0.9 s.
	offsets := []time.Duration{0, 200 * time.Millisecond, 500 * time.Millisecond}
	for i := 1; i <= 10; i++ {
		offsets = append(offsets, time.Duration(i)*time.Second+600*time.Millisecond)
	}
	for i := range 5 {
		offsets = append(offsets, 20*time.Second+time.Duration(i)*225*time.Millisecond)
	}
	for _, o := range offsets {
		now = base.Add(o)
		p.decide(registerAPI)
	}
	if got := p.MaxInWindow(registerAPI, time.Second); got != 5 {
		t.Errorf("max per 1 s = %d, want 5", got)
	}
	if got := p.MaxInWindow(registerAPI, 10*time.Second); got != 12 {
		t.Errorf("max per 10 s = %d, want 12", got) // [0, 10 s) holds 3 + 9
	}
	if st := p.Stats().APIs[registerAPI]; st.MaxPer1s != 5 || st.MaxPer10s != 12 {
		t.Errorf("stats windows = %d/%d, want 5/12", st.MaxPer1s, st.MaxPer10s)
	}
	if got := p.MaxInWindow("ecs:Nothing", time.Second); got != 0 {
		t.Errorf("unknown API window = %d, want 0", got)
	}
}

func TestPaceSince(t *testing.T) {
	t0 := time.Date(2026, 11, 26, 0, 0, 0, 0, time.UTC)
	now := t0.Add(-time.Second)
	p := clockedProxy(t, &now)
	p.decide(registerAPI) // before since: not counted
	// 10 per second for 2 s, two APIs alternating.
	for i := range 21 {
		now = t0.Add(time.Duration(i) * 100 * time.Millisecond)
		p.decide([]string{"ecs:ListTaskDefinitionFamilies", registerAPI}[i%2])
	}
	p.decide("ecs:DescribeTaskDefinition") // another API: not counted
	r := p.PaceSince(t0, "ecs:ListTaskDefinitionFamilies", registerAPI)
	if r.N != 21 || r.Mean < 9.99 || r.Mean > 10.01 || r.MaxPer1s != 10 || r.MaxPer10s != 21 {
		t.Errorf("PaceSince = %+v", r)
	}
	if r := p.PaceSince(now, "ecs:DescribeTaskDefinition"); r.N != 1 || r.Mean != 0 {
		t.Errorf("pace of one call = %+v", r)
	}
}

func TestStatsSinceCountsRequestsAfterASnapshot(t *testing.T) {
	srv, backend := startProxy(t)
	c := ecs.NewFromConfig(sdkConfig(srv.URL, 1))
	ctx := context.Background()
	if err := register(ctx, c); err != nil {
		t.Fatal(err)
	}
	mark := srv.Stats()
	for range 2 {
		if err := register(ctx, c); err != nil {
			t.Fatalf("through the proxy: %v", err)
		}
	}
	if got := srv.Stats().Since(mark); len(got) != 1 || got[registerAPI] != 2 {
		t.Errorf("Since = %v, want %s: 2", got, registerAPI)
	}
	if got := srv.Stats().Since(Stats{}); got[registerAPI] != 3 || backend.calls.Load() != 3 {
		t.Errorf("Since(Stats{}) = %v, backend %d; want 3 forwarded", got, backend.calls.Load())
	}
}

// A rule for one region faults only the calls signed for it; denied answers
// as a service control policy does.
func TestRegionRuleAndDenied(t *testing.T) {
	r := Rule{API: "ecs:ListTaskDefinitionFamilies", Region: "eu-west-1", Rates: map[Kind]float64{Denied: 1}}
	p, err := New(Config{Upstream: "http://127.0.0.1:1", Rules: []Rule{r}})
	if err != nil {
		t.Fatal(err)
	}
	if got := p.decideIn("ecs:ListTaskDefinitionFamilies", "eu-west-1").fault; got != Denied {
		t.Errorf("eu-west-1: %q", got)
	}
	if got := p.decideIn("ecs:ListTaskDefinitionFamilies", "us-east-1").fault; got != None {
		t.Errorf("us-east-1: %q", got)
	}
	w := httptest.NewRecorder()
	call := Call{API: "ecs:ListTaskDefinitionFamilies", Service: "ecs", Protocol: "json", ContentType: "application/x-amz-json-1.1"}
	writeError(w, call, faultFor(call, Denied, ""))
	if w.Code != http.StatusBadRequest || w.Header().Get("X-Amzn-ErrorType") != "AccessDeniedException" || !strings.Contains(w.Body.String(), "explicit deny") {
		t.Errorf("denied answer %d %v %s", w.Code, w.Header(), w.Body.String())
	}
}

// New and SetRules refuse a rule that cannot be drawn from.
func TestRuleValidation(t *testing.T) {
	valid := Rule{API: registerAPI, Rates: map[Kind]float64{Throttle: 0.1, ConcurrentRevision: 0.2, InternalError: 0.05, Unavailable: 0.05, Reset: 0.01, AppliedHang: 0.01},
		Latency: 50 * time.Millisecond, LatencyRate: 0.3, Script: []Kind{Throttle, None}}
	p, err := New(Config{Upstream: "http://127.0.0.1:1", Rules: []Rule{valid}})
	if err != nil {
		t.Fatalf("a valid rule: %v", err)
	}
	for name, bad := range map[string]Rule{
		"no API":              {Rates: map[Kind]float64{Throttle: 0.1}},
		"rates over 1":        {API: "*", Rates: map[Kind]float64{Throttle: 0.7, InternalError: 0.5}},
		"a rate over 1":       {API: "ecs:*", Rates: map[Kind]float64{Throttle: 2}},
		"an unknown fault":    {API: "*", Rates: map[Kind]float64{"bogus": 0.1}},
		"an unknown scripted": {API: "*", Script: []Kind{"boom"}},
		"a negative latency":  {API: "*", Latency: -time.Second},
		"a latency rate 2":    {API: "*", Latency: time.Second, LatencyRate: 2},
	} {
		if err := p.SetRules([]Rule{bad}); err == nil {
			t.Errorf("SetRules of %s: want an error", name)
		}
	}
}

func TestMotoAPIPassesThrough(t *testing.T) {
	srv, backend := startProxy(t, Rule{API: "*", Rates: map[Kind]float64{Unavailable: 1}})
	resp, err := http.Post(srv.URL+"/moto-api/config", "application/json", strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if backend.calls.Load() != 1 || srv.Stats().Total.Requests != 0 {
		t.Errorf("moto-api call: backend %d, proxy requests %d; want 1, 0", backend.calls.Load(), srv.Stats().Total.Requests)
	}
}

// The applied faults reach the upstream, then fail: the client sees a 500,
// a reset or silence until its own time-out, and its retry is a second
// call that also takes effect.
func TestAppliedFaultsTakeEffectThenFail(t *testing.T) {
	tests := []struct {
		kind      Kind
		timeout   time.Duration // the client's per-call time-out
		wantCalls int64         // calls the upstream saw after one retry
	}{
		{AppliedInternalError, 0, 2},
		{AppliedReset, 0, 2},
		{AppliedHang, 200 * time.Millisecond, 2},
	}
	for _, tt := range tests {
		t.Run(string(tt.kind), func(t *testing.T) {
			srv, backend := startProxy(t, Rule{API: registerAPI, Script: []Kind{tt.kind}})
			c := ecs.NewFromConfig(sdkConfig(srv.URL, 1))
			ctx := context.Background()
			if tt.timeout > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tt.timeout)
				defer cancel()
			}
			if err := register(ctx, c); err == nil {
				t.Fatal("the first call succeeded, want its response lost")
			}
			if n := backend.calls.Load(); n != 1 {
				t.Errorf("the upstream saw %d calls after the faulted one, want 1 (it took effect)", n)
			}
			if err := register(context.Background(), c); err != nil {
				t.Fatalf("the retry: %v", err)
			}
			if n := backend.calls.Load(); n != tt.wantCalls {
				t.Errorf("the upstream saw %d calls, want %d", n, tt.wantCalls)
			}
			st := srv.Stats().APIs[registerAPI]
			if st.Requests != 2 || st.Forwarded != 2 || st.Faults[tt.kind] != 1 {
				t.Errorf("stats = %+v, want 2 requests, both forwarded, 1 %s fault", st, tt.kind)
			}
		})
	}
}

// A rule for one role denies only AssumeRole of that role, as STS answers;
// a rule for one account faults only the calls made with the credentials
// AssumeRole returned for that account's roles (the upstream's
// GetCallerIdentity names their account, as moto's does).
func TestRoleAndAccountRules(t *testing.T) {
	var assumed sync.Map // access key → account, of the keys AssumeRole handed out
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.FormValue("Action") {
		case "AssumeRole":
			role := r.FormValue("RoleArn")
			account := strings.Split(role, ":")[4]
			assumed.Store("ASIA"+account, account)
			w.Header().Set("Content-Type", "text/xml")
			fmt.Fprintf(w, `<AssumeRoleResponse><AssumeRoleResult><Credentials><AccessKeyId>ASIA%s</AccessKeyId></Credentials>`+
				`<AssumedRoleUser><Arn>arn:aws:sts::%s:assumed-role/r/s</Arn></AssumedRoleUser></AssumeRoleResult></AssumeRoleResponse>`, account, account)
			return
		case "GetCallerIdentity":
			_, cred, _ := strings.Cut(r.Header.Get("Authorization"), "Credential=")
			key, _, _ := strings.Cut(cred, "/")
			account, ok := assumed.Load(key)
			if !ok {
				account = "123456789012" // moto's default account
			}
			w.Header().Set("Content-Type", "text/xml")
			fmt.Fprintf(w, `<GetCallerIdentityResponse><GetCallerIdentityResult><Account>%s</Account></GetCallerIdentityResult></GetCallerIdentityResponse>`, account)
			return
		}
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		fmt.Fprint(w, `{}`)
	}))
	defer upstream.Close()
	const denied, other = "arn:aws:iam::111122223333:role/ecslogfix-member", "arn:aws:iam::444455556666:role/ecslogfix-member"
	p, err := New(Config{Upstream: upstream.URL, Rules: []Rule{
		{API: "sts:AssumeRole", Role: denied, Rates: map[Kind]float64{Denied: 1}},
		{API: "ecs:*", Account: "444455556666", Region: "eu-west-1", Rates: map[Kind]float64{Denied: 1}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	call := func(key, service, region, target, body string) *httptest.ResponseRecorder {
		r := httptest.NewRequest(http.MethodPost, "http://x/", strings.NewReader(body))
		r.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential="+key+"/20261201/"+region+"/"+service+"/aws4_request, SignedHeaders=host, Signature=x")
		if target != "" {
			r.Header.Set("X-Amz-Target", target)
			r.Header.Set("Content-Type", "application/x-amz-json-1.1")
		} else {
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		w := httptest.NewRecorder()
		p.ServeHTTP(w, r)
		return w
	}
	assume := func(role string) *httptest.ResponseRecorder {
		return call("test", "sts", "us-east-1", "", "Action=AssumeRole&RoleSessionName=s&RoleArn="+url.QueryEscape(role))
	}
	if w := assume(denied); w.Code != http.StatusForbidden || !strings.Contains(w.Body.String(), "<Code>AccessDenied</Code>") || !strings.Contains(w.Body.String(), denied) {
		t.Errorf("AssumeRole of the denied role: %d %s", w.Code, w.Body.String())
	}
	if w := assume(other); w.Code != http.StatusOK {
		t.Fatalf("AssumeRole of the other role: %d %s", w.Code, w.Body.String())
	}
	const list = "AmazonEC2ContainerServiceV20141113.ListTaskDefinitionFamilies"
	if w := call("ASIA444455556666", "ecs", "eu-west-1", list, "{}"); w.Code != http.StatusBadRequest || w.Header().Get("X-Amzn-ErrorType") != "AccessDeniedException" {
		t.Errorf("the account's eu-west-1: %d %s", w.Code, w.Body.String())
	}
	for _, c := range []struct{ key, region string }{{"ASIA444455556666", "us-east-1"}, {"test", "eu-west-1"}, {"ASIAUNKNOWN", "eu-west-1"}} {
		if w := call(c.key, "ecs", c.region, list, "{}"); w.Code != http.StatusOK {
			t.Errorf("%s in %s: %d %s, want forwarded", c.key, c.region, w.Code, w.Body.String())
		}
	}
}
