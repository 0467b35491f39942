package plan

import (
	"errors"
	"fmt"
	"maps"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws/arn"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ecslogfix/ecslogfix/internal/policy"
	"github.com/ecslogfix/ecslogfix/internal/taskdef"
)

// Build computes the plan for td (as DescribeTaskDefinition returned it,
// with its tags) under p. Unset policy fields take their defaults. It
// returns an error only for input it cannot reason about (nil td, no
// family); everything else is a Blocker. td and tags are never modified;
// Plan.Changed is a deep copy in which only the fixed containers (and, when
// the policy supplies one, executionRoleArn) differ.
func Build(td *types.TaskDefinition, tags []types.Tag, p policy.Policy, c Context) (Plan, error) {
	if td == nil {
		return Plan{}, errors.New("plan: nil task definition")
	}
	family := strings.TrimSpace(deref(td.Family))
	if family == "" {
		return Plan{}, errors.New("plan: task definition has no family")
	}
	p = p.WithDefaults()
	c = fillContext(c, deref(td.TaskDefinitionArn))

	pl := Plan{
		SourceARN:  deref(td.TaskDefinitionArn),
		Family:     family,
		Revision:   td.Revision,
		Context:    c,
		Containers: []ContainerChange{},
	}
	ev := p.EvaluateFor(td, tags, policy.Subject{Account: c.Account, Region: c.Region, Family: family, Today: c.Today})
	pl.Exempt = ev.Exempt
	pl.Compliant = ev.Compliant
	pl.Exemption, pl.ExemptionNotes = ev.Exemption, ev.ExemptionNotes
	if ev.Exempt || ev.Compliant {
		for i, f := range ev.Containers {
			pl.Containers = append(pl.Containers, ContainerChange{
				Name: f.Name, Reasons: f.Reasons, Exempt: f.Exempt, Action: ActionNone,
				Before: Redact(td.ContainerDefinitions[i].LogConfiguration),
			})
		}
		return pl, nil
	}

	logRegion := p.LogRegion
	if logRegion == "" {
		logRegion = c.Region
	}
	b := builder{p: p, c: c, family: family, logRegion: logRegion, plan: &pl}
	var fixed []*types.LogConfiguration // per container; nil = untouched
	for i, f := range ev.Containers {
		cd := &td.ContainerDefinitions[i]
		cc, lc := b.container(cd, f)
		pl.Containers = append(pl.Containers, cc)
		fixed = append(fixed, lc)
	}
	if !b.changed {
		return pl, nil // only REPORT actions: nothing to register
	}
	if b.needsRegion && logRegion == "" {
		pl.Blockers = append(pl.Blockers, Blocker{BlockInvalidInput, "no region known for awslogs-region: the context names none and the policy sets no logRegion"})
	}

	changed := deepCopy(td)
	for i, lc := range fixed {
		if lc != nil {
			changed.ContainerDefinitions[i].LogConfiguration = lc
		}
	}
	if needsExecutionRole(td) && policy.Blank(deref(td.ExecutionRoleArn)) {
		role := p.DefaultExecutionRoleARN
		if strings.Contains(role, policy.AccountPlaceholder) && c.Account != "" {
			role = strings.ReplaceAll(role, policy.AccountPlaceholder, c.Account)
		}
		if role != "" && !strings.Contains(role, policy.AccountPlaceholder) {
			changed.ExecutionRoleArn = &role
			pl.ExecutionRoleARN = role
		} else {
			pl.Blockers = append(pl.Blockers, Blocker{BlockNoExecutionRole,
				"the task definition can run on Fargate or ECS Anywhere (EXTERNAL) and has no executionRoleArn, which awslogs needs there; set defaultExecutionRoleArn in the policy or add an execution role"})
		}
	}
	pl.Changed = changed
	b.checkSize(changed, tags)
	return pl, nil
}

