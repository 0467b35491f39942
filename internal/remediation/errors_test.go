package remediation

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	ststypes "github.com/aws/aws-sdk-go-v2/service/sts/types"
	"github.com/aws/smithy-go"
	"golang.org/x/time/rate"

	"github.com/ecslogfix/ecslogfix/internal/workflow"
)

func TestRetryables(t *testing.T) {
	if retryConcurrentRevision(&types.ClientException{Message: aws.String("Too many concurrent attempts to create a new revision of the specified family.")}) != aws.TrueTernary {
		t.Error("concurrent revision not retried by the SDK")
	}
	if retryConcurrentRevision(&types.ClientException{Message: aws.String("Invalid family")}) != aws.UnknownTernary {
		t.Error("other client errors must fall through")
	}
	if noRetryLimitExceeded(&smithy.GenericAPIError{Code: "LimitExceededException"}) != aws.FalseTernary {
		t.Error("Logs' LimitExceededException is retried")
	}
}

func TestIsTaskDefinitionNotFound(t *testing.T) {
	if !isTaskDefinitionNotFound(&types.ClientException{Message: aws.String("Unable to describe task definition.")}) {
		t.Error("ECS's message")
	}
	if isTaskDefinitionNotFound(&types.ClientException{Message: aws.String("Too many concurrent attempts")}) || isTaskDefinitionNotFound(errors.New("Unable to describe task definition")) {
		t.Error("false positive")
	}
}

func TestLimitedECSWaits(t *testing.T) {
	e := newFakeECS()
	td, tags := loadTD(t, "td01-fargate-no-logconfig.json")
	e.put(td, tags)
	l := &LimitedECS{ECS: e, Read: rate.NewLimiter(rate.Every(time.Hour), 1), Register: rate.NewLimiter(rate.Every(time.Hour), 1)}
	ctx := context.Background()
	if _, err := l.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String("orders-api")}); err != nil {
		t.Fatal(err)
	}
	// The bucket is empty now: a call with a short deadline gives up
	// without reaching ECS.
	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	if _, err := l.DescribeTaskDefinition(short, &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String("orders-api")}); err == nil {
		t.Fatal("second read was not limited")
	}
	if _, err := l.ListTaskDefinitionFamilies(short, &ecs.ListTaskDefinitionFamiliesInput{}); err == nil {
		t.Fatal("list shares the read limiter")
	}
	if n := e.count("DescribeTaskDefinition") + e.count("ListTaskDefinitionFamilies"); n != 1 {
		t.Fatalf("%d calls reached ECS", n)
	}
	if _, err := l.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{Family: aws.String("x"), ContainerDefinitions: []types.ContainerDefinition{{Name: aws.String("c")}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := l.RegisterTaskDefinition(short, &ecs.RegisterTaskDefinitionInput{Family: aws.String("x")}); err == nil {
		t.Fatal("register was not limited")
	}
}

// fakeSTS hands out credentials per role and counts AssumeRole calls.
type fakeSTS struct {
	mu    sync.Mutex
	calls map[string]int
}

func (f *fakeSTS) AssumeRole(_ context.Context, in *sts.AssumeRoleInput, _ ...func(*sts.Options)) (*sts.AssumeRoleOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls[aws.ToString(in.RoleArn)]++
	if aws.ToString(in.RoleSessionName) != "ecslogfix" {
		return nil, fmt.Errorf("session name %q", aws.ToString(in.RoleSessionName))
	}
	account := strings.Split(aws.ToString(in.RoleArn), ":")[4]
	return &sts.AssumeRoleOutput{Credentials: &ststypes.Credentials{
		AccessKeyId:     aws.String("ASIA" + account),
		SecretAccessKey: aws.String("secret"),
		SessionToken:    aws.String("token"),
		Expiration:      aws.Time(time.Now().Add(time.Hour)),
	}}, nil
}

func TestFactoryCredentialsAndRegions(t *testing.T) {
	var mu sync.Mutex
	var seen []string // access key and region of each signed request
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		auth := r.Header.Get("Authorization") // ... Credential=AKID/DATE/REGION/ecs/aws4_request ...
		cred := auth[strings.Index(auth, "Credential=")+len("Credential="):]
		parts := strings.Split(cred, "/")
		mu.Lock()
		seen = append(seen, parts[0]+"@"+parts[2])
		mu.Unlock()
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		_, _ = w.Write([]byte(`{"families":[]}`))
	}))
	defer srv.Close()

	base := aws.Config{
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider("AKIDHUB", "secret", ""),
		BaseEndpoint: aws.String(srv.URL),
	}
	st := &fakeSTS{calls: map[string]int{}}
	f := NewFactory(base, st, FactoryOptions{ReadRate: 1000})
	ctx := context.Background()
	member := "arn:aws:iam::444455556666:role/ecslogfix-member"
	targets := []workflow.Target{
		{Account: testAccount, Region: "us-east-1"},
		{Account: "444455556666", Region: "eu-west-1", RoleARN: member},
		{Account: "444455556666", Region: "us-east-1", RoleARN: member},
		{Account: "444455556666", Region: "eu-west-1", RoleARN: member}, // cached
	}
	for _, tg := range targets {
		c, err := f.Clients(ctx, tg)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.ECS.ListTaskDefinitionFamilies(ctx, &ecs.ListTaskDefinitionFamiliesInput{}); err != nil {
			t.Fatal(err)
		}
	}
	want := []string{"AKIDHUB@us-east-1", "ASIA444455556666@eu-west-1", "ASIA444455556666@us-east-1", "ASIA444455556666@eu-west-1"}
	if fmt.Sprint(seen) != fmt.Sprint(want) {
		t.Fatalf("requests signed as %v, want %v", seen, want)
	}
	if st.calls[member] != 1 {
		t.Fatalf("AssumeRole called %d times, want 1 (cached across regions)", st.calls[member])
	}
	a, _ := f.Clients(ctx, targets[1])
	b, _ := f.Clients(ctx, targets[3])
	if a.ECS != b.ECS {
		t.Fatal("clients not cached per target")
	}
	if _, err := NewFactory(base, nil, FactoryOptions{}).Clients(ctx, targets[1]); err == nil {
		t.Fatal("a role target without STS must fail")
	}
}

