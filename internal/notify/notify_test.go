package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/smithy-go"

	"github.com/ecslogfix/ecslogfix/internal/message"
	"github.com/ecslogfix/ecslogfix/internal/message/chat"
	"github.com/ecslogfix/ecslogfix/internal/workflow"
)

const topicARN = "arn:aws:sns:us-east-1:111122223333:ecslogfix-notifications"

func loadRequest(t *testing.T, name string) workflow.NotifyRequest {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name+".json"))
	if err != nil {
		t.Fatal(err)
	}
	var req workflow.NotifyRequest
	if err := json.Unmarshal(data, &req); err != nil {
		t.Fatal(err)
	}
	return req
}

type fakeSNS struct {
	mu    sync.Mutex
	calls []*sns.PublishInput
	err   error
}

func (f *fakeSNS) Publish(_ context.Context, in *sns.PublishInput, _ ...func(*sns.Options)) (*sns.PublishOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, in)
	if f.err != nil {
		return nil, f.err
	}
	return &sns.PublishOutput{MessageId: aws.String("msg-1")}, nil
}

type fakeSecrets struct {
	value string
	calls int
}

func (f *fakeSecrets) GetSecretValue(_ context.Context, in *secretsmanager.GetSecretValueInput, _ ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error) {
	f.calls++
	return &secretsmanager.GetSecretValueOutput{SecretString: aws.String(f.value)}, nil
}

type fakeHTTP struct {
	status int
	err    error
	reqs   []*http.Request
	bodies [][]byte
}

func (f *fakeHTTP) Do(r *http.Request) (*http.Response, error) {
	body, _ := io.ReadAll(r.Body)
	f.reqs = append(f.reqs, r)
	f.bodies = append(f.bodies, body)
	if f.err != nil {
		return nil, &urlError{r.URL.String(), f.err}
	}
	return &http.Response{StatusCode: f.status, Body: io.NopCloser(strings.NewReader("ok"))}, nil
}

// urlError mimics *url.Error, which carries the URL in its message.
type urlError struct {
	url string
	err error
}

func (e *urlError) Error() string { return "Post " + e.url + ": " + e.err.Error() }
func (e *urlError) Unwrap() error { return e.err }

func newTestHandler(t *testing.T, cfg Config, deps Deps) (*Handler, *bytes.Buffer) {
	t.Helper()
	var logs bytes.Buffer
	deps.Logger = slog.New(slog.NewJSONHandler(&logs, nil))
	if cfg.TopicARN == "" {
		cfg.TopicARN = topicARN
	}
	h, err := NewHandler(cfg, deps)
	if err != nil {
		t.Fatal(err)
	}
	return h, &logs
}

func TestPublishesOnceWithJSONStructureAndAttributes(t *testing.T) {
	pub := &fakeSNS{}
	h, logs := newTestHandler(t, Config{}, Deps{SNS: pub})
	req := loadRequest(t, "remediated")
	sum, err := h.Handle(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	if len(pub.calls) != 1 {
		t.Fatalf("%d publishes, want 1", len(pub.calls))
	}
	in := pub.calls[0]
	want, _ := message.Render(req)
	if aws.ToString(in.TopicArn) != topicARN || aws.ToString(in.MessageStructure) != "json" ||
		aws.ToString(in.Subject) != want.Subject || aws.ToString(in.Message) != want.SNSMessage() {
		t.Errorf("publish input: topic %q structure %q subject %q", aws.ToString(in.TopicArn), aws.ToString(in.MessageStructure), aws.ToString(in.Subject))
	}
	for k, v := range map[string]string{"outcome": "REMEDIATED", "account": "111122223333", "region": "us-east-1", "family": "orders-api"} {
		a, ok := in.MessageAttributes[k]
		if !ok || aws.ToString(a.DataType) != "String" || aws.ToString(a.StringValue) != v {
			t.Errorf("attribute %s = %+v, want String %q", k, a, v)
		}
	}
	if sum.MessageID != "msg-1" || sum.Outcome != workflow.OutcomeRemediated || !sum.Published {
		t.Errorf("summary %+v", sum)
	}
	out, _ := json.Marshal(sum)
	if len(out) > 200 || strings.Contains(string(out), "orders-api") {
		t.Errorf("summary carries more than a summary: %s", out)
	}
	// One JSON log line with the stable keys, never the body.
	var line map[string]any
	for _, l := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
		if err := json.Unmarshal([]byte(l), &line); err != nil {
			t.Fatalf("log line is not JSON: %q", l)
		}
		if line["msg"] == "notification published" {
			break
		}
	}
	for _, k := range []string{"outcome", "family", "account", "region", "messageId"} {
		if line[k] == nil || line[k] == "" {
			t.Errorf("log line lacks %q: %v", k, line)
		}
	}
	if strings.Contains(logs.String(), "deregister-task-definition") {
		t.Error("a log line carries the message body")
	}
}

