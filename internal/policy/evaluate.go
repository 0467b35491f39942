package policy

import (
	"slices"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ecslogfix/ecslogfix/internal/policy/awslogs"
	"github.com/ecslogfix/ecslogfix/internal/policy/exemption"
	"github.com/ecslogfix/ecslogfix/internal/policy/reason"
	"github.com/ecslogfix/ecslogfix/internal/taskdef"
)

// Evaluate judges td on its content alone: nothing observed (Facts{}) and
// the exemptions judged without a day (the exemption tag applies, dated
// exemptions do not). See EvaluateFor.
func (p Policy) Evaluate(td *types.TaskDefinition, tags []types.Tag) Evaluation {
	s := exemption.Subject{}
	if td != nil {
		s.Family = aws.ToString(td.Family)
	}
	return p.EvaluateFor(td, tags, s, awslogs.Facts{})
}

// EvaluateFor judges every container of td, in order, with what the shell
// observed (f). A container's reasons come in the order the Reason
// constants are declared. A task definition is compliant iff every
// container is, so a nil or empty one has nothing to fix and is compliant
// (taskdef.CheckInput refuses those before a plan is made). Unset policy fields
// take their defaults (WithDefaults). Exemption is reported, not applied:
// an exempt task definition still gets its findings. It is exempt on
// s.Today by the exemption tag (and its end date), by a register entry of
// its scope, or when register entries cover every reason of every
// non-compliant container; exemptions that matched but do not apply are
// noted.
func (p Policy) EvaluateFor(td *types.TaskDefinition, tags []types.Tag, s exemption.Subject, f awslogs.Facts) Evaluation {
	ev := Evaluation{Compliant: true, Containers: []ContainerFinding{}}
	if td != nil {
		ev.Containers = make([]ContainerFinding, 0, len(td.ContainerDefinitions))
		j := judge{p: p, facts: f, noRole: taskdef.NeedsExecutionRole(td) && awslogs.Blank(aws.ToString(td.ExecutionRoleArn))}
		if len(j.p.AllowedDrivers) == 0 {
			j.p.AllowedDrivers = Default().AllowedDrivers
		}
		for i := range td.ContainerDefinitions {
			c := &td.ContainerDefinitions[i]
			fd := j.container(c)
			fd.Name = aws.ToString(c.Name)
			fd.Compliant = len(fd.Reasons) == 0
			ev.Compliant = ev.Compliant && fd.Compliant
			ev.Containers = append(ev.Containers, fd)
		}
	}
	findings := make([]exemption.Finding, len(ev.Containers))
	for i, c := range ev.Containers {
		findings[i] = exemption.Finding{Name: c.Name, Reasons: c.Reasons}
	}
	jx := p.Exemptions.Judge(p.exemptionTag(), tags, s, findings)
	ev.ExemptionNotes = jx.Notes
	if jx.Whole != nil {
		ev.Exempt, ev.Exemption = true, jx.Whole
		return ev
	}
	covered := len(jx.Containers) > 0
	for i := range ev.Containers {
		f := &ev.Containers[i]
		if ex, ok := jx.Containers[i]; ok {
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

type judge struct {
	p      Policy
	facts  awslogs.Facts
	noRole bool // the definition needs an execution role and has none
}

// writesAwslogs reports whether the container logs through awslogs, or
// will once the fix replaces its configuration.
func (j judge) writesAwslogs(lc *types.LogConfiguration) bool {
	switch {
	case lc == nil:
		return true
	case string(lc.LogDriver) == awslogs.DriverAwslogs:
		return true
	case string(lc.LogDriver) == awslogs.DriverAwsfirelens:
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
		fd.Reasons = append(fd.Reasons, reason.MissingLogConfiguration)
	case string(lc.LogDriver) == awslogs.DriverAwsfirelens:
		if !slices.Contains(j.p.AllowedDrivers, awslogs.DriverAwsfirelens) {
			fd.Reasons = append(fd.Reasons, reason.Firelens)
		}
	case !slices.Contains(j.p.AllowedDrivers, string(lc.LogDriver)):
		fd.Reasons = append(fd.Reasons, reason.DriverNotAllowed)
	case string(lc.LogDriver) == awslogs.DriverAwslogs:
		fd.Reasons, fd.Keys = awslogs.Check(lc.Options, awslogs.Requirement{Mode: j.p.RequiredMode, MinBufferSize: j.p.MinBufferSize}, j.facts)
	}
	if taskdef.IsRouter(c) && (lc == nil || string(lc.LogDriver) != awslogs.DriverAwslogs) {
		fd.Reasons = append(fd.Reasons, reason.RouterNotAwslogs)
	}
	if j.noRole && j.writesAwslogs(lc) {
		fd.Reasons = append(fd.Reasons, reason.ExecutionRoleMissing)
	}
	return fd
}

// AwslogsReasons checks the options of an awslogs logConfiguration on
// their own (no facts, the default policy): the group present, non-blank
// and valid, region and stream prefix present, non-blank and valid, mode
// and max-buffer-size valid, and no undocumented awslogs key.
func AwslogsReasons(opts map[string]string) []reason.Code {
	reasons, _ := awslogs.Check(opts, awslogs.Requirement{Mode: awslogs.ModeAny}, awslogs.Facts{})
	return reasons
}
