// Package remediate is the remediate function (and the CLI's fix --apply):
// it ensures log groups, registers compliant revisions and rolls them out
// to the services, rule targets and schedules that run the source. Each
// step observes just before it acts — ECS (DescribeTaskDefinition) and the
// log groups of the revision it would lead to (loggroup.Observer) — lets
// internal/reconcile decide, acts, and reports a workflow.Result. A group
// is created only for a decision to register, or to create the groups of
// an otherwise compliant source. The Result carries the redacted plan,
// never the changed task definition.
package remediate

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ecslogfix/ecslogfix/internal/awsarn"
	"github.com/ecslogfix/ecslogfix/internal/awsclient"
	"github.com/ecslogfix/ecslogfix/internal/awserr"
	"github.com/ecslogfix/ecslogfix/internal/consumer"
	"github.com/ecslogfix/ecslogfix/internal/loggroup"
	"github.com/ecslogfix/ecslogfix/internal/metrics"
	"github.com/ecslogfix/ecslogfix/internal/plan"
	"github.com/ecslogfix/ecslogfix/internal/policy"
	"github.com/ecslogfix/ecslogfix/internal/policy/awslogs"
	"github.com/ecslogfix/ecslogfix/internal/reconcile"
	"github.com/ecslogfix/ecslogfix/internal/taskdef"
	"github.com/ecslogfix/ecslogfix/internal/workflow"
)

// ECS is the part of the ECS API remediate uses.
type ECS interface {
	DescribeTaskDefinition(ctx context.Context, in *ecs.DescribeTaskDefinitionInput, optFns ...func(*ecs.Options)) (*ecs.DescribeTaskDefinitionOutput, error)
	RegisterTaskDefinition(ctx context.Context, in *ecs.RegisterTaskDefinitionInput, optFns ...func(*ecs.Options)) (*ecs.RegisterTaskDefinitionOutput, error)
	DeregisterTaskDefinition(ctx context.Context, in *ecs.DeregisterTaskDefinitionInput, optFns ...func(*ecs.Options)) (*ecs.DeregisterTaskDefinitionOutput, error)
	loggroup.Settings
}

// Logs is the part of the CloudWatch Logs API remediate uses.
type Logs = loggroup.Logs

