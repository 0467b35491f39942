// Package check judges the task definitions that package source reads, with
// the one policy (policy.Evaluate) and, for task definition files, the plan
// of what ecslogfix would change (plan.Build): the verdicts of
// `ecslogfix check` and of the CloudFormation Hook. It also renders them
// for people and CI (text, SARIF, GitHub workflow annotations), escaping
// every string the input supplied. Pure.
package check

import (
	"fmt"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ecslogfix/ecslogfix/internal/plan"
	"github.com/ecslogfix/ecslogfix/internal/policy"
	"github.com/ecslogfix/ecslogfix/internal/policy/awslogs"
	"github.com/ecslogfix/ecslogfix/internal/policy/exemption"
	"github.com/ecslogfix/ecslogfix/internal/policy/reason"
	"github.com/ecslogfix/ecslogfix/internal/source"
	"github.com/ecslogfix/ecslogfix/internal/source/cloudformation"
	"github.com/ecslogfix/ecslogfix/internal/source/taskdoc"
	"github.com/ecslogfix/ecslogfix/internal/taskdef"
)

// Verdict is the judgement of one task definition or container: the
// plan's vocabulary.
type Verdict = plan.Verdict

// Verdicts. UNRESOLVED: compliant for some values of what the input does
// not know (an intrinsic function, a value known after apply), not for
// others; it is never taken as compliant.
const (
	Compliant    = plan.VerdictCompliant
	NonCompliant = plan.VerdictNonCompliant
	Unresolved   = plan.VerdictUnresolved
)

// Report is the verdict on one task definition, or the error that kept a
// file from being read. Its JSON field names are part of check's
// documented output.
type Report struct {
	File              string        `json:"file"`
	Format            source.Format `json:"format,omitempty"`
	Line              int           `json:"line,omitempty"`
	Resource          string        `json:"resource,omitempty"` // CloudFormation logical ID or Terraform address
	Stack             string        `json:"stack,omitempty"`    // CDK stack artifact
	ConstructPath     string        `json:"constructPath,omitempty"`
	Family            string        `json:"family,omitempty"`
	Revision          int32         `json:"revision,omitempty"`
	TaskDefinitionARN string        `json:"taskDefinitionArn,omitempty"`
	Status            string        `json:"status,omitempty"` // the task definition's status (ACTIVE, INACTIVE) when the file says
	Verdict           Verdict       `json:"verdict,omitempty"`
	Exempt            bool          `json:"exempt,omitempty"`
	Containers        []Container   `json:"containers,omitempty"`
	Unresolved        []Value       `json:"unresolved,omitempty"` // of the task definition as a whole
	Plan              *plan.Plan    `json:"plan,omitempty"`
	Error             string        `json:"error,omitempty"` // the file could not be read or parsed
}

// Container is the verdict on one container.
type Container struct {
	Name      string        `json:"name"`
	Line      int           `json:"line,omitempty"`
	Compliant bool          `json:"compliant"`
	Verdict   Verdict       `json:"verdict"`
	Reasons   []reason.Code `json:"reasons"` // the reasons that hold whatever the unresolved values are
	// Keys names the log options the reasons are about (an unknown key, an
	// invalid region, stream prefix or mode): what to change.
	Keys []string `json:"keys,omitempty"`
	// Unresolved are its values the input does not know, each with what
	// would make it compliant.
	Unresolved []Value `json:"unresolved,omitempty"`
}

// Value is one unresolved value.
type Value struct {
	Field         string `json:"field"`
	Line          int    `json:"line,omitempty"`
	Expr          string `json:"value"`
	CompliantWhen string `json:"compliantWhen"`
}

// Failing reports whether r fails the gate: an unreadable file, or a
// task definition that is not proven compliant and not exempt.
func (r Report) Failing() bool {
	return r.Error != "" || (r.Verdict != Compliant && !r.Exempt)
}

// FileReports turns what source read from one input into reports: one per
// task definition, or one carrying the error.
func FileReports(f source.File, pol policy.Policy, fallback plan.Context) []Report {
	if f.Err != nil {
		return []Report{ErrorReport(f.Name, f.Err)}
	}
	out := make([]Report, 0, len(f.Resources))
	for _, res := range f.Resources {
		out = append(out, Evaluate(res, pol, fallback))
	}
	return out
}

// ErrorReport is the report of an input that could not be read.
func ErrorReport(name string, err error) Report {
	r := Report{File: name, Error: err.Error()}
	if e, ok := err.(*source.Error); ok {
		if e.File != "" {
			r.File = e.File
		}
		r.Line = e.Pos.Line
	}
	return r
}

