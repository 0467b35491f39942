package remediation

import (
	"bytes"
	"context"
	"encoding/json"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/smithy-go"

	"github.com/ecslogfix/ecslogfix/internal/config"
	"github.com/ecslogfix/ecslogfix/internal/policy"
	"github.com/ecslogfix/ecslogfix/internal/workflow"
)

const testStateMachine = "arn:aws:states:us-east-1:111122223333:stateMachine:ecslogfix-remediation"

// recordingClients serves one fake ECS per account/region and records the
// targets asked for.
type recordingClients struct {
	mu      sync.Mutex
	ecs     map[string]*fakeECS
	targets []workflow.Target
}

func (r *recordingClients) Clients(_ context.Context, t workflow.Target) (Clients, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.targets = append(r.targets, t)
	key := t.Account + "/" + t.Region
	e, ok := r.ecs[key]
	if !ok {
		e = newFakeECS()
		e.account, e.region = t.Account, t.Region
		r.ecs[key] = e
	}
	return Clients{ECS: e, Logs: newFakeLogs()}, nil
}

func newDetector(e *fakeECS, s *fakeSFN, logs *logBuffer) *Detector {
	return &Detector{
		Runtime: config.Runtime{
			Mode:            config.ModeSingle,
			Policy:          policy.Default(),
			StateMachineARN: testStateMachine,
			OwnRoleARNs:     []string{"arn:aws:iam::111122223333:role/service-role/ecs-log-remediation-exec"},
			RegisterRate:    1000,
		},
		Clients:     StaticClients{ECS: e, Logs: newFakeLogs()},
		SFN:         s,
		HomeAccount: testAccount,
		Region:      testRegion,
		Logger:      logs.logger(),
		ReadRate:    1e6,
	}
}

