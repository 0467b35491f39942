package security

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/securityhub"

	"github.com/ecslogfix/ecslogfix/internal/cli"
	"github.com/ecslogfix/ecslogfix/internal/message/chat"
	"github.com/ecslogfix/ecslogfix/test/e2e/harness"
	"github.com/ecslogfix/ecslogfix/test/localaws"
)

// slackHook is the secret part of the Slack incoming-webhook URL: the
// webhook URL is a credential (anyone holding it can post to the channel),
// so it may reach nothing but the receiver.
const slackHook = "FAKE-slack-webhook-path-c0ffee-10"

// The secret holding the webhook URL, and the partial ARN the
// configuration names (ecslogfix:slackWebhookSecretArn).
const (
	slackSecretName = "ecslogfix-leak-slack-webhook"
	slackSecretARN  = "arn:" + localaws.Partition + ":secretsmanager:" + localaws.Region + ":" + localaws.Account + ":secret:" + slackSecretName
)

// slackReceiver stands in for Slack's incoming webhook on loopback (HTTPS:
// notify refuses any other scheme) and keeps every body posted to it.
type slackReceiver struct {
	srv *httptest.Server

	mu     sync.Mutex
	bodies []string
}

func startSlack(t *testing.T) *slackReceiver {
	t.Helper()
	r := &slackReceiver{}
	r.srv = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		b, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		r.bodies = append(r.bodies, string(b))
		r.mu.Unlock()
		if req.URL.Path != r.path() {
			http.Error(w, "no_service", http.StatusNotFound)
			return
		}
		_, _ = io.WriteString(w, "ok") // as Slack answers
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *slackReceiver) path() string { return "/services/T00000000/B00000000/" + slackHook }

// URL is the webhook URL the secret holds.
func (r *slackReceiver) URL() string { return r.srv.URL + r.path() }

// CertFile writes the receiver's certificate to dir for SSL_CERT_FILE, so
// notify's production HTTP client trusts it.
func (r *slackReceiver) CertFile(t *testing.T, dir string) string {
	t.Helper()
	p := filepath.Join(dir, "slack-receiver.pem")
	b := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: r.srv.Certificate().Raw})
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// Bodies returns every body received so far.
func (r *slackReceiver) Bodies() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.bodies...)
}

// historyRecords returns every version of every object in the stack's
// buckets (the history's JSON lines and the sweep's) and every item of its
// tables (the state per family), keyed by where they were read.
func historyRecords(ctx context.Context, t *testing.T, s *harness.Stack) map[string]string {
	t.Helper()
	out := map[string]string{}
	s3c := s3.NewFromConfig(s.Config, func(o *s3.Options) { o.UsePathStyle = true })
	for _, b := range s.Buckets {
		in := &s3.ListObjectVersionsInput{Bucket: aws.String(b)}
		for {
			page, err := s3c.ListObjectVersions(ctx, in)
			if err != nil {
				t.Fatalf("list %s: %v", b, err)
			}
			for _, v := range page.Versions {
				o, err := s3c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(b), Key: v.Key, VersionId: v.VersionId})
				if err != nil {
					t.Fatalf("get s3://%s/%s: %v", b, aws.ToString(v.Key), err)
				}
				body, err := io.ReadAll(o.Body)
				o.Body.Close()
				if err != nil {
					t.Fatal(err)
				}
				out[fmt.Sprintf("s3://%s/%s (version %s)", b, aws.ToString(v.Key), aws.ToString(v.VersionId))] = string(body)
			}
			if !aws.ToBool(page.IsTruncated) {
				break
			}
			in.KeyMarker, in.VersionIdMarker = page.NextKeyMarker, page.NextVersionIdMarker
		}
	}
	ddb := dynamodb.NewFromConfig(s.Config)
	for _, tbl := range s.Tables {
		p := dynamodb.NewScanPaginator(ddb, &dynamodb.ScanInput{TableName: aws.String(tbl)})
		for i := 0; p.HasMorePages(); {
			page, err := p.NextPage(ctx)
			if err != nil {
				t.Fatalf("scan %s: %v", tbl, err)
			}
			for _, item := range page.Items {
				var m map[string]any
				if err := attributevalue.UnmarshalMap(item, &m); err != nil {
					t.Fatal(err)
				}
				b, _ := json.Marshal(m)
				out[fmt.Sprintf("DynamoDB %s item %d", tbl, i)] = string(b)
				i++
			}
		}
	}
	return out
}

// runCLI runs ecslogfix in-process against cfg and returns what it wrote
// to stdout and stderr; an exit other than 0 or 1 (violations found) fails
// the test.
func runCLI(ctx context.Context, t *testing.T, cfg aws.Config, args ...string) (stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	a := &cli.App{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errb, Getenv: func(string) string { return "" },
		LoadAWS:    func(context.Context, string, string) (aws.Config, error) { return cfg.Copy(), nil },
		IsTerminal: func(io.Writer) bool { return false },
	}
	if code := a.Run(ctx, args); code != cli.ExitOK && code != cli.ExitViolation {
		t.Errorf("ecslogfix %s: exit %d\n%s%s", strings.Join(args, " "), code, out.String(), errb.String())
	}
	return out.String(), errb.String()
}

