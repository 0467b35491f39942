package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/ecslogfix/ecslogfix/internal/cli/command"
	"github.com/ecslogfix/ecslogfix/internal/cli/scan"
)

// runWith runs the program with cfg as the AWS configuration.
func runWith(t *testing.T, load func(context.Context, string, string) (aws.Config, error), args ...string) result {
	t.Helper()
	var out, errb bytes.Buffer
	a := &App{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errb, Getenv: func(string) string { return "" },
		LoadAWS: load, IsTerminal: func(io.Writer) bool { return false }}
	code := a.Run(context.Background(), args)
	return result{code: code, stdout: out.String(), stderr: errb.String()}
}

func TestMissingCredentials(t *testing.T) {
	for k, v := range map[string]string{
		"AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": "", "AWS_SESSION_TOKEN": "", "AWS_PROFILE": "",
		"AWS_CONFIG_FILE": os.DevNull, "AWS_SHARED_CREDENTIALS_FILE": os.DevNull, "AWS_EC2_METADATA_DISABLED": "true",
		"AWS_CONTAINER_CREDENTIALS_FULL_URI": "", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI": "", "AWS_WEB_IDENTITY_TOKEN_FILE": "",
	} {
		t.Setenv(k, v)
	}
	for _, args := range [][]string{
		{"scan", "--region", "us-east-1"},
		{"fix", "--all", "--region", "us-east-1"},
		{"backout", "--task-definition", "orders-api:15", "--region", "us-east-1"},
	} {
		r := runWith(t, command.LoadAWS, args...)
		if args[0] == "scan" {
			golden(t, "errors/no-credentials.txt", transcript(args, r))
		}
		if r.code != ExitError || !strings.HasPrefix(r.stderr, "ecslogfix: no AWS credentials: set AWS_PROFILE") || strings.Count(r.stderr, "\n") != 1 {
			t.Errorf("%v: exit %d, stderr %q", args, r.code, r.stderr)
		}
	}
	t.Setenv("AWS_REGION", "")
	t.Setenv("AWS_DEFAULT_REGION", "")
	r := runWith(t, command.LoadAWS, "scan")
	if r.code != ExitError || !strings.Contains(r.stderr, "no AWS region: pass --region or set AWS_REGION") {
		t.Errorf("no region: exit %d, stderr %q", r.code, r.stderr)
	}
}

func TestAccessDenied(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		w.WriteHeader(http.StatusBadRequest)
		op := strings.TrimPrefix(r.Header.Get("X-Amz-Target"), "AmazonEC2ContainerServiceV20141113.")
		io.WriteString(w, `{"__type":"AccessDeniedException","message":"User: arn:aws:iam::111122223333:user/jane is not authorized to perform: ecs:`+op+` on resource: *"}`)
	}))
	defer srv.Close()
	load := func(context.Context, string, string) (aws.Config, error) {
		return aws.Config{Region: "us-east-1", BaseEndpoint: aws.String(srv.URL), RetryMaxAttempts: 1,
			Credentials: credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", "")}, nil
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"scan"}, "ecslogfix: scan incomplete, not scanned: us-east-1: access denied: User: arn:aws:iam::111122223333:user/jane is not authorized to perform: ecs:ListTaskDefinitionFamilies on resource: *\n"},
		{[]string{"fix", "--task-definition", "orders-api"}, "ecslogfix: fix: access denied: User: arn:aws:iam::111122223333:user/jane is not authorized to perform: ecs:DescribeTaskDefinition on resource: *\n"},
		{[]string{"backout", "--task-definition", "orders-api:15"}, "ecslogfix: backout: access denied: User: arn:aws:iam::111122223333:user/jane is not authorized to perform: ecs:DescribeTaskDefinition on resource: *\n"},
	} {
		r := runWith(t, load, tc.args...)
		if tc.args[0] == "scan" {
			golden(t, "errors/access-denied.txt", transcript(tc.args, r))
		}
		if r.code != ExitError || r.stderr != tc.want {
			t.Errorf("%v: exit %d\nstderr %q\nwant   %q", tc.args, r.code, r.stderr, tc.want)
		}
	}
}

// TestErrorsAreOneLine: an AWS message with line breaks is still one line
// on stderr.
func TestErrorsAreOneLine(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		w.WriteHeader(http.StatusBadRequest)
		io.WriteString(w, `{"__type":"ClientException","message":"the request was refused\nby a policy\r\nof the account"}`)
	}))
	defer srv.Close()
	load := func(context.Context, string, string) (aws.Config, error) {
		return aws.Config{Region: "us-east-1", BaseEndpoint: aws.String(srv.URL), RetryMaxAttempts: 1,
			Credentials: credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", "")}, nil
	}
	r := runWith(t, load, "backout", "--task-definition", "orders-api:15")
	if r.code != ExitError || strings.Count(r.stderr, "\n") != 1 || !strings.HasSuffix(r.stderr, "the request was refused by a policy of the account\n") {
		t.Errorf("exit %d, stderr %q", r.code, r.stderr)
	}
}

