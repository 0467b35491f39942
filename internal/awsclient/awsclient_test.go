package awsclient

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
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	ststypes "github.com/aws/aws-sdk-go-v2/service/sts/types"
)

// ecsServer answers ECS JSON calls with answer(op) and counts attempts.
type ecsServer struct {
	*httptest.Server
	mu       sync.Mutex
	attempts map[string]int
	signed   []string // access key @ region of each request
}

func newECSServer(t *testing.T, answer func(op string, w http.ResponseWriter)) *ecsServer {
	s := &ecsServer{attempts: map[string]int{}}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		op := r.Header.Get("X-Amz-Target")
		op = op[strings.LastIndex(op, ".")+1:]
		auth := r.Header.Get("Authorization") // ... Credential=AKID/DATE/REGION/SERVICE/aws4_request ...
		cred := strings.Split(auth[strings.Index(auth, "Credential=")+len("Credential="):], "/")
		s.mu.Lock()
		s.attempts[op]++
		s.signed = append(s.signed, cred[0]+"@"+cred[2])
		s.mu.Unlock()
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		answer(op, w)
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *ecsServer) count(op string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.attempts[op]
}

func (s *ecsServer) base() aws.Config {
	return aws.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider("AKIDHUB", "secret", ""), BaseEndpoint: aws.String(s.URL)}
}

func ok(_ string, w http.ResponseWriter) {
	_, _ = w.Write([]byte(`{"families":[],"taskDefinition":{"family":"x","revision":1}}`))
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
	if aws.ToString(in.RoleSessionName) != DefaultSessionName {
		return nil, fmt.Errorf("session name %q", aws.ToString(in.RoleSessionName))
	}
	account := strings.Split(aws.ToString(in.RoleArn), ":")[4]
	return &sts.AssumeRoleOutput{Credentials: &ststypes.Credentials{
		AccessKeyId: aws.String("ASIA" + account), SecretAccessKey: aws.String("secret"), SessionToken: aws.String("token"),
		Expiration: aws.Time(time.Now().Add(time.Hour)),
	}}, nil
}

func TestScopesSignWithTheirRegionAndRole(t *testing.T) {
	srv := newECSServer(t, ok)
	st := &fakeSTS{calls: map[string]int{}}
	f := New(srv.base(), Options{ReadRate: MaxRate, STS: st})
	ctx := context.Background()
	member := "arn:aws:iam::444455556666:role/ecslogfix-member"
	scopes := []Scope{{}, {Region: "eu-west-1", RoleARN: member}, {Region: "us-east-1", RoleARN: member}, {Region: "eu-west-1", RoleARN: member}}
	for _, s := range scopes {
		c, err := f.ECS(s)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.ListTaskDefinitionFamilies(ctx, &ecs.ListTaskDefinitionFamiliesInput{}); err != nil {
			t.Fatal(err)
		}
	}
	want := []string{"AKIDHUB@us-east-1", "ASIA444455556666@eu-west-1", "ASIA444455556666@us-east-1", "ASIA444455556666@eu-west-1"}
	if fmt.Sprint(srv.signed) != fmt.Sprint(want) {
		t.Fatalf("requests signed as %v, want %v", srv.signed, want)
	}
	if st.calls[member] != 1 {
		t.Fatalf("AssumeRole called %d times, want 1 (credentials cached across regions)", st.calls[member])
	}
	a, _ := f.ECS(scopes[1])
	b, _ := f.ECS(scopes[3])
	if a != b {
		t.Fatal("clients not cached per scope")
	}
	if _, err := f.ECS(Scope{RoleARN: "arn:aws:iam::444455556666:user/x"}); err == nil {
		t.Fatal("a scope whose role is not a role ARN must fail")
	}
	if _, err := New(aws.Config{}, Options{}).ECS(Scope{}); err == nil {
		t.Fatal("a scope without a region must fail")
	}
}

