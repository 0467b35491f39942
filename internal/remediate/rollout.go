package remediate

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"

	"github.com/ecslogfix/ecslogfix/internal/awserr"
	"github.com/ecslogfix/ecslogfix/internal/consumer"
	"github.com/ecslogfix/ecslogfix/internal/metrics"
	"github.com/ecslogfix/ecslogfix/internal/policy"
	"github.com/ecslogfix/ecslogfix/internal/rollout"
	"github.com/ecslogfix/ecslogfix/internal/taskdef"
	"github.com/ecslogfix/ecslogfix/internal/workflow"
)

// The Rollout and Watch steps: observe the source's consumers
// (internal/consumer), let internal/rollout decide, move, and report the
// result with its rollout record. A transient error before a step changed
// anything is returned: the workflow retries the step, which observes
// again. Once a step changed something it never fails: what is left
// (moves, put-backs) stays in the record for the next Watch, so every
// change is in the result the notification renders, whatever happens
// after.

func (r *Remediator) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}

func (r *Remediator) budget() rollout.Budget {
	p := r.Policy.WithDefaults()
	return rollout.Budget{Poll: time.Duration(p.RolloutPollSeconds) * time.Second, Timeout: time.Duration(p.RolloutTimeoutMinutes) * time.Minute}
}

// registered returns the Register step's result a rollout step continues.
func registered(st workflow.State) (workflow.Result, taskdef.ARN, workflow.Target, error) {
	a, t, err := checkInput(st.Input)
	if err != nil {
		return workflow.Result{}, a, t, err
	}
	if st.Registered == nil {
		return workflow.Result{}, a, t, &workflow.InvalidInputError{Err: errors.New("no registered result to roll out")}
	}
	return st.Registered.Result, a, t, nil
}

// Rollout finds what runs the source revision (services, rule targets,
// schedules) and moves what the rollout mode allows to the new revision
// (rollout.Plan). A result that registered nothing is returned as it is,
// with a settled, empty rollout.
func (r *Remediator) Rollout(ctx context.Context, st workflow.State) (workflow.Result, error) {
	res, a, t, err := registered(st)
	if err != nil {
		return workflow.Result{}, err
	}
	pol := r.Policy.WithDefaults()
	ro := workflow.Rollout{Mode: pol.Rollout, Consumers: []workflow.ConsumerRollout{}}
	if res.Outcome != workflow.OutcomeRemediated || res.NewARN == "" {
		ro.Settled = true
		res.Rollout = &ro
		return res, nil
	}
	log := r.logger().With("account", t.Account, "region", t.Region, "family", a.Family, "taskDefinitionArn", res.NewARN)
	c, err := r.Clients(t)
	if err != nil {
		return workflow.Result{}, fmt.Errorf("clients for %s/%s: %w", t.Account, t.Region, err)
	}

	// Observe: the new revision's tags (the source's, copied) and the
	// family's consumers.
	newRev, err := describe(ctx, c.ECS, res.NewARN)
	if err != nil {
		return workflow.Result{}, err
	}
	if !newRev.Found() {
		ro.Settled, ro.Note = true, "the new revision is no longer ACTIVE: nothing was moved"
		res.Rollout = &ro
		return r.reportRollout(log, res), nil
	}
	mode, note := rollout.Mode(pol.Rollout, st.Rollout, newRev.Tags)
	consumers, err := consumer.List(ctx, c.Consumers, a.Family)
	if err != nil {
		return workflow.Result{}, workflow.Classify(err)
	}

	// Decide, act.
	ro, _ = rollout.Plan(rollout.Observation{Source: a, NewARN: res.NewARN, Mode: mode, Consumers: consumers})
	ro.Note = note
	var changed bool
	if err := r.move(ctx, c.Consumers, &ro, res.NewARN, &changed, log); err != nil {
		return workflow.Result{}, err
	}
	ro = rollout.Settle(ro, r.budget(), r.now())
	if err := r.deregisterSource(ctx, c.ECS, a, &ro, changed); err != nil {
		return workflow.Result{}, err
	}
	res.Rollout = &ro
	return r.reportRollout(log, res), nil
}

// moveMargin is the time a step keeps for itself before its function's
// deadline: a move waits for the rollout budget, then makes two calls.
const moveMargin = 15 * time.Second

// move moves the consumers that are TO_MOVE, while the invocation has
// time: the rest stay TO_MOVE for the next Watch (a mass rollout paced at
// the rollout rate can outlast one invocation).
//
// changed says whether this step changed something already: after that, a
// transient error stops the moves (the rest stay TO_MOVE) instead of
// failing the step.
func (r *Remediator) move(ctx context.Context, c consumer.Clients, ro *workflow.Rollout, newARN string, changed *bool, log *slog.Logger) error {
	for i, rec := range ro.Consumers {
		if rec.Status != workflow.ConsumerToMove {
			continue
		}
		if deadline, ok := ctx.Deadline(); ok && time.Until(deadline) < moveMargin {
			return nil
		}
		dep, err := consumer.Move(ctx, c, rec.Consumer, rec.Before, newARN)
		var moved *consumer.ErrChanged
		switch {
		case err == nil:
			ro.Consumers[i], *changed = rollout.Moved(rec, newARN, dep), true
		case errors.As(err, &moved) && moved.Current == newARN:
			ro.Consumers[i] = rollout.Moved(rec, newARN, dep)
		case errors.As(err, &moved):
			ro.Consumers[i] = rollout.Changed(rec, moved.Current)
		case awserr.IsTransient(err) && *changed:
			log.Warn("rollout", "consumer", rec.ARN, "left", "for the next Watch", "error", err.Error())
			return nil
		case awserr.IsTransient(err):
			return workflow.Classify(err)
		default:
			ro.Consumers[i] = rollout.Refused(rec, err)
		}
		log.Info("rollout", "consumer", rec.ARN, "kind", string(rec.Kind), "status", string(ro.Consumers[i].Status), "reason", ro.Consumers[i].Reason)
	}
	return nil
}

