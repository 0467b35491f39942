package plan

import (
	"cmp"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/arn"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ecslogfix/ecslogfix/internal/awsarn"
	"github.com/ecslogfix/ecslogfix/internal/policy"
	"github.com/ecslogfix/ecslogfix/internal/policy/awslogs"
	"github.com/ecslogfix/ecslogfix/internal/policy/exemption"
	"github.com/ecslogfix/ecslogfix/internal/policy/reason"
	"github.com/ecslogfix/ecslogfix/internal/taskdef"
)

// Build computes the plan for td (as DescribeTaskDefinition returned it,
// with its tags) under p, on its content alone: BuildWith without facts.
func Build(td *types.TaskDefinition, tags []types.Tag, p policy.Policy, c Context) (Plan, error) {
	return BuildWith(td, tags, p, c, awslogs.Facts{})
}

// BuildWith computes the plan for td under p with what the shell observed
// (the account's log driver mode, which log groups exist). Unset policy
// fields take their defaults. It returns an error only for input it cannot
// reason about (nil td, no family, taskdef.CheckInput); everything else is
// a Blocker. td and tags are never modified; Plan.Changed is a deep copy
// in which only the fixed containers (and, when the policy supplies one,
// executionRoleArn) differ.
func BuildWith(td *types.TaskDefinition, tags []types.Tag, p policy.Policy, c Context, f awslogs.Facts) (Plan, error) {
	if td == nil {
		return Plan{}, errors.New("plan: nil task definition")
	}
	family := strings.TrimSpace(aws.ToString(td.Family))
	if family == "" {
		return Plan{}, errors.New("plan: task definition has no family")
	}
	if err := taskdef.CheckInput(td); err != nil {
		return Plan{}, err
	}
	p = p.WithDefaults()
	c = fillContext(c, aws.ToString(td.TaskDefinitionArn))

	pl := Plan{
		SourceARN:  aws.ToString(td.TaskDefinitionArn),
		Family:     family,
		Revision:   td.Revision,
		Context:    c,
		Containers: []ContainerChange{},
	}
	ev := p.EvaluateFor(td, tags, exemption.Subject{Account: c.Account, Region: c.Region, Family: family, Today: c.Today}, f)
	pl.Exempt = ev.Exempt
	pl.Compliant = ev.Compliant
	pl.Exemption, pl.ExemptionNotes = ev.Exemption, ev.ExemptionNotes
	logRegion := cmp.Or(p.LogRegion, c.Region)
	b := builder{p: p, c: c, f: f, family: family, logRegion: logRegion, plan: &pl}
	if ev.Exempt || ev.Compliant {
		for i, fd := range ev.Containers {
			pl.Containers = append(pl.Containers, ContainerChange{
				Name: fd.Name, Reasons: fd.Reasons, Keys: fd.Keys, Exempt: fd.Exempt, Action: ActionNone,
				Before: Redact(td.ContainerDefinitions[i].LogConfiguration),
			})
		}
		b.useGroups(td)
		return pl, nil
	}

	var fixed []*types.LogConfiguration // per container; nil = untouched
	role := false                       // the fix must add an execution role
	for i, fd := range ev.Containers {
		cd := &td.ContainerDefinitions[i]
		cc, lc := b.container(cd, fd)
		pl.Containers = append(pl.Containers, cc)
		fixed = append(fixed, lc)
		role = role || slices.Contains(fd.Reasons, reason.ExecutionRoleMissing)
	}
	if !b.changed && !role {
		b.useGroups(td) // nothing to register: the source's groups
		return pl, nil
	}
	if b.needsRegion && logRegion == "" {
		pl.Blockers = append(pl.Blockers, Blocker{BlockInvalidInput, "no region known for awslogs-region: the context names none and the policy sets no logRegion"})
	}

	changed := taskdef.Copy(td)
	for i, lc := range fixed {
		if lc != nil {
			changed.ContainerDefinitions[i].LogConfiguration = lc
		}
	}
	if role {
		arn := p.DefaultExecutionRoleARN
		if strings.Contains(arn, policy.AccountPlaceholder) && c.Account != "" {
			arn = strings.ReplaceAll(arn, policy.AccountPlaceholder, c.Account)
		}
		if arn != "" && !strings.Contains(arn, policy.AccountPlaceholder) {
			changed.ExecutionRoleArn = &arn
			pl.ExecutionRoleARN = arn
		} else {
			pl.Blockers = append(pl.Blockers, Blocker{BlockNoExecutionRole,
				"the task definition can run on Fargate or ECS Anywhere (EXTERNAL) and has no executionRoleArn, which awslogs needs there; set defaultExecutionRoleArn in the policy or add an execution role"})
		}
	}
	pl.Changed = changed
	b.useGroups(changed)
	b.checkSize(changed, tags)
	return pl, nil
}

