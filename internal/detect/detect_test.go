package detect

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	logtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"
	"github.com/aws/smithy-go"

	"github.com/ecslogfix/ecslogfix/internal/awsfake"
	"github.com/ecslogfix/ecslogfix/internal/execution"
	"github.com/ecslogfix/ecslogfix/internal/loggroup"
	"github.com/ecslogfix/ecslogfix/internal/metrics"
	"github.com/ecslogfix/ecslogfix/internal/policy"
	"github.com/ecslogfix/ecslogfix/internal/policy/reason"
	"github.com/ecslogfix/ecslogfix/internal/workflow"
)

const testStateMachine = "arn:aws:states:us-east-1:111122223333:stateMachine:ecslogfix-remediation"

// recording serves one fake ECS per account/region and records the
// targets asked for.
type recording struct {
	mu      sync.Mutex
	ecs     map[string]*awsfake.ECS
	targets []workflow.Target
}

func (r *recording) For(t workflow.Target) (ECS, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.targets = append(r.targets, t)
	key := t.Account + "/" + t.Region
	e, ok := r.ecs[key]
	if !ok {
		e = awsfake.NewECS()
		e.Account, e.Region = t.Account, t.Region
		r.ecs[key] = e
	}
	return e, nil
}

func newDetector(e *awsfake.ECS, s *awsfake.SFN, logs *awsfake.LogBuffer) *Detector {
	return &Detector{
		Starter:     &execution.Starter{SFN: s, StateMachineARN: testStateMachine, Policy: policy.Default()},
		ECS:         func(workflow.Target) (ECS, error) { return e, nil },
		OwnRoleARNs: []string{"arn:aws:iam::111122223333:role/service-role/ecs-log-remediation-exec"},
		Logger:      logs.Logger(),
	}
}