// Clients are the clients of one target (account, region, role).
type Clients struct {
	ECS  ECS
	Logs Logs
	// Consumers are what the Rollout and Watch steps observe and move.
	Consumers consumer.Clients
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
	// Now is the clock of the rollout's watch budget; default time.Now.
	Now func() time.Time
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
// workflow.Ensured; register, rollout and watch return workflow.Result. The error, if any, is
// a workflow.ThrottledError, ConcurrentRevisionError or InvalidInputError
// (outermost, so the Lambda runtime reports its type name), or another
// error the state machine's Catch turns into a failure notification; its
// text is sanitised as publicError says.
func (r *Remediator) Handle(ctx context.Context, req workflow.Request) (any, error) {
	var out any
	var err error
	switch req.Action {
	case workflow.ActionEnsureLogGroup:
		out, err = r.EnsureLogGroups(ctx, req.Input.Input)
	case workflow.ActionRegister:
		out, err = r.Register(ctx, req.Input)
	case workflow.ActionRollout:
		out, err = r.Rollout(ctx, req.Input)
	case workflow.ActionWatch:
		out, err = r.Watch(ctx, req.Input)
	default:
		err = &workflow.InvalidInputError{Err: fmt.Errorf("unknown action %q", req.Action)}
	}
	if err != nil {
		return nil, publicError(workflow.Classify(err))
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
	// The groups detect planned are only what it saw (each step reads
	// them again), but a contract that names an impossible one is broken.
	for i, g := range in.LogGroups {
		if !awslogs.ValidLogGroupName(g.Name) || (g.Region != "" && !awsarn.ValidRegion(g.Region)) {
			return a, workflow.Target{}, &workflow.InvalidInputError{Err: fmt.Errorf("logGroups[%d]: %q in %q is not a log group of a region", i, g.Name, g.Region)}
		}
	}
	t := in.Target
	t.Account, t.Region = a.Account, a.Region
	return a, t, nil
}

// EnsureLogGroups re-reads the source and the log groups of the revision
// the execution would lead to, and — only when reconcile decides to
// register, or to create the missing groups of a compliant source —
// creates the missing groups and sets the lifecycle's retention on
// existing ones (internal/loggroup). Every group of that revision is
// reported, created or existing; none when the decision ends otherwise
// (Register then reports why).
func (r *Remediator) EnsureLogGroups(ctx context.Context, in workflow.Input) (workflow.Ensured, error) {
	a, t, err := checkInput(in)
	if err != nil {
		return workflow.Ensured{}, err
	}
	log := r.logger().With("account", t.Account, "region", t.Region, "family", a.Family, "revision", a.Revision, "taskDefinitionArn", in.TaskDefinitionARN)
	c, err := r.Clients(t)
	if err != nil {
		return workflow.Ensured{}, fmt.Errorf("clients for %s/%s: %w", t.Account, t.Region, err)
	}
	obs := reconcile.Observation{Source: a, Enforcement: cmpEnforcement(in.Enforcement, r.Policy), Token: in.ExecutionToken}
	d, err := r.decide(ctx, c.ECS, t, &obs, in.TaskDefinitionARN)
	if err != nil {
		return workflow.Ensured{}, err
	}
	out := workflow.Ensured{LogGroups: []workflow.LogGroupResult{}}
	if d.Act == reconcile.ActNone {
		log.Info("ensure", "skipped", string(d.Outcome), "detail", d.Detail)
		return out, nil
	}
	out.LogGroups, err = r.applyGroups(ctx, t, d.Plan.LogGroups, nil)
	return out, err
}

// decide observes ECS and the log groups the decision needs, and decides.
func (r *Remediator) decide(ctx context.Context, c ECS, t workflow.Target, obs *reconcile.Observation, arn string) (reconcile.Decision, error) {
	var err error
	if obs.Latest, err = describe(ctx, c, obs.Source.Family); err != nil {
		return reconcile.Decision{}, err
	}
	if reconcile.NeedsSource(*obs) {
		if obs.ByARN, err = describe(ctx, c, obs.Source.String()); err != nil {
			return reconcile.Decision{}, err
		}
	}
	// Today judges dated exemptions (exemption.Subject).
	pc := plan.Context{Partition: r.partition(), Account: t.Account, Region: t.Region, Today: r.now()}
	refs, mode, err := reconcile.GroupsToObserve(*obs, r.Policy, pc)
	if err == nil && (len(refs) > 0 || mode) {
		var f awslogs.Facts
		f, err = r.observer().Facts(ctx, t, refs, mode)
		if obs.Facts.Groups == nil {
			obs.Facts.Groups = map[awslogs.GroupRef]awslogs.GroupFact{}
		}
		maps.Copy(obs.Facts.Groups, f.Groups)
		obs.Facts.LogDriverMode = f.LogDriverMode
	}
	var d reconcile.Decision
	if err == nil {
		d, err = reconcile.Decide(*obs, r.Policy, pc)
	}
	var pe *reconcile.PlanError
	switch {
	case errors.As(err, &pe):
		return reconcile.Decision{}, &workflow.InvalidInputError{Err: fmt.Errorf("%s: %w", arn, err)}
	case err != nil:
		return reconcile.Decision{}, err
	}
	return d, nil
}

// observer reads the log groups and the account's log driver mode of one
// invocation, each once.
func (r *Remediator) observer() *loggroup.Observer {
	return loggroup.NewObserver(
		func(t workflow.Target) (loggroup.Reader, error) {
			c, err := r.Clients(t)
			return c.Logs, err
		},
		func(t workflow.Target) (loggroup.Settings, error) {
			c, err := r.Clients(t)
			return c.ECS, err
		})
}

// applyGroups carries out the plan's changes to each group, in its own
// region of the target's account (central logging puts it in another
// region), and reports every group: the result an earlier step gave for a
// group it already handled (done), else what applying gave now.
func (r *Remediator) applyGroups(ctx context.Context, t workflow.Target, groups []plan.LogGroup, done []workflow.LogGroupResult) ([]workflow.LogGroupResult, error) {
	out := make([]workflow.LogGroupResult, 0, len(groups))
	for _, g := range groups {
		if i := slices.IndexFunc(done, func(d workflow.LogGroupResult) bool { return d.Name == g.Name && d.Region == g.Region }); i >= 0 && !g.Create && g.SetRetention == 0 {
			out = append(out, done[i])
			continue
		}
		c, err := r.Clients(workflow.Target{Account: t.Account, Region: g.Region, RoleARN: t.RoleARN})
		if err != nil {
			return nil, fmt.Errorf("clients for %s/%s: %w", t.Account, g.Region, err)
		}
		res, err := loggroup.Apply(ctx, c.Logs, r.logger().With("account", t.Account), g)
		if err != nil {
			return nil, err
		}
		out = append(out, res)
	}
	return out, nil
}

// Register re-reads the family, the source and what the groups need, lets
// reconcile decide, and registers the plan's compliant revision when the
// decision says so (see reconcile.Decide for the rules), after the
// revision's groups exist: those EnsureLogGroups handled are taken as it
// reported them, any other is read (and created) now. When the source's
// only problem was missing groups, their creation is the outcome
// (LOG_GROUP_CREATED). Afterwards it withdraws its revision if newer
// content overtook it while it worked (reconcile.Overtaken).
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
		SweepID:   in.SweepID,
		// The report measures registration to remediation from it.
		RegisteredAt: in.RegisteredAt,
	}
	obs := reconcile.Observation{Source: a, Enforcement: cmpEnforcement(in.Enforcement, r.Policy), Token: in.ExecutionToken}
	var done []workflow.LogGroupResult
	if st.Ensured != nil {
		done = st.Ensured.LogGroups
		res.LogGroups = done
		obs.Facts.Groups = map[awslogs.GroupRef]awslogs.GroupFact{}
		for _, g := range done {
			ref := awslogs.GroupRef{Name: g.Name, Region: g.Region}
			obs.Facts.Groups[ref] = awslogs.GroupFact{Exists: true, RetentionDays: g.RetentionDays, KMSKeyARN: g.KMSKeyARN, Class: g.Class, DeletionProtection: g.DeletionProtectionEnabled}
			if g.Created {
				obs.Created = append(obs.Created, ref)
			}
		}
	}
	log := r.logger().With("account", t.Account, "region", t.Region, "family", a.Family, "revision", a.Revision, "taskDefinitionArn", in.TaskDefinitionARN)
	c, err := r.Clients(t)
	if err != nil {
		return workflow.Result{}, fmt.Errorf("clients for %s/%s: %w", t.Account, t.Region, err)
	}

	// Observe and decide.
	d, err := r.decide(ctx, c.ECS, t, &obs, in.TaskDefinitionARN)
	if err != nil {
		return workflow.Result{}, err
	}
	res.LatestARN = d.LatestARN
	if d.Plan != nil && !d.Plan.Compliant && !d.Plan.Exempt {
		redacted := *d.Plan
		redacted.Changed = nil
		res.Plan = &redacted
	}
	if d.Registered != "" {
		// An earlier attempt registered it and lost the response (or timed
		// out): report it, unless newer content overtook it meanwhile.
		recovered := func(kept taskdef.ARN) string { return reconcile.Recovered(kept.String(), a) }
		return r.keepIfNotOvertaken(ctx, log, c.ECS, a, in.ExecutionToken, a.Revision, revisionOf(d.Registered), recovered, res)
	}
	if d.Act == reconcile.ActNone {
		return r.finish(log, res, d.Outcome, d.Detail), nil
	}

	// Act: every group of the revision exists first. The content may have
	// been re-read since EnsureLogGroups: groups it did not handle are
	// handled now, so the new revision never points at a missing group.
	if res.LogGroups, err = r.applyGroups(ctx, t, d.Plan.LogGroups, done); err != nil {
		return workflow.Result{}, err
	}
	if d.Act == reconcile.ActCreateGroups {
		var made []awslogs.GroupRef
		for _, g := range res.LogGroups {
			if g.Created {
				made = append(made, awslogs.GroupRef{Name: g.Name, Region: g.Region})
			}
		}
		return r.finish(log, res, workflow.OutcomeLogGroupCreated, reconcile.GroupsCreated(made)), nil
	}
	src := d.Source.TaskDefinition
	reg, err := taskdef.RegisterInput(d.Plan.Changed, d.Source.Tags, append(taskdef.ProvenanceTags(src.Revision), taskdef.ExecutionTag(in.ExecutionToken)...)...)
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
	registered := func(kept taskdef.ARN) string { return reconcile.Registered(a.Family, kept.Revision, src.Revision) }
	return r.keepIfNotOvertaken(ctx, log, c.ECS, a, in.ExecutionToken, reconcile.JudgedAbove(a, d.LatestARN), out.TaskDefinition.Revision, registered, res)
}

