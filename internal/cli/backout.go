package cli

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	cwltypes "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/spf13/cobra"

	"github.com/ecslogfix/ecslogfix/internal/awsclient"
	"github.com/ecslogfix/ecslogfix/internal/awserr"
	"github.com/ecslogfix/ecslogfix/internal/config"
	"github.com/ecslogfix/ecslogfix/internal/history"
	"github.com/ecslogfix/ecslogfix/internal/plan"
	"github.com/ecslogfix/ecslogfix/internal/policy"
	"github.com/ecslogfix/ecslogfix/internal/taskdef"
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
}

// backoutLogs is the part of the CloudWatch Logs API backout uses.
type backoutLogs interface {
	DescribeLogGroups(ctx context.Context, in *cloudwatchlogs.DescribeLogGroupsInput, optFns ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.DescribeLogGroupsOutput, error)
	ListTagsForResource(ctx context.Context, in *cloudwatchlogs.ListTagsForResourceInput, optFns ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.ListTagsForResourceOutput, error)
	DescribeLogStreams(ctx context.Context, in *cloudwatchlogs.DescribeLogStreamsInput, optFns ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.DescribeLogStreamsOutput, error)
	DeleteLogGroup(ctx context.Context, in *cloudwatchlogs.DeleteLogGroupInput, optFns ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.DeleteLogGroupOutput, error)
}

// backoutOptions is backout's command line.
type backoutOptions struct {
	f              *factory
	output         Format
	taskDefinition string
	clusters       []string
	deleteLogGroup bool
	apply          bool
	exemptUntil    string // the day the source is exempt until; default today + the policy's backoutDays
	history        historyFlags
	region         string // the one --region, if given
}

// BackoutResult is what backout found and did: the steps of plan.Backout
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
}

// BackoutStep is one step and its status. Steps of plan.Backout carry
// their command; a skipped one that plan.Backout has no step for (a log
// group ecslogfix did not create) carries none. The JSON field names are
// part of the documented, stable output.
type BackoutStep struct {
	plan.Step
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
		Use:   "backout --task-definition FAMILY:REV [--cluster C ...] [--delete-log-group] [--apply]",
		Short: "Undo a revision ecslogfix registered (dry run by default)",
		Long: `backout undoes one remediation: it refuses any revision ecslogfix did not
register (no ` + config.TagSource + ` tag). It runs the steps the
notification of the remediation lists, with the services and log groups it
finds filled in. With --apply it moves the services of the given clusters
that run the revision back to the source revision (UpdateService),
deregisters the revision (so the family's latest ACTIVE revision is the
source again), tags the source with the policy's end-date tag
(ecslogfix:exempt-until) so that ecslogfix leaves it until --exempt-until
(default: today plus the policy's exemptions.backoutDays, 30) and fixes it
again after, and with --delete-log-group deletes each log group of the
revision that ecslogfix created (tag ` + config.TagManaged + `), that the
source revision does not use and that holds no log streams. Without --apply
it prints what it would do. With --history the backout is recorded in the
history (BACKED_OUT).

Exit status: 0 on success, 2 on errors or when the revision is not one
ecslogfix registered.`,
		Example: `  # What would be undone
  ecslogfix backout --task-definition orders-api:15 --cluster prod

  # Undo it, and delete the log group ecslogfix created if still empty
  ecslogfix backout --task-definition orders-api:15 --cluster prod --delete-log-group --apply`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := validRevision(o.taskDefinition); err != nil {
				return usagef(cmd, "--task-definition %q: %v", o.taskDefinition, err)
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
	fl.StringVar(&o.exemptUntil, "exempt-until", "", "the day (YYYY-MM-DD) until which ecslogfix leaves the source as it is (default: today + the policy's backoutDays)")
	addHistoryFlags(cmd, &o.history)
	_ = cmd.MarkFlagRequired("task-definition") // the flag exists: no error
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
	b := &backout{ecs: ecsClient, logs: logsClient, region: factory.Region(), pol: pol, now: o.f.now}
	res, runErr := b.run(ctx, o)
	if res.TaskDefinitionARN == "" {
		return runErr
	}
	if runErr == nil && res.Applied && store != nil {
		if err := b.record(ctx, store, res, caller(ctx, factory)); err != nil {
			runErr = fmt.Errorf("backout: done, but not recorded in the history: %w", explain(err))
		}
	}
	p, err := newPrinter(o.f.Stdout, o.f.Stderr, o.output, backoutTable)
	if err != nil {
		return err
	}
	p.note("%s was registered by ecslogfix from %s", res.TaskDefinitionARN, res.SourceARN)
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
	ecs    backoutECS
	logs   backoutLogs
	region string
	pol    policy.Policy
	now    func() time.Time // nil: time.Now
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
// plan.Backout gives for what it found, and with --apply runs them in
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
	rev, ours := taskdef.SourceRevision(d.Tags)
	if !ours {
		return BackoutResult{}, fmt.Errorf("backout: %s was not registered by ecslogfix (no valid %s tag): refusing to touch it", arn, config.TagSource)
	}
	a, err := taskdef.ParseARN(arn)
	if err != nil {
		return BackoutResult{}, fmt.Errorf("backout: %w", err)
	}
	a.Revision = rev
	res := BackoutResult{Region: b.region, Family: aws.ToString(td.Family), TaskDefinitionARN: arn, SourceARN: a.String(), Applied: o.apply, ExemptUntil: b.exemptUntil(o)}

	in := plan.BackoutInput{Region: b.region, NewARN: arn, SourceARN: res.SourceARN, ExemptKey: b.pol.UntilKey(), ExemptUntil: res.ExemptUntil}
	var kept []BackoutStep
	if o.deleteLogGroup {
		in.CreatedLogGroups, kept, err = b.deletableLogGroups(ctx, td, res.SourceARN)
		if err != nil {
			return BackoutResult{}, err
		}
	}
	for _, s := range plan.Backout(in) {
		switch {
		case s.Kind == plan.StepMoveService:
			moves, err := b.moves(ctx, s, o.clusters, arn)
			if err != nil {
				return BackoutResult{}, err
			}
			res.Steps = append(res.Steps, moves...)
		case s.Kind == plan.StepDeregister && td.Status != types.TaskDefinitionStatusActive:
			res.Steps = append(res.Steps, BackoutStep{Step: s, Status: StepSkipped, Reason: "it is already " + string(td.Status)})
		case s.Kind == plan.StepExemptUntil && td.Status != types.TaskDefinitionStatusActive:
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
func (b *backout) moves(ctx context.Context, s plan.Step, clusters []string, arn string) ([]BackoutStep, error) {
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
			none := plan.Step{Kind: plan.StepMoveService, Cluster: cluster, TaskDefinition: s.TaskDefinition, Region: s.Region}
			out = append(out, BackoutStep{Step: none, Status: StepSkipped, Reason: "no service runs " + arn})
		}
		for _, svc := range services {
			out = append(out, BackoutStep{Step: s.Bind(cluster, svc), Status: StepPlanned})
		}
	}
	return out, nil
}

// apply runs the planned steps in order. After a failure the rest are
// skipped: each step assumes the ones before it ran.
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
		if err := b.exec(ctx, s.Step); err != nil {
			err = explain(err)
			s.Status, s.Reason = StepFailed, firstLine(err.Error())
			failed = fmt.Errorf("backout: %s: %w", stepAction(s.Step), err)
			continue
		}
		s.Status = StepDone
	}
	return failed
}

