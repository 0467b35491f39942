package cli

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"
	"github.com/spf13/cobra"

	"github.com/ecslogfix/ecslogfix/internal/awsarn"
	"github.com/ecslogfix/ecslogfix/internal/awsclient"
	"github.com/ecslogfix/ecslogfix/internal/awserr"
	backoutsteps "github.com/ecslogfix/ecslogfix/internal/backout"
	"github.com/ecslogfix/ecslogfix/internal/config"
	"github.com/ecslogfix/ecslogfix/internal/consumer"
	"github.com/ecslogfix/ecslogfix/internal/history"
	"github.com/ecslogfix/ecslogfix/internal/loggroup"
	"github.com/ecslogfix/ecslogfix/internal/message"
	"github.com/ecslogfix/ecslogfix/internal/plan"
	"github.com/ecslogfix/ecslogfix/internal/policy"
	"github.com/ecslogfix/ecslogfix/internal/taskdef"
	"github.com/ecslogfix/ecslogfix/internal/workflow"
)

// backoutECS is the part of the ECS API backout uses.
type backoutECS interface {
	DescribeTaskDefinition(ctx context.Context, in *ecs.DescribeTaskDefinitionInput, optFns ...func(*ecs.Options)) (*ecs.DescribeTaskDefinitionOutput, error)
	DeregisterTaskDefinition(ctx context.Context, in *ecs.DeregisterTaskDefinitionInput, optFns ...func(*ecs.Options)) (*ecs.DeregisterTaskDefinitionOutput, error)
	ListServices(ctx context.Context, in *ecs.ListServicesInput, optFns ...func(*ecs.Options)) (*ecs.ListServicesOutput, error)
	DescribeServices(ctx context.Context, in *ecs.DescribeServicesInput, optFns ...func(*ecs.Options)) (*ecs.DescribeServicesOutput, error)
	UpdateService(ctx context.Context, in *ecs.UpdateServiceInput, optFns ...func(*ecs.Options)) (*ecs.UpdateServiceOutput, error)
	TagResource(ctx context.Context, in *ecs.TagResourceInput, optFns ...func(*ecs.Options)) (*ecs.TagResourceOutput, error)
	ListTaskDefinitions(ctx context.Context, in *ecs.ListTaskDefinitionsInput, optFns ...func(*ecs.Options)) (*ecs.ListTaskDefinitionsOutput, error)
	RegisterTaskDefinition(ctx context.Context, in *ecs.RegisterTaskDefinitionInput, optFns ...func(*ecs.Options)) (*ecs.RegisterTaskDefinitionOutput, error)
}

// backoutSFN is the part of the Step Functions API backout --execution
// reads the remediation's result with.
type backoutSFN interface {
	DescribeExecution(ctx context.Context, in *sfn.DescribeExecutionInput, optFns ...func(*sfn.Options)) (*sfn.DescribeExecutionOutput, error)
}

// backoutLogs is the part of the CloudWatch Logs API backout uses.
type backoutLogs interface {
	DescribeLogGroups(ctx context.Context, in *cloudwatchlogs.DescribeLogGroupsInput, optFns ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.DescribeLogGroupsOutput, error)
	ListTagsForResource(ctx context.Context, in *cloudwatchlogs.ListTagsForResourceInput, optFns ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.ListTagsForResourceOutput, error)
	DescribeLogStreams(ctx context.Context, in *cloudwatchlogs.DescribeLogStreamsInput, optFns ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.DescribeLogStreamsOutput, error)
	DeleteLogGroup(ctx context.Context, in *cloudwatchlogs.DeleteLogGroupInput, optFns ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.DeleteLogGroupOutput, error)
	PutLogGroupDeletionProtection(ctx context.Context, in *cloudwatchlogs.PutLogGroupDeletionProtectionInput, optFns ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.PutLogGroupDeletionProtectionOutput, error)
}

