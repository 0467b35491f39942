package policy

import (
	"slices"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ecslogfix/ecslogfix/internal/awsarn"
)

// GroupRef names a log group in a region of the task definition's
// account (awslogs writes to its own account only).
type GroupRef struct {
	Name   string `json:"name"`
	Region string `json:"region"`
}

// Facts are what a shell observed in AWS that a rule needs. The zero Facts
// means nothing was observed (check, offline): LOG_GROUP_MISSING is not
// judged, and a container without a mode option is judged on AWS's
// default mode.
type Facts struct {
	// LogDriverMode is the account's defaultLogDriverMode setting in the
	// task definition's region; "" when unset or not read.
	LogDriverMode string
	// Groups holds what was read about each group observed. A group that
	// is not in the map was not observed.
	Groups map[GroupRef]GroupFact
}

// GroupFact is what DescribeLogGroups said about one group.
type GroupFact struct {
	Exists             bool   `json:"exists"`
	RetentionDays      int32  `json:"retentionDays,omitempty"` // 0: never expires
	KMSKeyARN          string `json:"kmsKeyArn,omitempty"`
	Class              string `json:"class,omitempty"`
	DeletionProtection bool   `json:"deletionProtection,omitempty"`
	ARN                string `json:"arn,omitempty"` // without the ":*" suffix
}

// Evaluate judges td on its content alone: nothing observed (Facts{}) and
// the exemptions judged without a day (the exemption tag applies, dated
// exemptions do not). See EvaluateFor.
func (p Policy) Evaluate(td *types.TaskDefinition, tags []types.Tag) Evaluation {
	s := Subject{}
	if td != nil {
		s.Family = deref(td.Family)
	}
	return p.EvaluateFor(td, tags, s, Facts{})
}

// EvaluateFor judges every container of td, in order, with what the shell
// observed (f). A container's reasons come in the order the Reason
// constants are declared. A task definition is compliant iff every
// container is, so a nil or empty one has nothing to fix and is compliant
// (CheckInput refuses those before a plan is made). Unset policy fields
// take their defaults (WithDefaults). Exemption is reported, not applied:
// an exempt task definition still gets its findings. It is exempt on
// s.Today by the exemption tag (and its end date), by a register entry of
// its scope, or when register entries cover every reason of every
// non-compliant container; exemptions that matched but do not apply are
// noted.
func (p Policy) EvaluateFor(td *types.TaskDefinition, tags []types.Tag, s Subject, f Facts) Evaluation {
	ev := Evaluation{Compliant: true, Containers: []ContainerFinding{}}
	if td != nil {
		ev.Containers = make([]ContainerFinding, 0, len(td.ContainerDefinitions))
		j := judge{p: p, facts: f, noRole: NeedsExecutionRole(td) && Blank(deref(td.ExecutionRoleArn))}
		if len(j.p.AllowedDrivers) == 0 {
			j.p.AllowedDrivers = Default().AllowedDrivers
		}
		for i := range td.ContainerDefinitions {
			c := &td.ContainerDefinitions[i]
			fd := j.container(c)
			fd.Name = deref(c.Name)
			fd.Compliant = len(fd.Reasons) == 0
			ev.Compliant = ev.Compliant && fd.Compliant
			ev.Containers = append(ev.Containers, fd)
		}
	}
	jx := p.exemptions(tags, s, ev.Containers)
	ev.ExemptionNotes = jx.notes
	if jx.whole != nil {
		ev.Exempt, ev.Exemption = true, jx.whole
		return ev
	}
	covered := len(jx.containers) > 0
	for i := range ev.Containers {
		f := &ev.Containers[i]
		if ex, ok := jx.containers[i]; ok {
			f.Exempt, f.Exemption = true, ex
		} else if !f.Compliant {
			covered = false
		}
	}
	if covered && !ev.Compliant {
		for _, f := range ev.Containers {
			if f.Exempt {
				ev.Exempt, ev.Exemption = true, f.Exemption
				break
			}
		}
	}
	return ev
}

// IsRouter reports whether c is a FireLens log router (it has a
// firelensConfiguration).
func IsRouter(c *types.ContainerDefinition) bool { return c != nil && c.FirelensConfiguration != nil }

