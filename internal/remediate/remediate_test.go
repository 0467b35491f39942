package remediate

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/lambda/messages"
	"github.com/aws/aws-sdk-go-v2/aws"
	logtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/smithy-go"

	"github.com/ecslogfix/ecslogfix/internal/awserr"
	"github.com/ecslogfix/ecslogfix/internal/awsfake"
	"github.com/ecslogfix/ecslogfix/internal/plan"
	"github.com/ecslogfix/ecslogfix/internal/policy"
	"github.com/ecslogfix/ecslogfix/internal/taskdef"
	"github.com/ecslogfix/ecslogfix/internal/workflow"
)

// inputFor is the execution input detect would start for td.
func inputFor(td *types.TaskDefinition) workflow.Input {
	return workflow.Input{
		Version:           workflow.Version,
		Trigger:           workflow.TriggerEvent,
		EventID:           "evt-1",
		Target:            workflow.Target{Account: awsfake.Account, Region: awsfake.Region},
		TaskDefinitionARN: "arn:aws:ecs:us-east-1:111122223333:task-definition/" + aws.ToString(td.Family) + ":" + itoa(td.Revision),
		Family:            aws.ToString(td.Family),
		Revision:          td.Revision,
		Enforcement:       policy.Enforce,
		LogGroups:         []plan.LogGroup{{Name: "/ecs/" + aws.ToString(td.Family), Region: awsfake.Region, RetentionDays: 365, Tags: map[string]string{taskdef.TagManaged: "true"}}},
	}
}

func itoa(n int32) string { return strconv.FormatInt(int64(n), 10) }

func ourTags(family string, from int32) []types.Tag {
	return taskdef.ProvenanceTags(from)
}