type builder struct {
	p         policy.Policy
	c         Context
	family    string
	logRegion string
	plan      *Plan
	changed   bool
	// needsRegion is set when a fixed container takes the region from
	// the context or the policy (it names none of its own).
	needsRegion bool
}

// container decides the action for one container and returns the new
// logConfiguration (nil when the container is left untouched).
func (b *builder) container(cd *types.ContainerDefinition, f policy.ContainerFinding) (ContainerChange, *types.LogConfiguration) {
	cc := ContainerChange{Name: f.Name, Reasons: f.Reasons, Exempt: f.Exempt, Action: ActionNone, Before: Redact(cd.LogConfiguration)}
	if f.Compliant || f.Exempt {
		return cc, nil
	}
	lc := cd.LogConfiguration
	var out *types.LogConfiguration
	switch {
	case lc == nil:
		cc.Action = ActionAdd
		out = b.fresh(f.Name, nil)
	case string(lc.LogDriver) == policy.DriverAwsfirelens:
		cc.Action = ActionReport
		return cc, nil
	case string(lc.LogDriver) == policy.DriverAwslogs:
		cc.Action = ActionComplete
		out = b.complete(f.Name, lc)
	case b.p.OtherDrivers == policy.ReportDriver:
		cc.Action = ActionReport
		return cc, nil
	default:
		cc.Action = ActionReplace
		out = b.fresh(f.Name, lc.Options)
	}
	b.changed = true
	cc.After = Redact(out)
	return cc, out
}

// groupFor expands the template for a container and records the group to
// ensure, or a blocker when the name is invalid.
func (b *builder) groupFor(container, region string) string {
	name := b.p.LogGroupName(b.family, container, b.c.Account, b.c.Region)
	if !policy.ValidLogGroupName(name) {
		b.plan.Blockers = append(b.plan.Blockers, Blocker{BlockInvalidGroup,
			fmt.Sprintf("container %q: log group template %q gives %q, which is not a valid log group name", container, b.p.LogGroupTemplate, name)})
		return name
	}
	for _, g := range b.plan.LogGroups {
		if g.Name == name && g.Region == region {
			return name
		}
	}
	// KMS keys are regional: CloudWatch Logs refuses a key of another
	// region, so the group could never be created.
	if k, err := arn.Parse(b.p.KMSKeyARN); err == nil && region != "" && k.Region != region {
		b.plan.Blockers = append(b.plan.Blockers, Blocker{BlockKMSKeyRegion,
			fmt.Sprintf("container %q: log group %q would be created in %s, but the policy's kmsKeyArn is a key of %s (KMS keys are regional); set logRegion to %s or use a key of %s", container, name, region, k.Region, k.Region, region)})
	}
	tags := make(map[string]string, len(b.p.LogGroupTags)+1)
	maps.Copy(tags, b.p.LogGroupTags)
	tags[taskdef.TagManaged] = "true"
	b.plan.LogGroups = append(b.plan.LogGroups, LogGroup{
		Name: name, Region: region, RetentionDays: b.p.RetentionDays,
		KMSKeyARN: b.p.KMSKeyARN, Class: b.p.LogGroupClass, Tags: tags,
	})
	return name
}

// fresh builds a new awslogs configuration. From a replaced driver's
// options only the driver-independent mode and max-buffer-size are kept.
func (b *builder) fresh(container string, old map[string]string) *types.LogConfiguration {
	b.needsRegion = true
	opts := map[string]string{
		policy.OptGroup:        b.groupFor(container, b.logRegion),
		policy.OptRegion:       b.logRegion,
		policy.OptStreamPrefix: b.p.StreamPrefix,
	}
	for _, k := range []string{policy.OptMode, policy.OptMaxBufferSize} {
		if v, ok := old[k]; ok && !policy.Blank(v) {
			opts[k] = v
		}
	}
	b.addMode(opts)
	return &types.LogConfiguration{LogDriver: types.LogDriverAwslogs, Options: opts}
}

