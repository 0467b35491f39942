package remediate

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ecslogfix/ecslogfix/internal/awsclient"
	"github.com/ecslogfix/ecslogfix/internal/awsfake"
	"github.com/ecslogfix/ecslogfix/internal/policy"
	"github.com/ecslogfix/ecslogfix/internal/taskdef"
	"github.com/ecslogfix/ecslogfix/internal/workflow"
	"github.com/ecslogfix/ecslogfix/test/faultproxy"
	"github.com/ecslogfix/ecslogfix/test/localaws"
)

// lostResponse commits the first RegisterTaskDefinition and loses its
// response: retried, it registers again (as the SDK's retry after a 5xx
// does); not retried, it fails (as a Lambda that timed out after
// registering does).
type lostResponse struct {
	*awsfake.ECS
	retried bool
	lost    bool
}

func (l *lostResponse) RegisterTaskDefinition(ctx context.Context, in *ecs.RegisterTaskDefinitionInput, optFns ...func(*ecs.Options)) (*ecs.RegisterTaskDefinitionOutput, error) {
	if l.lost {
		return l.ECS.RegisterTaskDefinition(ctx, in, optFns...)
	}
	l.lost = true
	if _, err := l.ECS.RegisterTaskDefinition(ctx, in, optFns...); err != nil {
		return nil, err
	}
	if !l.retried {
		return nil, errors.New("the response was lost")
	}
	return l.ECS.RegisterTaskDefinition(ctx, in, optFns...)
}

// A remediation whose registration's response was lost reports the
// revision it registered as REMEDIATED, with its ARN: never as another
// execution's (a quiet ALREADY_REMEDIATED without a backout).
func TestRegisterRecognisesItsOwnRevisionAfterALostResponse(t *testing.T) {
	td, tags := awsfake.TaskDefinition(t, "td01-fargate-no-logconfig.json") // orders-api:14
	const family = "orders-api"
	in := inputFor(td)
	in.ExecutionToken = "orders-api-14-0123456789abcdef"
	arn := func(rev int) string {
		return "arn:aws:ecs:us-east-1:111122223333:task-definition/orders-api:" + itoa(int32(rev))
	}
	t.Run("the SDK retried: the duplicate is withdrawn", func(t *testing.T) {
		f, l := awsfake.NewECS(), awsfake.NewLogs()
		f.Put(td, tags)
		r := &Remediator{Policy: policy.Default(), Clients: static(&lostResponse{ECS: f, retried: true}, l)}
		res, err := r.Register(context.Background(), workflow.State{Input: in})
		if err != nil {
			t.Fatal(err)
		}
		if res.Outcome != workflow.OutcomeRemediated || res.NewARN != arn(16) || !strings.Contains(res.Detail, arn(15)) {
			t.Fatalf("outcome %s NewARN %s (%s), want REMEDIATED %s naming the withdrawn %s", res.Outcome, res.NewARN, res.Detail, arn(16), arn(15))
		}
		if revs := f.Families[family]; revs[14].TD.Status != types.TaskDefinitionStatusInactive || revs[15].TD.Status != types.TaskDefinitionStatusActive {
			t.Errorf("revision 15 %s, 16 %s; want the duplicate 15 withdrawn, 16 kept", revs[14].TD.Status, revs[15].TD.Status)
		}
		if tok := taskdef.ExecutionToken(f.Families[family][15].Tags); tok != in.ExecutionToken {
			t.Errorf("the new revision's %s tag is %q, want %q", taskdef.TagExecution, tok, in.ExecutionToken)
		}
	})
	t.Run("the Lambda failed after registering: the next attempt reports it", func(t *testing.T) {
		f, l := awsfake.NewECS(), awsfake.NewLogs()
		f.Put(td, tags)
		r := &Remediator{Policy: policy.Default(), Clients: static(&lostResponse{ECS: f}, l)}
		if _, err := r.Register(context.Background(), workflow.State{Input: in}); err == nil {
			t.Fatal("the first attempt succeeded, want its response lost")
		}
		res, err := r.Register(context.Background(), workflow.State{Input: in})
		if err != nil {
			t.Fatal(err)
		}
		if res.Outcome != workflow.OutcomeRemediated || res.NewARN != arn(15) || res.Plan == nil {
			t.Fatalf("outcome %s NewARN %q plan %v (%s), want REMEDIATED %s with its plan", res.Outcome, res.NewARN, res.Plan != nil, res.Detail, arn(15))
		}
		if n := f.Count("RegisterTaskDefinition"); n != 1 {
			t.Errorf("%d registrations, want 1 (the next attempt registers nothing)", n)
		}
	})
	t.Run("another remediation's fix stays another's", func(t *testing.T) {
		f, l := awsfake.NewECS(), awsfake.NewLogs()
		f.Put(td, tags)
		r := &Remediator{Policy: policy.Default(), Clients: static(&lostResponse{ECS: f}, l)}
		if _, err := r.Register(context.Background(), workflow.State{Input: in}); err == nil {
			t.Fatal("the first attempt succeeded, want its response lost")
		}
		other := in
		other.ExecutionToken = "orders-api-14-fedcba9876543210"
		if res, err := r.Register(context.Background(), workflow.State{Input: other}); err != nil || res.Outcome != workflow.OutcomeAlreadyRemediated {
			t.Fatalf("%+v %v, want ALREADY_REMEDIATED", res.Outcome, err)
		}
	})
}