// Evaluate judges one task definition. Task definition files also get the
// plan; for infrastructure as code the fix is a change to the source, so
// there is none. fallback is the context where the ARN names none; its
// Today is the day exemptions are judged on.
func Evaluate(res source.Resource, pol policy.Policy, fallback plan.Context) Report {
	td := res.TaskDefinition
	if td == nil {
		td = &types.TaskDefinition{}
	}
	r := Report{
		File:              res.File,
		Format:            res.Format,
		Line:              res.Line,
		Resource:          res.ID,
		Stack:             res.Stack,
		ConstructPath:     res.ConstructPath,
		Family:            aws.ToString(td.Family),
		Revision:          td.Revision,
		TaskDefinitionARN: aws.ToString(td.TaskDefinitionArn),
		Status:            string(td.Status),
	}
	// Not a verdict but an input error: two containers of one name, or,
	// in a task definition file, none at all (a template may leave the
	// list out or to an unresolved value; ECS refuses it at deploy).
	if err := taskdef.CheckInput(td); err != nil && (len(td.ContainerDefinitions) > 0 || res.Format.IsTaskDefinitionFile()) &&
		!slices.ContainsFunc(res.Unresolved, func(u source.Unresolved) bool { return u.Slot == taskdoc.SlotContainers }) {
		r.Error = err.Error()
		return r
	}
	ctx := fallback
	if arn, err := taskdef.ParseARN(r.TaskDefinitionARN); err == nil {
		ctx = plan.Context{Partition: arn.Partition, Account: arn.Account, Region: arn.Region, Today: fallback.Today}
	}
	ev := pol.EvaluateFor(td, res.Tags, exemption.Subject{Account: ctx.Account, Region: ctx.Region, Family: r.Family, Today: ctx.Today}, awslogs.Facts{})
	r.Exempt = ev.Exempt
	r.Verdict = Compliant
	r.Containers = make([]Container, 0, len(ev.Containers))
	for i, f := range ev.Containers {
		c := Container{Name: f.Name, Compliant: f.Compliant, Verdict: Compliant, Reasons: f.Reasons, Keys: f.Keys}
		if i < len(res.Containers) {
			c.Line = res.Containers[i].Line
			if un := res.Containers[i].Unresolved; len(un) > 0 {
				c = judgeUnresolved(c, td.ContainerDefinitions[i], un, pol)
			}
		}
		if c.Reasons == nil {
			c.Reasons = []reason.Code{}
		}
		if !c.Compliant && c.Verdict == Compliant {
			c.Verdict = NonCompliant
		}
		r.Verdict = worse(r.Verdict, c.Verdict)
		r.Containers = append(r.Containers, c)
	}
	for _, u := range res.Unresolved {
		switch {
		case u.Slot == taskdoc.SlotContainers:
			r.Unresolved = append(r.Unresolved, value(u, pol))
			r.Verdict = worse(r.Verdict, Unresolved)
		case u.Slot == taskdoc.SlotTags && !r.Exempt && (u.Key == "" || u.Key == exemptionKey(pol)):
			r.Unresolved = append(r.Unresolved, value(u, pol))
		}
	}
	if res.Format.IsTaskDefinitionFile() {
		p, err := plan.Build(td, res.Tags, pol, ctx)
		if err != nil {
			r.Error = fmt.Sprintf("plan: %v", err)
		} else {
			r.Plan = &p
		}
	}
	return r
}

// worse returns the worse of two verdicts.
func worse(a, b Verdict) Verdict {
	rank := map[Verdict]int{Compliant: 0, Unresolved: 1, NonCompliant: 2}
	if rank[b] > rank[a] {
		return b
	}
	return a
}

func exemptionKey(pol policy.Policy) string {
	return pol.WithDefaults().ExemptionTag.Key
}

// judgeUnresolved judges a container with unresolved values both ways:
// with every unknown value at its best for the policy and at its worst.
// Reasons that hold even at best are certain (NON_COMPLIANT); when the
// worst is still compliant the unknowns do not matter (COMPLIANT);
// otherwise the verdict waits for the values (UNRESOLVED).
func judgeUnresolved(c Container, def types.ContainerDefinition, un []source.Unresolved, pol policy.Policy) Container {
	worst := reasons(variant(def, un, pol, false, ""), pol)
	best := reasons(variant(def, un, pol, true, awslogs.DriverAwslogs), pol)
	for _, d := range pol.WithDefaults().AllowedDrivers {
		if len(best) == 0 {
			break
		}
		if rs := reasons(variant(def, un, pol, true, d), pol); len(rs) < len(best) {
			best = rs
		}
	}
	c.Reasons = best
	switch {
	case len(worst) == 0:
		c.Compliant, c.Verdict = true, Compliant
	case len(best) > 0:
		c.Compliant, c.Verdict = false, NonCompliant
	default:
		c.Compliant, c.Verdict = false, Unresolved
	}
	for _, u := range un {
		c.Unresolved = append(c.Unresolved, value(u, pol))
	}
	return c
}

func reasons(def types.ContainerDefinition, pol policy.Policy) []reason.Code {
	ev := pol.Evaluate(&types.TaskDefinition{ContainerDefinitions: []types.ContainerDefinition{def}}, nil)
	return ev.Containers[0].Reasons
}

// Stand-ins that satisfy each rule (best) or fail it (worst).
const (
	validGroup   = "/unresolved"
	nonBlank     = "unresolved" // a valid stream prefix
	validRegion  = cloudformation.RegionStandIn
	notAllowedLD = ""
)