// checkHistory asserts the positive control of the history: every
// canary-bearing family has a record in the bucket and its state in the
// table, so the fields next to the planted values were written.
func checkHistory(t *testing.T, records map[string]string, registered []*ecstypes.TaskDefinition) {
	t.Helper()
	for _, td := range registered {
		family := `"` + aws.ToString(td.Family) + `"`
		var inBucket, inTable bool
		for where, text := range records {
			if strings.Contains(text, family) {
				inBucket = inBucket || strings.HasPrefix(where, "s3://")
				inTable = inTable || strings.HasPrefix(where, "DynamoDB ")
			}
		}
		if !inBucket || !inTable {
			t.Errorf("family %s: a history record %t, a state item %t; want both: the history proves nothing", family, inBucket, inTable)
		}
	}
}

// cliOutputs runs scan, the dry run of fix (--all, and each canary-bearing
// revision) and the dry run of backout (each remediated revision) in every
// output format against the stack, and returns their stdout and stderr.
func cliOutputs(ctx context.Context, t *testing.T, cfg aws.Config, registered []*ecstypes.TaskDefinition) map[string]string {
	t.Helper()
	out := map[string]string{}
	run := func(args ...string) {
		stdout, stderr := runCLI(ctx, t, cfg, args...)
		cmd := "ecslogfix " + strings.Join(args, " ")
		out[cmd+" (stdout)"], out[cmd+" (stderr)"] = stdout, stderr
		if stdout == "" {
			t.Errorf("%s printed nothing: the CLI's output proves nothing", cmd)
		}
	}
	client := ecs.NewFromConfig(cfg)
	var remediated []string
	for _, td := range registered {
		d, err := client.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: td.Family})
		if err != nil {
			t.Fatal(err)
		}
		if d.TaskDefinition.Revision > td.Revision {
			remediated = append(remediated, fmt.Sprintf("%s:%d", aws.ToString(td.Family), d.TaskDefinition.Revision))
		}
	}
	if len(remediated) == 0 {
		t.Error("no remediated revision to back out")
	}
	for _, o := range []string{"text", "json", "csv"} {
		run("scan", "--region", localaws.Region, "--family-prefix", "sec-", "--show-compliant", "-o", o)
		run("fix", "--all", "--family-prefix", "sec-", "-o", o)
		for _, td := range registered {
			run("fix", "--task-definition", aws.ToString(td.TaskDefinitionArn), "-o", o)
		}
		for _, ref := range remediated {
			run("backout", "--task-definition", ref, "-o", o)
		}
	}
	return out
}

// channels are the sources of the channels whose bodies are short (chat)
// or records (history), by a predicate on the source's name.
var channels = map[string]func(string) bool{
	"Slack webhook body":         func(s string) bool { return strings.HasPrefix(s, "Slack webhook body") },
	"Chatbot (https) format":     func(s string) bool { return strings.HasSuffix(s, ", https format") },
	"history record (S3 object)": func(s string) bool { return strings.HasPrefix(s, "s3://") },
}

// checkReaches asserts the positive control of those channels: the shown
// part of each AWS error message reaches every one of them, so the text
// beside the planted secret does, and only the redaction keeps it out.
func checkReaches(t *testing.T, sources map[string]string, shown ...string) {
	t.Helper()
	for name, is := range channels {
		for _, text := range shown {
			found := false
			for where, body := range sources {
				found = found || is(where) && strings.Contains(body, text)
			}
			if !found {
				t.Errorf("no %s shows %q: the channel's check proves nothing", name, text)
			}
		}
	}
}

// checkChatbot asserts that every published message's https format is an
// AWS Chatbot custom notification (Chatbot, which posts to Slack and
// Microsoft Teams, drops any other payload silently): the format the test
// reads is the one those channels receive.
func checkChatbot(t *testing.T, sources map[string]string) {
	t.Helper()
	n := 0
	for where, body := range sources {
		if !channels["Chatbot (https) format"](where) {
			continue
		}
		n++
		var c chat.Chatbot
		if err := json.Unmarshal([]byte(body), &c); err != nil || c.Version != "1.0" || c.Source != "custom" || c.Content.Description == "" {
			t.Errorf("%s is not a Chatbot custom notification (%v): %s", where, err, body)
		}
	}
	if n == 0 {
		t.Error("no Chatbot format read")
	}
}

// securityHubFindings returns every finding ecslogfix imported into
// Security Hub (moto keeps them and answers GetFindings with all of them,
// its filters ignored), each as the JSON a reader of Security Hub sees, by
// ID. A run that imported none fails: the channel would be read in vain.
func securityHubFindings(ctx context.Context, t *testing.T, s *harness.Stack) map[string]string {
	t.Helper()
	out := map[string]string{}
	p := securityhub.NewGetFindingsPaginator(securityhub.NewFromConfig(s.Config), &securityhub.GetFindingsInput{})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatalf("get findings: %v", err)
		}
		for _, f := range page.Findings {
			b, err := json.Marshal(f)
			if err != nil {
				t.Fatal(err)
			}
			out["Security Hub finding "+aws.ToString(f.Id)] = string(b)
		}
	}
	if len(out) == 0 {
		t.Errorf("Security Hub holds no finding of ecslogfix's: the findings channel was not exercised")
	}
	return out
}
