package security

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/ecslogfix/ecslogfix/infra/stacks"
	"github.com/ecslogfix/ecslogfix/internal/awsarn"
	"github.com/ecslogfix/ecslogfix/internal/cloudtrail"
	"github.com/ecslogfix/ecslogfix/internal/config"
	"github.com/ecslogfix/ecslogfix/internal/config/naming"
	"github.com/ecslogfix/ecslogfix/internal/detect"
	"github.com/ecslogfix/ecslogfix/internal/execution"
	"github.com/ecslogfix/ecslogfix/internal/policy"
	"github.com/ecslogfix/ecslogfix/internal/workflow"
	"github.com/ecslogfix/ecslogfix/test/e2e/harness"
	"github.com/ecslogfix/ecslogfix/test/localaws"
	"github.com/ecslogfix/ecslogfix/test/reliability"
)

const (
	hubAccount  = "111111111111"
	memberA     = "222222222222"
	memberB     = "333333333333"
	outsider    = "444444444444"
	orgID       = "o-abcdefghij"
	eventRegion = "us-east-1"
)

// recordingClients records which targets detect asked clients for, and
// serves an ECS fake that describes any revision as non-compliant.
type recordingClients struct {
	mu      sync.Mutex
	targets []workflow.Target
}

func (c *recordingClients) For(t workflow.Target) (detect.ECS, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.targets = append(c.targets, t)
	return fakeECS{}, nil
}

type fakeECS struct{}

func (fakeECS) DescribeTaskDefinition(_ context.Context, in *ecs.DescribeTaskDefinitionInput, _ ...func(*ecs.Options)) (*ecs.DescribeTaskDefinitionOutput, error) {
	arn := aws.ToString(in.TaskDefinition)
	fam := arn[strings.LastIndex(arn, "/")+1 : strings.LastIndex(arn, ":")]
	return &ecs.DescribeTaskDefinitionOutput{TaskDefinition: &ecstypes.TaskDefinition{
		TaskDefinitionArn: aws.String(arn), Family: aws.String(fam), Revision: 1, Status: ecstypes.TaskDefinitionStatusActive,
		ContainerDefinitions:    []ecstypes.ContainerDefinition{{Name: aws.String("app"), Image: aws.String("nginx")}},
		RequiresCompatibilities: []ecstypes.Compatibility{ecstypes.CompatibilityEc2},
	}}, nil
}

type countingSFN struct {
	mu     sync.Mutex
	starts []string
}

func (s *countingSFN) StartExecution(_ context.Context, in *sfn.StartExecutionInput, _ ...func(*sfn.Options)) (*sfn.StartExecutionOutput, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.starts = append(s.starts, aws.ToString(in.Input))
	return &sfn.StartExecutionOutput{ExecutionArn: aws.String("arn:aws:states:us-east-1:" + hubAccount + ":execution:x:" + aws.ToString(in.Name))}, nil
}

func (s *countingSFN) DescribeExecution(_ context.Context, in *sfn.DescribeExecutionInput, _ ...func(*sfn.Options)) (*sfn.DescribeExecutionOutput, error) {
	return &sfn.DescribeExecutionOutput{ExecutionArn: in.ExecutionArn, Status: sfntypes.ExecutionStatusRunning}, nil
}

// orgEvent is a member account's registration event as the hub bus
// receives it (the member rule forwards it unchanged).
func orgEvent(acct, family string) []byte {
	arn := fmt.Sprintf("arn:aws:ecs:%s:%s:task-definition/%s:1", eventRegion, acct, family)
	d := harness.RegisterEventDetail(harness.RegisterCall{EventID: "c0c0c0c0-0000-4000-8000-" + acct, TaskDefinitionARN: arn, Family: family, Revision: 1,
		Identity: harness.IAMUser("dev")})
	d["recipientAccountId"] = acct
	d["awsRegion"] = eventRegion
	uid := d["userIdentity"].(map[string]any)
	uid["accountId"] = acct
	b, _ := json.Marshal(map[string]any{"version": "0", "id": "x", "detail-type": cloudtrail.DetailType, "source": cloudtrail.Source,
		"account": acct, "region": eventRegion, "time": "2026-11-26T00:00:00Z", "resources": []string{}, "detail": d})
	return b
}