// A region that fails does not lose what the others found: its rows are
// written, the JSON document is closed, the failed region is a row with
// the reason, and the exit status is 2.
func TestScanKeepsTheOtherRegions(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		if strings.Contains(r.Header.Get("Authorization"), "/eu-west-1/") {
			w.WriteHeader(http.StatusBadRequest)
			io.WriteString(w, `{"__type":"AccessDeniedException","message":"explicit deny in a service control policy"}`)
			return
		}
		switch strings.TrimPrefix(r.Header.Get("X-Amz-Target"), "AmazonEC2ContainerServiceV20141113.") {
		case "ListTaskDefinitionFamilies":
			io.WriteString(w, `{"families":["web"]}`)
		default:
			io.WriteString(w, `{"taskDefinition":{"family":"web","revision":3,"status":"ACTIVE","taskDefinitionArn":"arn:aws:ecs:us-east-1:111122223333:task-definition/web:3",
				"containerDefinitions":[{"name":"app","image":"app"}]}}`)
		}
	}))
	defer srv.Close()
	load := func(_ context.Context, _, region string) (aws.Config, error) {
		return aws.Config{Region: region, BaseEndpoint: aws.String(srv.URL), RetryMaxAttempts: 1,
			Credentials: credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", "")}, nil
	}
	r := runWith(t, load, "scan", "--region", "us-east-1", "--region", "eu-west-1", "-o", "json")
	var rows []scan.Row
	if err := json.Unmarshal([]byte(r.stdout), &rows); err != nil {
		t.Fatalf("stdout is not one JSON document: %v\n%s", err, r.stdout)
	}
	if r.code != ExitError || len(rows) != 2 || rows[0].Family != "web" || rows[0].Verdict != scan.VerdictNonCompliant ||
		rows[1].Region != "eu-west-1" || rows[1].Verdict != scan.VerdictError || !strings.Contains(rows[1].Error, "explicit deny") {
		t.Fatalf("exit %d, rows %+v", r.code, rows)
	}
	if !strings.Contains(r.stderr, "not scanned: eu-west-1: access denied: explicit deny") || !strings.Contains(r.stderr, "1 region(s) not scanned") {
		t.Errorf("stderr %q", r.stderr)
	}
}

// An endpoint that answers {} to everything (a broken proxy, a stub) gets
// one clear line from every command, never a panic.
func TestEmptyResponses(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		io.WriteString(w, `{}`)
	}))
	defer srv.Close()
	load := func(_ context.Context, _, region string) (aws.Config, error) {
		return aws.Config{Region: "us-east-1", BaseEndpoint: aws.String(srv.URL), RetryMaxAttempts: 1,
			Credentials: credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", "")}, nil
	}
	// {} to a list is an empty list: nothing to judge.
	for _, args := range [][]string{{"scan"}, {"scan", "-o", "json"}, {"fix", "--all"}} {
		if r := runWith(t, load, args...); r.code != ExitOK || strings.Contains(r.stderr, "panic") {
			t.Errorf("%v: exit %d, stderr %q", args, r.code, r.stderr)
		}
	}
	for _, args := range [][]string{
		{"fix", "--task-definition", "orders-api"},
		{"fix", "--task-definition", "orders-api:3", "--apply"},
		{"backout", "--task-definition", "orders-api:15"},
		{"backout", "--task-definition", "orders-api:15", "--cluster", "prod", "--apply"},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			r := runWith(t, load, args...)
			if strings.Contains(r.stderr, "goroutine ") || strings.Contains(r.stderr, "panic") {
				t.Fatalf("panicked:\n%s", r.stderr)
			}
			lines := strings.Split(strings.TrimSpace(r.stderr), "\n")
			if r.code == ExitOK || !strings.HasPrefix(lines[len(lines)-1], "ecslogfix: ") {
				t.Errorf("exit %d, stderr %q", r.code, r.stderr)
			}
		})
	}
}

// A silent endpoint ends at --timeout with one line, not never.
func TestTimeout(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(release)
	load := func(_ context.Context, _, region string) (aws.Config, error) {
		return aws.Config{Region: "us-east-1", BaseEndpoint: aws.String(srv.URL),
			Credentials: credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", "")}, nil
	}
	for _, args := range [][]string{{"scan", "--timeout", "200ms"}, {"fix", "--task-definition", "orders-api", "--timeout", "200ms"}} {
		r := runWith(t, load, args...)
		if r.code != ExitError || !strings.Contains(r.stderr, "--timeout 200ms reached") || strings.Count(strings.TrimSpace(r.stderr), "\n") > 2 {
			t.Errorf("%v: exit %d, stderr %q", args, r.code, r.stderr)
		}
	}
	if r := runWith(t, load, "scan", "--timeout", "-1s"); r.code != ExitError || !strings.Contains(r.stderr, "--timeout must not be negative") {
		t.Errorf("negative timeout: exit %d, stderr %q", r.code, r.stderr)
	}
}
