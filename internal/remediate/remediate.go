// Package remediate is the remediate function (and the CLI's fix --apply):
// it ensures log groups and registers compliant revisions. It observes
// ECS just before it acts (DescribeTaskDefinition), lets
// internal/reconcile decide, acts, and reports a workflow.Result. The
// Result carries the redacted plan, never the changed task definition.
package remediate

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ecslogfix/ecslogfix/internal/awsclient"
	"github.com/ecslogfix/ecslogfix/internal/awserr"
	"github.com/ecslogfix/ecslogfix/internal/loggroup"
	"github.com/ecslogfix/ecslogfix/internal/metrics"
	"github.com/ecslogfix/ecslogfix/internal/plan"
	"github.com/ecslogfix/ecslogfix/internal/policy"
	"github.com/ecslogfix/ecslogfix/internal/reconcile"
	"github.com/ecslogfix/ecslogfix/internal/taskdef"
	"github.com/ecslogfix/ecslogfix/internal/workflow"
)

// ECS is the part of the ECS API remediate uses.
type ECS interface {
	DescribeTaskDefinition(ctx context.Context, in *ecs.DescribeTaskDefinitionInput, optFns ...func(*ecs.Options)) (*ecs.DescribeTaskDefinitionOutput, error)
	RegisterTaskDefinition(ctx context.Context, in *ecs.RegisterTaskDefinitionInput, optFns ...func(*ecs.Options)) (*ecs.RegisterTaskDefinitionOutput, error)
	DeregisterTaskDefinition(ctx context.Context, in *ecs.DeregisterTaskDefinitionInput, optFns ...func(*ecs.Options)) (*ecs.DeregisterTaskDefinitionOutput, error)
}

// Logs is the part of the CloudWatch Logs API remediate uses.
type Logs = loggroup.Logs

// Clients are the clients of one target (account, region, role).
type Clients struct {
	ECS  ECS
	Logs Logs
}

// ClientsFor returns the clients for a target.
type ClientsFor func(t workflow.Target) (Clients, error)

// Remediator ensures log groups and registers compliant revisions.
type Remediator struct {
	// Policy decides compliance and builds the plan.
	Policy policy.Policy
	// Clients gives ECS and Logs clients per target.
	Clients ClientsFor
	// Partition is the AWS partition; default "aws".
	Partition string
	// Logger receives one line per step; default slog.Default().
	Logger *slog.Logger
	// Metrics receives EMF documents; nil writes none.
	Metrics *metrics.Metrics
}

func (r *Remediator) logger() *slog.Logger {
	if r.Logger != nil {
		return r.Logger
	}
	return slog.Default()
}

func (r *Remediator) partition() string {
	if r.Partition != "" {
		return r.Partition
	}
	return "aws"
}

// Handle runs one remediate invocation: ensure-log-group returns
// workflow.Ensured, register returns workflow.Result. The error, if any, is
// a workflow.ThrottledError, ConcurrentRevisionError or InvalidInputError
// (outermost, so the Lambda runtime reports its type name), or another
// error the state machine's Catch turns into a failure notification.
func (r *Remediator) Handle(ctx context.Context, req workflow.Request) (any, error) {
	var out any
	var err error
	switch req.Action {
	case workflow.ActionEnsureLogGroup:
		out, err = r.EnsureLogGroups(ctx, req.Input.Input)
	case workflow.ActionRegister:
		out, err = r.Register(ctx, req.Input)
	default:
		return nil, &workflow.InvalidInputError{Err: fmt.Errorf("unknown action %q", req.Action)}
	}
	if err != nil {
		return nil, workflow.Classify(err)
	}
	return out, nil
}

// checkInput validates the execution input and returns the source ARN and
// the target completed from it.
func checkInput(in workflow.Input) (taskdef.ARN, workflow.Target, error) {
	a, err := taskdef.ParseARN(in.TaskDefinitionARN)
	if err != nil {
		return taskdef.ARN{}, workflow.Target{}, &workflow.InvalidInputError{Err: fmt.Errorf("taskDefinitionArn: %w", err)}
	}
	bad := func(format string, args ...any) error {
		return &workflow.InvalidInputError{Err: fmt.Errorf(format+" does not match taskDefinitionArn %s", append(args, in.TaskDefinitionARN)...)}
	}
	switch {
	case in.Family != "" && in.Family != a.Family:
		return a, workflow.Target{}, bad("family %q", in.Family)
	case in.Revision != 0 && in.Revision != a.Revision:
		return a, workflow.Target{}, bad("revision %d", in.Revision)
	case in.Target.Account != "" && in.Target.Account != a.Account:
		return a, workflow.Target{}, bad("target account %s", in.Target.Account)
	case in.Target.Region != "" && in.Target.Region != a.Region:
		return a, workflow.Target{}, bad("target region %s", in.Target.Region)
	}
	t := in.Target
	t.Account, t.Region = a.Account, a.Region
	return a, t, nil
}