func TestQuietOutcomesAreLoggedNotPublished(t *testing.T) {
	pub := &fakeSNS{}
	h, _ := newTestHandler(t, Config{}, Deps{SNS: pub})
	sum, err := h.Handle(context.Background(), loadRequest(t, "already-remediated"))
	if err != nil {
		t.Fatal(err)
	}
	if len(pub.calls) != 0 || sum.Published || sum.Skipped == "" {
		t.Errorf("quiet outcome published: %d calls, summary %+v", len(pub.calls), sum)
	}
	loud, _ := newTestHandler(t, Config{PublishQuiet: true}, Deps{SNS: pub})
	if sum, err := loud.Handle(context.Background(), loadRequest(t, "already-remediated")); err != nil || !sum.Published {
		t.Errorf("PublishQuiet: %+v, %v", sum, err)
	}
}

func TestInvalidRequestIsInvalidInputError(t *testing.T) {
	pub := &fakeSNS{}
	h, _ := newTestHandler(t, Config{}, Deps{SNS: pub})
	_, err := h.Handle(context.Background(), workflow.NotifyRequest{})
	var invalid *workflow.InvalidInputError
	if !errors.As(err, &invalid) || len(pub.calls) != 0 {
		t.Errorf("err %v (%T), %d publishes", err, err, len(pub.calls))
	}
}

func TestThrottlingIsThrottledError(t *testing.T) {
	pub := &fakeSNS{err: &smithy.GenericAPIError{Code: "Throttling", Message: "Rate exceeded"}}
	h, _ := newTestHandler(t, Config{}, Deps{SNS: pub})
	_, err := h.Handle(context.Background(), loadRequest(t, "failed"))
	var throttled *workflow.ThrottledError
	if !errors.As(err, &throttled) {
		t.Errorf("err %v (%T), want ThrottledError", err, err)
	}
	pub.err = &smithy.GenericAPIError{Code: "AuthorizationError", Message: "no"}
	if _, err := h.Handle(context.Background(), loadRequest(t, "failed")); err == nil || errors.As(err, &throttled) {
		t.Errorf("authorization error: %v", err)
	}
}

func TestSlackWebhook(t *testing.T) {
	const hook = "https://hooks.slack.com/services/T000/B000/XXXXSECRETXXXX"
	secrets := &fakeSecrets{value: `{"url":"` + hook + `"}`}
	client := &fakeHTTP{status: http.StatusOK}
	h, logs := newTestHandler(t, Config{SlackSecretARN: "arn:aws:secretsmanager:us-east-1:111122223333:secret:slack-AbCdEf"},
		Deps{SNS: &fakeSNS{}, Secrets: secrets, HTTP: client})
	for range 2 {
		sum, err := h.Handle(context.Background(), loadRequest(t, "remediated"))
		if err != nil || sum.Slack != "sent" {
			t.Fatalf("summary %+v, err %v", sum, err)
		}
	}
	if secrets.calls != 1 {
		t.Errorf("secret read %d times, want once", secrets.calls)
	}
	if len(client.reqs) != 2 || client.reqs[0].URL.String() != hook || client.reqs[0].Method != http.MethodPost {
		t.Fatalf("webhook requests: %v", client.reqs)
	}
	var payload chat.Slack
	if err := json.Unmarshal(client.bodies[0], &payload); err != nil || len(payload.Blocks) == 0 || payload.Text == "" {
		t.Errorf("payload %s: %v", client.bodies[0], err)
	}

	// A failing webhook is logged, never fatal, and never logs the URL.
	client.err = errors.New("connection refused")
	sum, err := h.Handle(context.Background(), loadRequest(t, "remediated"))
	if err != nil || sum.Slack != "failed" || !sum.Published {
		t.Errorf("summary %+v, err %v", sum, err)
	}
	if strings.Contains(logs.String(), "XXXXSECRETXXXX") {
		t.Errorf("the webhook URL reached the log:\n%s", logs.String())
	}
}