// NeedsExecutionRole reports whether td may run on Fargate or ECS Anywhere
// (EXTERNAL), where awslogs needs the task's execution role: "Fargate
// requires task definition to have execution role ARN to support log
// driver awslogs", and ECS Anywhere's guide asks for one to send logs
// (docs/ecs-facts: awslogs driver, permissions).
func NeedsExecutionRole(td *types.TaskDefinition) bool {
	if td == nil {
		return false
	}
	for _, cs := range [][]types.Compatibility{td.RequiresCompatibilities, td.Compatibilities} {
		for _, c := range cs {
			if c == types.CompatibilityFargate || c == types.CompatibilityExternal {
				return true
			}
		}
	}
	return false
}

type judge struct {
	p      Policy
	facts  Facts
	noRole bool // the definition needs an execution role and has none
}

// writesAwslogs reports whether the container logs through awslogs, or
// will once the fix replaces its configuration.
func (j judge) writesAwslogs(lc *types.LogConfiguration) bool {
	switch {
	case lc == nil:
		return true
	case string(lc.LogDriver) == DriverAwslogs:
		return true
	case string(lc.LogDriver) == DriverAwsfirelens:
		return false
	case slices.Contains(j.p.AllowedDrivers, string(lc.LogDriver)):
		return false
	}
	return j.p.OtherDrivers != ReportDriver
}

func (j judge) container(c *types.ContainerDefinition) ContainerFinding {
	var fd ContainerFinding
	lc := c.LogConfiguration
	switch {
	case lc == nil:
		fd.Reasons = append(fd.Reasons, ReasonMissingLogConfiguration)
	case string(lc.LogDriver) == DriverAwsfirelens:
		if !slices.Contains(j.p.AllowedDrivers, DriverAwsfirelens) {
			fd.Reasons = append(fd.Reasons, ReasonFirelens)
		}
	case !slices.Contains(j.p.AllowedDrivers, string(lc.LogDriver)):
		fd.Reasons = append(fd.Reasons, ReasonDriverNotAllowed)
	case string(lc.LogDriver) == DriverAwslogs:
		fd = j.awslogs(lc.Options)
	}
	if IsRouter(c) && (lc == nil || string(lc.LogDriver) != DriverAwslogs) {
		fd.Reasons = append(fd.Reasons, ReasonRouterNotAwslogs)
	}
	if j.noRole && j.writesAwslogs(lc) {
		fd.Reasons = append(fd.Reasons, ReasonExecutionRoleMissing)
	}
	return fd
}

// AwslogsReasons checks the options of an awslogs logConfiguration on
// their own (no facts, the default policy): the group present, non-blank
// and valid, region and stream prefix present, non-blank and valid, mode
// and max-buffer-size valid, and no undocumented awslogs key.
func AwslogsReasons(opts map[string]string) []Reason {
	return judge{p: Default()}.awslogs(opts).Reasons
}

func (j judge) awslogs(opts map[string]string) ContainerFinding {
	var fd ContainerFinding
	add := func(r Reason, key string) {
		fd.Reasons = append(fd.Reasons, r)
		if key != "" && !slices.Contains(fd.Keys, key) {
			fd.Keys = append(fd.Keys, key)
		}
	}
	group := opts[OptGroup]
	switch {
	case Blank(group):
		add(ReasonMissingGroup, "")
	case !ValidLogGroupName(group):
		add(ReasonInvalidGroup, OptGroup)
	}
	region := opts[OptRegion]
	switch {
	case Blank(region):
		add(ReasonMissingRegion, "")
	case !awsarn.ValidRegion(region):
		add(ReasonInvalidRegion, OptRegion)
	}
	switch prefix := opts[OptStreamPrefix]; {
	case Blank(prefix):
		add(ReasonMissingStreamPrefix, "")
	case !ValidStreamPrefix(prefix):
		add(ReasonInvalidStreamPrefix, OptStreamPrefix)
	}
	if key := j.modeProblem(opts); key != "" {
		add(ReasonInvalidMode, key)
	}
	for _, k := range UnknownOptions(opts) {
		if !slices.Contains(fd.Reasons, ReasonUnknownOption) {
			fd.Reasons = append(fd.Reasons, ReasonUnknownOption)
		}
		fd.Keys = append(fd.Keys, k)
	}
	if ValidLogGroupName(group) && awsarn.ValidRegion(region) && !CreatesGroup(opts) {
		if g, seen := j.facts.Groups[GroupRef{group, region}]; seen && !g.Exists {
			add(ReasonLogGroupMissing, "")
		}
	}
	return fd
}

