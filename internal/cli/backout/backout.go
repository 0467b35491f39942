// Package backout is the backout executor: it reads a revision ecslogfix
// registered, checks that ecslogfix did register it (all its provenance
// tags, a source older than itself, a trusted registrant), takes the
// backoutsteps.Step values backoutsteps.Steps gives for what it found — the steps the
// notification of the same remediation lists — and with Apply runs them
// against AWS in order.
package backout

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/ecslogfix/ecslogfix/internal/awsarn"
	"github.com/ecslogfix/ecslogfix/internal/awserr"
	backoutsteps "github.com/ecslogfix/ecslogfix/internal/backout"
	"github.com/ecslogfix/ecslogfix/internal/cli/explain"
	"github.com/ecslogfix/ecslogfix/internal/config/naming"
	"github.com/ecslogfix/ecslogfix/internal/consumer"
	"github.com/ecslogfix/ecslogfix/internal/history"
	"github.com/ecslogfix/ecslogfix/internal/loggroup"
	"github.com/ecslogfix/ecslogfix/internal/message"
	"github.com/ecslogfix/ecslogfix/internal/plan"
	"github.com/ecslogfix/ecslogfix/internal/policy"
	"github.com/ecslogfix/ecslogfix/internal/policy/awslogs"
	"github.com/ecslogfix/ecslogfix/internal/policy/exemption"
	"github.com/ecslogfix/ecslogfix/internal/taskdef"
	"github.com/ecslogfix/ecslogfix/internal/workflow"
)

// ECS is the part of the ECS API backout uses.
type ECS interface {
	DescribeTaskDefinition(ctx context.Context, in *ecs.DescribeTaskDefinitionInput, optFns ...func(*ecs.Options)) (*ecs.DescribeTaskDefinitionOutput, error)
	DeregisterTaskDefinition(ctx context.Context, in *ecs.DeregisterTaskDefinitionInput, optFns ...func(*ecs.Options)) (*ecs.DeregisterTaskDefinitionOutput, error)
	ListServices(ctx context.Context, in *ecs.ListServicesInput, optFns ...func(*ecs.Options)) (*ecs.ListServicesOutput, error)
	DescribeServices(ctx context.Context, in *ecs.DescribeServicesInput, optFns ...func(*ecs.Options)) (*ecs.DescribeServicesOutput, error)
	UpdateService(ctx context.Context, in *ecs.UpdateServiceInput, optFns ...func(*ecs.Options)) (*ecs.UpdateServiceOutput, error)
	TagResource(ctx context.Context, in *ecs.TagResourceInput, optFns ...func(*ecs.Options)) (*ecs.TagResourceOutput, error)
	ListTaskDefinitions(ctx context.Context, in *ecs.ListTaskDefinitionsInput, optFns ...func(*ecs.Options)) (*ecs.ListTaskDefinitionsOutput, error)
	RegisterTaskDefinition(ctx context.Context, in *ecs.RegisterTaskDefinitionInput, optFns ...func(*ecs.Options)) (*ecs.RegisterTaskDefinitionOutput, error)
}

// SFN is the part of the Step Functions API backout --execution
// reads the remediation's result with.
type SFN interface {
	DescribeExecution(ctx context.Context, in *sfn.DescribeExecutionInput, optFns ...func(*sfn.Options)) (*sfn.DescribeExecutionOutput, error)
}

// Logs is the part of the CloudWatch Logs API backout uses.
type Logs interface {
	DescribeLogGroups(ctx context.Context, in *cloudwatchlogs.DescribeLogGroupsInput, optFns ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.DescribeLogGroupsOutput, error)
	ListTagsForResource(ctx context.Context, in *cloudwatchlogs.ListTagsForResourceInput, optFns ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.ListTagsForResourceOutput, error)
	DescribeLogStreams(ctx context.Context, in *cloudwatchlogs.DescribeLogStreamsInput, optFns ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.DescribeLogStreamsOutput, error)
	DeleteLogGroup(ctx context.Context, in *cloudwatchlogs.DeleteLogGroupInput, optFns ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.DeleteLogGroupOutput, error)
	PutLogGroupDeletionProtection(ctx context.Context, in *cloudwatchlogs.PutLogGroupDeletionProtectionInput, optFns ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.PutLogGroupDeletionProtectionOutput, error)
}