// keepIfNotOvertaken finishes a registration of this remediation (ours,
// of a's family): withdrawn, with this remediation's duplicates, if newer
// content overtook it (overtaken); else the first of its registrations
// stays (reconcile.KeepFirst), REMEDIATED with the sentence said makes of
// it, and the others are deregistered.
func (r *Remediator) keepIfNotOvertaken(ctx context.Context, log *slog.Logger, c ECS, a taskdef.ARN, token string, above, ours int32, said func(kept taskdef.ARN) string, res workflow.Result) (workflow.Result, error) {
	mine := a
	mine.Revision = ours
	o, own, below, overtaker, err := overtaken(ctx, c, a, token, above, ours)
	if err != nil {
		return workflow.Result{}, err
	}
	if reconcile.KeepsOwnBelow(o, below) {
		o = reconcile.Overtake{}
	}
	kept, withdraw := reconcile.KeepFirst(mine, own)
	if o.Withdraw {
		// Ours last: until it goes, the family's latest is this
		// remediation's own, so a retry of the step after a withdraw that
		// failed looks below it again and finds what is left.
		withdraw = append(own, mine)
	}
	for _, w := range withdraw {
		if _, err := c.DeregisterTaskDefinition(ctx, &ecs.DeregisterTaskDefinitionInput{TaskDefinition: aws.String(w.String())}); err != nil {
			return workflow.Result{}, workflow.Classify(fmt.Errorf("withdraw %s: %w", w, err))
		}
	}
	if o.Withdraw {
		res.LatestARN = overtaker
		return r.finish(log, res, o.Outcome, o.Detail), nil
	}
	detail := said(kept)
	if len(withdraw) > 0 {
		detail += reconcile.Duplicates(withdraw)
	}
	res.NewARN = kept.String()
	res.LatestARN = res.NewARN // the family's latest ACTIVE revision is now the kept one
	outcome, detail := reconcile.Kept(res.Plan, detail)
	return r.finish(log, res, outcome, detail), nil
}

