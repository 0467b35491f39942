// Package backout holds the steps that undo a remediation as values: each
// step's kind and the resource it changes, from which its sentence and its
// exact AWS CLI command are made. A notification prints them and
// `ecslogfix backout` executes them, so the two cannot disagree. The same
// steps say how to move a consumer ecslogfix left alone to the new
// revision. Pure: no AWS calls.
package backout

import (
	"cmp"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws/arn"

	"github.com/ecslogfix/ecslogfix/internal/policy"
	"github.com/ecslogfix/ecslogfix/internal/taskdef"
)

// StepKind says what a backout step changes. `ecslogfix backout` executes
// a step by its kind; a notification prints its sentence and command.
type StepKind string

// Step kinds, in the order Steps returns them.
const (
	StepMoveService               StepKind = "MOVE_SERVICE"                // point a service back at the source revision
	StepMoveRuleTarget            StepKind = "MOVE_RULE_TARGET"            // point an EventBridge rule's ECS target back at it
	StepMoveSchedule              StepKind = "MOVE_SCHEDULE"               // point a Scheduler schedule's ECS target back at it
	StepReregisterSource          StepKind = "REREGISTER_SOURCE"           // the source was deregistered: register a copy to point them at
	StepDeregister                StepKind = "DEREGISTER"                  // deregister the revision ecslogfix registered
	StepExemptUntil               StepKind = "EXEMPT_UNTIL"                // tag the source: exempt until a date, then fixed again
	StepDisableDeletionProtection StepKind = "DISABLE_DELETION_PROTECTION" // before deleting a protected log group
	StepDeleteLogGroup            StepKind = "DELETE_LOG_GROUP"            // delete a log group ecslogfix created
	StepRestoreRetention          StepKind = "RESTORE_RETENTION"           // give an existing group back the retention it had
)

// Step is one backout step as a value: its kind and the resource it
// changes, from which the sentence and the exact AWS CLI command are made.
// The notification prints these and `ecslogfix backout` executes them, so
// the two cannot disagree.
type Step struct {
	Kind StepKind `json:"kind"`
	// Cluster and Service name the service a MOVE_SERVICE step moves;
	// PlaceholderCluster and PlaceholderService while it is Conditional.
	Cluster string `json:"cluster,omitempty"`
	Service string `json:"service,omitempty"`
	// TaskDefinition is the revision a MOVE_SERVICE step moves the service
	// back to (the source, as FAMILY:REV), the one a DEREGISTER step
	// deregisters (the new revision's ARN), or the source an EXEMPT_UNTIL
	// step tags (its ARN).
	TaskDefinition string `json:"taskDefinition,omitempty"`
	// From is the revision a consumer must still run for a MOVE step to
	// apply (the new revision's ARN): a consumer someone moved on since is
	// left alone.
	From string `json:"from,omitempty"`
	// Rule, EventBus and TargetID name a MOVE_RULE_TARGET step's target;
	// Schedule and Group a MOVE_SCHEDULE step's schedule.
	Rule     string `json:"rule,omitempty"`
	EventBus string `json:"eventBus,omitempty"`
	TargetID string `json:"targetId,omitempty"`
	Schedule string `json:"schedule,omitempty"`
	Group    string `json:"group,omitempty"`
	// TagKey and Until are the end-date tag an EXEMPT_UNTIL step sets
	// (Until is PlaceholderDate when the date is not chosen yet).
	TagKey   string `json:"tagKey,omitempty"`
	Until    string `json:"until,omitempty"`
	LogGroup string `json:"logGroup,omitempty"`
	// Region is where the resource is; empty when unknown (the command then
	// holds PlaceholderRegion).
	Region string `json:"region,omitempty"`
	// Conditional steps apply once for each service that was moved to the
	// new revision: Bind fills in the service.
	Conditional bool `json:"conditional,omitempty"`
	// Optional steps may be left out: deleting a log group loses its events.
	Optional    bool   `json:"optional,omitempty"`
	Description string `json:"description"`
	Command     string `json:"command"`
}