// variant returns def with every unresolved value set to its best (for
// the policy) or worst case; driver is the best case's log driver.
func variant(def types.ContainerDefinition, un []source.Unresolved, pol policy.Policy, best bool, driver string) types.ContainerDefinition {
	out := def
	if def.LogConfiguration != nil {
		lc := *def.LogConfiguration
		lc.Options = make(map[string]string, len(def.LogConfiguration.Options))
		for k, v := range def.LogConfiguration.Options {
			lc.Options[k] = v
		}
		out.LogConfiguration = &lc
	}
	goodLC := func() *types.LogConfiguration {
		return &types.LogConfiguration{LogDriver: types.LogDriver(driver), Options: map[string]string{
			awslogs.OptGroup: validGroup, awslogs.OptRegion: validRegion, awslogs.OptStreamPrefix: nonBlank,
		}}
	}
	ensureLC := func() *types.LogConfiguration {
		if out.LogConfiguration == nil {
			out.LogConfiguration = &types.LogConfiguration{Options: map[string]string{}}
		}
		if out.LogConfiguration.Options == nil {
			out.LogConfiguration.Options = map[string]string{}
		}
		return out.LogConfiguration
	}
	for _, u := range un {
		switch u.Slot {
		case taskdoc.SlotContainer, taskdoc.SlotLogConfiguration:
			if best {
				out.LogConfiguration = goodLC()
				if u.Slot == taskdoc.SlotContainer {
					out.FirelensConfiguration = nil
				}
			} else {
				out.LogConfiguration = nil
			}
		case taskdoc.SlotLogDriver:
			if best {
				ensureLC().LogDriver = types.LogDriver(driver)
			} else {
				ensureLC().LogDriver = notAllowedLD
			}
		case taskdoc.SlotOptions:
			lc := ensureLC()
			if best {
				lc.Options = goodLC().Options
			} else {
				lc.Options = map[string]string{}
			}
		case taskdoc.SlotGroup, taskdoc.SlotRegion, taskdoc.SlotStreamPrefix:
			lc := ensureLC()
			if !best {
				delete(lc.Options, string(u.Slot))
			} else if u.Slot == taskdoc.SlotGroup {
				lc.Options[string(u.Slot)] = validGroup
			} else if u.Slot == taskdoc.SlotRegion {
				lc.Options[string(u.Slot)] = validRegion
			} else {
				lc.Options[string(u.Slot)] = nonBlank
			}
		case taskdoc.SlotFirelens:
			if best {
				out.FirelensConfiguration = nil
			} else {
				out.FirelensConfiguration = &types.FirelensConfiguration{}
			}
		}
	}
	return out
}

// value describes an unresolved value with what would make it compliant.
func value(u source.Unresolved, pol policy.Policy) Value {
	return Value{Field: u.Field, Line: u.Line, Expr: u.Expr, CompliantWhen: compliantWhen(u, pol)}
}

func compliantWhen(u source.Unresolved, pol policy.Policy) string {
	logging := loggingText(pol)
	switch u.Slot {
	case taskdoc.SlotContainers:
		return "compliant when every container definition it resolves to has " + logging
	case taskdoc.SlotContainer:
		return "compliant when it resolves to a container definition with " + logging
	case taskdoc.SlotLogConfiguration:
		return "compliant when it resolves to " + logging
	case taskdoc.SlotLogDriver:
		return "compliant when it resolves to " + driversText(pol)
	case taskdoc.SlotOptions:
		return "compliant when it resolves to options with awslogs-group (a valid log group name), awslogs-region and awslogs-stream-prefix"
	case taskdoc.SlotGroup:
		return `compliant when it resolves to a valid log group name (1 to 512 of A-Z a-z 0-9 . - _ / #, not starting with "aws/")`
	case taskdoc.SlotRegion:
		return "compliant when it resolves to a region name (e.g. us-east-1)"
	case taskdoc.SlotStreamPrefix:
		return "compliant when it resolves to a non-blank prefix without ':', '*' or white space"
	case taskdoc.SlotFirelens:
		return "compliant when it resolves to none, or when this container logs through awslogs (a FireLens router must)"
	case taskdoc.SlotTags:
		t := pol.WithDefaults().ExemptionTag
		return fmt.Sprintf("exempt only when it resolves to the tag %s=%s", t.Key, t.Value)
	}
	return "unknown until deployed"
}

// loggingText describes compliant logging under pol.
func loggingText(pol policy.Policy) string {
	s := "a logConfiguration with logDriver awslogs and the options awslogs-group, awslogs-region and awslogs-stream-prefix"
	var others []string
	for _, d := range pol.WithDefaults().AllowedDrivers {
		if d != awslogs.DriverAwslogs {
			others = append(others, d)
		}
	}
	if len(others) > 0 {
		s += ", or logDriver " + strings.Join(others, " or ")
	}
	return s
}

func driversText(pol policy.Policy) string {
	ds := pol.WithDefaults().AllowedDrivers
	s := strings.Join(ds, " or ")
	for _, d := range ds {
		if d == awslogs.DriverAwslogs {
			return s + " (awslogs with awslogs-group, awslogs-region and awslogs-stream-prefix)"
		}
	}
	return s
}