type fakeIdentity struct {
	out *sts.GetCallerIdentityOutput
	err error
}

func (f fakeIdentity) GetCallerIdentity(context.Context, *sts.GetCallerIdentityInput, ...func(*sts.Options)) (*sts.GetCallerIdentityOutput, error) {
	return f.out, f.err
}

func TestCallerAccount(t *testing.T) {
	acct, part, err := CallerAccount(context.Background(), fakeIdentity{out: &sts.GetCallerIdentityOutput{Account: aws.String("111122223333"), Arn: aws.String("arn:aws-us-gov:sts::111122223333:assumed-role/x/y")}})
	if err != nil || acct != "111122223333" || part != "aws-us-gov" {
		t.Fatalf("%s %s %v", acct, part, err)
	}
	if _, _, err := CallerAccount(context.Background(), fakeIdentity{err: errors.New("denied")}); err == nil {
		t.Fatal("no error")
	}
	if got := MemberRoleARN("", "444455556666", "ecslogfix-member"); got != "arn:aws:iam::444455556666:role/ecslogfix-member" {
		t.Fatal(got)
	}
}

// The register budget is spent per attempt: after a throttled attempt the
// SDK's retry must wait for the limiter too, or retries overrun the
// account's RegisterTaskDefinition rate shared with the user's pipelines.
func TestFactoryLimitsEveryRegisterAttempt(t *testing.T) {
	var mu sync.Mutex
	attempts := map[string]int{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		op := strings.TrimPrefix(r.Header.Get("X-Amz-Target"), "AmazonEC2ContainerServiceV20141113.")
		mu.Lock()
		attempts[op]++
		mu.Unlock()
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		if op != "RegisterTaskDefinition" {
			_, _ = w.Write([]byte(`{"taskDefinition":{"family":"x","revision":1}}`))
			return
		}
		w.WriteHeader(http.StatusBadRequest)
		_, _ = w.Write([]byte(`{"__type":"ThrottlingException","message":"Rate exceeded"}`))
	}))
	defer srv.Close()
	base := aws.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider("AKID", "secret", ""), BaseEndpoint: aws.String(srv.URL)}
	// One token, then one an hour: the first attempt goes, a retry cannot.
	f := NewFactory(base, nil, FactoryOptions{RegisterRate: 1.0 / 3600, ReadRate: 1000, MaxAttempts: 3})
	c, err := f.Clients(context.Background(), workflow.Target{Account: testAccount, Region: "us-east-1"})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err = c.ECS.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{Family: aws.String("x"), ContainerDefinitions: []types.ContainerDefinition{{Name: aws.String("c")}}})
	if err == nil {
		t.Fatal("register succeeded against a server that only throttles")
	}
	mu.Lock()
	n := attempts["RegisterTaskDefinition"]
	mu.Unlock()
	if n != 1 {
		t.Fatalf("%d register attempts reached ECS with one token in the budget, want 1 (retries must wait for the limiter)", n)
	}
	// Reads are not held by the register budget.
	if _, err := c.ECS.DescribeTaskDefinition(context.Background(), &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String("x")}); err != nil {
		t.Fatalf("describe held by the register budget: %v", err)
	}
}