// Resource names what the step changes: CLUSTER/SERVICE (the cluster
// alone when no service is named), the revision's ARN, or the log group.
func (s Step) Resource() string {
	switch s.Kind {
	case StepMoveService:
		if s.Service == "" {
			return s.Cluster
		}
		return s.Cluster + "/" + s.Service
	case StepDeregister, StepReregisterSource, StepExemptUntil:
		return s.TaskDefinition
	case StepMoveRuleTarget:
		return s.EventBus + "/" + s.Rule + "#" + s.TargetID
	case StepMoveSchedule:
		return s.Group + "/" + s.Schedule
	}
	return s.LogGroup
}

// Bind returns a conditional step for one service; any other step as it is.
func (s Step) Bind(cluster, service string) Step {
	if !s.Conditional {
		return s
	}
	return moveService(cluster, service, s.TaskDefinition, s.Region)
}

// Input says what was done, for Steps.
type Input struct {
	Region           string
	NewARN           string  // the revision ecslogfix registered
	SourceARN        string  // the revision it was built from
	CreatedLogGroups []Group // log groups ecslogfix created (never pre-existing ones)
	RetentionSet     []Group // existing groups whose retention ecslogfix set
	// Moved are the consumers the rollout moved to the new revision, with
	// the revision each ran before; when there are any, backout points
	// exactly these back instead of the conditional step for services.
	Moved []Moved
	// SourceDeregistered: policy deregisterSource afterRollout
	// deregistered the source; ECS refuses to point anything at an INACTIVE
	// revision, so backout first registers a copy of it.
	SourceDeregistered bool
	// ExecutionARN, when known, goes into the command that runs the whole
	// backout (`ecslogfix backout --execution`).
	ExecutionARN string
	// ExemptKey and ExemptUntil are the end-date tag set on the source so
	// that ecslogfix leaves it until then (policy.UntilKey; the date, or
	// empty for PlaceholderDate).
	ExemptKey   string
	ExemptUntil string
}

// Group is a log group a remediation created or changed.
type Group struct {
	Name   string
	Region string // empty: Input.Region
	// DeletionProtected: created with deletion protection, which must be
	// lifted before the group can be deleted.
	DeletionProtected bool
	// PreviousRetentionDays is the retention it had before ecslogfix set
	// one (0: it never expired).
	PreviousRetentionDays int32
}

// Moved is one consumer the rollout moved (workflow.ConsumerRollout, as
// the backout needs it).
type Moved struct {
	Kind     string // SERVICE, RULE_TARGET, SCHEDULE (workflow.ConsumerKind)
	Name     string // service, rule or schedule name
	Cluster  string // a service's cluster (name or ARN)
	EventBus string // a rule target's bus
	TargetID string
	Group    string // a schedule's group
	Before   string // the revision it ran before (ARN)
	After    string // the revision it was moved to (ARN)
}

// Consumer kinds of Moved.Kind (the workflow's ConsumerKind values).
const (
	MovedService    = "SERVICE"
	MovedRuleTarget = "RULE_TARGET"
	MovedSchedule   = "SCHEDULE"
)

// Placeholders in backout commands the reader must fill in. They are not
// quoted on purpose: a command still holding one fails in the shell instead
// of running against a wrong resource.
const (
	PlaceholderCluster = "<CLUSTER>"
	PlaceholderService = "<SERVICE>"
	PlaceholderRegion  = "<REGION>"
	// PlaceholderCopy stands for the copy of a deregistered source that
	// REREGISTER_SOURCE registers: `ecslogfix backout` fills it in.
	PlaceholderCopy = "<SOURCE_COPY>"
	// PlaceholderApplication and PlaceholderDeploymentGroup name the
	// CodeDeploy application and deployment group of a CODE_DEPLOY service.
	PlaceholderApplication     = "<APPLICATION>"
	PlaceholderDeploymentGroup = "<DEPLOYMENT_GROUP>"
	PlaceholderDate            = "<YYYY-MM-DD>"
)