type builder struct {
	p         policy.Policy
	c         Context
	f         awslogs.Facts
	family    string
	logRegion string
	plan      *Plan
	changed   bool
	added     []awslogs.GroupRef // groups the template gave
	// needsRegion is set when a fixed container takes the region from
	// the context or the policy (it names none of its own).
	needsRegion bool
}

// fixable reports whether the fix can correct every reason of an awslogs
// container by adding or replacing option values: an unknown key, or an
// explicit mode or max-buffer-size the policy refuses, needs a human.
func fixable(lc *types.LogConfiguration, fd policy.ContainerFinding) bool {
	if slices.Contains(fd.Reasons, reason.UnknownOption) {
		return false
	}
	for _, k := range fd.Keys {
		if (k == awslogs.OptMode || k == awslogs.OptMaxBufferSize) && !awslogs.Blank(lc.Options[k]) {
			return false
		}
	}
	return true
}

// onlyLive reports whether a finding's reasons need no change to the
// container itself: a missing group (created, not rewritten) and the
// task's missing execution role (set on the task).
func onlyLive(fd policy.ContainerFinding) bool {
	for _, r := range fd.Reasons {
		if r != reason.LogGroupMissing && r != reason.ExecutionRoleMissing {
			return false
		}
	}
	return true
}

// container decides the action for one container and returns the new
// logConfiguration (nil when the container is left untouched).
func (b *builder) container(cd *types.ContainerDefinition, f policy.ContainerFinding) (ContainerChange, *types.LogConfiguration) {
	cc := ContainerChange{Name: f.Name, Reasons: f.Reasons, Keys: f.Keys, Exempt: f.Exempt, Action: ActionNone, Before: Redact(cd.LogConfiguration)}
	if f.Compliant || f.Exempt || onlyLive(f) {
		return cc, nil
	}
	lc := cd.LogConfiguration
	var out *types.LogConfiguration
	switch {
	case lc == nil:
		cc.Action = ActionAdd
		out = b.fresh(f.Name, nil)
	case string(lc.LogDriver) == awslogs.DriverAwsfirelens, // FireLens, awslogs only a human can fix, or a driver the policy reports
		string(lc.LogDriver) == awslogs.DriverAwslogs && !fixable(lc, f),
		string(lc.LogDriver) != awslogs.DriverAwslogs && b.p.OtherDrivers == policy.ReportDriver:
		cc.Action = ActionReport
		return cc, nil
	case string(lc.LogDriver) == awslogs.DriverAwslogs:
		cc.Action = ActionComplete
		out = b.complete(f.Name, lc)
	default:
		cc.Action = ActionReplace
		out = b.fresh(f.Name, lc.Options)
	}
	b.changed = true
	cc.After = Redact(out)
	return cc, out
}

// groupFor expands the template for a container, or records a blocker
// when the name is invalid.
func (b *builder) groupFor(container, region string) string {
	name := b.p.LogGroupName(b.family, container, b.c.Account, b.c.Region)
	if !awslogs.ValidLogGroupName(name) {
		b.plan.Blockers = append(b.plan.Blockers, Blocker{BlockInvalidGroup,
			fmt.Sprintf("container %q: log group template %q gives %q, which is not a valid log group name", container, b.p.LogGroupTemplate, name)})
		return name
	}
	if g := (awslogs.GroupRef{Name: name, Region: region}); !slices.Contains(b.added, g) {
		b.added = append(b.added, g)
	}
	return name
}