// maxOvertakeReads bounds the revisions overtaken reads.
const maxOvertakeReads = 5

// overtaken reads, newest first, the revisions registered between above
// (reconcile.JudgedAbove) and ours, and returns what reconcile.Overtaken
// says of them, this remediation's own registrations found on the way
// (duplicates of a retried or racing call; Overtake.Own), the verdicts of
// the revisions below the one that settled it, and that revision. The
// reads stop at a revision that keeps ours; after one that withdraws it
// they go on, for this remediation's own registrations below
// (reconcile.KeepsOwnBelow).
// Revision numbers only grow, so ours == above+1 costs no read.
func overtaken(ctx context.Context, c ECS, a taskdef.ARN, token string, above, ours int32) (o reconcile.Overtake, own []taskdef.ARN, below []reconcile.Overtake, overtaker string, err error) {
	for rev := ours - 1; rev > above && rev >= ours-maxOvertakeReads; rev-- {
		ref := a
		ref.Revision = rev
		between, err := describe(ctx, c, ref.String())
		if err != nil {
			return reconcile.Overtake{}, nil, nil, "", err
		}
		v := reconcile.Overtaken(a, ours, token, between)
		if o.Settled {
			below = append(below, v) // overtaken already (reconcile.KeepsOwnBelow)
		}
		switch {
		case v.Own:
			own = append(own, ref)
		case o.Settled: // below the overtaker, only this remediation's own are collected
		case v.Settled && !v.Withdraw:
			return v, own, nil, "", nil
		case v.Settled:
			o, overtaker = v, ref.String()
		}
	}
	return o, own, below, overtaker, nil
}

