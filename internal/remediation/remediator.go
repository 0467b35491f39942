package remediation

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	logtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ecslogfix/ecslogfix/internal/config"
	"github.com/ecslogfix/ecslogfix/internal/plan"
	"github.com/ecslogfix/ecslogfix/internal/policy"
	"github.com/ecslogfix/ecslogfix/internal/taskdef"
	"github.com/ecslogfix/ecslogfix/internal/workflow"
)

// Remediator is the remediate function (and the CLI's fix --apply): it
// ensures log groups and registers compliant revisions, re-reading ECS
// just before it acts.
type Remediator struct {
	// Policy decides compliance and builds the plan.
	Policy policy.Policy
	// Clients gives ECS and Logs clients per target.
	Clients ClientSource
	// Partition is the AWS partition; default "aws".
	Partition string
	// Logger receives one line per step; default slog.Default().
	Logger *slog.Logger
	// Metrics receives EMF documents; nil writes none.
	Metrics *Metrics
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
	switch req.Action {
	case workflow.ActionEnsureLogGroup:
		out, err := r.EnsureLogGroups(ctx, req.Input.Input)
		if err != nil {
			return nil, workflow.Classify(err)
		}
		return out, nil
	case workflow.ActionRegister:
		out, err := r.Register(ctx, req.Input)
		if err != nil {
			return nil, workflow.Classify(err)
		}
		return out, nil
	}
	return nil, &workflow.InvalidInputError{Err: fmt.Errorf("unknown action %q", req.Action)}
}

// checkInput validates the execution input and returns the source ARN.
func checkInput(in workflow.Input) (taskdef.ARN, error) {
	a, err := taskdef.ParseARN(in.TaskDefinitionARN)
	if err != nil {
		return taskdef.ARN{}, &workflow.InvalidInputError{Err: fmt.Errorf("taskDefinitionArn: %w", err)}
	}
	switch {
	case in.Family != "" && in.Family != a.Family:
		return a, &workflow.InvalidInputError{Err: fmt.Errorf("family %q does not match taskDefinitionArn %s", in.Family, in.TaskDefinitionARN)}
	case in.Revision != 0 && in.Revision != a.Revision:
		return a, &workflow.InvalidInputError{Err: fmt.Errorf("revision %d does not match taskDefinitionArn %s", in.Revision, in.TaskDefinitionARN)}
	case in.Target.Account != "" && in.Target.Account != a.Account:
		return a, &workflow.InvalidInputError{Err: fmt.Errorf("target account %s does not match taskDefinitionArn %s", in.Target.Account, in.TaskDefinitionARN)}
	case in.Target.Region != "" && in.Target.Region != a.Region:
		return a, &workflow.InvalidInputError{Err: fmt.Errorf("target region %s does not match taskDefinitionArn %s", in.Target.Region, in.TaskDefinitionARN)}
	}
	return a, nil
}

// target completes in.Target from the ARN.
func targetOf(in workflow.Input, a taskdef.ARN) workflow.Target {
	t := in.Target
	if t.Account == "" {
		t.Account = a.Account
	}
	if t.Region == "" {
		t.Region = a.Region
	}
	return t
}