// useGroups lists every log group td's awslogs containers write to, with
// the settings to create it with and what the facts say about it. A group
// the template gave, or one observed missing, is one ecslogfix creates:
// its KMS key must be of its region.
func (b *builder) useGroups(td *types.TaskDefinition) {
	driverCreates := map[awslogs.GroupRef]bool{}
	for _, c := range td.ContainerDefinitions {
		lc := c.LogConfiguration
		if lc == nil || string(lc.LogDriver) != awslogs.DriverAwslogs {
			continue
		}
		g := awslogs.GroupRef{Name: lc.Options[awslogs.OptGroup], Region: lc.Options[awslogs.OptRegion]}
		creates, seen := driverCreates[g]
		driverCreates[g] = awslogs.CreatesGroup(lc.Options) && (creates || !seen)
	}
	for _, g := range awslogs.Groups(td) {
		lg := b.logGroup(g)
		lg.DriverCreates = driverCreates[g]
		if fact, seen := b.f.Groups[g]; seen {
			lg.Observed = &fact
			switch {
			case lg.OutsidePatterns:
				// Neither created nor changed: the role may not.
			case !fact.Exists:
				lg.Create = true
			default:
				lg.SetRetention, _ = b.p.RetentionFor(fact.RetentionDays)
			}
		}
		if lg.Missing() || (lg.Observed == nil && slices.Contains(b.added, g)) {
			b.checkKeyRegion(lg)
		}
		b.plan.LogGroups = append(b.plan.LogGroups, lg)
	}
}

// logGroup is g with the settings the policy creates groups with.
func (b *builder) logGroup(g awslogs.GroupRef) LogGroup {
	tags := make(map[string]string, len(b.p.LogGroupTags)+1)
	maps.Copy(tags, b.p.LogGroupTags)
	tags[taskdef.TagManaged] = "true"
	return LogGroup{
		Name: g.Name, Region: g.Region, RetentionDays: b.p.RetentionDays,
		KMSKeyARN: b.p.KMSKeyARN, Class: b.p.LogGroupClass, Tags: tags,
		DeletionProtection: b.p.DeletionProtected(),
		OutsidePatterns:    !b.p.MayCreate(g.Name),
	}
}

// checkKeyRegion blocks the plan when a group to create is in another
// region than the policy's KMS key: KMS keys are regional and CloudWatch
// Logs refuses a key of another region, so the group could never be
// created.
func (b *builder) checkKeyRegion(g LogGroup) {
	if k, err := arn.Parse(b.p.KMSKeyARN); err == nil && g.Region != "" && k.Region != g.Region {
		b.plan.Blockers = append(b.plan.Blockers, Blocker{BlockKMSKeyRegion,
			fmt.Sprintf("log group %q would be created in %s, but the policy's kmsKeyArn is a key of %s (KMS keys are regional); set logRegion to %s or use a key of %s", g.Name, g.Region, k.Region, k.Region, g.Region)})
	}
}

// fresh builds a new awslogs configuration. From a replaced driver's
// options only the driver-independent mode and max-buffer-size are kept.
func (b *builder) fresh(container string, old map[string]string) *types.LogConfiguration {
	b.needsRegion = true
	opts := map[string]string{
		awslogs.OptGroup:        b.groupFor(container, b.logRegion),
		awslogs.OptRegion:       b.logRegion,
		awslogs.OptStreamPrefix: b.p.StreamPrefix,
	}
	for _, k := range []string{awslogs.OptMode, awslogs.OptMaxBufferSize} {
		if v, ok := old[k]; ok && !awslogs.Blank(v) {
			opts[k] = v
		}
	}
	b.addMode(opts)
	return &types.LogConfiguration{LogDriver: types.LogDriverAwslogs, Options: opts}
}

// complete adds the missing awslogs options and replaces an invalid group,
// region or stream prefix; every other option and the secret options are
// kept exactly.
func (b *builder) complete(container string, lc *types.LogConfiguration) *types.LogConfiguration {
	opts := make(map[string]string, len(lc.Options)+3)
	maps.Copy(opts, lc.Options)
	if r := opts[awslogs.OptRegion]; awslogs.Blank(r) || !awsarn.ValidRegion(r) {
		b.needsRegion = true
		opts[awslogs.OptRegion] = b.logRegion
	}
	if g := opts[awslogs.OptGroup]; awslogs.Blank(g) || !awslogs.ValidLogGroupName(g) {
		// The group is ensured where the container sends its logs.
		opts[awslogs.OptGroup] = b.groupFor(container, opts[awslogs.OptRegion])
	}
	if !awslogs.ValidStreamPrefix(opts[awslogs.OptStreamPrefix]) {
		opts[awslogs.OptStreamPrefix] = b.p.StreamPrefix
	}
	b.addMode(opts)
	out := &types.LogConfiguration{LogDriver: lc.LogDriver, Options: opts}
	if lc.SecretOptions != nil {
		out.SecretOptions = *taskdef.Copy(&lc.SecretOptions)
	}
	return out
}