// The register budget is spent per attempt: after a throttled attempt the
// SDK's retry must wait for the limiter too, or retries overrun the
// account's RegisterTaskDefinition rate shared with the user's pipelines.
func TestEveryRegisterAttemptWaitsForTheBudget(t *testing.T) {
	srv := newECSServer(t, func(op string, w http.ResponseWriter) {
		if op != "RegisterTaskDefinition" {
			ok(op, w)
			return
		}
		w.WriteHeader(http.StatusBadRequest)
		_, _ = w.Write([]byte(`{"__type":"ThrottlingException","message":"Rate exceeded"}`))
	})
	// One token, then one an hour: the first attempt goes, a retry cannot.
	f := New(srv.base(), Options{RegisterRate: 1.0 / 3600, ReadRate: MaxRate, MaxAttempts: 3})
	c, err := f.ECS(Scope{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := c.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{Family: aws.String("x"), ContainerDefinitions: []types.ContainerDefinition{{Name: aws.String("c")}}}); err == nil {
		t.Fatal("register succeeded against a server that only throttles")
	}
	if n := srv.count("RegisterTaskDefinition"); n != 1 {
		t.Fatalf("%d register attempts reached ECS with one token in the budget, want 1 (retries must wait for the limiter)", n)
	}
	// Deregister shares the budget (the same ECS bucket); reads do not.
	short, cancel2 := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel2()
	if _, err := c.DeregisterTaskDefinition(short, &ecs.DeregisterTaskDefinitionInput{TaskDefinition: aws.String("x:1")}); err == nil || srv.count("DeregisterTaskDefinition") != 0 {
		t.Fatal("deregister was not held by the register budget")
	}
	if _, err := c.DescribeTaskDefinition(context.Background(), &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String("x")}); err != nil {
		t.Fatalf("describe held by the register budget: %v", err)
	}
}

// Reads are paced per scope (ECS throttles per account and region): an
// empty bucket in one scope holds only that scope.
func TestReadsArePacedPerScope(t *testing.T) {
	srv := newECSServer(t, ok)
	f := New(srv.base(), Options{ReadRate: 1.0 / 3600})
	ctx := context.Background()
	east, _ := f.ECS(Scope{Region: "us-east-1"})
	west, _ := f.ECS(Scope{Region: "eu-west-1"})
	for _, c := range []*ecs.Client{east, west} {
		if _, err := c.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String("x")}); err != nil {
			t.Fatal(err)
		}
	}
	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	if _, err := east.ListTaskDefinitionFamilies(short, &ecs.ListTaskDefinitionFamiliesInput{}); err == nil {
		t.Fatal("list does not share the read budget")
	}
	if n := srv.count("DescribeTaskDefinition") + srv.count("ListTaskDefinitionFamilies"); n != 2 {
		t.Fatalf("%d reads reached ECS, want 2 (one per scope)", n)
	}
	// A budget whose next token comes after the deadline is that
	// deadline: callers that stop in time (the sweep) can tell.
	if _, err := east.DescribeTaskDefinition(short, &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String("x")}); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want context.DeadlineExceeded", err)
	}
}

// A silent endpoint costs one attempt timeout per attempt, never forever.
func TestAttemptTimeout(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-release }))
	defer srv.Close()
	defer close(release)
	base := aws.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider("AKID", "secret", ""), BaseEndpoint: aws.String(srv.URL)}
	f := New(base, Options{AttemptTimeout: 100 * time.Millisecond, MaxAttempts: 2})
	c, _ := f.ECS(Scope{})
	start := time.Now()
	_, err := c.ListTaskDefinitionFamilies(context.Background(), &ecs.ListTaskDefinitionFamiliesInput{})
	if err == nil {
		t.Fatal("a silent endpoint answered")
	}
	var te interface{ Timeout() bool }
	if !errors.As(err, &te) || !te.Timeout() {
		t.Fatalf("error is not a timeout: %v", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Fatalf("took %v", d)
	}
}