// Steps returns the steps that undo a remediation, in the order to run
// them: move services back to the source revision (one conditional step,
// for each service moved to the new one), deregister the new revision,
// exempt the source until a date (else the sweep fixes it again), then
// delete the log groups ecslogfix created (disabling deletion protection
// first where it is on). Every argument is quoted for a POSIX shell.
func Steps(in Input) []Step {
	region := in.Region
	for _, a := range []string{in.NewARN, in.SourceARN} {
		if region != "" {
			break
		}
		// Lenient on purpose: backout steps are rendered for what the
		// result names, validated or not.
		if parsed, err := arn.Parse(a); err == nil {
			region = parsed.Region
		}
	}
	var steps []Step
	switch {
	case len(in.Moved) > 0:
		steps = append(steps, movedSteps(in, region)...)
	case in.SourceARN != "":
		s := moveService(PlaceholderCluster, PlaceholderService, FamilyRevision(in.SourceARN), region)
		s.Conditional = true
		s.Description = "For each service you moved to the new revision: point it back at the source revision (replace " + PlaceholderCluster + " and " + PlaceholderService + ")."
		steps = append(steps, s)
	}
	if in.NewARN != "" {
		steps = append(steps, Step{
			Kind: StepDeregister, TaskDefinition: in.NewARN, Region: region,
			Description: "Deregister the revision ecslogfix registered.",
			Command:     fmt.Sprintf("aws ecs deregister-task-definition --task-definition %s --region %s", Quote(in.NewARN), regionArg(region)),
		})
	}
	if in.SourceARN != "" && in.NewARN != "" {
		key := in.ExemptKey
		if key == "" {
			key = policy.Default().UntilKey()
		}
		until := in.ExemptUntil
		if until == "" {
			until = PlaceholderDate
		}
		steps = append(steps, Step{
			Kind: StepExemptUntil, TaskDefinition: in.SourceARN, TagKey: key, Until: until, Region: region,
			Description: fmt.Sprintf("Exempt the source revision until %s, so that ecslogfix fixes it again only then (without this tag it is fixed again at the next sweep).", until),
			// The date stays unquoted while it is the placeholder (see
			// above); a real one is quoted with the key.
			Command: fmt.Sprintf("aws ecs tag-resource --resource-arn %s --tags key=%s,value=%s --region %s", Quote(in.SourceARN), Quote(key), dateArg(until), regionArg(region)),
		})
	}
	for _, g := range in.CreatedLogGroups {
		steps = append(steps, DeleteLogGroup(g.Name, cmp.Or(g.Region, region), g.DeletionProtected)...)
	}
	for _, g := range in.RetentionSet {
		r := cmp.Or(g.Region, region)
		s := Step{Kind: StepRestoreRetention, LogGroup: g.Name, Region: r, Optional: true}
		if g.PreviousRetentionDays == 0 {
			s.Description = fmt.Sprintf("Optional: let the log group %s never expire again, as before ecslogfix set its retention.", g.Name)
			s.Command = fmt.Sprintf("aws logs delete-retention-policy --log-group-name %s --region %s", Quote(g.Name), regionArg(r))
		} else {
			s.Description = fmt.Sprintf("Optional: give the log group %s back its retention of %d days.", g.Name, g.PreviousRetentionDays)
			s.Command = fmt.Sprintf("aws logs put-retention-policy --log-group-name %s --retention-in-days %d --region %s", Quote(g.Name), g.PreviousRetentionDays, regionArg(r))
		}
		steps = append(steps, s)
	}
	return steps
}

// DeleteLogGroup is the optional steps that delete a log group ecslogfix
// created: deletion protection lifted first when it is on (CloudWatch Logs
// refuses to delete a protected group).
func DeleteLogGroup(name, region string, protected bool) []Step {
	var steps []Step
	if protected {
		steps = append(steps, Step{
			Kind: StepDisableDeletionProtection, LogGroup: name, Region: region, Optional: true,
			Description: fmt.Sprintf("Optional, before deleting it: turn off the deletion protection ecslogfix set on the log group %s.", name),
			Command:     fmt.Sprintf("aws logs put-log-group-deletion-protection --log-group-identifier %s --no-deletion-protection-enabled --region %s", Quote(name), regionArg(region)),
		})
	}
	return append(steps, Step{
		Kind: StepDeleteLogGroup, LogGroup: name, Region: region, Optional: true,
		Description: fmt.Sprintf("Optional: delete the log group %s ecslogfix created (its log events are lost).", name),
		Command:     fmt.Sprintf("aws logs delete-log-group --log-group-name %s --region %s", Quote(name), regionArg(region)),
	})
}

