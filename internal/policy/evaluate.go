package policy

import (
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// Evaluate judges every container of td, in order, with the exemptions
// judged without a day (EvaluateFor with the family only): the exemption
// tag applies, dated exemptions do not.
func (p Policy) Evaluate(td *types.TaskDefinition, tags []types.Tag) Evaluation {
	s := Subject{}
	if td != nil {
		s.Family = deref(td.Family)
	}
	return p.EvaluateFor(td, tags, s)
}

// EvaluateFor judges every container of td, in order. A container's
// reasons come in the order the Reason constants are declared. A task
// definition is compliant iff every container is, so a nil or empty one has
// nothing to fix and is compliant. Unset policy fields take their defaults
// (WithDefaults). Exemption is reported, not applied: an exempt task
// definition still gets its findings. It is exempt on s.Today by the
// exemption tag (and its end date), by a register entry of its scope, or
// when register entries cover every reason of every non-compliant
// container; exemptions that matched but do not apply are noted.
func (p Policy) EvaluateFor(td *types.TaskDefinition, tags []types.Tag, s Subject) Evaluation {
	ev := Evaluation{Compliant: true, Containers: []ContainerFinding{}}
	if td != nil {
		ev.Containers = make([]ContainerFinding, 0, len(td.ContainerDefinitions))
		allowed := p.AllowedDrivers
		if len(allowed) == 0 {
			allowed = Default().AllowedDrivers
		}
		for i := range td.ContainerDefinitions {
			c := &td.ContainerDefinitions[i]
			f := ContainerFinding{Name: deref(c.Name)}
			f.Reasons = containerReasons(c, allowed)
			f.Compliant = len(f.Reasons) == 0
			ev.Compliant = ev.Compliant && f.Compliant
			ev.Containers = append(ev.Containers, f)
		}
	}
	j := p.exemptions(tags, s, ev.Containers)
	ev.ExemptionNotes = j.notes
	if j.whole != nil {
		ev.Exempt, ev.Exemption = true, j.whole
		return ev
	}
	covered := len(j.containers) > 0
	for i := range ev.Containers {
		f := &ev.Containers[i]
		if ex, ok := j.containers[i]; ok {
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

func containerReasons(c *types.ContainerDefinition, allowed []string) []Reason {
	var rs []Reason
	lc := c.LogConfiguration
	switch {
	case lc == nil:
		rs = append(rs, ReasonMissingLogConfiguration)
	case string(lc.LogDriver) == DriverAwsfirelens:
		if !slices.Contains(allowed, DriverAwsfirelens) {
			rs = append(rs, ReasonFirelens)
		}
	case !slices.Contains(allowed, string(lc.LogDriver)):
		rs = append(rs, ReasonDriverNotAllowed)
	case string(lc.LogDriver) == DriverAwslogs:
		rs = append(rs, AwslogsReasons(lc.Options)...)
	}
	if IsRouter(c) && (lc == nil || string(lc.LogDriver) != DriverAwslogs) {
		rs = append(rs, ReasonRouterNotAwslogs)
	}
	return rs
}

// AwslogsReasons checks the options of an awslogs logConfiguration: the
// group present, non-blank and valid, region and stream prefix present and
// non-blank.
func AwslogsReasons(opts map[string]string) []Reason {
	var rs []Reason
	switch g := opts[OptGroup]; {
	case Blank(g):
		rs = append(rs, ReasonMissingGroup)
	case !ValidLogGroupName(g):
		rs = append(rs, ReasonInvalidGroup)
	}
	if Blank(opts[OptRegion]) {
		rs = append(rs, ReasonMissingRegion)
	}
	if Blank(opts[OptStreamPrefix]) {
		rs = append(rs, ReasonMissingStreamPrefix)
	}
	return rs
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