func TestValidRate(t *testing.T) {
	for r, want := range map[float64]bool{0: false, -1: false, 0.001: true, 0.5: true, MaxRate: true, MaxRate + 0.1: false} {
		if ValidRate(r) != want {
			t.Errorf("ValidRate(%v) = %v", r, !want)
		}
	}
	for r, want := range map[float64]bool{0: false, -1: false, 1000: true, 1000.5: false} {
		if ValidReadRate(r) != want {
			t.Errorf("ValidReadRate(%v) = %v", r, !want)
		}
	}
}

func TestCallerAccount(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/xml")
		_, _ = fmt.Fprint(w, `<GetCallerIdentityResponse><GetCallerIdentityResult><Arn>arn:aws-us-gov:sts::111122223333:assumed-role/x/y</Arn><Account>111122223333</Account><UserId>AROA:y</UserId></GetCallerIdentityResult></GetCallerIdentityResponse>`)
	}))
	defer srv.Close()
	base := aws.Config{Region: "us-gov-west-1", Credentials: credentials.NewStaticCredentialsProvider("AKID", "secret", ""), BaseEndpoint: aws.String(srv.URL)}
	acct, part, err := New(base, Options{}).CallerAccount(context.Background())
	if err != nil || acct != "111122223333" || part != "aws-us-gov" {
		t.Fatalf("%s %s %v", acct, part, err)
	}
}

// The rollout's writes have one budget of their own, spent per attempt:
// a throttled UpdateService's retry waits for it, PutTargets and
// UpdateSchedule share it, and neither registrations nor reads wait on it.
func TestRolloutWritesShareTheirOwnBudget(t *testing.T) {
	srv := newECSServer(t, func(op string, w http.ResponseWriter) {
		switch op {
		case "UpdateService":
			w.WriteHeader(http.StatusBadRequest)
			_, _ = w.Write([]byte(`{"__type":"ThrottlingException","message":"Rate exceeded"}`))
		case "PutTargets":
			_, _ = w.Write([]byte(`{"FailedEntryCount":0,"FailedEntries":[]}`))
		default:
			ok(op, w)
		}
	})
	// One token, then one an hour.
	f := New(srv.base(), Options{RolloutRate: 1.0 / 3600, ReadRate: MaxRate, RegisterRate: MaxRate, MaxAttempts: 3})
	c, err := f.ECS(Scope{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if _, err := c.UpdateService(ctx, &ecs.UpdateServiceInput{Service: aws.String("s"), TaskDefinition: aws.String("x:2")}); err == nil {
		t.Fatal("update succeeded against a server that only throttles")
	}
	if n := srv.count("UpdateService"); n != 1 {
		t.Fatalf("%d UpdateService attempts with one token in the budget, want 1 (retries must wait for the limiter)", n)
	}
	ev, err := f.Events(Scope{})
	if err != nil {
		t.Fatal(err)
	}
	short, cancel2 := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel2()
	if _, err := ev.PutTargets(short, &eventbridge.PutTargetsInput{Rule: aws.String("r")}); err == nil || srv.count("PutTargets") != 0 {
		t.Fatal("PutTargets was not held by the rollout budget")
	}
	if _, err := c.RegisterTaskDefinition(context.Background(), &ecs.RegisterTaskDefinitionInput{Family: aws.String("x"), ContainerDefinitions: []types.ContainerDefinition{{Name: aws.String("c")}}}); err != nil {
		t.Fatalf("register held by the rollout budget: %v", err)
	}
	if _, err := c.DescribeServices(context.Background(), &ecs.DescribeServicesInput{Services: []string{"s"}}); err != nil {
		t.Fatalf("describe held by the rollout budget: %v", err)
	}
	if _, err := f.Scheduler(Scope{Region: "eu-west-1"}); err != nil {
		t.Fatal(err)
	}
}