// The same through the real SDK client and moto: the fault proxy applies
// the first RegisterTaskDefinition, then answers HTTP 500; the SDK retries
// and registers again.
func TestMotoLostRegisterResponseIsRemediated(t *testing.T) {
	env := localaws.Start(t, localaws.Options{Faults: &faultproxy.Config{Rules: []faultproxy.Rule{
		{API: "ecs:RegisterTaskDefinition", Script: []faultproxy.Kind{faultproxy.AppliedInternalError}},
	}}})
	ctx := context.Background()
	td, tags := awsfake.TaskDefinition(t, "td01-fargate-no-logconfig.json")
	direct := ecs.NewFromConfig(env.Direct())
	reg, err := taskdef.RegisterInput(td, tags)
	if err != nil {
		t.Fatal(err)
	}
	src, err := direct.RegisterTaskDefinition(ctx, reg)
	if err != nil {
		t.Fatal(err)
	}
	in := inputFor(src.TaskDefinition)
	in.TaskDefinitionARN = aws.ToString(src.TaskDefinition.TaskDefinitionArn)
	in.Target.Account = "123456789012" // moto's account
	in.ExecutionToken = "lost-response-1"
	r := &Remediator{Policy: policy.Default(), Clients: ClientsFrom(awsclient.New(env.Config(), awsclient.Options{RegisterRate: 20}))}
	ensured, err := r.EnsureLogGroups(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	res, err := r.Register(ctx, workflow.State{Input: in, Ensured: &ensured})
	if err != nil {
		t.Fatal(err)
	}
	if st := env.Proxy.Stats().APIs["ecs:RegisterTaskDefinition"]; st.Faults[faultproxy.AppliedInternalError] != 1 || st.Forwarded != 2 {
		t.Fatalf("RegisterTaskDefinition %+v, want one applied 500 and its retry", st)
	}
	if res.Outcome != workflow.OutcomeRemediated || res.NewARN == "" {
		t.Fatalf("outcome %s NewARN %q (%s), want REMEDIATED with the kept revision", res.Outcome, res.NewARN, res.Detail)
	}
	active := 0
	list, err := direct.ListTaskDefinitions(ctx, &ecs.ListTaskDefinitionsInput{FamilyPrefix: src.TaskDefinition.Family, Status: types.TaskDefinitionStatusActive})
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range list.TaskDefinitionArns {
		if a != in.TaskDefinitionARN {
			active++
			if a != res.NewARN {
				t.Errorf("ACTIVE remediation %s is not the reported %s", a, res.NewARN)
			}
		}
	}
	if active != 1 {
		t.Errorf("%d ACTIVE remediations of the source, want 1", active)
	}
}