// Result is what backout found and did: the steps of backoutsteps.Steps
// for the revision, each with what became of it.
type Result struct {
	Region            string
	Family            string
	TaskDefinitionARN string // the revision ecslogfix registered
	SourceARN         string // the revision it was built from
	Applied           bool
	Steps             []Step
	LatestARN         string // after --apply: the family's latest ACTIVE revision
	ExemptUntil       string // the day the source is exempt until
	Warning           string // what backout could not look for, e.g. the services without --cluster
}

// Step is one step and its status. Steps of backoutsteps.Steps carry
// their command; a skipped one that backoutsteps.Steps has no step for (a log
// group ecslogfix did not create) carries none. The JSON field names are
// part of the documented, stable output.
type Step struct {
	backoutsteps.Step
	Status StepStatus `json:"status"`
	Reason string     `json:"reason,omitempty"` // why it was skipped or failed
}

// StepStatus is what became of a backout step.
type StepStatus string

// Step statuses.
const (
	StepPlanned StepStatus = "PLANNED" // dry run: --apply runs it
	StepDone    StepStatus = "DONE"
	StepSkipped StepStatus = "SKIPPED" // not run, and --apply would not run it: Reason says why
	StepFailed  StepStatus = "FAILED"
)

// Executor runs backouts on one account-region's clients.
type Executor struct {
	ECS    ECS
	Logs   Logs
	Region string
	// Consumers move rule targets and schedules back; nil: those steps
	// fail.
	Consumers *consumer.Clients
	// SFN reads a remediation execution's result (--execution, or the one
	// the revision's execution tag names); nil: none is read.
	SFN SFN
	// Policy gives the end-date tag and its default term, and the
	// exemption tag a copy of a deregistered source gets.
	Policy policy.Policy
	Now    func() time.Time // nil: time.Now
	// Names are the deployment's resource names: its remediate and member
	// roles are principals backout trusts to have registered a revision.
	Names naming.Names
	// Caller is the principal running backout: a revision it registered
	// itself (ecslogfix fix --apply) is trusted too.
	Caller string
}

// Request is one backout, as the command line asks for it.
type Request struct {
	TaskDefinition string   // the revision ecslogfix registered: FAMILY:REV or its ARN
	Clusters       []string // the clusters whose services running it move back
	DeleteLogGroup bool     // also delete the groups ecslogfix created for it, when empty and unused
	Apply          bool     // run the steps (default: plan them)
	Execution      string   // the remediation whose rollout record says what moved
	ExemptUntil    string   // the day the source is exempt until; "": today + the policy's backoutDays
}

// trustRegistrant accepts the principal ECS reports as the revision's
// registrant (registeredBy, "DescribeTaskDefinition", ECS API reference)
// when it is the deployment's remediate or member role, or the principal
// running backout (a CLI fix). ECS does not always report it (nor does an
// emulator): then the tags and revision order alone decide.
func (b *Executor) trustRegistrant(registeredBy string) error {
	if registeredBy == "" {
		return nil
	}
	if r, ok := awsarn.ParseRole(registeredBy); ok &&
		(r.Name == b.Names.FunctionRole(naming.FunctionRemediate) || r.Name == b.Names.MemberRole()) {
		return nil
	}
	if b.Caller != "" && samePrincipal(registeredBy, b.Caller) {
		return nil
	}
	return fmt.Errorf("registered by %s, neither ecslogfix's %s or %s role nor the caller", registeredBy,
		b.Names.FunctionRole(naming.FunctionRemediate), b.Names.MemberRole())
}

// samePrincipal compares two principal ARNs, an assumed role by its role
// (sessions differ between runs).
func samePrincipal(x, y string) bool {
	rx, okx := awsarn.ParseRole(x)
	ry, oky := awsarn.ParseRole(y)
	if okx && oky {
		return rx.ARN() == ry.ARN()
	}
	return x == y
}