// exec makes the one AWS call a step's command stands for, with the
// step's own arguments.
func (b *backout) exec(ctx context.Context, s plan.Step) error {
	if s.Conditional {
		return fmt.Errorf("%s still names %s and %s", s.Kind, plan.PlaceholderCluster, plan.PlaceholderService)
	}
	var err error
	switch s.Kind {
	case plan.StepMoveService:
		_, err = b.ecs.UpdateService(ctx, &ecs.UpdateServiceInput{
			Cluster: aws.String(s.Cluster), Service: aws.String(s.Service), TaskDefinition: aws.String(s.TaskDefinition),
		})
	case plan.StepDeregister:
		_, err = b.ecs.DeregisterTaskDefinition(ctx, &ecs.DeregisterTaskDefinitionInput{TaskDefinition: aws.String(s.TaskDefinition)})
	case plan.StepExemptUntil:
		_, err = b.ecs.TagResource(ctx, &ecs.TagResourceInput{ResourceArn: aws.String(s.TaskDefinition),
			Tags: []types.Tag{{Key: aws.String(s.TagKey), Value: aws.String(s.Until)}}})
	case plan.StepDeleteLogGroup:
		_, err = b.logs.DeleteLogGroup(ctx, &cloudwatchlogs.DeleteLogGroupInput{LogGroupName: aws.String(s.LogGroup)})
	default:
		// Deletion protection is never turned off here: a group that has
		// it is kept (see deletableLogGroups).
		err = fmt.Errorf("backout does not run %s steps", s.Kind)
	}
	return err
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

type logGroupRef struct{ name, region string }

func awslogsGroups(td *types.TaskDefinition, defaultRegion string) []logGroupRef {
	var refs []logGroupRef
	for _, c := range td.ContainerDefinitions {
		lc := c.LogConfiguration
		if lc == nil || lc.LogDriver != types.LogDriverAwslogs || lc.Options["awslogs-group"] == "" {
			continue
		}
		r := logGroupRef{name: lc.Options["awslogs-group"], region: cmp.Or(lc.Options["awslogs-region"], defaultRegion)}
		if !slices.Contains(refs, r) {
			refs = append(refs, r)
		}
	}
	return refs
}

// deletableLogGroups returns the revision's log groups that ecslogfix
// created and that may be deleted: the source revision does not use them,
// they are in this region, not deletion-protected and hold no log
// streams. Each other log group of the revision is a skipped step that
// says why it is kept.
func (b *backout) deletableLogGroups(ctx context.Context, td *types.TaskDefinition, sourceARN string) ([]string, []BackoutStep, error) {
	keep := func(name, why string) BackoutStep {
		return BackoutStep{Step: plan.Step{Kind: plan.StepDeleteLogGroup, LogGroup: name, Region: b.region, Optional: true}, Status: StepSkipped, Reason: why}
	}
	src, err := b.ecs.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String(sourceARN)})
	if err != nil {
		return nil, []BackoutStep{keep("", "cannot read the source revision to see which groups it uses: "+firstLine(explain(err).Error()))}, nil
	}
	used := awslogsGroups(src.TaskDefinition, b.region)
	var deletable []string
	var kept []BackoutStep
	for _, g := range awslogsGroups(td, b.region) {
		if slices.Contains(used, g) {
			kept = append(kept, keep(g.name, "the source revision uses it"))
			continue
		}
		if g.region != b.region {
			k := keep(g.name, fmt.Sprintf("it is in %s; run backout with --region %s to check it", g.region, g.region))
			k.Region = g.region
			kept = append(kept, k)
			continue
		}
		why, err := b.keepLogGroup(ctx, g.name)
		if err != nil {
			return nil, nil, fmt.Errorf("backout: log group %s: %w", g.name, explain(err))
		}
		if why != "" {
			kept = append(kept, keep(g.name, why))
			continue
		}
		deletable = append(deletable, g.name)
	}
	return deletable, kept, nil
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
func stepAction(s plan.Step) string {
	switch s.Kind {
	case plan.StepMoveService:
		switch {
		case s.Conditional:
			return "move services back to " + s.TaskDefinition
		case s.Service == "":
			return fmt.Sprintf("move services in cluster %s back to %s", s.Cluster, s.TaskDefinition)
		}
		return fmt.Sprintf("move service %s in cluster %s back to %s", s.Service, s.Cluster, s.TaskDefinition)
	case plan.StepDeregister:
		return "deregister " + s.TaskDefinition
	case plan.StepExemptUntil:
		return fmt.Sprintf("exempt %s until %s (tag %s)", s.TaskDefinition, s.Until, s.TagKey)
	case plan.StepDisableDeletionProtection:
		return "turn off deletion protection of log group " + s.LogGroup
	case plan.StepDeleteLogGroup:
		if s.LogGroup == "" {
			return "delete the revision's log groups"
		}
		return "delete log group " + s.LogGroup
	}
	return string(s.Kind) + " " + s.Resource()
}