// EnsureLogGroups makes every log group of in.LogGroups exist. A group it
// creates gets the plan's tags (ecslogfix:managed=true among them), KMS key
// and class, then its retention. A group that exists already is left as
// it is — the user's retention, KMS key and class are never overwritten —
// and reported as found; the one exception is a never-expiring group that
// carries ecslogfix:managed=true, which an earlier attempt created before
// its retention step failed: its retention is set and it is reported as
// created. Deletion protection is not enabled (backout can
// then delete a group ecslogfix created, and the policy has no such
// setting).
func (r *Remediator) EnsureLogGroups(ctx context.Context, in workflow.Input) (workflow.Ensured, error) {
	a, err := checkInput(in)
	if err != nil {
		return workflow.Ensured{}, err
	}
	t := targetOf(in, a)
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

func (r *Remediator) ensure(ctx context.Context, t workflow.Target, g plan.LogGroup) (workflow.LogGroupResult, error) {
	if !policy.ValidLogGroupName(g.Name) {
		return workflow.LogGroupResult{}, &workflow.InvalidInputError{Err: fmt.Errorf("log group name %q is not valid", g.Name)}
	}
	region := g.Region
	if region == "" {
		region = t.Region
	}
	// Central logging (policy logRegion) puts the group in another Region
	// of the same account.
	c, err := r.Clients.Clients(ctx, workflow.Target{Account: t.Account, Region: region, RoleARN: t.RoleARN})
	if err != nil {
		return workflow.LogGroupResult{}, fmt.Errorf("clients for %s/%s: %w", t.Account, region, err)
	}
	log := r.logger().With("account", t.Account, "region", region, "logGroup", g.Name)
	tags := map[string]string{}
	for k, v := range g.Tags {
		tags[k] = v
	}
	tags[config.TagManaged] = "true"
	create := &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String(g.Name), Tags: tags}
	if g.KMSKeyARN != "" {
		create.KmsKeyId = aws.String(g.KMSKeyARN)
	}
	if g.Class != "" {
		create.LogGroupClass = logtypes.LogGroupClass(g.Class)
	}
	_, err = c.Logs.CreateLogGroup(ctx, create)
	var exists *logtypes.ResourceAlreadyExistsException
	switch {
	case errors.As(err, &exists):
		res, arn, err := r.describeGroup(ctx, c.Logs, g.Name, region)
		if err != nil {
			return workflow.LogGroupResult{}, err
		}
		if g.RetentionDays > 0 && res.RetentionDays == 0 && arn != "" {
			// Never-expiring: the user's choice, or our own group whose
			// retention step failed on an earlier attempt (the workflow
			// retried). Only our tag tells them apart.
			ours, err := r.managedGroup(ctx, c.Logs, arn)
			if err != nil {
				return workflow.LogGroupResult{}, err
			}
			if ours {
				if err := r.putRetention(ctx, c.Logs, g, region); err != nil {
					return workflow.LogGroupResult{}, err
				}
				res.Created, res.RetentionDays = true, g.RetentionDays
				log.Info("log group created", "retentionDays", res.RetentionDays, "class", res.Class, "kms", res.KMSKeyARN != "", "resumed", true)
				return res, nil
			}
		}
		log.Info("log group exists", "retentionDays", res.RetentionDays, "class", res.Class, "kms", res.KMSKeyARN != "")
		return res, nil
	case err != nil:
		return workflow.LogGroupResult{}, workflow.Classify(fmt.Errorf("create log group %s in %s: %w", g.Name, region, err))
	}
	res := workflow.LogGroupResult{Name: g.Name, Region: region, Created: true, KMSKeyARN: g.KMSKeyARN, Class: g.Class}
	if res.Class == "" {
		res.Class = string(logtypes.LogGroupClassStandard)
	}
	if g.RetentionDays > 0 {
		if err := r.putRetention(ctx, c.Logs, g, region); err != nil {
			return workflow.LogGroupResult{}, err
		}
		res.RetentionDays = g.RetentionDays
	}
	log.Info("log group created", "retentionDays", res.RetentionDays, "class", res.Class, "kms", res.KMSKeyARN != "")
	return res, nil
}

func (r *Remediator) putRetention(ctx context.Context, logs Logs, g plan.LogGroup, region string) error {
	if _, err := logs.PutRetentionPolicy(ctx, &cloudwatchlogs.PutRetentionPolicyInput{
		LogGroupName:    aws.String(g.Name),
		RetentionInDays: aws.Int32(g.RetentionDays),
	}); err != nil {
		return workflow.Classify(fmt.Errorf("put retention policy on %s in %s: %w", g.Name, region, err))
	}
	return nil
}

// managedGroup reports whether the group carries ecslogfix:managed=true.
func (r *Remediator) managedGroup(ctx context.Context, logs Logs, arn string) (bool, error) {
	out, err := logs.ListTagsForResource(ctx, &cloudwatchlogs.ListTagsForResourceInput{ResourceArn: aws.String(arn)})
	if err != nil {
		return false, workflow.Classify(fmt.Errorf("list tags of %s: %w", arn, err))
	}
	return out.Tags[config.TagManaged] == "true", nil
}

// describeGroup reports an existing group's settings, and its ARN (without
// the ":*" suffix) for tagging calls.
func (r *Remediator) describeGroup(ctx context.Context, logs Logs, name, region string) (workflow.LogGroupResult, string, error) {
	var token *string
	for {
		out, err := logs.DescribeLogGroups(ctx, &cloudwatchlogs.DescribeLogGroupsInput{LogGroupNamePrefix: aws.String(name), NextToken: token})
		if err != nil {
			return workflow.LogGroupResult{}, "", workflow.Classify(fmt.Errorf("describe log group %s in %s: %w", name, region, err))
		}
		for _, lg := range out.LogGroups {
			if aws.ToString(lg.LogGroupName) != name {
				continue
			}
			arn := aws.ToString(lg.LogGroupArn)
			if arn == "" {
				arn = strings.TrimSuffix(aws.ToString(lg.Arn), ":*")
			}
			return workflow.LogGroupResult{
				Name:                      name,
				Region:                    region,
				RetentionDays:             aws.ToInt32(lg.RetentionInDays),
				KMSKeyARN:                 aws.ToString(lg.KmsKeyId),
				Class:                     string(lg.LogGroupClass),
				DeletionProtectionEnabled: aws.ToBool(lg.DeletionProtectionEnabled),
			}, arn, nil
		}
		if out.NextToken == nil || aws.ToString(out.NextToken) == aws.ToString(token) {
			break
		}
		token = out.NextToken
	}
	// Deleted between the create and the describe: report what we know.
	return workflow.LogGroupResult{Name: name, Region: region}, "", nil
}