// backoutOptions is backout's command line.
type backoutOptions struct {
	f              *factory
	output         Format
	taskDefinition string
	clusters       []string
	deleteLogGroup bool
	apply          bool
	execution      string // --execution: the remediation whose rollout record says what moved
	exemptUntil    string // the day the source is exempt until; default today + the policy's backoutDays
	history        historyFlags
	region         string // the one --region, if given
	prefix         string // --prefix: the deployment's resource name prefix
}

// BackoutResult is what backout found and did: the steps of backout.Steps
// for the revision, each with what became of it.
type BackoutResult struct {
	Region            string
	Family            string
	TaskDefinitionARN string // the revision ecslogfix registered
	SourceARN         string // the revision it was built from
	Applied           bool
	Steps             []BackoutStep
	LatestARN         string // after --apply: the family's latest ACTIVE revision
	ExemptUntil       string // the day the source is exempt until
	Warning           string // what backout could not look for, e.g. the services without --cluster
}

// BackoutStep is one step and its status. Steps of backout.Steps carry
// their command; a skipped one that backout.Steps has no step for (a log
// group ecslogfix did not create) carries none. The JSON field names are
// part of the documented, stable output.
type BackoutStep struct {
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

// newCmdBackout builds backout; runF, when set, runs instead of runBackout.
func newCmdBackout(f *factory, runF func(*backoutOptions) error) *cobra.Command {
	o := &backoutOptions{f: f}
	cmd := &cobra.Command{
		Use:   "backout --task-definition FAMILY:REV [--execution ARN | --cluster C ...] [--delete-log-group] [--apply]",
		Short: "Undo a revision ecslogfix registered (dry run by default)",
		Long: `backout undoes one remediation: it refuses any revision ecslogfix did not
register: one without all of ecslogfix's tags (` + config.TagSource + ` naming an
older revision, ` + config.TagManaged + `=true, ` + taskdef.TagExecution + `), or that ECS says
another principal registered (registeredBy: neither the --prefix deployment's
remediate or member role nor the caller). It runs the steps the
notification of the remediation lists, with the services and log groups it
finds filled in. With --apply it moves the services of the given clusters
that run the revision back to the source revision (UpdateService),
deregisters the revision (so the family's latest ACTIVE revision is the
source again), tags the source with the policy's end-date tag
(ecslogfix:exempt-until) so that ecslogfix leaves it until --exempt-until
(default: today plus the policy's exemptions.backoutDays, 30) and fixes it
again after, and with --delete-log-group deletes each log group of the
revision that ecslogfix created (tag ` + config.TagManaged + `), that no
ACTIVE revision of the family uses (it names the one that does) and that
holds no log streams, turning its deletion protection off first. Without
--apply it prints what it would do. With --history the backout is recorded
in the history (BACKED_OUT).

Without --cluster or --execution it reads the rollout record of the
remediation the revision names (` + taskdef.TagExecution + `), and warns when there is none.

With --execution (the remediation's Step Functions execution, named in its
notification) backout reads the execution's rollout record and points
exactly the consumers it moved — services, EventBridge rule targets,
Scheduler schedules — back at the revision each ran before, changing
nothing else, and only while they still run the new revision (one someone
moved on since is left alone). When policy deregisterSource afterRollout
deregistered the source, it first registers a copy of it, tagged with the
policy's exemption tag (pass the pipeline's --policy), and points them at
the copy: ECS refuses an INACTIVE revision.

Exit status: 0 on success, 2 on errors or when the revision is not one
ecslogfix registered.`,
		Example: `  # What would be undone
  ecslogfix backout --task-definition orders-api:15 --cluster prod

  # Undo it, and delete the log group ecslogfix created if still empty
  ecslogfix backout --task-definition orders-api:15 --cluster prod --delete-log-group --apply

  # Undo a remediation and its rollout, exactly as its notification lists
  ecslogfix backout --task-definition orders-api:15 --execution arn:aws:states:us-east-1:111122223333:execution:ecslogfix-remediation:NAME --apply`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := validRevision(o.taskDefinition); err != nil {
				return usagef(cmd, "--task-definition %q: %v", o.taskDefinition, err)
			}
			if o.execution != "" {
				if a, err := awsarn.Parse(o.execution); err != nil || a.Service != "states" || !strings.HasPrefix(a.Resource, "execution:") {
					return usagef(cmd, "--execution %q: not a Step Functions execution ARN", o.execution)
				}
			}
			if err := o.history.check(cmd); err != nil {
				return err
			}
			if o.exemptUntil != "" {
				d, err := time.Parse(policy.DateLayout, o.exemptUntil)
				if err != nil || d.Before(time.Now().UTC().Truncate(24*time.Hour)) {
					return usagef(cmd, "--exempt-until %q: a day to come, YYYY-MM-DD", o.exemptUntil)
				}
			}
			region, err := f.oneRegion(cmd)
			if err != nil {
				return err
			}
			o.region = region
			if runF != nil {
				return runF(o)
			}
			return runBackout(cmd.Context(), o)
		},
	}
	addOutputFlag(cmd, &o.output)
	fl := cmd.Flags()
	fl.StringVar(&o.taskDefinition, "task-definition", "", "the revision ecslogfix registered: FAMILY:REV or its ARN")
	fl.StringArrayVar(&o.clusters, "cluster", nil, "cluster whose services may run the revision (repeatable)")
	fl.BoolVar(&o.deleteLogGroup, "delete-log-group", false, "also delete the log groups ecslogfix created for it, when empty")
	fl.BoolVar(&o.apply, "apply", false, "make the changes (default: dry run)")
	fl.StringVar(&o.prefix, "prefix", config.DefaultPrefix, "the deployment's resource name prefix (ecslogfix:prefix): its remediate and member roles are the registrants backout trusts")
	fl.StringVar(&o.execution, "execution", "", "the remediation's execution ARN: move back exactly the consumers its rollout moved")
	fl.StringVar(&o.exemptUntil, "exempt-until", "", "the day (YYYY-MM-DD) until which ecslogfix leaves the source as it is (default: today + the policy's backoutDays)")
	addHistoryFlags(cmd, &o.history)
	_ = cmd.MarkFlagRequired("task-definition") // the flag exists: no error
	cmd.MarkFlagsMutuallyExclusive("execution", "cluster")
	return cmd
}