func TestRegisterRules(t *testing.T) {
	td01, tags01 := awsfake.TaskDefinition(t, "td01-fargate-no-logconfig.json") // orders-api:14, non-compliant
	td11, tags11 := awsfake.TaskDefinition(t, "td11-compliant-fargate.json")
	td12, tags12 := awsfake.TaskDefinition(t, "td12-fargate-no-execution-role.json")
	td07, tags07 := awsfake.TaskDefinition(t, "td07-firelens.json")
	td08, tags08 := awsfake.TaskDefinition(t, "td08-awslogs-missing-prefix-ec2.json")
	fixed := func(t *testing.T, rev int32) *types.TaskDefinition {
		// A compliant version of td01 at rev (as our remediation would be).
		p, err := plan.Build(td01, tags01, policy.Default(), plan.Context{Account: awsfake.Account, Region: awsfake.Region})
		if err != nil || p.Changed == nil {
			t.Fatalf("plan td01: %v", err)
		}
		return awsfake.WithRevision(p.Changed, "orders-api", rev)
	}

	type seed struct {
		td     *types.TaskDefinition
		tags   []types.Tag
		status types.TaskDefinitionStatus
	}
	tests := []struct {
		name        string
		seed        func(t *testing.T) []seed
		source      *types.TaskDefinition // the input's revision
		enforcement policy.Enforcement
		want        workflow.Outcome
		wantNewRev  int32    // 0: nothing registered
		wantFrom    int32    // the source revision the new one is built from
		describes   int      // DescribeTaskDefinition calls
		groups      []string // log groups that exist (us-east-1)
		created     []string // log groups the step creates
	}{
		{
			name:       "latest is the source: remediated with 1 read",
			seed:       func(*testing.T) []seed { return []seed{{td: td01, tags: tags01}} },
			source:     td01,
			want:       workflow.OutcomeRemediated,
			wantNewRev: 15, wantFrom: 14, describes: 1, created: []string{"/ecs/orders-api"},
		},
		{
			name: "duplicate: our remediation of this source exists",
			seed: func(t *testing.T) []seed {
				return []seed{{td: td01, tags: tags01}, {td: fixed(t, 15), tags: append(append([]types.Tag(nil), tags01...), ourTags("orders-api", 14)...)}}
			},
			source: td01, want: workflow.OutcomeAlreadyRemediated, describes: 1,
		},
		{
			name: "stale source: a newer user revision exists",
			seed: func(*testing.T) []seed {
				return []seed{{td: td01, tags: tags01}, {td: awsfake.WithRevision(td01, "orders-api", 15), tags: tags01}}
			},
			source: td01, want: workflow.OutcomeSuperseded, describes: 1,
		},
		{
			name: "our remediation of a newer source supersedes",
			seed: func(t *testing.T) []seed {
				return []seed{
					{td: td01, tags: tags01},
					{td: awsfake.WithRevision(td01, "orders-api", 15), tags: tags01},
					{td: fixed(t, 16), tags: ourTags("orders-api", 15)},
				}
			},
			source: td01, want: workflow.OutcomeSuperseded, describes: 1,
		},
		{
			name: "our remediation of an older source: remediate this newer user revision",
			seed: func(t *testing.T) []seed {
				return []seed{
					{td: awsfake.WithRevision(td01, "orders-api", 13), tags: tags01},
					{td: td01, tags: tags01},
					{td: fixed(t, 15), tags: ourTags("orders-api", 13)},
				}
			},
			source: td01, want: workflow.OutcomeRemediated, wantNewRev: 16, wantFrom: 14, describes: 2, created: []string{"/ecs/orders-api"},
		},
		{
			name: "source deregistered, an older revision is latest",
			seed: func(*testing.T) []seed {
				return []seed{{td: awsfake.WithRevision(td01, "orders-api", 13), tags: tags01}, {td: td01, tags: tags01, status: types.TaskDefinitionStatusInactive}}
			},
			source: td01, want: workflow.OutcomeInactive, describes: 2,
		},
		{
			name: "source deregistered, no active revision left",
			seed: func(*testing.T) []seed {
				return []seed{{td: td01, tags: tags01, status: types.TaskDefinitionStatusInactive}}
			},
			source: td01, want: workflow.OutcomeInactive, describes: 2,
		},
		{
			name:   "source compliant when re-read",
			seed:   func(*testing.T) []seed { return []seed{{td: td11, tags: tags11}} },
			source: td11, want: workflow.OutcomeAlreadyCompliant, describes: 1, groups: []string{"/ecs/payments-gateway"},
		},
		{
			name:   "compliant but its group is missing: created, no new revision",
			seed:   func(*testing.T) []seed { return []seed{{td: td11, tags: tags11}} },
			source: td11, want: workflow.OutcomeLogGroupCreated, describes: 1, created: []string{"/ecs/payments-gateway"},
		},
		{
			name:   "a user's group kept by the fix is created before registering",
			seed:   func(*testing.T) []seed { return []seed{{td: td08, tags: tags08}} },
			source: td08, want: workflow.OutcomeRemediated, wantNewRev: 59, wantFrom: 58, describes: 1, created: []string{"/ecs/inventory-sync"},
		},
		{
			name: "superseded: nothing created",
			seed: func(*testing.T) []seed {
				return []seed{{td: td08, tags: tags08}, {td: awsfake.WithRevision(td08, "inventory-sync", 59), tags: tags08}}
			},
			source: td08, want: workflow.OutcomeSuperseded, describes: 1,
		},
		{
			name: "exempt",
			seed: func(*testing.T) []seed {
				return []seed{{td: td01, tags: append(append([]types.Tag(nil), tags01...), awsfake.Tag("ecslogfix:exempt", "true"))}}
			},
			source: td01, want: workflow.OutcomeExempt, describes: 1,
		},
		{
			name:   "blocked: Fargate without execution role",
			seed:   func(*testing.T) []seed { return []seed{{td: td12, tags: tags12}} },
			source: td12, want: workflow.OutcomeBlocked, describes: 1,
		},
		{
			name:   "FireLens only: needs a human",
			seed:   func(*testing.T) []seed { return []seed{{td: td07, tags: tags07}} },
			source: td07, want: workflow.OutcomeNeedsHuman, describes: 1,
		},
		{
			name:        "report mode",
			seed:        func(*testing.T) []seed { return []seed{{td: td01, tags: tags01}} },
			source:      td01,
			enforcement: policy.Report,
			want:        workflow.OutcomeReportOnly, describes: 1,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e, l := awsfake.NewECS(), awsfake.NewLogs()
			for _, s := range tc.seed(t) {
				e.Put(s.td, s.tags)
				if s.status != "" {
					e.SetStatus(aws.ToString(s.td.Family), s.td.Revision, s.status)
				}
			}
			for _, g := range tc.groups {
				l.Groups[g] = &logtypes.LogGroup{LogGroupName: aws.String(g), RetentionInDays: aws.Int32(30)}
			}
			r := &Remediator{Policy: policy.Default(), Clients: static(e, l)}
			in := inputFor(tc.source)
			if tc.enforcement != "" {
				in.Enforcement = tc.enforcement
			}
			res, err := r.Register(context.Background(), workflow.State{Input: in})
			if err != nil {
				t.Fatalf("Register: %v", err)
			}
			var created []string
			for _, g := range res.LogGroups {
				if g.Created {
					created = append(created, g.Name)
				}
			}
			if n := len(l.Groups) - len(tc.groups); !reflect.DeepEqual(created, tc.created) || n != len(tc.created) {
				t.Errorf("created %v (%d new groups), want %v", created, n, tc.created)
			}
			if res.Outcome != tc.want {
				t.Fatalf("outcome = %s (%s), want %s", res.Outcome, res.Detail, tc.want)
			}
			if got := e.Count("DescribeTaskDefinition"); got != tc.describes {
				t.Errorf("DescribeTaskDefinition calls = %d, want %d", got, tc.describes)
			}
			registers := e.Count("RegisterTaskDefinition")
			if tc.wantNewRev == 0 {
				if registers != 0 || res.NewARN != "" {
					t.Fatalf("registered %d revisions (NewARN %q), want none", registers, res.NewARN)
				}
			} else {
				if registers != 1 {
					t.Fatalf("RegisterTaskDefinition calls = %d, want 1", registers)
				}
				family := aws.ToString(tc.source.Family)
				if want := e.ARN(family, tc.wantNewRev); res.NewARN != want {
					t.Fatalf("NewARN = %s, want %s", res.NewARN, want)
				}
				newRev := e.Families[family][tc.wantNewRev-1]
				if v, _ := awsfake.TagValue(newRev.Tags, taskdef.TagSourceRevision); v != itoa(tc.wantFrom) {
					t.Errorf("source tag = %q, want %q", v, itoa(tc.wantFrom))
				}
				if v, _ := awsfake.TagValue(newRev.Tags, taskdef.TagManaged); v != "true" {
					t.Errorf("managed tag = %q", v)
				}
				if ev := policy.Default().Evaluate(&newRev.TD, newRev.Tags); !ev.Compliant {
					t.Errorf("new revision not compliant: %+v", ev)
				}
				src := e.Families[family][tc.wantFrom-1]
				assertSameExceptLogging(t, &src.TD, src.Tags, &newRev.TD, newRev.Tags)
			}
			if tc.want == workflow.OutcomeBlocked || tc.want == workflow.OutcomeReportOnly || tc.want == workflow.OutcomeNeedsHuman {
				if res.Plan == nil {
					t.Fatal("plan missing from result")
				}
				if res.Plan.Changed != nil {
					t.Fatal("result carries the changed task definition")
				}
			}
			if tc.want == workflow.OutcomeBlocked && len(res.Plan.Blockers) == 0 {
				t.Error("blocked without blockers")
			}
			awsfake.CheckNoSecretsJSON(t, res)
		})
	}
}