// complete adds only the missing awslogs options (and replaces an invalid
// group); every other option and the secret options are kept exactly.
func (b *builder) complete(container string, lc *types.LogConfiguration) *types.LogConfiguration {
	opts := make(map[string]string, len(lc.Options)+3)
	maps.Copy(opts, lc.Options)
	if policy.Blank(opts[policy.OptRegion]) {
		b.needsRegion = true
		opts[policy.OptRegion] = b.logRegion
	}
	if g := opts[policy.OptGroup]; policy.Blank(g) || !policy.ValidLogGroupName(g) {
		// The group is ensured where the container sends its logs.
		opts[policy.OptGroup] = b.groupFor(container, opts[policy.OptRegion])
	}
	if policy.Blank(opts[policy.OptStreamPrefix]) {
		opts[policy.OptStreamPrefix] = b.p.StreamPrefix
	}
	b.addMode(opts)
	out := &types.LogConfiguration{LogDriver: lc.LogDriver, Options: opts}
	if lc.SecretOptions != nil {
		out.SecretOptions = *deepCopy(&lc.SecretOptions)
	}
	return out
}

// addMode adds the policy's mode where none is set, and max-buffer-size
// where absent when the effective mode is non-blocking.
func (b *builder) addMode(opts map[string]string) {
	if b.p.Mode != "" && policy.Blank(opts[policy.OptMode]) {
		opts[policy.OptMode] = b.p.Mode
	}
	if b.p.MaxBufferSize != "" && opts[policy.OptMode] == policy.ModeNonBlocking && policy.Blank(opts[policy.OptMaxBufferSize]) {
		opts[policy.OptMaxBufferSize] = b.p.MaxBufferSize
	}
}

// checkSize blocks the plan when the register request would exceed ECS's
// limit, counting the tags the remediation adds.
func (b *builder) checkSize(changed *types.TaskDefinition, tags []types.Tag) {
	in, err := taskdef.RegisterInput(changed, tags, taskdef.ProvenanceTags(changed.Revision)...)
	var limit *taskdef.TagLimitError
	if errors.As(err, &limit) {
		// No room for ecslogfix's own tags: the remediation registers
		// without them, so measure without them.
		in, err = taskdef.RegisterInput(changed, tags)
	}
	if err != nil {
		b.plan.Blockers = append(b.plan.Blockers, Blocker{BlockInvalidInput, "cannot build the register request: " + err.Error()})
		return
	}
	if n := taskdef.RequestSize(in); n > taskdef.MaxRegisterBytes {
		b.plan.Blockers = append(b.plan.Blockers, Blocker{BlockTooLarge,
			fmt.Sprintf("the fixed task definition's register request is %d bytes, over ECS's limit of %d", n, taskdef.MaxRegisterBytes)})
	}
}

// needsExecutionRole reports whether td may run on Fargate or ECS Anywhere,
// where awslogs needs an execution role.
func needsExecutionRole(td *types.TaskDefinition) bool {
	for _, c := range td.RequiresCompatibilities {
		if c == types.CompatibilityFargate || c == types.CompatibilityExternal {
			return true
		}
	}
	for _, c := range td.Compatibilities {
		if c == types.CompatibilityFargate || c == types.CompatibilityExternal {
			return true
		}
	}
	return false
}

// fillContext defaults the partition to "aws" and takes a missing account
// or region from the task definition ARN.
func fillContext(c Context, arn string) Context {
	if a, err := taskdef.ParseARN(arn); err == nil {
		if c.Partition == "" {
			c.Partition = a.Partition
		}
		if c.Account == "" {
			c.Account = a.Account
		}
		if c.Region == "" {
			c.Region = a.Region
		}
	}
	if c.Partition == "" {
		c.Partition = "aws"
	}
	return c
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// Blocked reports whether the plan has blockers.
func (p Plan) Blocked() bool { return len(p.Blockers) > 0 }

// NeedsChange reports whether applying the plan registers a new revision.
func (p Plan) NeedsChange() bool { return p.Changed != nil && !p.Blocked() }