func TestDetectorEvents(t *testing.T) {
	td01, tags01 := loadTD(t, "td01-fargate-no-logconfig.json") // orders-api:14
	td11, tags11 := loadTD(t, "td11-compliant-fargate.json")    // payments-gateway:311
	e01 := loadEvent(t, "e01-iamuser-cli-fargate.json")
	exempt := append(append([]types.Tag(nil), tags01...), tag("ecslogfix:exempt", "true"))

	tests := []struct {
		name       string
		event      []byte
		seed       func(e *fakeECS)
		configure  func(d *Detector)
		wantStatus string
		wantReason string
		wantARN    string // the revision an execution was started for
		describes  int
	}{
		{
			name: "non-compliant registration starts the workflow", event: e01,
			seed:       func(e *fakeECS) { e.put(td01, tags01) },
			wantStatus: StatusStarted, wantARN: "arn:aws:ecs:us-east-1:111122223333:task-definition/orders-api:14", describes: 1,
		},
		{
			name: "newer revision exists: the event's exact revision is read", event: e01,
			seed: func(e *fakeECS) {
				e.put(td01, tags01)
				e.put(withRevision(td11, "orders-api", 15), tags11)
			},
			wantStatus: StatusStarted, wantARN: "arn:aws:ecs:us-east-1:111122223333:task-definition/orders-api:14", describes: 1,
		},
		{
			name: "compliant registration", event: loadEvent(t, "e16-compliant-registration.json"),
			seed:       func(e *fakeECS) { e.put(td11, tags11) },
			wantStatus: StatusCompliant, describes: 1,
		},
		{
			name: "own role (assumed-role session of a role with a path)", event: loadEvent(t, "e08-remediation-role-self.json"),
			seed:       func(e *fakeECS) { e.put(td01, tags01) },
			wantStatus: StatusIgnored, wantReason: IgnoreOwnRole,
		},
		{
			name: "own role by session ARN only", event: editEvent(t, loadEvent(t, "e08-remediation-role-self.json"), func(m map[string]any) {
				ui := m["detail"].(map[string]any)["userIdentity"].(map[string]any)
				delete(ui, "sessionContext")
			}),
			seed:       func(e *fakeECS) { e.put(td01, tags01) },
			wantStatus: StatusIgnored, wantReason: IgnoreOwnRole,
		},
		{
			name: "organization mode: the member role in any account is ours", event: loadEvent(t, "e02-assumedrole-github-oidc.json"),
			configure: func(d *Detector) {
				d.Runtime.Mode = config.ModeOrganization
				d.Runtime.MemberRoleName = "gha-ecs-deploy"
			},
			wantStatus: StatusIgnored, wantReason: IgnoreOwnRole,
		},
		{
			name: "failed call", event: loadEvent(t, "e06-failed-clientexception-exec-role.json"),
			wantStatus: StatusIgnored, wantReason: IgnoreFailedCall,
		},
		{
			name: "spoofed source", event: editEvent(t, e01, func(m map[string]any) { m["source"] = "custom.ecs" }),
			wantStatus: StatusIgnored, wantReason: IgnoreParse,
		},
		{
			name: "spoofed eventSource", event: editEvent(t, e01, func(m map[string]any) {
				m["detail"].(map[string]any)["eventSource"] = "evil.example.com"
			}),
			wantStatus: StatusIgnored, wantReason: IgnoreParse,
		},
		{
			name: "other API call", event: loadEvent(t, "n01-deregister-task-definition.json"),
			wantStatus: StatusIgnored, wantReason: IgnoreParse,
		},
		{
			name: "not JSON", event: []byte(`{"detail":`),
			wantStatus: StatusIgnored, wantReason: IgnoreParse,
		},
		{
			name: "account not in the allow-list", event: e01,
			configure:  func(d *Detector) { d.Runtime.AllowedAccounts = []string{"444455556666"} },
			wantStatus: StatusIgnored, wantReason: IgnoreAccount,
		},
		{
			name: "exempt", event: e01,
			seed:       func(e *fakeECS) { e.put(td01, exempt) },
			wantStatus: StatusIgnored, wantReason: IgnoreExempt, describes: 1,
		},
		{
			name: "inactive revision", event: e01,
			seed: func(e *fakeECS) {
				e.put(td01, tags01)
				e.setStatus("orders-api", 14, types.TaskDefinitionStatusInactive)
			},
			wantStatus: StatusIgnored, wantReason: IgnoreInactive, describes: 1,
		},
		{
			name: "revision gone", event: e01,
			wantStatus: StatusIgnored, wantReason: IgnoreNotFound, describes: 1,
		},
		{
			name: "family-only event reads the latest revision", event: editEvent(t, e01, func(m map[string]any) {
				d := m["detail"].(map[string]any)
				d["responseElements"] = nil
			}),
			seed: func(e *fakeECS) {
				e.put(withRevision(td11, "orders-api", 13), tags11)
				e.put(td01, tags01)
			},
			wantStatus: StatusStarted, wantARN: "arn:aws:ecs:us-east-1:111122223333:task-definition/orders-api:14", describes: 1,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e, s, logs := newFakeECS(), newFakeSFN(), &logBuffer{}
			if tc.seed != nil {
				tc.seed(e)
			}
			d := newDetector(e, s, logs)
			var emf bytes.Buffer
			d.Metrics = &Metrics{W: &emf}
			if tc.configure != nil {
				tc.configure(d)
			}
			resp, err := d.Handle(context.Background(), tc.event)
			if err != nil {
				t.Fatalf("Handle: %v", err)
			}
			if resp.Status != tc.wantStatus || resp.Reason != tc.wantReason {
				t.Fatalf("response %+v, want status %s reason %s\nlogs: %s", resp, tc.wantStatus, tc.wantReason, logs.String())
			}
			if got := e.count("DescribeTaskDefinition"); got != tc.describes {
				t.Errorf("DescribeTaskDefinition calls = %d, want %d", got, tc.describes)
			}
			if tc.wantARN == "" {
				if len(s.order) != 0 {
					t.Fatalf("started %v", s.order)
				}
			} else {
				if len(s.order) != 1 {
					t.Fatalf("started %d executions", len(s.order))
				}
				var in workflow.Input
				if err := json.Unmarshal([]byte(s.inputs[s.order[0]]), &in); err != nil {
					t.Fatal(err)
				}
				if in.TaskDefinitionARN != tc.wantARN {
					t.Fatalf("execution for %s, want %s", in.TaskDefinitionARN, tc.wantARN)
				}
				if want := ExecutionName(testAccount, testRegion, in.Family, in.Revision); s.order[0] != want {
					t.Errorf("name %s, want %s", s.order[0], want)
				}
				assertInput(t, in)
			}
			// Exactly one log line per event, with stable keys.
			lines := logs.lines(t)
			if len(lines) != 1 {
				t.Fatalf("%d log lines: %s", len(lines), logs.String())
			}
			if tc.wantReason != "" && lines[0]["reason"] != tc.wantReason {
				t.Errorf("log line %v lacks reason %s", lines[0], tc.wantReason)
			}
			assertNoSecretsText(t, logs.String())
			assertEMF(t, emf.String())
		})
	}
}