// movedSteps point each moved consumer back at the revision it ran
// before (or, when the source was deregistered, at a copy of it that the
// first step registers). Rule targets and schedules are replaced whole by
// PutTargets and UpdateSchedule, so their commands re-read the target and
// change only its task definition (jq), as `ecslogfix backout` does: the
// target's Input, which may carry container overrides, never appears in
// a command.
func movedSteps(in Input, region string) []Step {
	var steps []Step
	if in.SourceDeregistered {
		cmd := "ecslogfix backout --task-definition " + Quote(FamilyRevision(in.NewARN))
		if in.ExecutionARN != "" {
			cmd += " --execution " + Quote(in.ExecutionARN)
		}
		steps = append(steps, Step{
			Kind: StepReregisterSource, TaskDefinition: in.SourceARN, Region: region,
			Description: "The source revision was deregistered after the rollout (policy deregisterSource afterRollout), and ECS refuses to point anything at an INACTIVE revision: register a copy of it, tagged with the exemption tag so ecslogfix leaves it alone, and point the consumers below at the copy (" + PlaceholderCopy + "). ecslogfix backout does all of it.",
			Command:     cmd + " --apply --region " + regionArg(region),
		})
	}
	for _, m := range in.Moved {
		to := m.Before
		if in.SourceDeregistered {
			to = PlaceholderCopy
		}
		if s := MoveStep(m, to, region); s.Kind != "" {
			steps = append(steps, s)
		}
	}
	return steps
}

// MoveStep is the step that points consumer m, which runs m.After, at the
// revision to: a backout step (to is m.Before), or, for a consumer
// ecslogfix did not move, how to move it to the new revision. The zero
// Step for an unknown kind.
func MoveStep(m Moved, to, region string) Step {
	var s Step
	switch m.Kind {
	case MovedService:
		s = moveService(m.Cluster, m.Name, FamilyRevision(to), region)
		if to != m.Before {
			s.Description = fmt.Sprintf("Point the service %s in cluster %s at the new revision %s.", m.Name, m.Cluster, FamilyRevision(to))
		}
	case MovedRuleTarget:
		s = moveRuleTarget(m, to, region)
	case MovedSchedule:
		s = moveSchedule(m, to, region)
	default:
		return Step{}
	}
	s.From = m.After
	return s
}

// Manual is a service ecslogfix never moves: its deployment controller
// is CODE_DEPLOY or EXTERNAL.
type Manual struct {
	Controller       string // CODE_DEPLOY or EXTERNAL
	Cluster, Service string
	NewARN           string
	Region           string
	// Container and Port are the service's load balancer target, which a
	// CodeDeploy AppSpec names.
	Container string
	Port      int32
}

// ManualRollout is the command that deploys the new revision to a
// service ecslogfix does not move: a CodeDeploy deployment whose AppSpec
// names the new revision and the service's load balancer container (the
// application and deployment group are the owner's: placeholders), or a
// new task set of an EXTERNAL service (its network and load balancer
// settings come from the owner's tooling).
func ManualRollout(m Manual) string {
	r := regionArg(m.Region)
	if m.Controller == "EXTERNAL" {
		return fmt.Sprintf("aws ecs create-task-set --cluster %s --service %s --task-definition %s --region %s",
			arg(m.Cluster), arg(m.Service), Quote(m.NewARN), r)
	}
	props := map[string]any{"TaskDefinition": m.NewARN}
	if m.Container != "" {
		props["LoadBalancerInfo"] = map[string]any{"ContainerName": m.Container, "ContainerPort": m.Port}
	}
	appspec, _ := json.Marshal(map[string]any{"version": json.Number("0.0"), "Resources": []any{map[string]any{"TargetService": map[string]any{"Type": "AWS::ECS::Service", "Properties": props}}}})
	revision, _ := json.Marshal(map[string]any{"revisionType": "AppSpecContent", "appSpecContent": map[string]string{"content": string(appspec)}})
	return fmt.Sprintf("aws deploy create-deployment --application-name %s --deployment-group-name %s --region %s --revision %s",
		PlaceholderApplication, PlaceholderDeploymentGroup, r, Quote(string(revision)))
}