// assertSameExceptLogging checks that the new revision, as ECS stored
// what was registered, equals its source as described, field by field:
// every field but the output-only ones DescribeTaskDefinition adds and the
// containers' logConfiguration, and the same tags but ecslogfix's. The
// source is compared as read, never passed through taskdef.RegisterInput
// too, so a field that mapping drops shows here.
func assertSameExceptLogging(t *testing.T, before *types.TaskDefinition, beforeTags []types.Tag, after *types.TaskDefinition, afterTags []types.Tag) {
	t.Helper()
	norm := func(td *types.TaskDefinition) *types.TaskDefinition {
		c := awsfake.CloneTD(td)
		for i := range c.ContainerDefinitions {
			c.ContainerDefinitions[i].LogConfiguration = nil
		}
		// Output-only: RegisterTaskDefinition takes none of these.
		c.TaskDefinitionArn, c.Revision, c.Status, c.RequiresAttributes, c.Compatibilities = nil, 0, "", nil, nil
		c.RegisteredAt, c.RegisteredBy, c.DeregisteredAt, c.DeleteRequestedAt = nil, nil, nil, nil
		return c
	}
	b, a := norm(before), norm(after)
	if b.NetworkMode == "default" && a.NetworkMode == "" {
		a.NetworkMode = b.NetworkMode // "default" is registered by leaving it out
	}
	if !reflect.DeepEqual(b, a) {
		bj, _ := json.Marshal(b)
		aj, _ := json.Marshal(a)
		t.Errorf("new revision differs from its source beyond logging:\nsource %s\nnew    %s", bj, aj)
	}
	var keep []types.Tag
	for _, tg := range afterTags {
		if k := aws.ToString(tg.Key); k != taskdef.TagSourceRevision && k != taskdef.TagManaged && k != taskdef.TagExecution {
			keep = append(keep, tg)
		}
	}
	if !reflect.DeepEqual(keep, beforeTags) {
		t.Errorf("tags of the new revision but ecslogfix's %v, source %v", keep, beforeTags)
	}
}

