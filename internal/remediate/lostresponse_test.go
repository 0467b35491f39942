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
	// lost is a remediator over an ECS holding the source whose first
	// registration's response is lost (retried: the SDK retries it).
	lost := func(retried bool) (*awsfake.ECS, *Remediator) {
		f := awsfake.NewECS()
		f.Put(td, tags)
		return f, &Remediator{Policy: policy.Default(), Clients: static(&lateCommit{ECS: f, script: lostFirst(retried)}, awsfake.NewLogs())}
	}
	// failedAttempt is the attempt whose response is lost, not retried.
	failedAttempt := func(t *testing.T) (*awsfake.ECS, *Remediator) {
		t.Helper()
		f, r := lost(false)
		if _, err := r.Register(context.Background(), workflow.State{Input: in}); err == nil {
			t.Fatal("the first attempt succeeded, want its response lost")
		}
		return f, r
	}
	t.Run("the SDK retried: the retry's duplicate is withdrawn, the first registration stays", func(t *testing.T) {
		f, r := lost(true)
		res, err := r.Register(context.Background(), workflow.State{Input: in})
		if err != nil {
			t.Fatal(err)
		}
		if res.Outcome != workflow.OutcomeRemediated || res.NewARN != arn(15) || !strings.Contains(res.Detail, arn(16)) {
			t.Fatalf("outcome %s NewARN %s (%s), want REMEDIATED %s naming the withdrawn %s", res.Outcome, res.NewARN, res.Detail, arn(15), arn(16))
		}
		if revs := f.Families[family]; revs[14].TD.Status != types.TaskDefinitionStatusActive || revs[15].TD.Status != types.TaskDefinitionStatusInactive {
			t.Errorf("revision 15 %s, 16 %s; want 15 kept, the duplicate 16 withdrawn", revs[14].TD.Status, revs[15].TD.Status)
		}
		if tok := taskdef.ExecutionToken(f.Families[family][14].Tags); tok != in.ExecutionToken {
			t.Errorf("the new revision's %s tag is %q, want %q", taskdef.TagExecution, tok, in.ExecutionToken)
		}
	})
	t.Run("the Lambda failed after registering: the next attempt reports it", func(t *testing.T) {
		f, r := failedAttempt(t)
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
		_, r := failedAttempt(t)
		other := in
		other.ExecutionToken = "orders-api-14-fedcba9876543210"
		if res, err := r.Register(context.Background(), workflow.State{Input: other}); err != nil || res.Outcome != workflow.OutcomeAlreadyRemediated {
			t.Fatalf("%+v %v, want ALREADY_REMEDIATED", res.Outcome, err)
		}
	})
}