// arg quotes s unless it is a placeholder (see above).
func arg(s string) string {
	if strings.HasPrefix(s, "<") && strings.HasSuffix(s, ">") {
		return s
	}
	return Quote(s)
}

func moveRuleTarget(m Moved, to, region string) Step {
	r := regionArg(region)
	return Step{
		Kind: StepMoveRuleTarget, Rule: m.Name, EventBus: m.EventBus, TargetID: m.TargetID, TaskDefinition: to, Region: region,
		Description: fmt.Sprintf("Point the ECS target %s of the EventBridge rule %s (bus %s) back at %s; the rest of the target is kept.", m.TargetID, m.Name, m.EventBus, FamilyRevision(to)),
		Command: fmt.Sprintf("aws events list-targets-by-rule --rule %s --event-bus-name %s --region %s --output json | jq --arg id %s --arg td %s '[.Targets[] | select(.Id == $id) | .EcsParameters.TaskDefinitionArn = $td]' > ecslogfix-target.json && aws events put-targets --rule %s --event-bus-name %s --region %s --targets file://ecslogfix-target.json",
			Quote(m.Name), Quote(m.EventBus), r, Quote(m.TargetID), arg(to), Quote(m.Name), Quote(m.EventBus), r),
	}
}

func moveSchedule(m Moved, to, region string) Step {
	r := regionArg(region)
	return Step{
		Kind: StepMoveSchedule, Schedule: m.Name, Group: m.Group, TaskDefinition: to, Region: region,
		Description: fmt.Sprintf("Point the EventBridge Scheduler schedule %s (group %s) back at %s; the rest of the schedule is kept.", m.Name, m.Group, FamilyRevision(to)),
		Command: fmt.Sprintf("aws scheduler get-schedule --name %s --group-name %s --region %s --output json | jq --arg td %s 'del(.Arn, .CreationDate, .LastModificationDate) | .Target.EcsParameters.TaskDefinitionArn = $td' > ecslogfix-schedule.json && aws scheduler update-schedule --region %s --cli-input-json file://ecslogfix-schedule.json",
			Quote(m.Name), Quote(m.Group), r, arg(to), r),
	}
}

// moveService is the step that points one service at revision. The
// placeholders stay unquoted (see above); real names are quoted.
func moveService(cluster, service, revision, region string) Step {
	return Step{
		Kind: StepMoveService, Cluster: cluster, Service: service, TaskDefinition: revision, Region: region,
		Description: fmt.Sprintf("Point the service %s in cluster %s back at the source revision %s.", service, cluster, revision),
		Command: fmt.Sprintf("aws ecs update-service --cluster %s --service %s --task-definition %s --region %s",
			arg(cluster), arg(service), arg(revision), regionArg(region)),
	}
}

func dateArg(d string) string {
	if d == PlaceholderDate {
		return d
	}
	return Quote(d)
}

// regionArg is the --region argument: the region, or the placeholder when
// it is unknown.
func regionArg(region string) string {
	if region == "" {
		return PlaceholderRegion
	}
	return Quote(region)
}

// FamilyRevision is FAMILY:REV of a task definition ARN, or s itself when
// it is not one.
func FamilyRevision(s string) string {
	if a, err := taskdef.ParseRef(s); err == nil && a.Family != "" {
		return a.FamilyRevision()
	}
	return s
}

// Quote returns s as one word for a POSIX shell: unchanged when it holds
// only safe characters, otherwise in single quotes.
func Quote(s string) string {
	if s == "" {
		return "''"
	}
	safe := true
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.ContainsRune("@%+=:,./_-", c)) {
			safe = false
			break
		}
	}
	if safe {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