// keepLogGroup returns why the group must not be deleted, or "".
func (b *backout) keepLogGroup(ctx context.Context, name string) (string, error) {
	out, err := b.logs.DescribeLogGroups(ctx, &cloudwatchlogs.DescribeLogGroupsInput{LogGroupNamePrefix: aws.String(name)})
	if err != nil {
		return "", err
	}
	i := slices.IndexFunc(out.LogGroups, func(g cwltypes.LogGroup) bool { return aws.ToString(g.LogGroupName) == name })
	if i < 0 {
		return "it does not exist", nil
	}
	g := out.LogGroups[i]
	if aws.ToBool(g.DeletionProtectionEnabled) {
		return "deletion protection is enabled", nil
	}
	arn := strings.TrimSuffix(aws.ToString(g.Arn), ":*")
	if arn == "" {
		arn = aws.ToString(g.LogGroupArn)
	}
	tags, err := b.logs.ListTagsForResource(ctx, &cloudwatchlogs.ListTagsForResourceInput{ResourceArn: aws.String(arn)})
	if err != nil {
		return "", err
	}
	if tags.Tags[config.TagManaged] != "true" {
		return "ecslogfix did not create it (no " + config.TagManaged + "=true tag)", nil
	}
	streams, err := b.logs.DescribeLogStreams(ctx, &cloudwatchlogs.DescribeLogStreamsInput{LogGroupName: aws.String(name), Limit: aws.Int32(1)})
	if err != nil {
		return "", err
	}
	if len(streams.LogStreams) > 0 {
		return "it holds log streams", nil
	}
	return "", nil
}

func tagValue(tags []types.Tag, key string) string {
	for _, t := range tags {
		if aws.ToString(t.Key) == key {
			return aws.ToString(t.Value)
		}
	}
	return ""
}