func TestRegisterRemediatesEveryFixture(t *testing.T) {
	for _, name := range []string{"td02-one-of-three-missing.json", "td03-splunk.json", "td13-ec2-bridge-kitchen-sink.json", "td23-cfn-tags-aws-prefix.json"} {
		t.Run(name, func(t *testing.T) {
			td, tags := awsfake.TaskDefinition(t, name)
			e := awsfake.NewECS()
			e.Put(td, tags)
			r := &Remediator{Policy: policy.Default(), Clients: static(e, awsfake.NewLogs())}
			res, err := r.Register(context.Background(), workflow.State{Input: inputFor(td)})
			if err != nil {
				t.Fatal(err)
			}
			if res.Outcome != workflow.OutcomeRemediated {
				t.Fatalf("outcome %s: %s", res.Outcome, res.Detail)
			}
			family := aws.ToString(td.Family)
			newRev := e.Latest(family)
			var userTags []types.Tag
			for _, tg := range tags {
				if !strings.HasPrefix(strings.ToLower(aws.ToString(tg.Key)), "aws:") {
					userTags = append(userTags, tg)
				}
			}
			assertSameExceptLogging(t, td, userTags, &newRev.TD, newRev.Tags)
			// Compliant containers stay byte-identical.
			ev := policy.Default().Evaluate(td, tags)
			for i, c := range ev.Containers {
				if c.Compliant && !reflect.DeepEqual(td.ContainerDefinitions[i].LogConfiguration, newRev.TD.ContainerDefinitions[i].LogConfiguration) {
					t.Errorf("compliant container %s changed", c.Name)
				}
			}
			awsfake.CheckNoSecretsJSON(t, res)
		})
	}
}

func TestRegisterSecondRunIsIdempotent(t *testing.T) {
	td, tags := awsfake.TaskDefinition(t, "td01-fargate-no-logconfig.json")
	e := awsfake.NewECS()
	e.Put(td, tags)
	r := &Remediator{Policy: policy.Default(), Clients: static(e, awsfake.NewLogs())}
	if res, err := r.Register(context.Background(), workflow.State{Input: inputFor(td)}); err != nil || res.Outcome != workflow.OutcomeRemediated {
		t.Fatalf("first: %v %v", res.Outcome, err)
	}
	res, err := r.Register(context.Background(), workflow.State{Input: inputFor(td)})
	if err != nil || res.Outcome != workflow.OutcomeAlreadyRemediated {
		t.Fatalf("second: %v %v", res.Outcome, err)
	}
	if n := e.Count("RegisterTaskDefinition"); n != 1 {
		t.Fatalf("registered %d times", n)
	}
}