// tagValue returns the value of key in tags, and whether it is present.
func tagValue(tags []types.Tag, key string) (string, bool) {
	for _, t := range tags {
		if aws.ToString(t.Key) == key {
			return aws.ToString(t.Value), true
		}
	}
	return "", false
}

// Register re-reads the family and registers a compliant revision built
// from the freshest content the rules allow (issue 3):
//
//   - DescribeTaskDefinition(family, TAGS) gives the latest ACTIVE revision.
//     If it is the source revision, it is the source content (1 read).
//   - If the latest is newer and tagged as our remediation of this source:
//     ALREADY_REMEDIATED. If it is our remediation of an older source, the
//     source (a newer user revision) is described by ARN and remediated.
//     Any other newer revision (the user's, or our remediation of a newer
//     source) supersedes this one: SUPERSEDED (its own event covers it).
//   - If the latest is older than the source, the source was deregistered:
//     it is described to confirm, then INACTIVE.
//   - The source re-read: exempt → EXEMPT; compliant → ALREADY_COMPLIANT;
//     blocked plan → BLOCKED; only REPORT actions → NEEDS_HUMAN; report
//     enforcement → REPORT_ONLY with the plan; else register the plan's
//     task definition with the source's tags plus ecslogfix:source-revision
//     and ecslogfix:managed → REMEDIATED.
//
// The Result carries the redacted plan, never the changed task definition.
func (r *Remediator) Register(ctx context.Context, st workflow.State) (workflow.Result, error) {
	in := st.Input
	a, err := checkInput(in)
	if err != nil {
		return workflow.Result{}, err
	}
	t := targetOf(in, a)
	pol := r.Policy.WithDefaults()
	res := workflow.Result{
		Version:   workflow.Version,
		Target:    t,
		Family:    a.Family,
		SourceARN: in.TaskDefinitionARN,
		Principal: in.Principal,
		Origin:    in.Origin,
		Trigger:   in.Trigger,
		EventID:   in.EventID,
	}
	if st.Ensured != nil {
		res.LogGroups = st.Ensured.LogGroups
	}
	log := r.logger().With("account", t.Account, "region", t.Region, "family", a.Family, "revision", a.Revision, "taskDefinitionArn", in.TaskDefinitionARN)
	c, err := r.Clients.Clients(ctx, t)
	if err != nil {
		return workflow.Result{}, fmt.Errorf("clients for %s/%s: %w", t.Account, t.Region, err)
	}

	src, srcTags, outcome, err := r.readSource(ctx, c.ECS, a, &res)
	if err != nil {
		return workflow.Result{}, err
	}
	if outcome != "" {
		return r.finish(log, res, outcome), nil
	}
	if pol.IsExempt(srcTags) {
		res.Detail = "the source revision carries the exemption tag"
		return r.finish(log, res, workflow.OutcomeExempt), nil
	}
	p, err := plan.Build(src, srcTags, pol, plan.Context{Partition: r.partition(), Account: t.Account, Region: t.Region})
	if err != nil {
		return workflow.Result{}, &workflow.InvalidInputError{Err: fmt.Errorf("plan %s: %w", aws.ToString(src.TaskDefinitionArn), err)}
	}
	changed := p.Changed
	redacted := p
	redacted.Changed = nil
	switch {
	case p.Exempt:
		res.Detail = "the source revision carries the exemption tag"
		return r.finish(log, res, workflow.OutcomeExempt), nil
	case p.Compliant:
		res.Detail = "the source revision is compliant when re-read"
		return r.finish(log, res, workflow.OutcomeAlreadyCompliant), nil
	}
	res.Plan = &redacted
	enf := in.Enforcement
	if enf == "" {
		enf = enforcement(pol)
	}
	switch {
	case p.Blocked():
		res.Detail = "the fix cannot be applied safely: " + p.Blockers[0].Message
		return r.finish(log, res, workflow.OutcomeBlocked), nil
	case changed == nil:
		res.Detail = "no container can be fixed automatically (FireLens or a driver the policy reports); a human must act"
		return r.finish(log, res, workflow.OutcomeNeedsHuman), nil
	case enf == policy.Report:
		res.Detail = "report mode: nothing was changed"
		return r.finish(log, res, workflow.OutcomeReportOnly), nil
	}

	// The plan may name groups the detect-time plan did not (the content
	// was re-read): ensure those too, so the new revision never points at
	// a missing group.
	for _, g := range p.LogGroups {
		if ensuredHas(res.LogGroups, g) {
			continue
		}
		lg, err := r.ensure(ctx, t, g)
		if err != nil {
			return workflow.Result{}, err
		}
		res.LogGroups = append(res.LogGroups, lg)
	}

	latestRev := revisionOf(res.LatestARN) // 0: the family had no ACTIVE revision
	reg, err := taskdef.RegisterInput(changed, srcTags, taskdef.ProvenanceTags(src.Revision)...)
	if err != nil {
		res.Detail = "cannot build the register request: " + err.Error()
		return r.finish(log, res, workflow.OutcomeBlocked), nil
	}
	out, err := c.ECS.RegisterTaskDefinition(ctx, reg)
	if err != nil {
		return workflow.Result{}, workflow.Classify(fmt.Errorf("register task definition %s: %w", a.Family, err))
	}
	if out.TaskDefinition == nil {
		return workflow.Result{}, &workflow.ThrottledError{Err: errors.New("register task definition: empty response")}
	}
	newARN := aws.ToString(out.TaskDefinition.TaskDefinitionArn)
	if o, err := r.withdrawIfOvertaken(ctx, c.ECS, a, src.Revision, latestRev, out.TaskDefinition.Revision, &res); err != nil || o != "" {
		if err != nil {
			return workflow.Result{}, err
		}
		return r.finish(log, res, o), nil
	}
	res.NewARN = newARN
	res.LatestARN = res.NewARN // the family's latest ACTIVE revision is now ours
	res.Detail = fmt.Sprintf("registered %s:%d from %s:%d", a.Family, out.TaskDefinition.Revision, a.Family, src.Revision)
	return r.finish(log, res, workflow.OutcomeRemediated), nil
}