// recordedExecution returns the ARN of the remediation execution token
// names (the series' first attempt: workflow.Input.ExecutionToken) and its
// result when it registered arn, else "". Later attempts of a series are
// not looked for.
func (b *Executor) recordedExecution(ctx context.Context, rev taskdef.ARN, token, arn string) (string, workflow.Result) {
	if token == "" || b.SFN == nil || b.Names.Prefix == "" {
		return "", workflow.Result{}
	}
	execution := fmt.Sprintf("arn:%s:states:%s:%s:execution:%s:%s", rev.Partition, rev.Region, rev.Account, b.Names.StateMachine(), token)
	r, err := b.executionResult(ctx, execution)
	if err != nil || r.NewARN != arn {
		return "", workflow.Result{}
	}
	return execution, r
}

func (b *Executor) clock() time.Time {
	if b.Now != nil {
		return b.Now()
	}
	return time.Now()
}

// exemptUntil is the day the backout exempts the source until.
func (b *Executor) exemptUntil(req Request) string {
	if req.ExemptUntil != "" {
		return req.ExemptUntil
	}
	return exemption.Day(b.clock().AddDate(0, 0, b.Policy.Exemptions.Backout()))
}

// record writes the backout to the history: the source, the family's
// latest again, with the reasons it is not compliant and its exemption.
func (b *Executor) Record(ctx context.Context, store history.Recorder, res Result, actor string) error {
	a, err := taskdef.ParseARN(res.SourceARN)
	if err != nil {
		return err
	}
	var findings []plan.Finding
	if d, err := b.ECS.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String(res.SourceARN)}); err == nil {
		if p, err := plan.Build(d.TaskDefinition, nil, b.Policy, plan.Context{Partition: a.Partition, Account: a.Account, Region: a.Region}); err == nil {
			findings = p.Findings()
		}
	}
	return store.Record(ctx, history.BackedOut(a.Account, a.Region, res.Family, res.SourceARN, res.TaskDefinitionARN, res.ExemptUntil, findings,
		history.Meta{Time: b.clock(), Actor: actor}))
}