// runBackout runs backout on the AWS clients and prints what it did, also
// when a step failed.
func runBackout(ctx context.Context, o *backoutOptions) error {
	factory, err := o.f.clients(ctx, &o.f.globals, o.region, awsclient.Options{})
	if err != nil {
		return err
	}
	ecsClient, err := factory.ECS(awsclient.Scope{})
	if err != nil {
		return err
	}
	logsClient, err := factory.Logs(awsclient.Scope{})
	if err != nil {
		return err
	}
	pol, err := o.f.loadPolicy()
	if err != nil {
		return err
	}
	store, err := o.history.store(factory)
	if err != nil {
		return err
	}
	b := &backout{ecs: ecsClient, logs: logsClient, region: factory.Region(), consumers: consumerClients(factory, awsclient.Scope{}), sfn: factory.SFN(), pol: pol, now: o.f.now,
		names: config.Names{Prefix: o.prefix}, caller: caller(ctx, factory)}
	res, runErr := b.run(ctx, o)
	if res.TaskDefinitionARN == "" {
		return runErr
	}
	if runErr == nil && res.Applied && store != nil {
		if err := b.record(ctx, store, res, b.caller); err != nil {
			runErr = fmt.Errorf("backout: done, but not recorded in the history: %w", explain(err))
		}
	}
	p, err := newPrinter(o.f.Stdout, o.f.Stderr, o.output, backoutTable)
	if err != nil {
		return err
	}
	p.note("%s was registered by ecslogfix from %s", res.TaskDefinitionARN, res.SourceARN)
	if res.Warning != "" {
		p.note("warning: %s", res.Warning)
	}
	for _, s := range res.Steps {
		if err := p.print(s); err != nil {
			return err
		}
	}
	footer := "dry run: nothing changed; add --apply"
	switch {
	case runErr != nil:
		footer = ""
	case res.Applied && res.LatestARN != "":
		footer = fmt.Sprintf("latest ACTIVE revision of %s: %s", res.Family, res.LatestARN)
	case res.Applied:
		footer = ""
	}
	if err := p.finish(footer); err != nil {
		return err
	}
	return runErr
}