// maxOvertakeReads bounds the revisions withdrawIfOvertaken reads.
const maxOvertakeReads = 5

// withdrawIfOvertaken guards against registering older content on top of
// newer: between reading the family (latest revision latest) and
// registering (revision ours, built from source revision src), others may
// have registered. Revision numbers only grow, so ours == latest+1 means
// nobody did (no extra call). Otherwise the newest ACTIVE revision in
// between decides: newer user content, or ecslogfix's fix of this or a
// newer source, means ours must not stay on top, and it is deregistered
// (SUPERSEDED, or ALREADY_REMEDIATED for a duplicate); ecslogfix's fix of
// an older source, or nothing ACTIVE in between, leaves ours in place.
func (r *Remediator) withdrawIfOvertaken(ctx context.Context, c ECS, a taskdef.ARN, src, latest, ours int32, res *workflow.Result) (workflow.Outcome, error) {
	for rev := ours - 1; rev > latest && rev >= ours-maxOvertakeReads; rev-- {
		ref := a
		ref.Revision = rev
		out, err := c.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{
			TaskDefinition: aws.String(ref.String()),
			Include:        []types.TaskDefinitionField{types.TaskDefinitionFieldTags},
		})
		switch {
		case err != nil && isTaskDefinitionNotFound(err):
			continue
		case err != nil:
			return "", workflow.Classify(fmt.Errorf("describe task definition %s: %w", ref.String(), err))
		case out.TaskDefinition == nil || out.TaskDefinition.Status != types.TaskDefinitionStatusActive:
			continue
		}
		from, isOurs := taskdef.SourceRevision(out.Tags)
		if isOurs && from < src {
			return "", nil // ecslogfix's fix of older content: ours is newer
		}
		mine := a
		mine.Revision = ours
		if _, err := c.DeregisterTaskDefinition(ctx, &ecs.DeregisterTaskDefinitionInput{TaskDefinition: aws.String(mine.String())}); err != nil {
			return "", workflow.Classify(fmt.Errorf("withdraw %s: %w", mine.String(), err))
		}
		res.LatestARN = ref.String()
		if isOurs && from == src {
			res.Detail = fmt.Sprintf("%s was registered from %s:%d by another execution while this one worked; the duplicate %s was deregistered", ref.String(), a.Family, src, mine.String())
			return workflow.OutcomeAlreadyRemediated, nil
		}
		res.Detail = fmt.Sprintf("newer content (%s) was registered while this execution worked; its fix of %s:%d (%s) was deregistered so it does not replace newer content", ref.String(), a.Family, src, mine.String())
		return workflow.OutcomeSuperseded, nil
	}
	return "", nil
}