// EnsureLogGroups makes every log group of in.LogGroups exist
// (internal/loggroup).
func (r *Remediator) EnsureLogGroups(ctx context.Context, in workflow.Input) (workflow.Ensured, error) {
	_, t, err := checkInput(in)
	if err != nil {
		return workflow.Ensured{}, err
	}
	out := workflow.Ensured{LogGroups: []workflow.LogGroupResult{}}
	for _, g := range in.LogGroups {
		res, err := r.ensure(ctx, t, g)
		if err != nil {
			return workflow.Ensured{}, err
		}
		out.LogGroups = append(out.LogGroups, res)
	}
	return out, nil
}

// ensure makes one group exist in its own region of the target's account:
// central logging (policy logRegion) puts it in another region.
func (r *Remediator) ensure(ctx context.Context, t workflow.Target, g plan.LogGroup) (workflow.LogGroupResult, error) {
	region := g.Region
	if region == "" {
		region = t.Region
	}
	c, err := r.Clients(workflow.Target{Account: t.Account, Region: region, RoleARN: t.RoleARN})
	if err != nil {
		return workflow.LogGroupResult{}, fmt.Errorf("clients for %s/%s: %w", t.Account, region, err)
	}
	return loggroup.Ensure(ctx, c.Logs, r.logger().With("account", t.Account), g, region)
}

// Register observes the family and the source, lets reconcile decide, and
// registers the plan's compliant revision when the decision says so (see
// reconcile.Decide for the rules). Afterwards it withdraws its revision if
// newer content overtook it while it worked (reconcile.Overtaken).
func (r *Remediator) Register(ctx context.Context, st workflow.State) (workflow.Result, error) {
	in := st.Input
	a, t, err := checkInput(in)
	if err != nil {
		return workflow.Result{}, err
	}
	res := workflow.Result{
		Version:   workflow.Version,
		Target:    t,
		Family:    a.Family,
		SourceARN: in.TaskDefinitionARN,
		Principal: in.Principal,
		Origin:    in.Origin,
		Trigger:   in.Trigger,
		EventID:   in.EventID,
		// The report measures registration to remediation from it.
		RegisteredAt: in.RegisteredAt,
	}
	if st.Ensured != nil {
		res.LogGroups = st.Ensured.LogGroups
	}
	log := r.logger().With("account", t.Account, "region", t.Region, "family", a.Family, "revision", a.Revision, "taskDefinitionArn", in.TaskDefinitionARN)
	c, err := r.Clients(t)
	if err != nil {
		return workflow.Result{}, fmt.Errorf("clients for %s/%s: %w", t.Account, t.Region, err)
	}

	// Observe.
	obs := reconcile.Observation{Source: a, Enforcement: cmpEnforcement(in.Enforcement, r.Policy)}
	if obs.Latest, err = describe(ctx, c.ECS, a.Family); err != nil {
		return workflow.Result{}, err
	}
	if reconcile.NeedsSource(obs) {
		if obs.ByARN, err = describe(ctx, c.ECS, a.String()); err != nil {
			return workflow.Result{}, err
		}
	}
	// Decide.
	d, err := reconcile.Decide(obs, r.Policy, plan.Context{Partition: r.partition(), Account: t.Account, Region: t.Region, Today: time.Now()})
	var pe *reconcile.PlanError
	switch {
	case errors.As(err, &pe):
		return workflow.Result{}, &workflow.InvalidInputError{Err: fmt.Errorf("%s: %w", in.TaskDefinitionARN, err)}
	case err != nil:
		return workflow.Result{}, err
	}
	res.LatestARN = d.LatestARN
	if d.Plan != nil && !d.Plan.Compliant && !d.Plan.Exempt {
		redacted := *d.Plan
		redacted.Changed = nil
		res.Plan = &redacted
	}
	if d.Act == reconcile.ActNone {
		return r.finish(log, res, d.Outcome, d.Detail), nil
	}

	// Act. The plan may name groups the detect-time plan did not (the
	// content was re-read): ensure those too, so the new revision never
	// points at a missing group.
	for _, g := range d.Plan.LogGroups {
		if ensured(res.LogGroups, g) {
			continue
		}
		lg, err := r.ensure(ctx, t, g)
		if err != nil {
			return workflow.Result{}, err
		}
		res.LogGroups = append(res.LogGroups, lg)
	}
	src := d.Source.TaskDefinition
	reg, err := taskdef.RegisterInput(d.Plan.Changed, d.Source.Tags, taskdef.ProvenanceTags(src.Revision)...)
	if err != nil {
		d = reconcile.Unbuildable(d, err)
		return r.finish(log, res, d.Outcome, d.Detail), nil
	}
	out, err := c.ECS.RegisterTaskDefinition(ctx, reg)
	if err != nil {
		return workflow.Result{}, workflow.Classify(fmt.Errorf("register task definition %s: %w", a.Family, err))
	}
	if out.TaskDefinition == nil {
		return workflow.Result{}, &workflow.ThrottledError{Err: errors.New("register task definition: empty response")}
	}
	ours := out.TaskDefinition.Revision
	if o, err := r.withdrawIfOvertaken(ctx, c.ECS, a, revisionOf(d.LatestARN), ours, &res); err != nil || o.Withdraw {
		if err != nil {
			return workflow.Result{}, err
		}
		return r.finish(log, res, o.Outcome, o.Detail), nil
	}
	res.NewARN = aws.ToString(out.TaskDefinition.TaskDefinitionArn)
	res.LatestARN = res.NewARN // the family's latest ACTIVE revision is now ours
	return r.finish(log, res, workflow.OutcomeRemediated, reconcile.Registered(a.Family, ours, src.Revision)), nil
}