// run observes the revision, its services and log groups, takes the steps
// backoutsteps.Steps gives for what it found, and with --apply runs them in
// order, stopping at the first that fails. The result is filled in as far
// as backout got; an error before the revision was read leaves it empty.
func (b *Executor) Run(ctx context.Context, req Request) (Result, error) {
	d, err := b.ECS.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{
		TaskDefinition: aws.String(req.TaskDefinition),
		Include:        []types.TaskDefinitionField{types.TaskDefinitionFieldTags},
	})
	if err != nil {
		if awserr.IsTaskDefinitionNotFound(err) {
			return Result{}, fmt.Errorf("backout: task definition %s not found in %s", req.TaskDefinition, b.Region)
		}
		return Result{}, fmt.Errorf("backout: %w", explain.AWS(err))
	}
	td := d.TaskDefinition
	if td == nil {
		return Result{}, fmt.Errorf("backout: DescribeTaskDefinition answered for %s without a task definition", req.TaskDefinition)
	}
	arn := aws.ToString(td.TaskDefinitionArn)
	rev, err := taskdef.Provenance(td, d.Tags)
	if err != nil {
		return Result{}, fmt.Errorf("backout: %s was not registered by ecslogfix (%v): refusing to touch it", arn, err)
	}
	if err := b.trustRegistrant(aws.ToString(td.RegisteredBy)); err != nil {
		return Result{}, fmt.Errorf("backout: %s was not registered by ecslogfix (%v): refusing to touch it", arn, err)
	}
	a, err := taskdef.ParseARN(arn)
	if err != nil {
		return Result{}, fmt.Errorf("backout: %w", err)
	}
	a.Revision = rev
	res := Result{Region: b.Region, Family: aws.ToString(td.Family), TaskDefinitionARN: arn, SourceARN: a.String(), Applied: req.Apply, ExemptUntil: b.exemptUntil(req)}

	in := backoutsteps.Input{Region: b.Region, NewARN: arn, SourceARN: res.SourceARN, ExemptKey: b.Policy.UntilKey(), ExemptUntil: res.ExemptUntil}
	execution, r := req.Execution, workflow.Result{}
	if execution == "" && len(req.Clusters) == 0 {
		// The revision names the remediation that registered it: its
		// execution's rollout record says which consumers it moved.
		execution, r = b.recordedExecution(ctx, a, taskdef.ExecutionToken(d.Tags), arn)
		if execution == "" {
			res.Warning = "no --cluster or --execution given and no rollout record of " + arn + " found: services running it were not looked for"
		}
	} else if execution != "" {
		if r, err = b.executionResult(ctx, execution); err != nil {
			return Result{}, err
		}
	}
	if execution != "" {
		if r.NewARN != arn {
			return Result{}, fmt.Errorf("backout: the execution %s registered %s, not %s", execution, cmp.Or(r.NewARN, "nothing"), arn)
		}
		in.Moved = message.MovedConsumers(r)
		in.SourceDeregistered = r.Rollout != nil && r.Rollout.SourceDeregistered
		in.ExecutionARN = execution
	}
	var kept []Step
	if req.DeleteLogGroup {
		in.CreatedLogGroups, kept, err = b.deletableLogGroups(ctx, td, res.Family, res.SourceARN)
		if err != nil {
			return Result{}, err
		}
	}
	for _, s := range backoutsteps.Steps(in) {
		switch {
		case s.Kind == backoutsteps.StepMoveService && s.Conditional:
			moves, err := b.moves(ctx, s, req.Clusters, arn)
			if err != nil {
				return Result{}, err
			}
			res.Steps = append(res.Steps, moves...)
		case s.Kind == backoutsteps.StepDeregister && td.Status != types.TaskDefinitionStatusActive:
			res.Steps = append(res.Steps, Step{Step: s, Status: StepSkipped, Reason: "it is already " + string(td.Status)})
		case s.Kind == backoutsteps.StepExemptUntil && td.Status != types.TaskDefinitionStatusActive:
			// The exemption belongs to the deregistration: a backout that
			// already happened set it then.
			res.Steps = append(res.Steps, Step{Step: s, Status: StepSkipped, Reason: "the revision is already " + string(td.Status) + ": backed out before"})
		default:
			res.Steps = append(res.Steps, Step{Step: s, Status: StepPlanned})
		}
	}
	res.Steps = append(res.Steps, kept...)
	if !req.Apply {
		return res, nil
	}
	if err := b.apply(ctx, res.Steps); err != nil {
		return res, err
	}
	if latest, err := b.latestActive(ctx, res.Family); err == nil {
		res.LatestARN = latest
	}
	return res, nil
}

// moves binds the conditional step to each service of clusters that runs
// arn. Without clusters the step stays as it is, skipped: the reader can
// fill it in.
func (b *Executor) moves(ctx context.Context, s backoutsteps.Step, clusters []string, arn string) ([]Step, error) {
	if len(clusters) == 0 {
		return []Step{{Step: s, Status: StepSkipped, Reason: "no --cluster given: services running it were not looked for"}}, nil
	}
	var out []Step
	for _, cluster := range clusters {
		services, err := b.servicesUsing(ctx, cluster, arn)
		if err != nil {
			return nil, fmt.Errorf("backout: cluster %s: %w", cluster, explain.AWS(err))
		}
		if len(services) == 0 {
			none := backoutsteps.Step{Kind: backoutsteps.StepMoveService, Cluster: cluster, TaskDefinition: s.TaskDefinition, Region: s.Region}
			out = append(out, Step{Step: none, Status: StepSkipped, Reason: "no service runs " + arn})
		}
		for _, svc := range services {
			out = append(out, Step{Step: s.Bind(cluster, svc), Status: StepPlanned})
		}
	}
	return out, nil
}