// Another execution of the same source registers between this one's lost
// registration and the SDK's retry: this one's first registration was
// committed first and stays, reported REMEDIATED; the retry's is withdrawn,
// and the other execution's fix is left to it (it finds this one's below
// its own and withdraws its own: TestOvertaken's "another remediation's
// fix of this source" row). Withdrawing both of this one's would leave
// the source unremediated once the other withdrew its own.
func TestAnotherFixBetweenALostRegistrationAndItsRetry(t *testing.T) {
	td, tags := awsfake.TaskDefinition(t, "td01-fargate-no-logconfig.json") // orders-api:14
	const family = "orders-api"
	in := inputFor(td)
	in.ExecutionToken = "orders-api-14-0123456789abcdef"
	f := awsfake.NewECS()
	f.Put(td, tags)
	e := &lateCommit{ECS: f, script: func(n int, commit commitFunc) (*ecs.RegisterTaskDefinitionOutput, error) {
		if n == 1 {
			if _, err := commit(); err != nil { // 15, its response lost
				return nil, err
			}
			theirs := append(taskdef.ProvenanceTags(td.Revision), taskdef.ExecutionTag("orders-api-14-fedcba9876543210")...)
			f.Put(awsfake.WithRevision(td, family, 16), theirs)
		}
		return commit() // 17, the SDK's retry
	}}
	r := &Remediator{Policy: policy.Default(), Clients: static(e, awsfake.NewLogs())}
	res, err := r.Register(context.Background(), workflow.State{Input: in})
	if err != nil {
		t.Fatal(err)
	}
	first := f.ARN(family, 15)
	if res.Outcome != workflow.OutcomeRemediated || res.NewARN != first || res.Plan == nil {
		t.Fatalf("outcome %s NewARN %q (%s), want REMEDIATED %s with its plan", res.Outcome, res.NewARN, res.Detail, first)
	}
	if revs := f.Families[family]; revs[14].TD.Status != types.TaskDefinitionStatusActive || revs[16].TD.Status != types.TaskDefinitionStatusInactive {
		t.Errorf("revision 15 %s, 17 %s; want the first registration kept, the retry's withdrawn", revs[14].TD.Status, revs[16].TD.Status)
	}
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
	src := seed(ctx, t, direct, td, tags)
	in := inputFor(src)
	in.TaskDefinitionARN = aws.ToString(src.TaskDefinitionArn)
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
	list, err := direct.ListTaskDefinitions(ctx, &ecs.ListTaskDefinitionsInput{FamilyPrefix: src.Family, Status: types.TaskDefinitionStatusActive})
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

// lateCommit lets a test choose when each RegisterTaskDefinition call
// takes effect: script receives the call's number (from 1) and commit,
// which registers the request now. A script may keep commit and call it
// later — after another call committed, or after the step returned — as
// ECS does with a request whose client gave up on it (the per-attempt
// time-out of internal/awsclient) but which was already on its way.
type lateCommit struct {
	*awsfake.ECS
	calls  int
	script registerScript
	// lostDeregister, when not 0, is the DeregisterTaskDefinition call (from
	// 1) that takes effect and loses its response.
	lostDeregister, deregisters int
}

func (l *lateCommit) DeregisterTaskDefinition(ctx context.Context, in *ecs.DeregisterTaskDefinitionInput, optFns ...func(*ecs.Options)) (*ecs.DeregisterTaskDefinitionOutput, error) {
	l.deregisters++
	out, err := l.ECS.DeregisterTaskDefinition(ctx, in, optFns...)
	if err == nil && l.deregisters == l.lostDeregister {
		return nil, errTimedOut
	}
	return out, err
}

// commitFunc registers one held request.
type commitFunc func() (*ecs.RegisterTaskDefinitionOutput, error)

// registerScript answers RegisterTaskDefinition call n.
type registerScript func(n int, commit commitFunc) (*ecs.RegisterTaskDefinitionOutput, error)

func (l *lateCommit) RegisterTaskDefinition(ctx context.Context, in *ecs.RegisterTaskDefinitionInput, optFns ...func(*ecs.Options)) (*ecs.RegisterTaskDefinitionOutput, error) {
	l.calls++
	return l.script(l.calls, func() (*ecs.RegisterTaskDefinitionOutput, error) {
		return l.ECS.RegisterTaskDefinition(ctx, in, optFns...)
	})
}

var errTimedOut = errors.New("the attempt timed out: its response never came")

// lostFirst commits the first RegisterTaskDefinition and loses its
// response: retried, it registers again (as the SDK's retry after a 5xx
// does); not retried, it fails (as a Lambda that timed out after
// registering does).
func lostFirst(retried bool) registerScript {
	return func(n int, commit commitFunc) (*ecs.RegisterTaskDefinitionOutput, error) {
		if n == 1 {
			if _, err := commit(); err != nil {
				return nil, err
			}
			if !retried {
				return nil, errTimedOut
			}
		}
		return commit()
	}
}

// Every lost-response path of one remediation (one execution token), in
// every order its registrations can commit in, ends with the invariant of
// docs/reliability.md: at most one ACTIVE remediated revision of the
// source, and every attempt whose result the workflow may take reports it
// REMEDIATED with its ARN and plan (the backout) — or, when newer content
// overtook it, none stays and none is reported.
func TestLateCommitOrderingsKeepOneRemediation(t *testing.T) {
	td, tags := awsfake.TaskDefinition(t, "td01-fargate-no-logconfig.json") // orders-api:14
	const family = "orders-api"
	in := inputFor(td)
	in.ExecutionToken = "orders-api-14-0123456789abcdef"

	type world struct {
		f       *awsfake.ECS
		e       *lateCommit
		r       *Remediator
		results []workflow.Result // of the attempts that returned a result
	}
	// attempt runs one Register invocation of the execution; a failed one
	// has no result for the workflow to take.
	attempt := func(t *testing.T, w *world) {
		res, err := w.r.Register(context.Background(), workflow.State{Input: in})
		if err == nil {
			w.results = append(w.results, res)
		}
	}
	var late commitFunc                          // a commit held back
	var landed *ecs.RegisterTaskDefinitionOutput // what it answered when it landed
	land := func(t *testing.T, commit commitFunc) {
		var err error
		if landed, err = commit(); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name string
		// script is the lateCommit script; w is the world it runs in.
		script func(t *testing.T, w *world) registerScript
		// then runs after the first attempt returned.
		then           func(t *testing.T, w *world)
		lostDeregister int  // the withdraw that loses its response
		superseded     bool // newer content overtook the remediation
	}{
		{name: "SDK retry: the lost attempt commits first",
			script: func(*testing.T, *world) registerScript { return lostFirst(true) }},
		{name: "SDK retry: the timed-out attempt commits after the retry, and a later attempt looks",
			script: func(t *testing.T, w *world) registerScript {
				return func(n int, commit commitFunc) (*ecs.RegisterTaskDefinitionOutput, error) {
					if n == 1 {
						late = commit
						out, err := commit() // the SDK's retry
						land(t, late)
						return out, err
					}
					return commit()
				}
			},
			then: func(t *testing.T, w *world) { attempt(t, w) }},
		{name: "the workflow retries the step: the failed attempt committed before the retry looks",
			script: func(*testing.T, *world) registerScript { return lostFirst(false) },
			then:   func(t *testing.T, w *world) { attempt(t, w) }},
		{name: "the workflow retries the step: the failed attempt commits after the retry registered, and a later attempt looks",
			script: func(t *testing.T, w *world) registerScript {
				return func(n int, commit commitFunc) (*ecs.RegisterTaskDefinitionOutput, error) {
					switch n {
					case 1:
						late = commit
						return nil, errTimedOut
					case 2:
						out, err := commit()
						land(t, late)
						return out, err
					}
					return commit()
				}
			},
			then: func(t *testing.T, w *world) { attempt(t, w); attempt(t, w) }},
		{name: "two invocations race: both read, the second's register commits first",
			script: func(t *testing.T, w *world) registerScript {
				return func(n int, commit commitFunc) (*ecs.RegisterTaskDefinitionOutput, error) {
					if n == 1 {
						attempt(t, w) // the other invocation runs to its end
					}
					return commit()
				}
			}},
		{name: "two invocations race: both read, the first's register commits first",
			script: func(t *testing.T, w *world) registerScript {
				return func(n int, commit commitFunc) (*ecs.RegisterTaskDefinitionOutput, error) {
					switch n {
					case 1:
						late = commit
						attempt(t, w) // the other invocation reads, then registers after this one
						return landed, nil
					case 2:
						land(t, late)
					}
					return commit()
				}
			}},
		{name: "two invocations race: one reads after the other committed",
			script: func(t *testing.T, w *world) registerScript {
				return func(n int, commit commitFunc) (*ecs.RegisterTaskDefinitionOutput, error) {
					out, err := commit()
					if n == 1 {
						attempt(t, w)
					}
					return out, err
				}
			}},
		{name: "SDK retry after a lost response, newer user content in between",
			script: func(t *testing.T, w *world) registerScript {
				return func(n int, commit commitFunc) (*ecs.RegisterTaskDefinitionOutput, error) {
					if n == 1 {
						land(t, commit)                                     // the lost attempt
						w.f.Put(awsfake.WithRevision(td, family, 16), tags) // the user's next revision
					}
					return commit() // the SDK's retry
				}
			},
			superseded: true},
		{name: "SDK retry: the duplicate's withdraw loses its response, the workflow retries the step",
			script:         func(*testing.T, *world) registerScript { return lostFirst(true) },
			lostDeregister: 1,
			then:           func(t *testing.T, w *world) { attempt(t, w) }},
		{name: "newer user content in between: the first withdraw loses its response, the workflow retries the step",
			script: func(t *testing.T, w *world) registerScript {
				return func(n int, commit commitFunc) (*ecs.RegisterTaskDefinitionOutput, error) {
					if n == 1 {
						land(t, commit)
						w.f.Put(awsfake.WithRevision(td, family, 16), tags)
					}
					return commit()
				}
			},
			lostDeregister: 1,
			then:           func(t *testing.T, w *world) { attempt(t, w) },
			superseded:     true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := &world{f: awsfake.NewECS()}
			w.f.Put(td, tags)
			w.e = &lateCommit{ECS: w.f, lostDeregister: tc.lostDeregister}
			w.e.script = tc.script(t, w)
			w.r = &Remediator{Policy: policy.Default(), Clients: static(w.e, awsfake.NewLogs())}
			attempt(t, w)
			if tc.then != nil {
				tc.then(t, w)
			}

			var active []string
			for _, rev := range w.f.Families[family] {
				if rev == nil {
					continue
				}
				if from, ours := taskdef.SourceRevision(rev.Tags); ours && from == td.Revision && rev.TD.Status == types.TaskDefinitionStatusActive {
					active = append(active, aws.ToString(rev.TD.TaskDefinitionArn))
				}
			}
			if len(w.results) == 0 {
				t.Fatal("no attempt returned a result")
			}
			switch {
			case tc.superseded && len(active) != 0:
				t.Errorf("ACTIVE remediations %v of a source newer content overtook, want none", active)
			case !tc.superseded && len(active) != 1:
				t.Fatalf("ACTIVE remediations of the source: %v, want exactly one", active)
			}
			for i, res := range w.results {
				switch {
				case tc.superseded && (res.Outcome != workflow.OutcomeSuperseded || res.NewARN != ""):
					t.Errorf("attempt %d: %s NewARN %q (%s), want SUPERSEDED without a revision", i, res.Outcome, res.NewARN, res.Detail)
				case !tc.superseded && (res.Outcome != workflow.OutcomeRemediated || res.NewARN != active[0] || res.LatestARN != active[0] || res.Plan == nil):
					t.Errorf("attempt %d: %s NewARN %q LatestARN %q plan %v (%s), want REMEDIATED %s with its plan", i, res.Outcome, res.NewARN, res.LatestARN, res.Plan != nil, res.Detail, active[0])
				}
			}
		})
	}
}