// Watch moves what Rollout had no time left for, looks at the deployments
// of the services moved, puts back the ones whose deployment failed
// (rollout.Judge), and deregisters the source when the policy says so and
// everything moved.
func (r *Remediator) Watch(ctx context.Context, st workflow.State) (workflow.Result, error) {
	res, a, t, err := registered(st)
	if err != nil {
		return workflow.Result{}, err
	}
	if res.Rollout == nil {
		return workflow.Result{}, &workflow.InvalidInputError{Err: errors.New("no rollout to watch")}
	}
	ro := *res.Rollout
	ro.Consumers = slices.Clone(ro.Consumers)
	log := r.logger().With("account", t.Account, "region", t.Region, "family", a.Family, "taskDefinitionArn", res.NewARN)
	c, err := r.Clients(t)
	if err != nil {
		return workflow.Result{}, fmt.Errorf("clients for %s/%s: %w", t.Account, t.Region, err)
	}
	var changed bool
	if err := r.move(ctx, c.Consumers, &ro, res.NewARN, &changed, log); err != nil {
		return workflow.Result{}, err
	}
	now := r.now()
	expired := rollout.Expired(ro, now)

	// Observe every deploying service, a cluster at a time.
	byCluster := map[string][]string{}
	for _, rec := range ro.Consumers {
		if rec.Status == workflow.ConsumerDeploying {
			byCluster[rec.Cluster] = append(byCluster[rec.Cluster], rec.ARN)
		}
	}
	seen := map[string]rollout.Service{}
	for cluster, arns := range byCluster {
		described, err := consumer.ServicesOf(ctx, c.Consumers.ECS, cluster, arns)
		if err != nil && changed {
			return r.reportRollout(log, withRollout(res, rollout.Settle(ro, r.budget(), now))), nil // judged next time
		}
		if err != nil {
			return workflow.Result{}, workflow.Classify(err)
		}
		for _, arn := range arns {
			seen[arn] = rollout.ServiceOf(described[arn])
		}
	}

	// Decide, act.
	for i, rec := range ro.Consumers {
		if expired {
			ro.Consumers[i] = rollout.Unmoved(rec)
		}
		if rec.Status != workflow.ConsumerDeploying {
			continue
		}
		v := rollout.Judge(rec, seen[rec.ARN], expired)
		if v.PutBack {
			_, err := consumer.Move(ctx, c.Consumers, rec.Consumer, rec.After, rec.Before)
			var moved *consumer.ErrChanged
			switch {
			case err == nil:
				v.Record, changed = rollout.PutBack(v.Record), true
			case errors.As(err, &moved) && moved.Current == rec.Before:
				v.Record = rollout.PutBack(v.Record)
			case errors.As(err, &moved):
				v.Record = rollout.Changed(v.Record, moved.Current)
			case awserr.IsTransient(err) && changed:
				continue // still DEPLOYING: the next Watch judges it again and puts it back
			case awserr.IsTransient(err):
				return workflow.Result{}, workflow.Classify(err) // the retry judges it again
			default:
				v.Record.Reason += "; putting it back failed: " + err.Error()
			}
		}
		ro.Consumers[i] = v.Record
		if v.Record.Status != workflow.ConsumerDeploying {
			log.Info("rollout", "consumer", rec.ARN, "kind", string(rec.Kind), "status", string(v.Record.Status), "reason", v.Record.Reason)
		}
	}
	ro = rollout.Settle(ro, r.budget(), now)
	if err := r.deregisterSource(ctx, c.ECS, a, &ro, changed); err != nil {
		return workflow.Result{}, err
	}
	res.Rollout = &ro
	return r.reportRollout(log, res), nil
}

func withRollout(res workflow.Result, ro workflow.Rollout) workflow.Result {
	res.Rollout = &ro
	return res
}

// deregisterSource deregisters the source revision when policy
// deregisterSource afterRollout allows it now (rollout.DeregisterSource).
// A transient error fails the step only when it changed nothing else.
func (r *Remediator) deregisterSource(ctx context.Context, c ECS, source taskdef.ARN, ro *workflow.Rollout, changed bool) error {
	if !rollout.DeregisterSource(r.Policy.WithDefaults().DeregisterSource == policy.DeregisterAfterRollout, *ro) {
		return nil
	}
	_, err := c.DeregisterTaskDefinition(ctx, &ecs.DeregisterTaskDefinitionInput{TaskDefinition: aws.String(source.String())})
	switch {
	case err == nil:
		ro.SourceDeregistered = true
	case awserr.IsTransient(err) && !changed:
		return workflow.Classify(fmt.Errorf("deregister the source %s: %w", source, err))
	default:
		ro.Note = "the source revision could not be deregistered: " + err.Error()
	}
	return nil
}

// reportRollout logs the step's outcome and counts the consumers of a
// settled rollout by status.
func (r *Remediator) reportRollout(log *slog.Logger, res workflow.Result) workflow.Result {
	ro := res.Rollout
	log.Info("rollout step", "mode", string(ro.Mode), "consumers", len(ro.Consumers), "settled", ro.Settled, "waitSeconds", ro.WaitSeconds, "sourceDeregistered", ro.SourceDeregistered)
	if !ro.Settled {
		return res
	}
	counts := map[workflow.ConsumerStatus]int{}
	for _, c := range ro.Consumers {
		counts[c.Status]++
	}
	for s, n := range counts {
		r.Metrics.Count(map[string]string{"Status": string(s)}, map[string]int{metrics.Consumers: n})
	}
	return res
}
