// Package rollout holds the decision of what to do with the consumers of
// a remediated task definition revision — the ECS services, EventBridge
// rule targets and Scheduler schedules that run it — and, while services
// deploy the new revision, what each deployment's state means. It is pure:
// the remediate shell observes (internal/consumer), calls Plan or Judge,
// acts (UpdateService, PutTargets, UpdateSchedule) and reports. Every
// human sentence about a consumer is made here.
//
// It sits next to internal/reconcile, not in it: reconcile decides about
// revisions (register or not, withdraw or keep) from DescribeTaskDefinition
// alone, this decides about other resources from other observations, after
// the revision exists; the Register step and its calls stay as they were.
package rollout

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ecslogfix/ecslogfix/internal/policy"
	"github.com/ecslogfix/ecslogfix/internal/taskdef"
	"github.com/ecslogfix/ecslogfix/internal/workflow"
)

// Mode is the rollout mode of one task definition: override (the CLI's
// --rollout, or the execution input's) when set, else the revision's
// ecslogfix:rollout tag, else the policy's mode (none when unset). A tag
// whose value is not a mode moves nothing, and note says why.
func Mode(policyMode, override policy.RolloutMode, tags []types.Tag) (mode policy.RolloutMode, note string) {
	if override != "" {
		return override, ""
	}
	for _, t := range tags {
		if aws.ToString(t.Key) != taskdef.TagRollout {
			continue
		}
		m, err := policy.ParseRollout(strings.TrimSpace(aws.ToString(t.Value)))
		if err != nil {
			return policy.RolloutNone, fmt.Sprintf("the tag %s: %v: nothing was moved", taskdef.TagRollout, err)
		}
		return m, ""
	}
	if policyMode == "" {
		return policy.RolloutNone, ""
	}
	return policyMode, ""
}

// Observation is what the Rollout step read before deciding.
type Observation struct {
	// Source is the remediated revision; NewARN the revision ecslogfix
	// registered from it.
	Source taskdef.ARN
	NewARN string
	Mode   policy.RolloutMode
	// Consumers are the consumers of Source's family in its account and
	// region (internal/consumer); those on other revisions are ignored.
	Consumers []workflow.Consumer
}

// Plan decides for each consumer of the source, the new revision or the
// unversioned family (in this order of rules):
//
//   - names the family without a revision: FOLLOWS_LATEST, never touched
//     (it runs the latest ACTIVE revision, now the new one, by itself);
//   - already on the new revision (an earlier attempt of this step moved
//     it, Before is the source): a service is watched (DEPLOYING), a target
//     or schedule is MOVED;
//   - a CODE_DEPLOY service: NEEDS_HUMAN (UpdateService with a task
//     definition is refused; a CodeDeploy deployment with an AppSpec is the
//     owner's release process); an EXTERNAL service: NEEDS_HUMAN (a new
//     task set is the owner's tooling's job);
//   - an ECS-controller service in mode services or all, a rule target or
//     schedule in mode all: TO_MOVE (Move lists it);
//   - otherwise NOT_MOVED: the notification lists it.
//
// At most workflow.MaxConsumers are recorded (ordered by kind and ARN);
// the rest are counted in Omitted and not moved.
func Plan(o Observation) (r workflow.Rollout, move []int) {
	r = workflow.Rollout{Mode: o.Mode, Consumers: []workflow.ConsumerRollout{}}
	src := o.Source.String()
	cs := slices.Clone(o.Consumers)
	slices.SortFunc(cs, func(a, b workflow.Consumer) int {
		return strings.Compare(string(a.Kind)+" "+a.ARN+" "+a.TargetID, string(b.Kind)+" "+b.ARN+" "+b.TargetID)
	})
	for _, c := range cs {
		ref, err := taskdef.ParseRef(c.TaskDefinition)
		if err != nil || ref.Family != o.Source.Family {
			continue
		}
		onSource := ref.Revision == o.Source.Revision
		onNew := c.TaskDefinition == o.NewARN
		if ref.Revision != 0 && !onSource && !onNew {
			continue // another revision: not ours to move
		}
		if len(r.Consumers) == workflow.MaxConsumers {
			r.Omitted++
			continue
		}
		rec := workflow.ConsumerRollout{Consumer: c, Before: c.TaskDefinition, After: c.TaskDefinition}
		switch {
		case ref.Revision == 0:
			rec.Status = workflow.ConsumerFollowsLatest
			rec.Reason = "it names the family without a revision and runs the latest ACTIVE revision by itself"
		case onNew:
			rec.Before = src
			rec.Status = workflow.ConsumerMoved
			if c.Kind == workflow.KindService {
				rec.Status = workflow.ConsumerDeploying
			}
			rec.Reason = "it was already on the new revision (moved by an earlier attempt of this step)"
		case c.Kind == workflow.KindService && c.Controller == workflow.ControllerCodeDeploy:
			rec.Status = workflow.ConsumerNeedsHuman
			rec.Reason = "its deployment controller is CODE_DEPLOY: ECS refuses a task definition change through UpdateService; start a CodeDeploy deployment with an AppSpec naming the new revision"
		case c.Kind == workflow.KindService && c.Controller == workflow.ControllerExternal:
			rec.Status = workflow.ConsumerNeedsHuman
			rec.Reason = "its deployment controller is EXTERNAL: a new task set with the new revision is your deployment tooling's job"
		case moves(o.Mode, c.Kind):
			rec.Status = workflow.ConsumerToMove
			move = append(move, len(r.Consumers))
		default:
			rec.Status = workflow.ConsumerNotMoved
			rec.Reason = notMoved(o.Mode, c.Kind)
		}
		r.Consumers = append(r.Consumers, rec)
	}
	return r, move
}