// apply runs the planned steps in order. After a failure the rest are
// skipped: each step assumes the ones before it ran. The copy a
// REREGISTER_SOURCE step registers replaces the placeholder in the steps
// after it.
func (b *Executor) apply(ctx context.Context, steps []Step) error {
	var failed error
	for i := range steps {
		s := &steps[i]
		if s.Status != StepPlanned {
			continue
		}
		if failed != nil {
			s.Status, s.Reason = StepSkipped, "not run: an earlier step failed"
			continue
		}
		copyARN, err := b.exec(ctx, s.Step)
		var skip *skipped
		switch {
		case errors.As(err, &skip):
			s.Status, s.Reason = StepSkipped, skip.reason
			continue
		case err != nil:
			err = explain.AWS(err)
			s.Status, s.Reason = StepFailed, explain.FirstLine(err.Error())
			failed = fmt.Errorf("backout: %s: %w", Action(s.Step), err)
			continue
		}
		s.Status = StepDone
		if copyARN != "" {
			bindCopy(steps[i+1:], copyARN)
		}
	}
	return failed
}

// skipped is a step exec found nothing to do for (the consumer runs
// something else now).
type skipped struct{ reason string }

func (e *skipped) Error() string { return e.reason }

// bindCopy fills the copy of the source into the steps that name it.
func bindCopy(steps []Step, copyARN string) {
	for i := range steps {
		s := &steps[i].Step
		if s.TaskDefinition != backoutsteps.PlaceholderCopy {
			continue
		}
		value := copyARN
		if s.Kind == backoutsteps.StepMoveService {
			value = backoutsteps.FamilyRevision(copyARN) // FAMILY:REV, as the other service steps
		}
		s.TaskDefinition = value
		s.Command = strings.ReplaceAll(s.Command, backoutsteps.PlaceholderCopy, backoutsteps.Quote(value))
		s.Description = strings.ReplaceAll(s.Description, backoutsteps.PlaceholderCopy, value)
	}
}

// executionResult reads the registered result (with its rollout record)
// from a finished remediation execution's output: the workflow's state,
// whose registered.result Notify received.
func (b *Executor) executionResult(ctx context.Context, execution string) (workflow.Result, error) {
	out, err := b.SFN.DescribeExecution(ctx, &sfn.DescribeExecutionInput{ExecutionArn: aws.String(execution)})
	if err != nil {
		return workflow.Result{}, fmt.Errorf("backout: execution %s: %w", execution, explain.AWS(err))
	}
	if out.Status == sfntypes.ExecutionStatusRunning {
		return workflow.Result{}, fmt.Errorf("backout: execution %s is still running (its rollout is being watched): run backout once it finished", execution)
	}
	var st struct {
		Registered *struct {
			Result workflow.Result `json:"result"`
		} `json:"registered"`
	}
	if err := json.Unmarshal([]byte(aws.ToString(out.Output)), &st); err != nil || st.Registered == nil {
		return workflow.Result{}, fmt.Errorf("backout: execution %s (%s) has no registered result in its output: nothing it registered to back out", execution, out.Status)
	}
	return st.Registered.Result, nil
}