func TestRegisterErrors(t *testing.T) {
	td, tags := awsfake.TaskDefinition(t, "td01-fargate-no-logconfig.json")
	tests := []struct {
		name    string
		op      string
		err     error
		input   func(workflow.Input) workflow.Input
		wantTyp string
	}{
		{name: "throttled register", op: "RegisterTaskDefinition", err: &types.ClientException{Message: aws.String("Rate exceeded")}, wantTyp: workflow.ErrThrottled},
		{name: "ThrottlingException", op: "RegisterTaskDefinition", err: &smithy.GenericAPIError{Code: "ThrottlingException", Message: "Rate exceeded"}, wantTyp: workflow.ErrThrottled},
		{name: "server exception on describe", op: "DescribeTaskDefinition", err: &types.ServerException{Message: aws.String("internal")}, wantTyp: workflow.ErrThrottled},
		{name: "concurrent revisions", op: "RegisterTaskDefinition", err: &types.ClientException{Message: aws.String("Too many concurrent attempts to create a new revision of the specified family.")}, wantTyp: workflow.ErrConcurrentRevision},
		{name: "other client error", op: "RegisterTaskDefinition", err: &types.ClientException{Message: aws.String("Fargate requires task definition to have execution role ARN to support log driver awslogs.")}, wantTyp: "ClientException"},
		{name: "malformed ARN", input: func(in workflow.Input) workflow.Input { in.TaskDefinitionARN = "orders-api"; return in }, wantTyp: workflow.ErrInvalidInput},
		{name: "family mismatch", input: func(in workflow.Input) workflow.Input { in.Family = "other"; return in }, wantTyp: workflow.ErrInvalidInput},
		{name: "account mismatch", input: func(in workflow.Input) workflow.Input { in.Target.Account = "999999999999"; return in }, wantTyp: workflow.ErrInvalidInput},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := awsfake.NewECS()
			e.Put(td, tags)
			if tc.op != "" {
				e.FailNext(tc.op, tc.err)
			}
			r := &Remediator{Policy: policy.Default(), Clients: static(e, awsfake.NewLogs())}
			in := inputFor(td)
			if tc.input != nil {
				in = tc.input(in)
			}
			_, err := r.Register(context.Background(), workflow.State{Input: in})
			if err == nil {
				t.Fatal("no error")
			}
			if got := awsfake.ErrorType(err); got != tc.wantTyp {
				var ae smithy.APIError
				if !errors.As(err, &ae) || ae.ErrorCode() != tc.wantTyp {
					t.Fatalf("error type = %s (%v), want %s", got, err, tc.wantTyp)
				}
			}
		})
	}
}