// TestCrossAccount: in organization mode with an allow-list, an event
// claiming an account outside it is refused before any AWS call (no
// AssumeRole, no Describe, no StartExecution); an allowed member's event
// is handled through the member role in that account; and the member
// template's role trusts only the hub's detect and remediate roles, within
// the organization.
func TestCrossAccount(t *testing.T) {
	clients := &recordingClients{}
	starts := &countingSFN{}
	pol := policy.Default()
	d := &detect.Detector{
		Starter:         &execution.Starter{SFN: starts, StateMachineARN: "arn:aws:states:us-east-1:" + hubAccount + ":stateMachine:ecslogfix-remediation", Policy: pol},
		ECS:             clients.For,
		Reach:           execution.Reach{Organization: true, MemberRoleName: "ecslogfix-member", HomeAccount: hubAccount},
		AllowedAccounts: []string{hubAccount, memberA, memberB},
		OwnRoleARNs:     []string{awsarn.RoleARN("aws", "*", "ecslogfix-remediate")},
		Logger:          slog.New(slog.NewJSONHandler(io.Discard, nil)),
	}
	ctx := context.Background()
	runs := 0

	t.Run("outsider-refused", func(t *testing.T) {
		runs++
		resp, err := d.Handle(ctx, orgEvent(outsider, "intruder"))
		if err != nil || resp.Status != execution.StatusIgnored || resp.Reason != detect.IgnoreAccount {
			t.Errorf("outsider: %+v %v, want ignored %s", resp, err, detect.IgnoreAccount)
		}
		if len(clients.targets) != 0 || len(starts.starts) != 0 {
			t.Errorf("an outsider's event reached clients %v / started %d executions", clients.targets, len(starts.starts))
		}
	})

	t.Run("outsider-claiming-member-envelope-refused", func(t *testing.T) {
		runs++
		// The envelope says memberA but the ARN is the outsider's.
		ev := orgEvent(outsider, "intruder")
		ev = []byte(strings.Replace(string(ev), `"account":"`+outsider+`"`, `"account":"`+memberA+`"`, 1))
		resp, err := d.Handle(ctx, ev)
		if err != nil || resp.Status != execution.StatusIgnored || resp.Reason != detect.IgnoreParse {
			t.Errorf("spoofed account: %+v %v, want ignored %s", resp, err, detect.IgnoreParse)
		}
		if len(clients.targets) != 0 || len(starts.starts) != 0 {
			t.Errorf("a spoofed event reached clients %v / started %d executions", clients.targets, len(starts.starts))
		}
	})

	t.Run("member-through-member-role", func(t *testing.T) {
		runs++
		resp, err := d.Handle(ctx, orgEvent(memberA, "web"))
		if err != nil || resp.Status != execution.StatusStarted {
			t.Fatalf("member: %+v %v, want started", resp, err)
		}
		want := workflow.Target{Account: memberA, Region: eventRegion, RoleARN: "arn:aws:iam::" + memberA + ":role/ecslogfix-member"}
		if len(clients.targets) != 1 || clients.targets[0] != want {
			t.Errorf("targets %v, want [%v]", clients.targets, want)
		}
		var in workflow.Input
		if err := json.Unmarshal([]byte(starts.starts[0]), &in); err != nil || in.Target != want {
			t.Errorf("execution input target %+v (%v), want %+v", in.Target, err, want)
		}
	})

	t.Run("member-role-trusts-only-hub-roles", func(t *testing.T) {
		runs++
		cfg := orgConfig(t)
		sets, nagErrs, _, err := stacks.MemberSets(cfg)
		if err != nil {
			t.Fatal(err)
		}
		if len(nagErrs) > 0 {
			t.Errorf("cdk-nag errors on the member templates: %v", nagErrs)
		}
		type resource struct {
			Type       string
			Properties map[string]any
		}
		// Every role of every member template.
		var tmpl struct{ Resources map[string]resource }
		tmpl.Resources = map[string]resource{}
		for _, set := range sets {
			var one struct{ Resources map[string]resource }
			if err := json.Unmarshal([]byte(set.TemplateBody), &one); err != nil {
				t.Fatal(err)
			}
			for id, r := range one.Resources {
				tmpl.Resources[set.Name+"/"+id] = r
			}
		}
		names := cfg.Names()
		found := false
		for id, r := range tmpl.Resources {
			if r.Type != "AWS::IAM::Role" {
				continue
			}
			doc, _ := r.Properties["AssumeRolePolicyDocument"].(map[string]any)
			stmts, _ := doc["Statement"].([]any)
			for _, sv := range stmts {
				st := sv.(map[string]any)
				principal, _ := st["Principal"].(map[string]any)
				if st["Effect"] != "Allow" {
					continue
				}
				if _, ok := principal["AWS"]; !ok {
					// Service principals (the forwarder role: events.amazonaws.com,
					// limited to the account) trust no account. The default
					// execution role's trust is ECS's documented one, without
					// conditions: only principals allowed iam:PassRole on it in
					// its own account can hand it to a task.
					if principal["Service"] == "ecs-tasks.amazonaws.com" && st["Condition"] == nil {
						continue
					}
					if principal["Service"] == nil || !strings.Contains(flatten(st["Condition"]), "aws:SourceAccount") {
						t.Errorf("role %s trusts %s", id, flatten(st))
					}
					continue
				}
				if aws.ToString(ptr(r.Properties["RoleName"])) != names.MemberRole() {
					t.Errorf("role %s (not the member role) trusts AWS principals: %s", id, flatten(st))
					continue
				}
				found = true
				got := principals(principal["AWS"])
				want := []string{
					flatten(roleARNTemplate(names.FunctionRole(naming.FunctionDetect))),
					flatten(roleARNTemplate(names.FunctionRole(naming.FunctionSweep))),
					flatten(roleARNTemplate(names.FunctionRole(naming.FunctionRemediate))),
				}
				sort.Strings(want)
				if !slices.Equal(got, want) {
					t.Errorf("member role trusts %v, want exactly the hub's detect, sweep and remediate roles %v", got, want)
				}
				if c := flatten(st["Condition"]); c != `{"StringEquals":{"aws:PrincipalOrgID":"`+orgID+`"}}` {
					t.Errorf("member role trust condition %s, want aws:PrincipalOrgID = %s", c, orgID)
				}
				if st["Action"] != "sts:AssumeRole" {
					t.Errorf("member role trust action %v", st["Action"])
				}
			}
		}
		if !found {
			t.Errorf("no member role %s in the member template", names.MemberRole())
		}
	})

	reliability.Record(t, reliability.Result{
		ID: "cross-account", Scenario: "cross-account: events claiming a foreign account refused; member role trusts only the hub's roles", Runs: runs, Passed: runs,
		Note: "organization mode with an allow-list: outsider and spoofed-envelope events start nothing and assume no role; member template trust checked (detect + remediate roles, aws:PrincipalOrgID)",
	})
}