// exec makes the AWS call a step's command stands for, with the step's
// own arguments; a REREGISTER_SOURCE step returns the copy's ARN.
func (b *Executor) exec(ctx context.Context, s backoutsteps.Step) (string, error) {
	if s.Conditional {
		return "", fmt.Errorf("%s still names %s and %s", s.Kind, backoutsteps.PlaceholderCluster, backoutsteps.PlaceholderService)
	}
	if s.TaskDefinition == backoutsteps.PlaceholderCopy {
		return "", fmt.Errorf("%s still names %s", s.Kind, backoutsteps.PlaceholderCopy)
	}
	var err error
	switch s.Kind {
	case backoutsteps.StepMoveService, backoutsteps.StepMoveRuleTarget, backoutsteps.StepMoveSchedule:
		if s.From != "" {
			return "", b.moveBack(ctx, s)
		}
		_, err = b.ECS.UpdateService(ctx, &ecs.UpdateServiceInput{
			Cluster: aws.String(s.Cluster), Service: aws.String(s.Service), TaskDefinition: aws.String(s.TaskDefinition),
		})
	case backoutsteps.StepReregisterSource:
		return b.reregister(ctx, s.TaskDefinition)
	case backoutsteps.StepDeregister:
		_, err = b.ECS.DeregisterTaskDefinition(ctx, &ecs.DeregisterTaskDefinitionInput{TaskDefinition: aws.String(s.TaskDefinition)})
	case backoutsteps.StepDisableDeletionProtection:
		// Only on a group deletableLogGroups chose: ecslogfix's own,
		// unused, empty; the next step deletes it.
		_, err = b.Logs.PutLogGroupDeletionProtection(ctx, &cloudwatchlogs.PutLogGroupDeletionProtectionInput{
			LogGroupIdentifier: aws.String(s.LogGroup), DeletionProtectionEnabled: aws.Bool(false),
		})
	case backoutsteps.StepExemptUntil:
		_, err = b.ECS.TagResource(ctx, &ecs.TagResourceInput{ResourceArn: aws.String(s.TaskDefinition),
			Tags: []types.Tag{{Key: aws.String(s.TagKey), Value: aws.String(s.Until)}}})
	case backoutsteps.StepDeleteLogGroup:
		_, err = b.Logs.DeleteLogGroup(ctx, &cloudwatchlogs.DeleteLogGroupInput{LogGroupName: aws.String(s.LogGroup)})
	default:
		err = fmt.Errorf("backout does not run %s steps", s.Kind)
	}
	return "", err
}

// moveBack points a recorded consumer back, through consumer.Move: only
// while it runs the new revision (s.From), changing nothing else.
func (b *Executor) moveBack(ctx context.Context, s backoutsteps.Step) error {
	if b.Consumers == nil {
		return errors.New("no clients for the consumers")
	}
	con := workflow.Consumer{Cluster: s.Cluster, EventBus: s.EventBus, TargetID: s.TargetID, Group: s.Group}
	switch s.Kind {
	case backoutsteps.StepMoveService:
		con.Kind, con.Name, con.ARN = workflow.KindService, s.Service, s.Service
	case backoutsteps.StepMoveRuleTarget:
		con.Kind, con.Name = workflow.KindRuleTarget, s.Rule
	case backoutsteps.StepMoveSchedule:
		con.Kind, con.Name = workflow.KindSchedule, s.Schedule
	}
	_, err := consumer.Move(ctx, *b.Consumers, con, s.From, s.TaskDefinition)
	var changed *consumer.ErrChanged
	switch {
	case errors.As(err, &changed) && changed.Current == "":
		return &skipped{"it no longer exists"}
	case errors.As(err, &changed) && (changed.Current == s.TaskDefinition || backoutsteps.FamilyRevision(changed.Current) == s.TaskDefinition):
		return &skipped{"it already runs " + s.TaskDefinition}
	case errors.As(err, &changed):
		return &skipped{"it now runs " + changed.Current + ", not the revision ecslogfix moved it to: left alone"}
	}
	return err
}

// reregister registers a copy of the deregistered source revision with
// its tags and the policy's exemption tag (so ecslogfix does not fix the
// copy again), and returns the copy's ARN.
func (b *Executor) reregister(ctx context.Context, source string) (string, error) {
	d, err := b.ECS.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{
		TaskDefinition: aws.String(source), Include: []types.TaskDefinitionField{types.TaskDefinitionFieldTags},
	})
	if err != nil {
		return "", fmt.Errorf("describe the source %s: %w", source, err)
	}
	ex := b.Policy.WithDefaults().ExemptionTag
	tags := slices.DeleteFunc(slices.Clone(d.Tags), func(t types.Tag) bool { return aws.ToString(t.Key) == ex.Key })
	in, err := taskdef.RegisterInput(d.TaskDefinition, tags, types.Tag{Key: aws.String(ex.Key), Value: aws.String(ex.Value)})
	if err != nil {
		return "", err
	}
	out, err := b.ECS.RegisterTaskDefinition(ctx, in)
	if err != nil {
		return "", fmt.Errorf("register a copy of %s: %w", source, err)
	}
	return aws.ToString(out.TaskDefinition.TaskDefinitionArn), nil
}