// addMode adds the policy's mode where none is set (the required one when
// the effective mode is not it), and max-buffer-size where absent when the
// mode is non-blocking (the policy's, else at least its minimum when the
// default is below it).
func (b *builder) addMode(opts map[string]string) {
	if awslogs.Blank(opts[awslogs.OptMode]) {
		switch req := b.p.RequiredMode; {
		case b.p.Mode != "":
			opts[awslogs.OptMode] = b.p.Mode
		case req != awslogs.ModeAny && awslogs.EffectiveMode(opts, b.f.LogDriverMode) != req:
			opts[awslogs.OptMode] = req
		}
	}
	if !awslogs.Blank(opts[awslogs.OptMaxBufferSize]) || awslogs.EffectiveMode(opts, b.f.LogDriverMode) != awslogs.ModeNonBlocking {
		return
	}
	switch {
	case b.p.MaxBufferSize != "" && opts[awslogs.OptMode] == awslogs.ModeNonBlocking:
		opts[awslogs.OptMaxBufferSize] = b.p.MaxBufferSize
	case b.p.MinBufferSize != "":
		def, _ := awslogs.ParseBufferSize(awslogs.DefaultMaxBufferSize)
		if min, _ := awslogs.ParseBufferSize(b.p.MinBufferSize); def < min {
			opts[awslogs.OptMaxBufferSize] = b.p.MinBufferSize
		}
	}
}

// checkSize blocks the plan when the register request would exceed ECS's
// limits, counting the tags the remediation adds (provenance and its
// execution token, at the token's longest) exactly as Register adds them:
// with no room for them the remediation cannot register, so the plan says
// so instead of the apply (dry run and apply decide once).
func (b *builder) checkSize(changed *types.TaskDefinition, tags []types.Tag) {
	own := append(taskdef.ProvenanceTags(changed.Revision), taskdef.ExecutionTag(strings.Repeat("x", taskdef.MaxExecutionToken))...)
	n, err := taskdef.RegisterSize(changed, tags, own...)
	var limit *taskdef.TagLimitError
	if errors.As(err, &limit) {
		b.plan.Blockers = append(b.plan.Blockers, Blocker{BlockInvalidInput, fmt.Sprintf(
			"cannot build the register request: with ecslogfix's %d own tags the new revision would have %d tags, over ECS's limit of %d; remove tags from the source or exempt it",
			len(own), limit.Count, taskdef.MaxTags)})
		return
	}
	if err != nil {
		b.plan.Blockers = append(b.plan.Blockers, Blocker{BlockInvalidInput, "cannot build the register request: " + err.Error()})
		return
	}
	if n > taskdef.MaxRegisterBytes {
		b.plan.Blockers = append(b.plan.Blockers, Blocker{BlockTooLarge,
			fmt.Sprintf("the fixed task definition's register request is %d bytes, over ECS's limit of %d", n, taskdef.MaxRegisterBytes)})
	}
}

// fillContext defaults the partition to "aws" and takes a missing account
// or region from the task definition ARN.
func fillContext(c Context, arn string) Context {
	if a, err := taskdef.ParseARN(arn); err == nil {
		c.Partition = cmp.Or(c.Partition, a.Partition)
		c.Account = cmp.Or(c.Account, a.Account)
		c.Region = cmp.Or(c.Region, a.Region)
	}
	c.Partition = cmp.Or(c.Partition, "aws")
	return c
}

// Blocked reports whether the plan has blockers.
func (p Plan) Blocked() bool { return len(p.Blockers) > 0 }

// NeedsChange reports whether applying the plan registers a new revision.
func (p Plan) NeedsChange() bool { return p.Changed != nil && !p.Blocked() }