// revisionOf returns the revision of a task-definition ARN, or 0.
func revisionOf(arn string) int32 {
	a, err := taskdef.ParseARN(arn)
	if err != nil {
		return 0
	}
	return a.Revision
}

func ensuredHas(done []workflow.LogGroupResult, g plan.LogGroup) bool {
	for _, d := range done {
		if d.Name == g.Name && (d.Region == g.Region || g.Region == "") {
			return true
		}
	}
	return false
}

// readSource applies the re-read rules. It returns the source content and
// tags to remediate, or an outcome that ends the step (with res.Detail and
// res.LatestARN filled), or an error.
func (r *Remediator) readSource(ctx context.Context, c ECS, a taskdef.ARN, res *workflow.Result) (*types.TaskDefinition, []types.Tag, workflow.Outcome, error) {
	latest, err := c.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{
		TaskDefinition: aws.String(a.Family),
		Include:        []types.TaskDefinitionField{types.TaskDefinitionFieldTags},
	})
	switch {
	case err != nil && isTaskDefinitionNotFound(err):
		latest = nil // no ACTIVE revision left in the family
	case err != nil:
		return nil, nil, "", workflow.Classify(fmt.Errorf("describe task definition %s: %w", a.Family, err))
	case latest.TaskDefinition == nil || latest.TaskDefinition.Status != types.TaskDefinitionStatusActive:
		latest = nil // ECS answers a family with its latest ACTIVE revision; be strict anyway
	}
	if latest != nil {
		ltd := latest.TaskDefinition
		res.LatestARN = aws.ToString(ltd.TaskDefinitionArn)
		switch {
		case ltd.Revision == a.Revision:
			return ltd, latest.Tags, "", nil
		case ltd.Revision > a.Revision:
			from, ours := taskdef.SourceRevision(latest.Tags)
			switch {
			case ours && from == a.Revision:
				res.Detail = fmt.Sprintf("%s:%d already is ecslogfix's remediation of this revision", a.Family, ltd.Revision)
				return nil, nil, workflow.OutcomeAlreadyRemediated, nil
			case ours && from > a.Revision:
				res.Detail = fmt.Sprintf("%s:%d is ecslogfix's remediation of the newer revision %d", a.Family, ltd.Revision, from)
				return nil, nil, workflow.OutcomeSuperseded, nil
			case !ours:
				res.Detail = fmt.Sprintf("a newer revision %s:%d exists; its own event covers it", a.Family, ltd.Revision)
				return nil, nil, workflow.OutcomeSuperseded, nil
			}
			// Our remediation of an older source: this revision is the
			// newest user content. Read it and remediate it.
		}
	}
	out, err := c.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{
		TaskDefinition: aws.String(a.String()),
		Include:        []types.TaskDefinitionField{types.TaskDefinitionFieldTags},
	})
	switch {
	case err != nil && isTaskDefinitionNotFound(err):
		res.Detail = "the source revision can no longer be described (deregistered or deleted)"
		return nil, nil, workflow.OutcomeInactive, nil
	case err != nil:
		return nil, nil, "", workflow.Classify(fmt.Errorf("describe task definition %s: %w", a.String(), err))
	case out.TaskDefinition == nil || out.TaskDefinition.Status != types.TaskDefinitionStatusActive:
		res.Detail = "the source revision was deregistered"
		return nil, nil, workflow.OutcomeInactive, nil
	}
	return out.TaskDefinition, out.Tags, "", nil
}

func (r *Remediator) finish(log *slog.Logger, res workflow.Result, o workflow.Outcome) workflow.Result {
	res.Outcome = o
	log.Info("register", "outcome", string(o), "newArn", res.NewARN, "latestArn", res.LatestARN, "detail", res.Detail)
	counts := map[string]int{MetricOutcomes: 1}
	switch o {
	case workflow.OutcomeRemediated:
		counts[config.MetricRemediations] = 1
	case workflow.OutcomeBlocked, workflow.OutcomeNeedsHuman:
		counts[config.MetricBlocked] = 1
	}
	r.Metrics.Count(map[string]string{"Outcome": string(o)}, counts)
	return res
}