// servicesUsing lists the services of cluster whose task definition is arn.
func (b *Executor) servicesUsing(ctx context.Context, cluster, arn string) ([]string, error) {
	var using []string
	p := ecs.NewListServicesPaginator(b.ECS, &ecs.ListServicesInput{Cluster: aws.String(cluster)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, err
		}
		for batch := range slices.Chunk(page.ServiceArns, consumer.DescribeServicesLimit) {
			d, err := b.ECS.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String(cluster), Services: batch})
			if err != nil {
				return nil, err
			}
			for _, s := range d.Services {
				if aws.ToString(s.TaskDefinition) == arn {
					using = append(using, aws.ToString(s.ServiceName))
				}
			}
		}
	}
	return using, nil
}

// latestActive returns the ARN of family's highest ACTIVE revision, or "".
func (b *Executor) latestActive(ctx context.Context, family string) (string, error) {
	out, err := b.ECS.ListTaskDefinitions(ctx, &ecs.ListTaskDefinitionsInput{
		FamilyPrefix: aws.String(family), // the exact family for this API
		Status:       types.TaskDefinitionStatusActive,
		Sort:         types.SortOrderDesc,
	})
	if err != nil {
		return "", err
	}
	best, bestRev := "", int32(0)
	for _, s := range out.TaskDefinitionArns {
		if a, err := taskdef.ParseARN(s); err == nil && a.Family == family && a.Revision > bestRev {
			best, bestRev = s, a.Revision
		}
	}
	return best, nil
}

// deletableLogGroups returns the revision's log groups that ecslogfix
// created and that may be deleted: no ACTIVE revision of the family but
// the one backed out uses them, nor does the source revision (ACTIVE or
// not: services move back to it), they are in this region and hold no log
// streams. A protected one is deleted after its protection is lifted.
// Each other log group of the revision is a skipped step that says why it
// is kept — for a group still in use, by which revision.
func (b *Executor) deletableLogGroups(ctx context.Context, td *types.TaskDefinition, family, sourceARN string) ([]backoutsteps.Group, []Step, error) {
	keep := func(name, why string) Step {
		return Step{Step: backoutsteps.Step{Kind: backoutsteps.StepDeleteLogGroup, LogGroup: name, Region: b.Region, Optional: true}, Status: StepSkipped, Reason: why}
	}
	groups := awslogs.Groups(td)
	users, err := b.groupUsers(ctx, family, aws.ToString(td.TaskDefinitionArn), sourceARN, groups)
	if err != nil {
		return nil, []Step{keep("", "cannot read the family's revisions to see which groups they use: "+explain.FirstLine(explain.AWS(err).Error()))}, nil
	}
	var deletable []backoutsteps.Group
	var kept []Step
	for _, g := range groups {
		if user, ok := users[g]; ok {
			kept = append(kept, keep(g.Name, user+" still uses it"))
			continue
		}
		if g.Region != b.Region {
			k := keep(g.Name, fmt.Sprintf("it is in %s; run backout with --region %s to check it", g.Region, g.Region))
			k.Region = g.Region
			kept = append(kept, k)
			continue
		}
		why, protected, err := b.keepLogGroup(ctx, g.Name)
		if err != nil {
			return nil, nil, fmt.Errorf("backout: log group %s: %w", g.Name, explain.AWS(err))
		}
		if why != "" {
			kept = append(kept, keep(g.Name, why))
			continue
		}
		deletable = append(deletable, backoutsteps.Group{Name: g.Name, Region: g.Region, DeletionProtected: protected})
	}
	return deletable, kept, nil
}