func TestParseWebhook(t *testing.T) {
	for in, ok := range map[string]bool{
		"https://hooks.slack.com/services/a/b/c":                true,
		` {"webhookUrl":"https://hooks.slack.com/services/a"} `: true,
		`{"webhook_url":"https://example.com/x"}`:               true,
		"http://hooks.slack.com/services/a":                     false,
		`{"url":1}`:                                             false,
		"":                                                      false,
	} {
		if _, err := parseWebhook(in); (err == nil) != ok {
			t.Errorf("parseWebhook(%q): %v", in, err)
		}
	}
}

func TestNewHandlerValidates(t *testing.T) {
	if _, err := NewHandler(Config{}, Deps{SNS: &fakeSNS{}}); err == nil {
		t.Error("no topic accepted")
	}
	if _, err := NewHandler(Config{TopicARN: topicARN}, Deps{}); err == nil {
		t.Error("no SNS client accepted")
	}
	if _, err := NewHandler(Config{TopicARN: topicARN, SlackSecretARN: "arn"}, Deps{SNS: &fakeSNS{}}); err == nil {
		t.Error("a Slack secret without clients accepted")
	}
}

// TestStateMachinePayloadShape feeds the exact payload NotifyFailure builds
// (the whole execution state as failure.input, with the raw error inside it)
// and checks nothing beyond the rendered, sanitised fields is published.
func TestStateMachinePayloadShape(t *testing.T) {
	const planted = "s3cr3t-PLANTED"
	raw := `{"failure":{"input":{"version":"1","trigger":"event","target":{"account":"111122223333","region":"us-east-1"},
	  "taskDefinitionArn":"arn:aws:ecs:us-east-1:111122223333:task-definition/orders-api:14","family":"orders-api","revision":14,
	  "enforcement":"enforce","reasons":[{"container":"app","reasons":["MISSING_LOG_CONFIGURATION"]}],
	  "logGroups":[{"name":"/ecs/orders-api","region":"us-east-1","retentionDays":365,"tags":{"t":"` + planted + `"}}],
	  "failedState":"EnsureLogGroupsFailed",
	  "error":{"Error":"Lambda.Unknown","Cause":"{\"environment\":[{\"value\":\"` + planted + `\"}]}"}},
	  "state":"EnsureLogGroupsFailed","error":"Lambda.Unknown","cause":"The cause \"value\": \"` + planted + `\""},
	  "executionArn":"arn:aws:states:us-east-1:111122223333:execution:ecslogfix:x"}`
	var req workflow.NotifyRequest
	if err := json.Unmarshal([]byte(raw), &req); err != nil { // as the Lambda runtime decodes it
		t.Fatal(err)
	}
	pub := &fakeSNS{}
	h, logs := newTestHandler(t, Config{}, Deps{SNS: pub})
	sum, err := h.Handle(context.Background(), req)
	if err != nil || sum.Outcome != workflow.OutcomeFailed || len(pub.calls) != 1 {
		t.Fatalf("summary %+v, err %v", sum, err)
	}
	msg := aws.ToString(pub.calls[0].Message)
	if strings.Contains(msg, planted) || strings.Contains(logs.String(), planted) {
		t.Errorf("a planted value was published or logged:\n%s", msg)
	}
	if !strings.Contains(msg, "failed in state EnsureLogGroups") {
		t.Errorf("the failed state is not named:\n%s", msg)
	}
}