// modeProblem returns the option key at fault when the container's
// delivery mode is invalid or not what the policy requires, else "".
// Invalid values are judged whatever the policy; the requirement on the
// effective mode (EffectiveMode) only when the policy sets one.
func (j judge) modeProblem(opts map[string]string) string {
	mode, explicit := opts[OptMode]
	explicit = explicit && !Blank(mode)
	if explicit && mode != ModeBlocking && mode != ModeNonBlocking {
		return OptMode
	}
	size, sized := opts[OptMaxBufferSize]
	sized = sized && !Blank(size)
	if sized {
		if _, ok := ParseBufferSize(size); !ok {
			return OptMaxBufferSize
		}
	}
	effective := EffectiveMode(opts, j.facts.LogDriverMode)
	if req := j.p.RequiredMode; req != "" && req != ModeAny && effective != req {
		return OptMode
	}
	if j.p.MinBufferSize != "" && effective == ModeNonBlocking {
		min, _ := ParseBufferSize(j.p.MinBufferSize)
		if !sized {
			size = DefaultMaxBufferSize
		}
		if n, _ := ParseBufferSize(size); n < min {
			return OptMaxBufferSize
		}
	}
	return ""
}

// EffectiveMode is the delivery mode a container's logs get: its mode
// option, else the account's defaultLogDriverMode setting, else
// non-blocking, ECS's default since 2025-06-25 (SDK
// types.LogConfiguration.Options, "mode").
func EffectiveMode(opts map[string]string, accountMode string) string {
	if m := opts[OptMode]; m == ModeBlocking || m == ModeNonBlocking {
		return m
	}
	if accountMode == ModeBlocking || accountMode == ModeNonBlocking {
		return accountMode
	}
	return ModeNonBlocking
}

// UnknownOptions returns, sorted, the keys of an awslogs configuration
// that look like awslogs options — "awslogs-" followed by anything, or
// mode or max-buffer-size in any case — but are not one ECS documents
// (SDK types.LogConfiguration.Options). Keys match case-sensitively, as
// Docker does when it rejects an unknown log option at container start.
func UnknownOptions(opts map[string]string) []string {
	var out []string
	for k := range opts {
		if slices.Contains(awslogsKeys, k) {
			continue
		}
		lower := strings.ToLower(k)
		if strings.HasPrefix(lower, "awslogs-") || lower == OptMode || lower == OptMaxBufferSize {
			out = append(out, k)
		}
	}
	slices.Sort(out)
	return out
}

// CreatesGroup reports whether awslogs-create-group is true: the driver
// then creates a missing group itself (parsed as Docker parses it,
// strconv.ParseBool).
func CreatesGroup(opts map[string]string) bool {
	b, err := strconv.ParseBool(strings.TrimSpace(opts[OptCreateGroup]))
	return err == nil && b
}

// Groups returns the distinct log groups the awslogs containers of td
// write to, in order: what a shell observes for LOG_GROUP_MISSING. Only
// valid names in valid regions are listed.
func Groups(td *types.TaskDefinition) []GroupRef {
	var out []GroupRef
	if td == nil {
		return out
	}
	for _, c := range td.ContainerDefinitions {
		lc := c.LogConfiguration
		if lc == nil || string(lc.LogDriver) != DriverAwslogs {
			continue
		}
		g := GroupRef{Name: lc.Options[OptGroup], Region: lc.Options[OptRegion]}
		if ValidLogGroupName(g.Name) && awsarn.ValidRegion(g.Region) && !slices.Contains(out, g) {
			out = append(out, g)
		}
	}
	return out
}

// Blank reports whether an option value is empty or only white space: such
// a value counts as missing.
func Blank(s string) bool { return strings.TrimSpace(s) == "" }

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