func TestDetectorEvents(t *testing.T) {
	td01, tags01 := awsfake.TaskDefinition(t, "td01-fargate-no-logconfig.json") // orders-api:14
	td11, tags11 := awsfake.TaskDefinition(t, "td11-compliant-fargate.json")    // payments-gateway:311
	e01 := awsfake.Event(t, "e01-iamuser-cli-fargate.json")
	exempt := append(append([]types.Tag(nil), tags01...), awsfake.Tag("ecslogfix:exempt", "true"))

	tests := []struct {
		name        string
		event       []byte
		seed        func(e *awsfake.ECS)
		configure   func(d *Detector)
		wantStatus  string
		wantReason  string
		wantARN     string // the revision an execution was started for
		describes   int
		groups      []string    // log groups that exist
		reads       int         // DescribeLogGroups calls
		wantReason2 reason.Code // a reason the execution input must carry
	}{
		{
			name: "non-compliant registration starts the workflow", event: e01,
			seed:       func(e *awsfake.ECS) { e.Put(td01, tags01) },
			wantStatus: execution.StatusStarted, wantARN: "arn:aws:ecs:us-east-1:111122223333:task-definition/orders-api:14", describes: 1,
		},
		{
			name: "newer revision exists: the event's exact revision is read", event: e01,
			seed: func(e *awsfake.ECS) {
				e.Put(td01, tags01)
				e.Put(awsfake.WithRevision(td11, "orders-api", 15), tags11)
			},
			wantStatus: execution.StatusStarted, wantARN: "arn:aws:ecs:us-east-1:111122223333:task-definition/orders-api:14", describes: 1,
		},
		{
			name: "compliant registration: 1 ECS call and 1 read of its one group", event: awsfake.Event(t, "e16-compliant-registration.json"),
			seed:       func(e *awsfake.ECS) { e.Put(td11, tags11) },
			wantStatus: execution.StatusCompliant, describes: 1, groups: []string{"/ecs/payments-gateway"}, reads: 1,
		},
		{
			name: "compliant on paper, its group missing: the workflow starts", event: awsfake.Event(t, "e16-compliant-registration.json"),
			seed:       func(e *awsfake.ECS) { e.Put(td11, tags11) },
			wantStatus: execution.StatusStarted, wantARN: "arn:aws:ecs:us-east-1:111122223333:task-definition/payments-gateway:311", describes: 1, reads: 1,
			wantReason2: reason.LogGroupMissing,
		},
		{
			name: "duplicate container names: invalid input, nothing started", event: e01,
			seed: func(e *awsfake.ECS) {
				dup := awsfake.CloneTD(td01)
				dup.ContainerDefinitions = append(dup.ContainerDefinitions, dup.ContainerDefinitions[0])
				e.Put(dup, tags01)
			},
			wantStatus: execution.StatusIgnored, wantReason: execution.IgnoreInvalidInput, describes: 1,
		},
		{
			name: "own role (assumed-role session of a role with a path)", event: awsfake.Event(t, "e08-remediation-role-self.json"),
			seed:       func(e *awsfake.ECS) { e.Put(td01, tags01) },
			wantStatus: execution.StatusIgnored, wantReason: IgnoreOwnRole,
		},
		{
			name: "own role by session ARN only", event: awsfake.EditEvent(t, awsfake.Event(t, "e08-remediation-role-self.json"), func(m map[string]any) {
				ui := m["detail"].(map[string]any)["userIdentity"].(map[string]any)
				delete(ui, "sessionContext")
			}),
			seed:       func(e *awsfake.ECS) { e.Put(td01, tags01) },
			wantStatus: execution.StatusIgnored, wantReason: IgnoreOwnRole,
		},
		{
			name: "organization mode: the member role in any account is ours", event: awsfake.Event(t, "e02-assumedrole-github-oidc.json"),
			configure: func(d *Detector) {
				d.Reach = execution.Reach{Organization: true, MemberRoleName: "gha-ecs-deploy"}
			},
			wantStatus: execution.StatusIgnored, wantReason: IgnoreOwnRole,
		},
		{
			name: "failed call", event: awsfake.Event(t, "e06-failed-clientexception-exec-role.json"),
			wantStatus: execution.StatusIgnored, wantReason: IgnoreFailedCall,
		},
		{
			name: "spoofed source", event: awsfake.EditEvent(t, e01, func(m map[string]any) { m["source"] = "custom.ecs" }),
			wantStatus: execution.StatusIgnored, wantReason: IgnoreParse,
		},
		{
			name: "spoofed eventSource", event: awsfake.EditEvent(t, e01, func(m map[string]any) {
				m["detail"].(map[string]any)["eventSource"] = "evil.example.com"
			}),
			wantStatus: execution.StatusIgnored, wantReason: IgnoreParse,
		},
		{
			name: "other API call", event: awsfake.Event(t, "n01-deregister-task-definition.json"),
			wantStatus: execution.StatusIgnored, wantReason: IgnoreParse,
		},
		{
			name: "not JSON", event: []byte(`{"detail":`),
			wantStatus: execution.StatusIgnored, wantReason: IgnoreParse,
		},
		{
			name: "account not in the allow-list", event: e01,
			configure:  func(d *Detector) { d.AllowedAccounts = []string{"444455556666"} },
			wantStatus: execution.StatusIgnored, wantReason: IgnoreAccount,
		},
		{
			name: "exempt", event: e01,
			seed:       func(e *awsfake.ECS) { e.Put(td01, exempt) },
			wantStatus: execution.StatusIgnored, wantReason: execution.IgnoreExempt, describes: 1,
		},
		{
			name: "inactive revision", event: e01,
			seed: func(e *awsfake.ECS) {
				e.Put(td01, tags01)
				e.SetStatus("orders-api", 14, types.TaskDefinitionStatusInactive)
			},
			wantStatus: execution.StatusIgnored, wantReason: execution.IgnoreInactive, describes: 1,
		},
		{
			name: "revision gone", event: e01,
			wantStatus: execution.StatusIgnored, wantReason: IgnoreNotFound, describes: 1,
		},
		{
			name: "family-only event reads the latest revision", event: awsfake.EditEvent(t, e01, func(m map[string]any) {
				d := m["detail"].(map[string]any)
				d["responseElements"] = nil
			}),
			seed: func(e *awsfake.ECS) {
				e.Put(awsfake.WithRevision(td11, "orders-api", 13), tags11)
				e.Put(td01, tags01)
			},
			wantStatus: execution.StatusStarted, wantARN: "arn:aws:ecs:us-east-1:111122223333:task-definition/orders-api:14", describes: 1,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e, s, logs := awsfake.NewECS(), awsfake.NewSFN(), &awsfake.LogBuffer{}
			if tc.seed != nil {
				tc.seed(e)
			}
			d := newDetector(e, s, logs)
			l := awsfake.NewLogs()
			for _, g := range tc.groups {
				l.Groups[g] = &logtypes.LogGroup{LogGroupName: aws.String(g), RetentionInDays: aws.Int32(30)}
			}
			d.Observe = func() *loggroup.Observer {
				return loggroup.NewObserver(func(workflow.Target) (loggroup.Reader, error) { return l, nil }, func(workflow.Target) (loggroup.Settings, error) { return e, nil })
			}
			var emf bytes.Buffer
			d.Metrics = &metrics.Metrics{W: &emf}
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
			if got := e.Count("DescribeTaskDefinition"); got != tc.describes || len(e.Calls) != got {
				t.Errorf("ECS calls %v, want %d DescribeTaskDefinition", e.Calls, tc.describes)
			}
			if len(l.Calls) != tc.reads {
				t.Errorf("CloudWatch Logs calls %v, want %d DescribeLogGroups", l.Calls, tc.reads)
			}
			if tc.wantARN == "" {
				if len(s.Order) != 0 {
					t.Fatalf("started %v", s.Order)
				}
			} else {
				if len(s.Order) != 1 {
					t.Fatalf("started %d executions", len(s.Order))
				}
				var in workflow.Input
				if err := json.Unmarshal([]byte(s.Inputs[s.Order[0]]), &in); err != nil {
					t.Fatal(err)
				}
				if in.TaskDefinitionARN != tc.wantARN {
					t.Fatalf("execution for %s, want %s", in.TaskDefinitionARN, tc.wantARN)
				}
				if want := execution.Name(awsfake.Account, awsfake.Region, in.Family, in.Revision); s.Order[0] != want {
					t.Errorf("name %s, want %s", s.Order[0], want)
				}
				assertInput(t, in)
				if tc.wantReason2 != "" && !strings.Contains(s.Inputs[s.Order[0]], string(tc.wantReason2)) {
					t.Errorf("input lacks %s: %s", tc.wantReason2, s.Inputs[s.Order[0]])
				}
			}
			// Exactly one log line per event, with stable keys.
			lines := logs.Lines(t)
			if len(lines) != 1 {
				t.Fatalf("%d log lines: %s", len(lines), logs.String())
			}
			if tc.wantReason != "" && lines[0]["reason"] != tc.wantReason {
				t.Errorf("log line %v lacks reason %s", lines[0], tc.wantReason)
			}
			awsfake.CheckNoSecrets(t, logs.String())
			awsfake.CheckEMF(t, emf.String(), metrics.Namespace)
		})
	}
}