func TestEnsureLogGroups(t *testing.T) {
	td, tags := awsfake.TaskDefinition(t, "td01-fargate-no-logconfig.json")
	seeded := func() *awsfake.ECS {
		e := awsfake.NewECS()
		e.Put(td, tags)
		return e
	}
	t.Run("creates with tags, KMS, class, retention and deletion protection", func(t *testing.T) {
		l := awsfake.NewLogs()
		p := policy.Default()
		p.KMSKeyARN = "arn:aws:kms:us-east-1:111122223333:key/1234"
		p.LogGroupClass = "INFREQUENT_ACCESS"
		p.LogGroupTags = map[string]string{"Team": "platform"}
		r := &Remediator{Policy: p, Clients: static(seeded(), l)}
		got, err := r.EnsureLogGroups(context.Background(), inputFor(td))
		if err != nil {
			t.Fatal(err)
		}
		want := []workflow.LogGroupResult{{Name: "/ecs/orders-api", Region: awsfake.Region, Created: true, RetentionDays: 365, KMSKeyARN: "arn:aws:kms:us-east-1:111122223333:key/1234", Class: "INFREQUENT_ACCESS", DeletionProtectionEnabled: true}}
		if !reflect.DeepEqual(got.LogGroups, want) {
			t.Fatalf("got %+v, want %+v", got.LogGroups, want)
		}
		g := l.Groups["/ecs/orders-api"]
		if aws.ToInt32(g.RetentionInDays) != 365 || aws.ToString(g.KmsKeyId) == "" || g.LogGroupClass != "INFREQUENT_ACCESS" {
			t.Fatalf("group %+v", g)
		}
		if l.Tags["/ecs/orders-api"][taskdef.TagManaged] != "true" || l.Tags["/ecs/orders-api"]["Team"] != "platform" {
			t.Fatalf("tags %v", l.Tags["/ecs/orders-api"])
		}
		if !aws.ToBool(g.DeletionProtectionEnabled) {
			t.Fatal("deletion protection not set")
		}
	})
	t.Run("deletion protection off by policy", func(t *testing.T) {
		l := awsfake.NewLogs()
		p := policy.Default()
		p.DeletionProtection = aws.Bool(false)
		r := &Remediator{Policy: p, Clients: static(seeded(), l)}
		if _, err := r.EnsureLogGroups(context.Background(), inputFor(td)); err != nil {
			t.Fatal(err)
		}
		if g := l.Groups["/ecs/orders-api"]; g == nil || g.DeletionProtectionEnabled != nil {
			t.Fatalf("group %+v", g)
		}
	})
	t.Run("existing group is reported, never changed", func(t *testing.T) {
		l := awsfake.NewLogs()
		l.Groups["/ecs/orders-api"] = &logtypes.LogGroup{LogGroupName: aws.String("/ecs/orders-api"), RetentionInDays: aws.Int32(7), KmsKeyId: aws.String("arn:aws:kms:us-east-1:111122223333:key/user"), LogGroupClass: "STANDARD", DeletionProtectionEnabled: aws.Bool(true)}
		l.Groups["/ecs/orders-api-v2"] = &logtypes.LogGroup{LogGroupName: aws.String("/ecs/orders-api-v2")}
		r := &Remediator{Policy: policy.Default(), Clients: static(seeded(), l)}
		got, err := r.EnsureLogGroups(context.Background(), inputFor(td))
		if err != nil {
			t.Fatal(err)
		}
		want := []workflow.LogGroupResult{{Name: "/ecs/orders-api", Region: awsfake.Region, Created: false, RetentionDays: 7, KMSKeyARN: "arn:aws:kms:us-east-1:111122223333:key/user", Class: "STANDARD", DeletionProtectionEnabled: true}}
		if !reflect.DeepEqual(got.LogGroups, want) {
			t.Fatalf("got %+v, want %+v", got.LogGroups, want)
		}
		for _, c := range l.Calls {
			if c == "PutRetentionPolicy" || c == "CreateLogGroup" {
				t.Fatalf("%s on an existing group with a retention", c)
			}
		}
	})
	t.Run("an earlier attempt's group gets its retention", func(t *testing.T) {
		l := awsfake.NewLogs()
		l.Errs["PutRetentionPolicy"] = []error{&smithy.GenericAPIError{Code: "ThrottlingException", Message: "Rate exceeded"}}
		r := &Remediator{Policy: policy.Default(), Clients: static(seeded(), l)}
		if _, err := r.EnsureLogGroups(context.Background(), inputFor(td)); awsfake.ErrorType(err) != workflow.ErrThrottled {
			t.Fatalf("first attempt: %v", err)
		}
		got, err := r.EnsureLogGroups(context.Background(), inputFor(td)) // the workflow's retry
		if err != nil {
			t.Fatal(err)
		}
		if lg := got.LogGroups[0]; !lg.Created || lg.RetentionDays != 365 || aws.ToInt32(l.Groups["/ecs/orders-api"].RetentionInDays) != 365 {
			t.Fatalf("retry reported %+v", lg)
		}
	})
	t.Run("a user's never-expiring group stays never-expiring under keep", func(t *testing.T) {
		l := awsfake.NewLogs()
		l.Groups["/ecs/orders-api"] = &logtypes.LogGroup{LogGroupName: aws.String("/ecs/orders-api"), LogGroupArn: aws.String("arn:aws:logs:us-east-1:111122223333:log-group:/ecs/orders-api")}
		p := policy.Default()
		p.ExistingGroupRetention = policy.RetentionKeep
		r := &Remediator{Policy: p, Clients: static(seeded(), l)}
		got, err := r.EnsureLogGroups(context.Background(), inputFor(td))
		if err != nil {
			t.Fatal(err)
		}
		if lg := got.LogGroups[0]; lg.Created || lg.RetentionDays != 0 || l.Groups["/ecs/orders-api"].RetentionInDays != nil {
			t.Fatalf("user's group changed: %+v", lg)
		}
	})
	t.Run("a user's never-expiring group gets the policy's retention by default", func(t *testing.T) {
		l := awsfake.NewLogs()
		l.Groups["/ecs/orders-api"] = &logtypes.LogGroup{LogGroupName: aws.String("/ecs/orders-api"), LogGroupArn: aws.String("arn:aws:logs:us-east-1:111122223333:log-group:/ecs/orders-api")}
		r := &Remediator{Policy: policy.Default(), Clients: static(seeded(), l)}
		got, err := r.EnsureLogGroups(context.Background(), inputFor(td))
		if err != nil {
			t.Fatal(err)
		}
		want := workflow.LogGroupResult{Name: "/ecs/orders-api", Region: awsfake.Region, RetentionDays: 365, RetentionSet: true}
		if lg := got.LogGroups[0]; lg != want || aws.ToInt32(l.Groups["/ecs/orders-api"].RetentionInDays) != 365 {
			t.Fatalf("got %+v, want %+v", lg, want)
		}
	})
	t.Run("nothing is created for an execution that will not register", func(t *testing.T) {
		for name, e := range map[string]*awsfake.ECS{
			"superseded": func() *awsfake.ECS { e := seeded(); e.Put(awsfake.WithRevision(td, "orders-api", 15), tags); return e }(),
			"inactive": func() *awsfake.ECS {
				e := seeded()
				e.SetStatus("orders-api", 14, types.TaskDefinitionStatusInactive)
				return e
			}(),
			"exempt": func() *awsfake.ECS {
				e := awsfake.NewECS()
				e.Put(td, append(append([]types.Tag(nil), tags...), awsfake.Tag("ecslogfix:exempt", "true")))
				return e
			}(),
		} {
			l := awsfake.NewLogs()
			r := &Remediator{Policy: policy.Default(), Clients: static(e, l)}
			got, err := r.EnsureLogGroups(context.Background(), inputFor(td))
			if err != nil || len(got.LogGroups) != 0 || len(l.Groups) != 0 || len(l.Calls) != 0 {
				t.Errorf("%s: ensured %+v (%v), calls %v", name, got.LogGroups, err, l.Calls)
			}
		}
	})
	t.Run("errors", func(t *testing.T) {
		for _, tc := range []struct {
			op, code string
			want     string
			fault    smithy.ErrorFault // as the SDK's deserializer marks modelled errors
		}{
			{"CreateLogGroup", "ThrottlingException", workflow.ErrThrottled, smithy.FaultUnknown},
			{"CreateLogGroup", "OperationAbortedException", workflow.ErrThrottled, smithy.FaultUnknown},
			{"CreateLogGroup", "ServiceUnavailableException", workflow.ErrThrottled, smithy.FaultServer},
			{"PutRetentionPolicy", "ThrottlingException", workflow.ErrThrottled, smithy.FaultUnknown},
			{"DescribeLogGroups", "ThrottlingException", workflow.ErrThrottled, smithy.FaultUnknown},
			{"CreateLogGroup", "LimitExceededException", "LimitExceededException", smithy.FaultUnknown},
			{"CreateLogGroup", "InvalidParameterException", "InvalidParameterException", smithy.FaultUnknown},
		} {
			l := awsfake.NewLogs()
			l.Errs[tc.op] = []error{&smithy.GenericAPIError{Code: tc.code, Message: "x", Fault: tc.fault}}
			r := &Remediator{Policy: policy.Default(), Clients: static(seeded(), l)}
			_, err := r.EnsureLogGroups(context.Background(), inputFor(td))
			got := awsfake.ErrorType(err)
			if got != tc.want && awserr.Code(err) != tc.want {
				t.Errorf("%s %s: got %s (%v), want %s", tc.op, tc.code, got, err, tc.want)
			}
		}
	})
	t.Run("invalid group name", func(t *testing.T) {
		r := &Remediator{Policy: policy.Default(), Clients: static(seeded(), awsfake.NewLogs())}
		in := inputFor(td)
		in.LogGroups[0].Name = "aws/reserved"
		_, err := r.EnsureLogGroups(context.Background(), in)
		if awsfake.ErrorType(err) != workflow.ErrInvalidInput {
			t.Fatalf("got %v", err)
		}
	})
}