func moves(m policy.RolloutMode, k workflow.ConsumerKind) bool {
	switch m {
	case policy.RolloutAll:
		return true
	case policy.RolloutServices:
		return k == workflow.KindService
	}
	return false
}

func notMoved(m policy.RolloutMode, k workflow.ConsumerKind) string {
	if m == policy.RolloutServices {
		return fmt.Sprintf("rollout mode %q moves services only; the %s keeps the source revision until you move it", m, kindText(k))
	}
	return fmt.Sprintf("rollout mode %q: the %s keeps the source revision until you move it", cmpMode(m), kindText(k))
}

func cmpMode(m policy.RolloutMode) policy.RolloutMode {
	if m == "" {
		return policy.RolloutNone
	}
	return m
}

func kindText(k workflow.ConsumerKind) string {
	switch k {
	case workflow.KindService:
		return "service"
	case workflow.KindRuleTarget:
		return "EventBridge rule target"
	case workflow.KindSchedule:
		return "EventBridge Scheduler schedule"
	}
	return strings.ToLower(string(k))
}

// Moved records a consumer the shell moved: a service deploys (Watch
// follows deployment), a rule target or schedule is MOVED.
func Moved(rec workflow.ConsumerRollout, newARN, deployment string) workflow.ConsumerRollout {
	rec.After, rec.Reason = newARN, ""
	rec.Status = workflow.ConsumerMoved
	if rec.Kind == workflow.KindService {
		rec.Status, rec.Deployment = workflow.ConsumerDeploying, deployment
	}
	return rec
}

// Refused records a consumer whose move AWS refused (not a transient
// error): it stays on the source revision.
func Refused(rec workflow.ConsumerRollout, err error) workflow.ConsumerRollout {
	rec.Status, rec.After = workflow.ConsumerRolloutFailed, rec.Before
	rec.Reason = "the update was refused: " + firstLine(err.Error())
	return rec
}

// Changed records a consumer found on another revision when the shell
// came to move it or put it back (someone deployed meanwhile): never
// fought.
func Changed(rec workflow.ConsumerRollout, current string) workflow.ConsumerRollout {
	rec.Status, rec.After = workflow.ConsumerSuperseded, current
	rec.Reason = "it was moved to " + current + " by someone else meanwhile; left alone"
	if current == "" {
		rec.Reason = "it no longer exists (deleted meanwhile)"
	}
	return rec
}