func assertInput(t *testing.T, in workflow.Input) {
	t.Helper()
	if in.Version != workflow.Version || in.Trigger != workflow.TriggerEvent || in.EventID == "" {
		t.Errorf("input header %+v", in)
	}
	if in.Target != (workflow.Target{Account: testAccount, Region: testRegion}) {
		t.Errorf("target %+v", in.Target)
	}
	if in.Enforcement != policy.Enforce || len(in.Reasons) == 0 || len(in.LogGroups) == 0 {
		t.Errorf("input body %+v", in)
	}
	if in.Principal == nil || in.Principal.Type == "" {
		t.Errorf("principal %+v", in.Principal)
	}
	b, _ := json.Marshal(in)
	if len(b) > 4096 {
		t.Errorf("input is %d bytes", len(b))
	}
	assertNoSecretsText(t, string(b))
}

func assertNoSecretsText(t *testing.T, s string) {
	t.Helper()
	for _, bad := range []string{"SPRING_PROFILES_ACTIVE", "SERVER_PORT", "requestParameters", "responseElements", "containerDefinitions", "AKIA"} {
		if strings.Contains(s, bad) {
			t.Errorf("output carries %q: %s", bad, s)
		}
	}
}

// assertEMF checks every line is an EMF document in our namespace.
func assertEMF(t *testing.T, out string) {
	t.Helper()
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		if line == "" {
			continue
		}
		var doc struct {
			AWS struct {
				Timestamp         int64 `json:"Timestamp"`
				CloudWatchMetrics []struct {
					Namespace  string     `json:"Namespace"`
					Dimensions [][]string `json:"Dimensions"`
					Metrics    []struct{ Name, Unit string }
				} `json:"CloudWatchMetrics"`
			} `json:"_aws"`
		}
		if err := json.Unmarshal([]byte(line), &doc); err != nil {
			t.Fatalf("EMF line %q: %v", line, err)
		}
		if len(doc.AWS.CloudWatchMetrics) != 1 || doc.AWS.CloudWatchMetrics[0].Namespace != config.MetricNamespace || doc.AWS.Timestamp == 0 {
			t.Fatalf("EMF line %s", line)
		}
		var m map[string]any
		_ = json.Unmarshal([]byte(line), &m)
		for _, mt := range doc.AWS.CloudWatchMetrics[0].Metrics {
			if _, ok := m[mt.Name]; !ok || mt.Unit != "Count" {
				t.Fatalf("EMF metric %s missing: %s", mt.Name, line)
			}
		}
		for _, dims := range doc.AWS.CloudWatchMetrics[0].Dimensions {
			for _, dim := range dims {
				if _, ok := m[dim]; !ok {
					t.Fatalf("EMF dimension %s missing: %s", dim, line)
				}
			}
		}
	}
}

func TestDetectorDuplicateDelivery(t *testing.T) {
	td01, tags01 := loadTD(t, "td01-fargate-no-logconfig.json")
	e, s := newFakeECS(), newFakeSFN()
	e.put(td01, tags01)
	d := newDetector(e, s, &logBuffer{})
	ev := loadEvent(t, "e01-iamuser-cli-fargate.json")
	first, err := d.Handle(context.Background(), ev)
	if err != nil || first.Status != StatusStarted {
		t.Fatalf("first: %+v %v", first, err)
	}
	second, err := d.Handle(context.Background(), ev)
	if err != nil || second.Status != StatusDuplicate || second.ExecutionName != first.ExecutionName {
		t.Fatalf("second: %+v %v", second, err)
	}
	if len(s.order) != 1 {
		t.Fatalf("%d executions", len(s.order))
	}
}