// maxOvertakeReads bounds the revisions withdrawIfOvertaken reads.
const maxOvertakeReads = 5

// withdrawIfOvertaken reads, newest first, the revisions registered
// between the latest observed before registering and ours, and deregisters
// ours when reconcile.Overtaken says so. Revision numbers only grow, so
// ours == latest+1 costs no read.
func (r *Remediator) withdrawIfOvertaken(ctx context.Context, c ECS, a taskdef.ARN, latest, ours int32, res *workflow.Result) (reconcile.Overtake, error) {
	for rev := ours - 1; rev > latest && rev >= ours-maxOvertakeReads; rev-- {
		ref := a
		ref.Revision = rev
		between, err := describe(ctx, c, ref.String())
		if err != nil {
			return reconcile.Overtake{}, err
		}
		o := reconcile.Overtaken(a, ours, between)
		if !o.Settled {
			continue
		}
		if o.Withdraw {
			mine := a
			mine.Revision = ours
			if _, err := c.DeregisterTaskDefinition(ctx, &ecs.DeregisterTaskDefinitionInput{TaskDefinition: aws.String(mine.String())}); err != nil {
				return reconcile.Overtake{}, workflow.Classify(fmt.Errorf("withdraw %s: %w", mine.String(), err))
			}
			res.LatestARN = ref.String()
		}
		return o, nil
	}
	return reconcile.Overtake{}, nil
}

// describe reads ref (a family or an exact revision) with its tags. A
// revision ECS cannot describe is a Revision without a task definition.
func describe(ctx context.Context, c ECS, ref string) (*reconcile.Revision, error) {
	out, err := c.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{
		TaskDefinition: aws.String(ref),
		Include:        []types.TaskDefinitionField{types.TaskDefinitionFieldTags},
	})
	switch {
	case err != nil && awserr.IsTaskDefinitionNotFound(err):
		return &reconcile.Revision{}, nil
	case err != nil:
		return nil, workflow.Classify(fmt.Errorf("describe task definition %s: %w", ref, err))
	}
	return &reconcile.Revision{TaskDefinition: out.TaskDefinition, Tags: out.Tags}, nil
}

// revisionOf returns the revision of a task-definition ARN, or 0.
func revisionOf(arn string) int32 {
	a, err := taskdef.ParseARN(arn)
	if err != nil {
		return 0
	}
	return a.Revision
}

func ensured(done []workflow.LogGroupResult, g plan.LogGroup) bool {
	for _, d := range done {
		if d.Name == g.Name && (d.Region == g.Region || g.Region == "") {
			return true
		}
	}
	return false
}

// cmpEnforcement is the execution's enforcement, else the policy's.
func cmpEnforcement(e policy.Enforcement, p policy.Policy) policy.Enforcement {
	if e != "" {
		return e
	}
	return p.WithDefaults().Enforcement
}

func (r *Remediator) finish(log *slog.Logger, res workflow.Result, o workflow.Outcome, detail string) workflow.Result {
	res.Outcome, res.Detail = o, detail
	log.Info("register", "outcome", string(o), "newArn", res.NewARN, "latestArn", res.LatestARN, "detail", res.Detail)
	counts := map[string]int{metrics.Outcomes: 1}
	switch o {
	case workflow.OutcomeRemediated:
		counts[metrics.Remediations] = 1
	case workflow.OutcomeBlocked, workflow.OutcomeNeedsHuman:
		counts[metrics.Blocked] = 1
	}
	r.Metrics.Count(map[string]string{"Outcome": string(o)}, counts)
	return res
}

// ClientsFrom gives each target the factory's ECS and Logs clients.
func ClientsFrom(f *awsclient.Factory) ClientsFor {
	return func(t workflow.Target) (Clients, error) {
		s := awsclient.Scope{Region: t.Region, RoleARN: t.RoleARN}
		e, err := f.ECS(s)
		if err != nil {
			return Clients{}, err
		}
		l, err := f.Logs(s)
		return Clients{ECS: e, Logs: l}, err
	}
}