// Deployment is one of a service's deployments as DescribeServices
// returns it.
type Deployment struct {
	ID             string
	Status         string // PRIMARY, ACTIVE, INACTIVE
	TaskDefinition string
	RolloutState   string // COMPLETED, FAILED, IN_PROGRESS; empty behind a Classic Load Balancer
	Reason         string // rolloutStateReason
	Desired        int32
	Running        int32
}

// Service is a service as Watch observed it.
type Service struct {
	// Found is false when the service no longer exists or is not ACTIVE.
	Found          bool
	TaskDefinition string
	Deployments    []Deployment
}

// ServiceOf maps DescribeServices' service (nil: not found).
func ServiceOf(s *types.Service) Service {
	if s == nil || aws.ToString(s.Status) != "ACTIVE" {
		return Service{}
	}
	out := Service{Found: true, TaskDefinition: aws.ToString(s.TaskDefinition)}
	for _, d := range s.Deployments {
		out.Deployments = append(out.Deployments, Deployment{
			ID: aws.ToString(d.Id), Status: aws.ToString(d.Status), TaskDefinition: aws.ToString(d.TaskDefinition),
			RolloutState: string(d.RolloutState), Reason: aws.ToString(d.RolloutStateReason),
			Desired: d.DesiredCount, Running: d.RunningCount,
		})
	}
	return out
}

// Verdict is Judge's answer for one service.
type Verdict struct {
	Record workflow.ConsumerRollout
	// PutBack is set when the shell must point the service back at
	// Record.Before (then call PutBack).
	PutBack bool
}

// Judge reads a DEPLOYING service's state (anything else is returned as it
// is):
//
//   - gone: SUPERSEDED (deleted);
//   - back on the source revision: ECS's circuit breaker rolled it back:
//     ROLLOUT_FAILED with the failed deployment's reason;
//   - on a third revision: SUPERSEDED (someone deployed it), left alone;
//   - the primary deployment of the new revision COMPLETED (or, without a
//     rollout state behind a Classic Load Balancer, alone and at its
//     desired count): MOVED;
//   - it FAILED and ECS did not roll back: put back on the source
//     (PutBack), ROLLOUT_FAILED with the reason;
//   - otherwise still deploying: DEPLOYING, or TIMED_OUT when the watch
//     budget has ended (expired).
func Judge(rec workflow.ConsumerRollout, s Service, expired bool) Verdict {
	if rec.Status != workflow.ConsumerDeploying {
		return Verdict{Record: rec}
	}
	switch {
	case !s.Found:
		return Verdict{Record: Changed(rec, "")}
	case s.TaskDefinition == rec.Before:
		rec.Status, rec.After = workflow.ConsumerRolloutFailed, rec.Before
		rec.Reason = "the deployment failed and ECS rolled the service back to the source revision"
		if d, ok := deploymentOf(s, rec.After, rec.Deployment, "FAILED"); ok && d.Reason != "" {
			rec.Reason += ": " + d.Reason
		} else if d, ok := failedOf(s); ok && d.Reason != "" {
			rec.Reason += ": " + d.Reason
		}
		return Verdict{Record: rec}
	case s.TaskDefinition != rec.After:
		return Verdict{Record: Changed(rec, s.TaskDefinition)}
	}
	primary, ok := primaryOf(s)
	if ok && primary.TaskDefinition == rec.After {
		switch {
		case primary.RolloutState == string(types.DeploymentRolloutStateCompleted),
			primary.RolloutState == "" && len(s.Deployments) == 1 && primary.Running == primary.Desired:
			rec.Status, rec.Reason, rec.Deployment = workflow.ConsumerMoved, "", primary.ID
			return Verdict{Record: rec}
		case primary.RolloutState == string(types.DeploymentRolloutStateFailed):
			rec.Status = workflow.ConsumerRolloutFailed
			rec.Reason = "the deployment " + primary.ID + " failed"
			if primary.Reason != "" {
				rec.Reason += ": " + strings.TrimSuffix(primary.Reason, ".")
			}
			rec.Reason += "; ecslogfix put the service back on the source revision"
			return Verdict{Record: rec, PutBack: true}
		}
	}
	if expired {
		rec.Status = workflow.ConsumerTimedOut
		rec.Reason = "the deployment was still in progress when the watch budget ended; ECS carries on (its circuit breaker, where enabled, rolls a failure back)"
	}
	return Verdict{Record: rec}
}