func ptr(v any) *string {
	s, _ := v.(string)
	return &s
}

func flatten(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// principals renders the trusted AWS principals, sorted.
func principals(v any) []string {
	var out []string
	switch x := v.(type) {
	case []any:
		for _, p := range x {
			out = append(out, flatten(p))
		}
	default:
		out = append(out, flatten(x))
	}
	sort.Strings(out)
	return out
}

// roleARNTemplate is how the member template names a hub role: in the
// HubAccountId parameter's account.
func roleARNTemplate(role string) any {
	return map[string]any{"Fn::Join": []any{"", []any{"arn:", map[string]any{"Ref": "AWS::Partition"}, ":iam::", map[string]any{"Ref": stacks.ParamHubAccountID}, ":role/" + role}}}
}

func orgConfig(t *testing.T) config.Config {
	t.Helper()
	root, err := localaws.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	ctx, err := stacks.CDKJSONContext(root)
	if err != nil {
		t.Fatal(err)
	}
	if ctx == nil {
		ctx = map[string]any{}
	}
	ctx["ecslogfix:mode"] = config.ModeOrganization
	ctx["ecslogfix:organizationId"] = orgID
	ctx["ecslogfix:targetOUs"] = []any{"ou-ab12-abcdefgh"}
	ctx["ecslogfix:regions"] = []any{"us-east-1"}
	ctx["ecslogfix:iamRegion"] = "us-east-1"
	ctx["ecslogfix:allowedAccounts"] = []any{memberA, memberB}
	cfg, err := config.Load(func(k string) (any, bool) {
		v, ok := ctx[k]
		return v, ok && v != nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}