func assertInput(t *testing.T, in workflow.Input) {
	t.Helper()
	if in.Version != workflow.Version || in.Trigger != workflow.TriggerEvent || in.EventID == "" {
		t.Errorf("input header %+v", in)
	}
	if in.Target != (workflow.Target{Account: awsfake.Account, Region: awsfake.Region}) {
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
	awsfake.CheckNoSecrets(t, string(b))
}

func TestDetectorDuplicateDelivery(t *testing.T) {
	td01, tags01 := awsfake.TaskDefinition(t, "td01-fargate-no-logconfig.json")
	e, s := awsfake.NewECS(), awsfake.NewSFN()
	e.Put(td01, tags01)
	d := newDetector(e, s, &awsfake.LogBuffer{})
	ev := awsfake.Event(t, "e01-iamuser-cli-fargate.json")
	first, err := d.Handle(context.Background(), ev)
	if err != nil || first.Status != execution.StatusStarted {
		t.Fatalf("first: %+v %v", first, err)
	}
	second, err := d.Handle(context.Background(), ev)
	if err != nil || second.Status != execution.StatusDuplicate || second.ExecutionName != first.ExecutionName {
		t.Fatalf("second: %+v %v", second, err)
	}
	if len(s.Order) != 1 {
		t.Fatalf("%d executions", len(s.Order))
	}
}

func TestDetectorErrors(t *testing.T) {
	td01, tags01 := awsfake.TaskDefinition(t, "td01-fargate-no-logconfig.json")
	ev := awsfake.Event(t, "e01-iamuser-cli-fargate.json")
	t.Run("throttled describe is retried by Lambda", func(t *testing.T) {
		e := awsfake.NewECS()
		e.Put(td01, tags01)
		e.FailNext("DescribeTaskDefinition", &smithy.GenericAPIError{Code: "ThrottlingException", Message: "Rate exceeded"})
		_, err := newDetector(e, awsfake.NewSFN(), &awsfake.LogBuffer{}).Handle(context.Background(), ev)
		if awsfake.ErrorType(err) != workflow.ErrThrottled {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("throttled start", func(t *testing.T) {
		e, s := awsfake.NewECS(), awsfake.NewSFN()
		e.Put(td01, tags01)
		s.Errs = []error{&smithy.GenericAPIError{Code: "ThrottlingException", Message: "Rate exceeded"}}
		_, err := newDetector(e, s, &awsfake.LogBuffer{}).Handle(context.Background(), ev)
		if awsfake.ErrorType(err) != workflow.ErrThrottled {
			t.Fatalf("got %v", err)
		}
	})
}

func TestDetectorOrganizationTarget(t *testing.T) {
	td01, tags01 := awsfake.TaskDefinition(t, "td01-fargate-no-logconfig.json")
	ev := awsfake.Event(t, "e01-iamuser-cli-fargate.json")
	for _, tc := range []struct {
		name, home, wantRole string
	}{
		{"member account", "999988887777", "arn:aws:iam::111122223333:role/ecslogfix-member"},
		{"hub's own account", awsfake.Account, ""},
		{"own account unknown", "", "arn:aws:iam::111122223333:role/ecslogfix-member"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rc := &recording{ecs: map[string]*awsfake.ECS{}}
			e := awsfake.NewECS()
			e.Put(td01, tags01)
			rc.ecs[awsfake.Account+"/"+awsfake.Region] = e
			s := awsfake.NewSFN()
			d := newDetector(e, s, &awsfake.LogBuffer{})
			d.ECS = rc.For
			d.Reach = execution.Reach{Organization: true, MemberRoleName: "ecslogfix-member", HomeAccount: tc.home}
			d.AllowedAccounts = []string{awsfake.Account}
			resp, err := d.Handle(context.Background(), ev)
			if err != nil || resp.Status != execution.StatusStarted {
				t.Fatalf("%+v %v", resp, err)
			}
			if len(rc.targets) != 1 || rc.targets[0].RoleARN != tc.wantRole {
				t.Fatalf("targets %+v", rc.targets)
			}
			var in workflow.Input
			_ = json.Unmarshal([]byte(s.Inputs[s.Order[0]]), &in)
			if in.Target.RoleARN != tc.wantRole {
				t.Fatalf("input target %+v", in.Target)
			}
		})
	}
}

// A failed execution does not block its revision for the 90 days Step
// Functions keeps execution names: the next delivery (or sweep) starts the
// next attempt, up to execution.MaxAttempts; a running or successful one is
// a duplicate.
func TestDetectorRetriesAfterAFailedExecution(t *testing.T) {
	td01, tags01 := awsfake.TaskDefinition(t, "td01-fargate-no-logconfig.json")
	ev := awsfake.Event(t, "e01-iamuser-cli-fargate.json")
	ctx := context.Background()
	for _, st := range []sfntypes.ExecutionStatus{sfntypes.ExecutionStatusRunning, sfntypes.ExecutionStatusSucceeded} {
		e, s := awsfake.NewECS(), awsfake.NewSFN()
		e.Put(td01, tags01)
		d := newDetector(e, s, &awsfake.LogBuffer{})
		first, err := d.Handle(ctx, ev)
		if err != nil || first.Status != execution.StatusStarted {
			t.Fatalf("first: %+v %v", first, err)
		}
		s.Status[first.ExecutionName] = st
		if again, err := d.Handle(ctx, ev); err != nil || again.Status != execution.StatusDuplicate || len(s.Order) != 1 {
			t.Fatalf("after a %s execution: %+v %v, %d executions; want a duplicate", st, again, err, len(s.Order))
		}
	}

	e, s := awsfake.NewECS(), awsfake.NewSFN()
	e.Put(td01, tags01)
	d := newDetector(e, s, &awsfake.LogBuffer{})
	names := map[string]bool{}
	for i := 1; i <= execution.MaxAttempts; i++ {
		r, err := d.Handle(ctx, ev)
		if err != nil || r.Status != execution.StatusStarted {
			t.Fatalf("delivery %d: %+v %v, want a new execution after %d failed", i, r, err, i-1)
		}
		if names[r.ExecutionName] || len(r.ExecutionName) > execution.MaxName {
			t.Fatalf("attempt %d name %q: reused or too long", i, r.ExecutionName)
		}
		names[r.ExecutionName] = true
		s.Status[r.ExecutionName] = sfntypes.ExecutionStatusFailed
	}
	r, err := d.Handle(ctx, ev)
	if err != nil || r.Status != execution.StatusDuplicate || len(s.Order) != execution.MaxAttempts {
		t.Fatalf("after %d failed attempts: %+v %v, %d executions; want no more", execution.MaxAttempts, r, err, len(s.Order))
	}
	// Deterministic: another detect instance derives the same names.
	if got := execution.NameAttempt(awsfake.Account, awsfake.Region, "orders-api", 14, 2); !names[got] {
		t.Errorf("attempt 2's name %q is not what detect used", got)
	}
}

// The loop guard compares accounts too: a role named like one of ours in
// another account (any account can create one) is a user, and its
// registration is acted on. Production-shaped ARNs: ours carry the hub's
// account, never "*".
func TestLoopGuardComparesTheAccount(t *testing.T) {
	td01, tags01 := awsfake.TaskDefinition(t, "td01-fargate-no-logconfig.json")
	const other = "444455556666"
	ev := awsfake.EditEvent(t, awsfake.Event(t, "e08-remediation-role-self.json"), func(m map[string]any) {
		ui := m["detail"].(map[string]any)["userIdentity"].(map[string]any)
		ui["arn"] = strings.ReplaceAll(ui["arn"].(string), awsfake.Account, other)
		ui["accountId"] = other
		si := ui["sessionContext"].(map[string]any)["sessionIssuer"].(map[string]any)
		si["arn"] = strings.ReplaceAll(si["arn"].(string), awsfake.Account, other)
		si["accountId"] = other
	})
	for name, tc := range map[string]struct {
		own  string
		want string
	}{
		"our role in our account is ours":               {"arn:aws:iam::" + awsfake.Account + ":role/ecs-log-remediation-exec", execution.StatusStarted},
		"the same name in the caller's account is ours": {"arn:aws:iam::" + other + ":role/ecs-log-remediation-exec", execution.StatusIgnored},
	} {
		t.Run(name, func(t *testing.T) {
			e, s := awsfake.NewECS(), awsfake.NewSFN()
			e.Put(awsfake.WithRevision(td01, "orders-api", 15), tags01) // the event's revision
			d := newDetector(e, s, &awsfake.LogBuffer{})
			d.OwnRoleARNs = []string{tc.own}
			resp, err := d.Handle(context.Background(), ev)
			if err != nil || resp.Status != tc.want {
				t.Fatalf("%+v %v, want %s", resp, err, tc.want)
			}
			if tc.want == execution.StatusIgnored && resp.Reason != IgnoreOwnRole {
				t.Fatalf("reason %s", resp.Reason)
			}
		})
	}
}