// groupUsers finds, for each of groups, a revision other than self that
// uses it: the source revision (services move back to it), else an ACTIVE
// revision of the family, newest first. It stops reading once every group
// has one.
func (b *Executor) groupUsers(ctx context.Context, family, self, sourceARN string, groups []awslogs.GroupRef) (map[awslogs.GroupRef]string, error) {
	users := map[awslogs.GroupRef]string{}
	note := func(arn, who string) error {
		d, err := b.ECS.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String(arn)})
		if err != nil {
			return err
		}
		for _, g := range awslogs.Groups(d.TaskDefinition) {
			if _, seen := users[g]; !seen && slices.Contains(groups, g) {
				users[g] = who
			}
		}
		return nil
	}
	if err := note(sourceARN, "the source revision "+sourceARN); err != nil {
		return nil, err
	}
	var active []taskdef.ARN
	p := ecs.NewListTaskDefinitionsPaginator(b.ECS, &ecs.ListTaskDefinitionsInput{FamilyPrefix: aws.String(family), Status: types.TaskDefinitionStatusActive, Sort: types.SortOrderDesc})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, err
		}
		for _, s := range page.TaskDefinitionArns {
			if a, err := taskdef.ParseARN(s); err == nil && a.Family == family && s != self && s != sourceARN {
				active = append(active, a)
			}
		}
	}
	// Newest first, whatever order the API returned.
	slices.SortFunc(active, func(x, y taskdef.ARN) int { return cmp.Compare(y.Revision, x.Revision) })
	for _, a := range active {
		if len(users) == len(groups) {
			break
		}
		if err := note(a.String(), "the ACTIVE revision "+a.String()); err != nil {
			return nil, err
		}
	}
	return users, nil
}

// stepAction says what a step does, for backout's text and errors.
func Action(s backoutsteps.Step) string {
	switch s.Kind {
	case backoutsteps.StepMoveService:
		switch {
		case s.Conditional:
			return "move services back to " + s.TaskDefinition
		case s.Service == "":
			return fmt.Sprintf("move services in cluster %s back to %s", s.Cluster, s.TaskDefinition)
		}
		return fmt.Sprintf("move service %s in cluster %s back to %s", s.Service, s.Cluster, s.TaskDefinition)
	case backoutsteps.StepMoveRuleTarget:
		return fmt.Sprintf("move target %s of rule %s (bus %s) back to %s", s.TargetID, s.Rule, s.EventBus, s.TaskDefinition)
	case backoutsteps.StepMoveSchedule:
		return fmt.Sprintf("move schedule %s/%s back to %s", s.Group, s.Schedule, s.TaskDefinition)
	case backoutsteps.StepReregisterSource:
		return "register a copy of the deregistered source " + s.TaskDefinition
	case backoutsteps.StepDeregister:
		return "deregister " + s.TaskDefinition
	case backoutsteps.StepExemptUntil:
		return fmt.Sprintf("exempt %s until %s (tag %s)", s.TaskDefinition, s.Until, s.TagKey)
	case backoutsteps.StepDisableDeletionProtection:
		return "turn off deletion protection of log group " + s.LogGroup
	case backoutsteps.StepDeleteLogGroup:
		if s.LogGroup == "" {
			return "delete the revision's log groups"
		}
		return "delete log group " + s.LogGroup
	}
	return string(s.Kind) + " " + s.Resource()
}

// keepLogGroup returns why the group must not be deleted, or "", and
// whether it has deletion protection (lifted before deleting it).
func (b *Executor) keepLogGroup(ctx context.Context, name string) (string, bool, error) {
	f, err := loggroup.Find(ctx, b.Logs, name, b.Region)
	if err != nil {
		return "", false, err
	}
	if !f.Exists {
		return "it does not exist", false, nil
	}
	tags, err := b.Logs.ListTagsForResource(ctx, &cloudwatchlogs.ListTagsForResourceInput{ResourceArn: aws.String(f.ARN)})
	if err != nil {
		return "", false, err
	}
	if tags.Tags[taskdef.TagManaged] != "true" {
		return "ecslogfix did not create it (no " + taskdef.TagManaged + "=true tag)", false, nil
	}
	streams, err := b.Logs.DescribeLogStreams(ctx, &cloudwatchlogs.DescribeLogStreamsInput{LogGroupName: aws.String(name), Limit: aws.Int32(1)})
	if err != nil {
		return "", false, err
	}
	if len(streams.LogStreams) > 0 {
		return "it holds log streams", false, nil
	}
	return "", f.Result.DeletionProtectionEnabled, nil
}