// revisionOf returns the revision of a task-definition ARN, or 0.
func revisionOf(arn string) int32 {
	a, err := taskdef.ParseARN(arn)
	if err != nil {
		return 0
	}
	return a.Revision
}

// describe is Describe with the error classified for the workflow's
// retries and Catch.
func describe(ctx context.Context, c ECS, ref string) (*reconcile.Revision, error) {
	rev, err := Describe(ctx, c, ref)
	if err != nil {
		return nil, workflow.Classify(fmt.Errorf("describe task definition %s: %w", ref, err))
	}
	return rev, nil
}

// Describer is the ECS API Describe reads with.
type Describer interface {
	DescribeTaskDefinition(ctx context.Context, in *ecs.DescribeTaskDefinitionInput, optFns ...func(*ecs.Options)) (*ecs.DescribeTaskDefinitionOutput, error)
}

// Describe reads ref (a family or an exact revision) with its tags, as
// the remediation and the CLI's fix read it. A revision ECS does not find
// is a Revision without a task definition; an answer without one (which
// ECS does not give) is an error, never read as "not found". The AWS
// error is returned as it is.
func Describe(ctx context.Context, c Describer, ref string) (*reconcile.Revision, error) {
	out, err := c.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{
		TaskDefinition: aws.String(ref),
		Include:        []types.TaskDefinitionField{types.TaskDefinitionFieldTags},
	})
	switch {
	case err != nil && awserr.IsTaskDefinitionNotFound(err):
		return &reconcile.Revision{}, nil
	case err != nil:
		return nil, err
	case out.TaskDefinition == nil:
		return nil, fmt.Errorf("DescribeTaskDefinition answered for %s without a task definition", ref)
	}
	return &reconcile.Revision{TaskDefinition: out.TaskDefinition, Tags: out.Tags}, nil
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
	case workflow.OutcomeRemediated, workflow.OutcomeLogGroupCreated:
		counts[metrics.Remediations] = 1
	case workflow.OutcomePartlyRemediated:
		counts[metrics.Remediations], counts[metrics.Blocked] = 1, 1
	case workflow.OutcomeBlocked, workflow.OutcomeNeedsHuman:
		counts[metrics.Blocked] = 1
	}
	r.Metrics.Count(map[string]string{"Outcome": string(o)}, counts)
	return res
}

// ClientsFrom gives each target the factory's ECS, Logs, EventBridge and
// Scheduler clients.
func ClientsFrom(f *awsclient.Factory) ClientsFor {
	return func(t workflow.Target) (Clients, error) {
		s := awsclient.Scope{Region: t.Region, RoleARN: t.RoleARN}
		e, err := f.ECS(s)
		if err != nil {
			return Clients{}, err
		}
		l, err := f.Logs(s)
		if err != nil {
			return Clients{}, err
		}
		ev, err := f.Events(s)
		if err != nil {
			return Clients{}, err
		}
		sc, err := f.Scheduler(s)
		return Clients{ECS: e, Logs: l, Consumers: consumer.Clients{ECS: e, Events: ev, Scheduler: sc}}, err
	}
}