func TestRegisterEnsuresGroupsTheRereadPlanNeeds(t *testing.T) {
	td, tags := awsfake.TaskDefinition(t, "td01-fargate-no-logconfig.json")
	e, l := awsfake.NewECS(), awsfake.NewLogs()
	e.Put(td, tags)
	r := &Remediator{Policy: policy.Default(), Clients: static(e, l)}
	st := workflow.State{Input: inputFor(td), Ensured: &workflow.Ensured{LogGroups: []workflow.LogGroupResult{}}} // detect planned none
	res, err := r.Register(context.Background(), st)
	if err != nil || res.Outcome != workflow.OutcomeRemediated {
		t.Fatalf("%v %v", res.Outcome, err)
	}
	if _, ok := l.Groups["/ecs/orders-api"]; !ok || len(res.LogGroups) != 1 || !res.LogGroups[0].Created {
		t.Fatalf("group not ensured: %+v", res.LogGroups)
	}
}

func TestHandleDispatch(t *testing.T) {
	td, tags := awsfake.TaskDefinition(t, "td01-fargate-no-logconfig.json")
	e, l := awsfake.NewECS(), awsfake.NewLogs()
	e.Put(td, tags)
	r := &Remediator{Policy: policy.Default(), Clients: static(e, l)}
	ctx := context.Background()
	out, err := r.Handle(ctx, workflow.Request{Action: workflow.ActionEnsureLogGroup, Input: workflow.State{Input: inputFor(td)}})
	if err != nil {
		t.Fatal(err)
	}
	ens, ok := out.(workflow.Ensured)
	if !ok || len(ens.LogGroups) != 1 {
		t.Fatalf("ensure returned %#v", out)
	}
	out, err = r.Handle(ctx, workflow.Request{Action: workflow.ActionRegister, Input: workflow.State{Input: inputFor(td), Ensured: &ens}})
	if err != nil {
		t.Fatal(err)
	}
	if res, ok := out.(workflow.Result); !ok || res.Outcome != workflow.OutcomeRemediated || len(res.LogGroups) != 1 {
		t.Fatalf("register returned %#v", out)
	}
	if _, err := r.Handle(ctx, workflow.Request{Action: "explode", Input: workflow.State{Input: inputFor(td)}}); awsfake.ErrorType(err) != workflow.ErrInvalidInput {
		t.Fatalf("unknown action: %v", err)
	}
}