// validRevision accepts FAMILY:REV or a task definition ARN (which always
// names a revision).
func validRevision(s string) error {
	if strings.HasPrefix(s, "arn:") {
		_, err := taskdef.ParseARN(s)
		return err
	}
	if !strings.Contains(s, ":") {
		return errors.New("name the revision: FAMILY:REV")
	}
	return validTarget(s)
}

type backout struct {
	ecs       backoutECS
	logs      backoutLogs
	region    string
	consumers *consumer.Clients
	sfn       backoutSFN
	// pol gives the end-date tag and its default term, and the exemption
	// tag a copy of a deregistered source gets.
	pol policy.Policy
	now func() time.Time // nil: time.Now
	// names are the deployment's resource names: its remediate and member
	// roles are principals backout trusts to have registered a revision.
	names config.Names
	// caller is the principal running backout: a revision it registered
	// itself (ecslogfix fix --apply) is trusted too.
	caller string
}

// trustRegistrant accepts the principal ECS reports as the revision's
// registrant (registeredBy, "DescribeTaskDefinition", ECS API reference)
// when it is the deployment's remediate or member role, or the principal
// running backout (a CLI fix). ECS does not always report it (nor does an
// emulator): then the tags and revision order alone decide.
func (b *backout) trustRegistrant(registeredBy string) error {
	if registeredBy == "" {
		return nil
	}
	if r, ok := awsarn.ParseRole(registeredBy); ok &&
		(r.Name == b.names.FunctionRole(config.FunctionRemediate) || r.Name == b.names.MemberRole()) {
		return nil
	}
	if b.caller != "" && samePrincipal(registeredBy, b.caller) {
		return nil
	}
	return fmt.Errorf("registered by %s, neither ecslogfix's %s or %s role nor the caller", registeredBy,
		b.names.FunctionRole(config.FunctionRemediate), b.names.MemberRole())
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
func (b *backout) recordedExecution(ctx context.Context, rev taskdef.ARN, token, arn string) (string, workflow.Result) {
	if token == "" || b.sfn == nil || b.names.Prefix == "" {
		return "", workflow.Result{}
	}
	execution := fmt.Sprintf("arn:%s:states:%s:%s:execution:%s:%s", rev.Partition, rev.Region, rev.Account, b.names.StateMachine(), token)
	r, err := b.executionResult(ctx, execution)
	if err != nil || r.NewARN != arn {
		return "", workflow.Result{}
	}
	return execution, r
}

func (b *backout) clock() time.Time {
	if b.now != nil {
		return b.now()
	}
	return time.Now()
}

// exemptUntil is the day the backout exempts the source until.
func (b *backout) exemptUntil(o *backoutOptions) string {
	if o.exemptUntil != "" {
		return o.exemptUntil
	}
	return policy.Day(b.clock().AddDate(0, 0, b.pol.Exemptions.Backout()))
}

// record writes the backout to the history: the source, the family's
// latest again, with the reasons it is not compliant and its exemption.
func (b *backout) record(ctx context.Context, store history.Recorder, res BackoutResult, actor string) error {
	a, err := taskdef.ParseARN(res.SourceARN)
	if err != nil {
		return err
	}
	var findings []plan.Finding
	if d, err := b.ecs.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String(res.SourceARN)}); err == nil {
		if p, err := plan.Build(d.TaskDefinition, nil, b.pol, plan.Context{Partition: a.Partition, Account: a.Account, Region: a.Region}); err == nil {
			findings = p.Findings()
		}
	}
	return store.Record(ctx, history.BackedOut(a.Account, a.Region, res.Family, res.SourceARN, res.TaskDefinitionARN, res.ExemptUntil, findings,
		history.Meta{Time: b.clock(), Actor: actor}))
}