func TestDetectorErrors(t *testing.T) {
	td01, tags01 := loadTD(t, "td01-fargate-no-logconfig.json")
	ev := loadEvent(t, "e01-iamuser-cli-fargate.json")
	t.Run("throttled describe is retried by Lambda", func(t *testing.T) {
		e := newFakeECS()
		e.put(td01, tags01)
		e.failNext("DescribeTaskDefinition", &smithy.GenericAPIError{Code: "ThrottlingException", Message: "Rate exceeded"})
		_, err := newDetector(e, newFakeSFN(), &logBuffer{}).Handle(context.Background(), ev)
		if typeName(err) != workflow.ErrThrottled {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("throttled start", func(t *testing.T) {
		e, s := newFakeECS(), newFakeSFN()
		e.put(td01, tags01)
		s.errs = []error{&smithy.GenericAPIError{Code: "ThrottlingException", Message: "Rate exceeded"}}
		_, err := newDetector(e, s, &logBuffer{}).Handle(context.Background(), ev)
		if typeName(err) != workflow.ErrThrottled {
			t.Fatalf("got %v", err)
		}
	})
}

func TestDetectorOrganizationTarget(t *testing.T) {
	td01, tags01 := loadTD(t, "td01-fargate-no-logconfig.json")
	ev := loadEvent(t, "e01-iamuser-cli-fargate.json")
	for _, tc := range []struct {
		name, home, wantRole string
	}{
		{"member account", "999988887777", "arn:aws:iam::111122223333:role/ecslogfix-member"},
		{"hub's own account", testAccount, ""},
		{"own account unknown", "", "arn:aws:iam::111122223333:role/ecslogfix-member"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rc := &recordingClients{ecs: map[string]*fakeECS{}}
			e := newFakeECS()
			e.put(td01, tags01)
			rc.ecs[testAccount+"/"+testRegion] = e
			s := newFakeSFN()
			d := newDetector(e, s, &logBuffer{})
			d.Clients = rc
			d.HomeAccount = tc.home
			d.Runtime.Mode = config.ModeOrganization
			d.Runtime.MemberRoleName = "ecslogfix-member"
			d.Runtime.AllowedAccounts = []string{testAccount}
			resp, err := d.Handle(context.Background(), ev)
			if err != nil || resp.Status != StatusStarted {
				t.Fatalf("%+v %v", resp, err)
			}
			if len(rc.targets) != 1 || rc.targets[0].RoleARN != tc.wantRole {
				t.Fatalf("targets %+v", rc.targets)
			}
			var in workflow.Input
			_ = json.Unmarshal([]byte(s.inputs[s.order[0]]), &in)
			if in.Target.RoleARN != tc.wantRole {
				t.Fatalf("input target %+v", in.Target)
			}
		})
	}
}

var validName = regexp.MustCompile(`^[0-9A-Za-z_-]{1,80}$`)

func TestExecutionName(t *testing.T) {
	long := strings.Repeat("a", 200) + strings.Repeat("Z", 55) // 255 chars, the maximum
	tests := []struct {
		account, region, family string
		rev                     int32
	}{
		{testAccount, testRegion, "orders-api", 14},
		{testAccount, testRegion, long, 1},
		{testAccount, testRegion, long, 1000000},
		{testAccount, "ap-southeast-2", "x", 2147483647},
		{testAccount, testRegion, "weird/fam:ily é", 3}, // never from ECS, still safe
	}
	seen := map[string]bool{}
	for _, tc := range tests {
		n := ExecutionName(tc.account, tc.region, tc.family, tc.rev)
		if !validName.MatchString(n) {
			t.Errorf("%q (%d chars) is not a valid execution name", n, len(n))
		}
		if n != ExecutionName(tc.account, tc.region, tc.family, tc.rev) {
			t.Errorf("not deterministic: %s", n)
		}
		if seen[n] {
			t.Errorf("collision: %s", n)
		}
		seen[n] = true
	}
	if n := ExecutionName(testAccount, testRegion, "orders-api", 14); !strings.HasPrefix(n, "orders-api-14-") || len(n) != len("orders-api-14-")+16 {
		t.Errorf("short family name %s", n)
	}
	// Account, region and revision all change the name.
	base := ExecutionName(testAccount, testRegion, long, 1)
	for _, other := range []string{
		ExecutionName("444455556666", testRegion, long, 1),
		ExecutionName(testAccount, "eu-west-1", long, 1),
		ExecutionName(testAccount, testRegion, long, 2),
		ExecutionName(testAccount, testRegion, long[:254]+"Y", 1), // same truncated prefix
	} {
		if other == base {
			t.Errorf("%s does not distinguish", other)
		}
	}
}

func TestParseRole(t *testing.T) {
	tests := []struct {
		arn  string
		want roleRef
		ok   bool
	}{
		{"arn:aws:iam::111122223333:role/x", roleRef{"111122223333", "x"}, true},
		{"arn:aws:iam::111122223333:role/service-role/x", roleRef{"111122223333", "x"}, true},
		{"arn:aws:sts::111122223333:assumed-role/x/session", roleRef{"111122223333", "x"}, true},
		{"arn:aws-us-gov:sts::111122223333:assumed-role/x/s", roleRef{"111122223333", "x"}, true},
		{"arn:aws:iam::111122223333:user/x", roleRef{}, false},
		{"arn:aws:sts::111122223333:assumed-role/", roleRef{}, false},
		{"", roleRef{}, false},
	}
	for _, tc := range tests {
		got, ok := parseRole(tc.arn)
		if got != tc.want || ok != tc.ok {
			t.Errorf("parseRole(%q) = %v %v, want %v %v", tc.arn, got, ok, tc.want, tc.ok)
		}
	}
}

func TestPrincipalFromARN(t *testing.T) {
	p := principalFromARN("arn:aws:sts::111122223333:assumed-role/deploy/ci")
	if p.Type != "AssumedRole" || p.RoleARN != "arn:aws:iam::111122223333:role/deploy" {
		t.Fatalf("%+v", p)
	}
	if principalFromARN("arn:aws:iam::111122223333:user/jane").Type != "IAMUser" || principalFromARN("") != nil {
		t.Fatal("user or empty")
	}
}

// A failed execution does not block its revision for the 90 days Step
// Functions keeps execution names: the next delivery (or sweep) starts the
// next attempt, up to MaxExecutionAttempts; a running or successful one is
// a duplicate.
func TestDetectorRetriesAfterAFailedExecution(t *testing.T) {
	td01, tags01 := loadTD(t, "td01-fargate-no-logconfig.json")
	ev := loadEvent(t, "e01-iamuser-cli-fargate.json")
	ctx := context.Background()
	for _, st := range []sfntypes.ExecutionStatus{sfntypes.ExecutionStatusRunning, sfntypes.ExecutionStatusSucceeded} {
		e, s := newFakeECS(), newFakeSFN()
		e.put(td01, tags01)
		d := newDetector(e, s, &logBuffer{})
		first, err := d.Handle(ctx, ev)
		if err != nil || first.Status != StatusStarted {
			t.Fatalf("first: %+v %v", first, err)
		}
		s.status[first.ExecutionName] = st
		if again, err := d.Handle(ctx, ev); err != nil || again.Status != StatusDuplicate || len(s.order) != 1 {
			t.Fatalf("after a %s execution: %+v %v, %d executions; want a duplicate", st, again, err, len(s.order))
		}
	}

	e, s := newFakeECS(), newFakeSFN()
	e.put(td01, tags01)
	d := newDetector(e, s, &logBuffer{})
	names := map[string]bool{}
	for i := 1; i <= MaxExecutionAttempts; i++ {
		r, err := d.Handle(ctx, ev)
		if err != nil || r.Status != StatusStarted {
			t.Fatalf("delivery %d: %+v %v, want a new execution after %d failed", i, r, err, i-1)
		}
		if names[r.ExecutionName] || len(r.ExecutionName) > MaxExecutionName {
			t.Fatalf("attempt %d name %q: reused or too long", i, r.ExecutionName)
		}
		names[r.ExecutionName] = true
		s.status[r.ExecutionName] = sfntypes.ExecutionStatusFailed
	}
	r, err := d.Handle(ctx, ev)
	if err != nil || r.Status != StatusDuplicate || len(s.order) != MaxExecutionAttempts {
		t.Fatalf("after %d failed attempts: %+v %v, %d executions; want no more", MaxExecutionAttempts, r, err, len(s.order))
	}
	// Deterministic: another detect instance derives the same names.
	if got := ExecutionNameAttempt(testAccount, testRegion, "orders-api", 14, 2); !names[got] {
		t.Errorf("attempt 2's name %q is not what detect used", got)
	}
}