// The Lambda runtime reports the outermost error's type name as errorType:
// Handle must return the workflow error types themselves, not a wrapper,
// or the state machine's Retry never matches.
func TestHandleReturnsRetryableTypesOutermost(t *testing.T) {
	td, tags := awsfake.TaskDefinition(t, "td01-fargate-no-logconfig.json")
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"throttled", &types.ClientException{Message: aws.String("Rate exceeded")}, workflow.ErrThrottled},
		{"concurrent revision", &types.ClientException{Message: aws.String("Too many concurrent attempts to create a new revision of the specified family.")}, workflow.ErrConcurrentRevision},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := registerFailing(td, tags, tc.err)
			if awsfake.ErrorType(err) != tc.want {
				t.Fatalf("errorType %q (%v), want %q", awsfake.ErrorType(err), err, tc.want)
			}
		})
	}
}

// registerFailing is Handle's error for a register of td whose
// RegisterTaskDefinition fails with err.
func registerFailing(td *types.TaskDefinition, tags []types.Tag, err error) error {
	e, l := awsfake.NewECS(), awsfake.NewLogs()
	e.Put(td, tags)
	e.FailNext("RegisterTaskDefinition", err)
	r := &Remediator{Policy: policy.Default(), Clients: static(e, l)}
	_, got := r.Handle(context.Background(), workflow.Request{Action: workflow.ActionRegister, Input: workflow.State{Input: inputFor(td)}})
	return got
}

// static serves the same clients for every target.
func static(e ECS, l Logs) ClientsFor {
	return func(workflow.Target) (Clients, error) { return Clients{ECS: e, Logs: l}, nil }
}

// An AWS error message can quote the request: the error Handle returns
// (the execution history's cause, the runtime's log line) is sanitised with
// escape.Cause and keeps the type the state machine matches.
func TestHandleSanitisesErrorText(t *testing.T) {
	td, tags := awsfake.TaskDefinition(t, "td01-fargate-no-logconfig.json")
	const secret = "FAKE-quoted-by-aws-c0ffee"
	tests := []struct {
		name string
		err  error
		want string // the errorType the runtime reports
	}{
		{"throttled", &types.ServerException{Message: aws.String("Internal error, token=" + secret)}, workflow.ErrThrottled},
		{"other", &types.ClientException{Message: aws.String("Invalid setting for container 'app': token=" + secret)}, "wrapError"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := registerFailing(td, tags, tc.err)
			if err == nil {
				t.Fatal("no error")
			}
			typ := awsfake.ErrorType(err)
			if ir, ok := err.(messages.InvokeResponse_Error); ok {
				typ = ir.Type
			}
			if typ != tc.want {
				t.Errorf("errorType %q (%v), want %q", typ, err, tc.want)
			}
			if strings.Contains(err.Error(), secret) || !strings.Contains(err.Error(), "token=[redacted]") {
				t.Errorf("error text not sanitised: %v", err)
			}
			if _, ok := err.(messages.InvokeResponse_Error); !ok && !errors.As(err, new(*types.ServerException)) {
				t.Errorf("the sanitised %T lost its cause", err)
			}
		})
	}
}