// run observes the revision, its services and log groups, takes the steps
// backout.Steps gives for what it found, and with --apply runs them in
// order, stopping at the first that fails. The result is filled in as far
// as backout got; an error before the revision was read leaves it empty.
func (b *backout) run(ctx context.Context, o *backoutOptions) (BackoutResult, error) {
	d, err := b.ecs.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{
		TaskDefinition: aws.String(o.taskDefinition),
		Include:        []types.TaskDefinitionField{types.TaskDefinitionFieldTags},
	})
	if err != nil {
		if awserr.IsTaskDefinitionNotFound(err) {
			return BackoutResult{}, fmt.Errorf("backout: task definition %s not found in %s", o.taskDefinition, b.region)
		}
		return BackoutResult{}, fmt.Errorf("backout: %w", explain(err))
	}
	td := d.TaskDefinition
	if td == nil {
		return BackoutResult{}, fmt.Errorf("backout: DescribeTaskDefinition answered for %s without a task definition", o.taskDefinition)
	}
	arn := aws.ToString(td.TaskDefinitionArn)
	rev, err := taskdef.Provenance(td, d.Tags)
	if err != nil {
		return BackoutResult{}, fmt.Errorf("backout: %s was not registered by ecslogfix (%v): refusing to touch it", arn, err)
	}
	if err := b.trustRegistrant(aws.ToString(td.RegisteredBy)); err != nil {
		return BackoutResult{}, fmt.Errorf("backout: %s was not registered by ecslogfix (%v): refusing to touch it", arn, err)
	}
	a, err := taskdef.ParseARN(arn)
	if err != nil {
		return BackoutResult{}, fmt.Errorf("backout: %w", err)
	}
	a.Revision = rev
	res := BackoutResult{Region: b.region, Family: aws.ToString(td.Family), TaskDefinitionARN: arn, SourceARN: a.String(), Applied: o.apply, ExemptUntil: b.exemptUntil(o)}

	in := backoutsteps.Input{Region: b.region, NewARN: arn, SourceARN: res.SourceARN, ExemptKey: b.pol.UntilKey(), ExemptUntil: res.ExemptUntil}
	execution, r := o.execution, workflow.Result{}
	if execution == "" && len(o.clusters) == 0 {
		// The revision names the remediation that registered it: its
		// execution's rollout record says which consumers it moved.
		execution, r = b.recordedExecution(ctx, a, taskdef.ExecutionToken(d.Tags), arn)
		if execution == "" {
			res.Warning = "no --cluster or --execution given and no rollout record of " + arn + " found: services running it were not looked for"
		}
	} else if execution != "" {
		if r, err = b.executionResult(ctx, execution); err != nil {
			return BackoutResult{}, err
		}
	}
	if execution != "" {
		if r.NewARN != arn {
			return BackoutResult{}, fmt.Errorf("backout: the execution %s registered %s, not %s", execution, cmp.Or(r.NewARN, "nothing"), arn)
		}
		in.Moved = message.MovedConsumers(r)
		in.SourceDeregistered = r.Rollout != nil && r.Rollout.SourceDeregistered
		in.ExecutionARN = execution
	}
	var kept []BackoutStep
	if o.deleteLogGroup {
		in.CreatedLogGroups, kept, err = b.deletableLogGroups(ctx, td, res.Family, res.SourceARN)
		if err != nil {
			return BackoutResult{}, err
		}
	}
	for _, s := range backoutsteps.Steps(in) {
		switch {
		case s.Kind == backoutsteps.StepMoveService && s.Conditional:
			moves, err := b.moves(ctx, s, o.clusters, arn)
			if err != nil {
				return BackoutResult{}, err
			}
			res.Steps = append(res.Steps, moves...)
		case s.Kind == backoutsteps.StepDeregister && td.Status != types.TaskDefinitionStatusActive:
			res.Steps = append(res.Steps, BackoutStep{Step: s, Status: StepSkipped, Reason: "it is already " + string(td.Status)})
		case s.Kind == backoutsteps.StepExemptUntil && td.Status != types.TaskDefinitionStatusActive:
			// The exemption belongs to the deregistration: a backout that
			// already happened set it then.
			res.Steps = append(res.Steps, BackoutStep{Step: s, Status: StepSkipped, Reason: "the revision is already " + string(td.Status) + ": backed out before"})
		default:
			res.Steps = append(res.Steps, BackoutStep{Step: s, Status: StepPlanned})
		}
	}
	res.Steps = append(res.Steps, kept...)
	if !o.apply {
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
func (b *backout) moves(ctx context.Context, s backoutsteps.Step, clusters []string, arn string) ([]BackoutStep, error) {
	if len(clusters) == 0 {
		return []BackoutStep{{Step: s, Status: StepSkipped, Reason: "no --cluster given: services running it were not looked for"}}, nil
	}
	var out []BackoutStep
	for _, cluster := range clusters {
		services, err := b.servicesUsing(ctx, cluster, arn)
		if err != nil {
			return nil, fmt.Errorf("backout: cluster %s: %w", cluster, explain(err))
		}
		if len(services) == 0 {
			none := backoutsteps.Step{Kind: backoutsteps.StepMoveService, Cluster: cluster, TaskDefinition: s.TaskDefinition, Region: s.Region}
			out = append(out, BackoutStep{Step: none, Status: StepSkipped, Reason: "no service runs " + arn})
		}
		for _, svc := range services {
			out = append(out, BackoutStep{Step: s.Bind(cluster, svc), Status: StepPlanned})
		}
	}
	return out, nil
}

// apply runs the planned steps in order. After a failure the rest are
// skipped: each step assumes the ones before it ran. The copy a
// REREGISTER_SOURCE step registers replaces the placeholder in the steps
// after it.
func (b *backout) apply(ctx context.Context, steps []BackoutStep) error {
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
			err = explain(err)
			s.Status, s.Reason = StepFailed, firstLine(err.Error())
			failed = fmt.Errorf("backout: %s: %w", stepAction(s.Step), err)
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
func bindCopy(steps []BackoutStep, copyARN string) {
	for i := range steps {
		s := &steps[i].Step
		if s.TaskDefinition != backoutsteps.PlaceholderCopy {
			continue
		}
		value := copyARN
		if s.Kind == backoutsteps.StepMoveService {
			value = revOf(copyARN) // FAMILY:REV, as the other service steps
		}
		s.TaskDefinition = value
		s.Command = strings.ReplaceAll(s.Command, backoutsteps.PlaceholderCopy, backoutsteps.Quote(value))
		s.Description = strings.ReplaceAll(s.Description, backoutsteps.PlaceholderCopy, value)
	}
}

// executionResult reads the registered result (with its rollout record)
// from a finished remediation execution's output: the workflow's state,
// whose registered.result Notify received.
func (b *backout) executionResult(ctx context.Context, execution string) (workflow.Result, error) {
	out, err := b.sfn.DescribeExecution(ctx, &sfn.DescribeExecutionInput{ExecutionArn: aws.String(execution)})
	if err != nil {
		return workflow.Result{}, fmt.Errorf("backout: execution %s: %w", execution, explain(err))
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
func (b *backout) exec(ctx context.Context, s backoutsteps.Step) (string, error) {
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
		_, err = b.ecs.UpdateService(ctx, &ecs.UpdateServiceInput{
			Cluster: aws.String(s.Cluster), Service: aws.String(s.Service), TaskDefinition: aws.String(s.TaskDefinition),
		})
	case backoutsteps.StepReregisterSource:
		return b.reregister(ctx, s.TaskDefinition)
	case backoutsteps.StepDeregister:
		_, err = b.ecs.DeregisterTaskDefinition(ctx, &ecs.DeregisterTaskDefinitionInput{TaskDefinition: aws.String(s.TaskDefinition)})
	case backoutsteps.StepDisableDeletionProtection:
		// Only on a group deletableLogGroups chose: ecslogfix's own,
		// unused, empty; the next step deletes it.
		_, err = b.logs.PutLogGroupDeletionProtection(ctx, &cloudwatchlogs.PutLogGroupDeletionProtectionInput{
			LogGroupIdentifier: aws.String(s.LogGroup), DeletionProtectionEnabled: aws.Bool(false),
		})
	case backoutsteps.StepExemptUntil:
		_, err = b.ecs.TagResource(ctx, &ecs.TagResourceInput{ResourceArn: aws.String(s.TaskDefinition),
			Tags: []types.Tag{{Key: aws.String(s.TagKey), Value: aws.String(s.Until)}}})
	case backoutsteps.StepDeleteLogGroup:
		_, err = b.logs.DeleteLogGroup(ctx, &cloudwatchlogs.DeleteLogGroupInput{LogGroupName: aws.String(s.LogGroup)})
	default:
		err = fmt.Errorf("backout does not run %s steps", s.Kind)
	}
	return "", err
}

// moveBack points a recorded consumer back, through consumer.Move: only
// while it runs the new revision (s.From), changing nothing else.
func (b *backout) moveBack(ctx context.Context, s backoutsteps.Step) error {
	if b.consumers == nil {
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
	_, err := consumer.Move(ctx, *b.consumers, con, s.From, s.TaskDefinition)
	var changed *consumer.ErrChanged
	switch {
	case errors.As(err, &changed) && changed.Current == "":
		return &skipped{"it no longer exists"}
	case errors.As(err, &changed) && (changed.Current == s.TaskDefinition || revOf(changed.Current) == s.TaskDefinition):
		return &skipped{"it already runs " + s.TaskDefinition}
	case errors.As(err, &changed):
		return &skipped{"it now runs " + changed.Current + ", not the revision ecslogfix moved it to: left alone"}
	}
	return err
}

// reregister registers a copy of the deregistered source revision with
// its tags and the policy's exemption tag (so ecslogfix does not fix the
// copy again), and returns the copy's ARN.
func (b *backout) reregister(ctx context.Context, source string) (string, error) {
	d, err := b.ecs.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{
		TaskDefinition: aws.String(source), Include: []types.TaskDefinitionField{types.TaskDefinitionFieldTags},
	})
	if err != nil {
		return "", fmt.Errorf("describe the source %s: %w", source, err)
	}
	ex := b.pol.WithDefaults().ExemptionTag
	tags := slices.DeleteFunc(slices.Clone(d.Tags), func(t types.Tag) bool { return aws.ToString(t.Key) == ex.Key })
	in, err := taskdef.RegisterInput(d.TaskDefinition, tags, types.Tag{Key: aws.String(ex.Key), Value: aws.String(ex.Value)})
	if err != nil {
		return "", err
	}
	out, err := b.ecs.RegisterTaskDefinition(ctx, in)
	if err != nil {
		return "", fmt.Errorf("register a copy of %s: %w", source, err)
	}
	return aws.ToString(out.TaskDefinition.TaskDefinitionArn), nil
}

// servicesUsing lists the services of cluster whose task definition is arn.
func (b *backout) servicesUsing(ctx context.Context, cluster, arn string) ([]string, error) {
	var using []string
	p := ecs.NewListServicesPaginator(b.ecs, &ecs.ListServicesInput{Cluster: aws.String(cluster)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, err
		}
		for batch := range slices.Chunk(page.ServiceArns, 10) {
			d, err := b.ecs.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String(cluster), Services: batch})
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
func (b *backout) latestActive(ctx context.Context, family string) (string, error) {
	out, err := b.ecs.ListTaskDefinitions(ctx, &ecs.ListTaskDefinitionsInput{
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
func (b *backout) deletableLogGroups(ctx context.Context, td *types.TaskDefinition, family, sourceARN string) ([]backoutsteps.Group, []BackoutStep, error) {
	keep := func(name, why string) BackoutStep {
		return BackoutStep{Step: backoutsteps.Step{Kind: backoutsteps.StepDeleteLogGroup, LogGroup: name, Region: b.region, Optional: true}, Status: StepSkipped, Reason: why}
	}
	groups := policy.Groups(td)
	users, err := b.groupUsers(ctx, family, aws.ToString(td.TaskDefinitionArn), sourceARN, groups)
	if err != nil {
		return nil, []BackoutStep{keep("", "cannot read the family's revisions to see which groups they use: "+firstLine(explain(err).Error()))}, nil
	}
	var deletable []backoutsteps.Group
	var kept []BackoutStep
	for _, g := range groups {
		if user, ok := users[g]; ok {
			kept = append(kept, keep(g.Name, user+" still uses it"))
			continue
		}
		if g.Region != b.region {
			k := keep(g.Name, fmt.Sprintf("it is in %s; run backout with --region %s to check it", g.Region, g.Region))
			k.Region = g.Region
			kept = append(kept, k)
			continue
		}
		why, protected, err := b.keepLogGroup(ctx, g.Name)
		if err != nil {
			return nil, nil, fmt.Errorf("backout: log group %s: %w", g.Name, explain(err))
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
func (b *backout) groupUsers(ctx context.Context, family, self, sourceARN string, groups []policy.GroupRef) (map[policy.GroupRef]string, error) {
	users := map[policy.GroupRef]string{}
	note := func(arn, who string) error {
		d, err := b.ecs.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String(arn)})
		if err != nil {
			return err
		}
		for _, g := range policy.Groups(d.TaskDefinition) {
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
	p := ecs.NewListTaskDefinitionsPaginator(b.ecs, &ecs.ListTaskDefinitionsInput{FamilyPrefix: aws.String(family), Status: types.TaskDefinitionStatusActive, Sort: types.SortOrderDesc})
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

// backoutTable renders backout's steps.
var backoutTable = table[BackoutStep]{
	columns: []string{"kind", "resource", "region", "status", "reason", "command"},
	row: func(s BackoutStep) []string {
		return []string{string(s.Kind), s.Resource(), s.Region, string(s.Status), s.Reason, s.Command}
	},
	text: func(w io.Writer, s BackoutStep, _ int) {
		switch s.Status {
		case StepPlanned:
			fmt.Fprintf(w, "would %s\n  %s\n", stepAction(s.Step), s.Command)
		case StepDone:
			fmt.Fprintf(w, "done: %s\n  %s\n", stepAction(s.Step), s.Command)
		case StepFailed:
			fmt.Fprintf(w, "failed: %s: %s\n  %s\n", stepAction(s.Step), s.Reason, s.Command)
		default:
			fmt.Fprintf(w, "skipped: %s: %s\n", stepAction(s.Step), s.Reason)
		}
	},
}

// stepAction says what a step does, for backout's text and errors.
func stepAction(s backoutsteps.Step) string {
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
func (b *backout) keepLogGroup(ctx context.Context, name string) (string, bool, error) {
	f, err := loggroup.Find(ctx, b.logs, name, b.region)
	if err != nil {
		return "", false, err
	}
	if !f.Exists {
		return "it does not exist", false, nil
	}
	tags, err := b.logs.ListTagsForResource(ctx, &cloudwatchlogs.ListTagsForResourceInput{ResourceArn: aws.String(f.ARN)})
	if err != nil {
		return "", false, err
	}
	if tags.Tags[config.TagManaged] != "true" {
		return "ecslogfix did not create it (no " + config.TagManaged + "=true tag)", false, nil
	}
	streams, err := b.logs.DescribeLogStreams(ctx, &cloudwatchlogs.DescribeLogStreamsInput{LogGroupName: aws.String(name), Limit: aws.Int32(1)})
	if err != nil {
		return "", false, err
	}
	if len(streams.LogStreams) > 0 {
		return "it holds log streams", false, nil
	}
	return "", f.Result.DeletionProtectionEnabled, nil
}