// Unmoved records a consumer still TO_MOVE when the watch budget ended
// (moves paced at the rollout rate did not all fit): NOT_MOVED.
func Unmoved(rec workflow.ConsumerRollout) workflow.ConsumerRollout {
	if rec.Status != workflow.ConsumerToMove {
		return rec
	}
	rec.Status, rec.After = workflow.ConsumerNotMoved, rec.Before
	rec.Reason = "the watch budget ended before its turn to move came (rolloutRate): it keeps the source revision until you move it"
	return rec
}

// PutBack records a service pointed back at its source revision after its
// deployment failed.
func PutBack(rec workflow.ConsumerRollout) workflow.ConsumerRollout {
	rec.After = rec.Before
	return rec
}

func primaryOf(s Service) (Deployment, bool) {
	for _, d := range s.Deployments {
		if d.Status == "PRIMARY" {
			return d, true
		}
	}
	return Deployment{}, false
}

func deploymentOf(s Service, td, id, state string) (Deployment, bool) {
	for _, d := range s.Deployments {
		if (d.ID == id || d.TaskDefinition == td) && d.RolloutState == state {
			return d, true
		}
	}
	return Deployment{}, false
}

func failedOf(s Service) (Deployment, bool) {
	for _, d := range s.Deployments {
		if d.RolloutState == string(types.DeploymentRolloutStateFailed) {
			return d, true
		}
	}
	return Deployment{}, false
}

// Budget is how the watch is paced.
type Budget struct {
	Poll    time.Duration // between two Watch steps
	Timeout time.Duration // from Rollout to the end of the watch
}

// Settle completes r after a Rollout or Watch step at now: settled when no
// service is DEPLOYING and nothing is left TO_MOVE, else the wait before
// the next Watch (Poll, at least one second, no later than the deadline;
// one second when moves are left: they wait for the rollout budget only).
func Settle(r workflow.Rollout, b Budget, now time.Time) workflow.Rollout {
	r.Settled, r.WaitSeconds = true, 0
	toMove := false
	for _, c := range r.Consumers {
		switch c.Status {
		case workflow.ConsumerDeploying:
			r.Settled = false
		case workflow.ConsumerToMove:
			r.Settled, toMove = false, true
		}
	}
	if r.Settled {
		return r
	}
	if r.Deadline == "" { // the first step that leaves something to watch
		r.Deadline = now.Add(b.Timeout).UTC().Format(time.RFC3339)
	}
	wait := b.Poll
	if deadline, err := time.Parse(time.RFC3339, r.Deadline); err == nil && deadline.Sub(now) < wait {
		wait = deadline.Sub(now)
	}
	if toMove {
		wait = time.Second
	}
	r.WaitSeconds = max(1, int(wait.Round(time.Second)/time.Second))
	return r
}

// Expired reports whether the watch budget of r has ended at now.
func Expired(r workflow.Rollout, now time.Time) bool {
	deadline, err := time.Parse(time.RFC3339, r.Deadline)
	return err == nil && !now.Before(deadline)
}

// DeregisterSource reports whether policy deregisterSource afterRollout may
// deregister the source now: the rollout settled, nothing was omitted,
// and every consumer runs the new revision (moved and, for services, its
// deployment completed) or follows the latest revision.
func DeregisterSource(afterRollout bool, r workflow.Rollout) bool {
	if !afterRollout || !r.Settled || r.Omitted > 0 || r.SourceDeregistered {
		return false
	}
	for _, c := range r.Consumers {
		switch c.Status {
		case workflow.ConsumerMoved, workflow.ConsumerFollowsLatest, workflow.ConsumerSuperseded:
		default:
			return false
		}
	}
	return true
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return s
}
