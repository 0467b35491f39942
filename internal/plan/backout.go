package plan

import (
	"fmt"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws/arn"

	"github.com/ecslogfix/ecslogfix/internal/policy"
)

// StepKind says what a backout step changes. `ecslogfix backout` executes
// a step by its kind; a notification prints its sentence and command.
type StepKind string

// Step kinds, in the order Backout returns them.
const (
	StepMoveService               StepKind = "MOVE_SERVICE"                // point a service back at the source revision
	StepDeregister                StepKind = "DEREGISTER"                  // deregister the revision ecslogfix registered
	StepExemptUntil               StepKind = "EXEMPT_UNTIL"                // tag the source: exempt until a date, then fixed again
	StepDisableDeletionProtection StepKind = "DISABLE_DELETION_PROTECTION" // before deleting a protected log group
	StepDeleteLogGroup            StepKind = "DELETE_LOG_GROUP"            // delete a log group ecslogfix created
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
	case StepDeregister, StepExemptUntil:
		return s.TaskDefinition
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

// BackoutInput says what was done, for Backout.
type BackoutInput struct {
	Region            string
	NewARN            string   // the revision ecslogfix registered
	SourceARN         string   // the revision it was built from
	CreatedLogGroups  []string // log groups ecslogfix created (never pre-existing ones)
	DeletionProtected []string // of those, the ones with deletion protection
	// ExemptKey and ExemptUntil are the end-date tag set on the source so
	// that ecslogfix leaves it until then (policy.UntilKey; the date, or
	// empty for PlaceholderDate).
	ExemptKey   string
	ExemptUntil string
}

// Placeholders in backout commands the reader must fill in. They are not
// quoted on purpose: a command still holding one fails in the shell instead
// of running against a wrong resource.
const (
	PlaceholderCluster = "<CLUSTER>"
	PlaceholderService = "<SERVICE>"
	PlaceholderRegion  = "<REGION>"
	PlaceholderDate    = "<YYYY-MM-DD>"
)

// Backout returns the steps that undo a remediation, in the order to run
// them: move services back to the source revision (one conditional step,
// for each service moved to the new one), deregister the new revision,
// exempt the source until a date (else the sweep fixes it again), then
// delete the log groups ecslogfix created (disabling deletion protection
// first where it is on). Every argument is quoted for a POSIX shell.
func Backout(in BackoutInput) []Step {
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
	if in.SourceARN != "" {
		s := moveService(PlaceholderCluster, PlaceholderService, familyRevision(in.SourceARN), region)
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
		if slices.Contains(in.DeletionProtected, g) {
			steps = append(steps, Step{
				Kind: StepDisableDeletionProtection, LogGroup: g, Region: region, Optional: true,
				Description: fmt.Sprintf("Turn off deletion protection on the log group %s ecslogfix created.", g),
				Command:     fmt.Sprintf("aws logs put-log-group-deletion-protection --log-group-identifier %s --no-deletion-protection-enabled --region %s", Quote(g), regionArg(region)),
			})
		}
		steps = append(steps, Step{
			Kind: StepDeleteLogGroup, LogGroup: g, Region: region, Optional: true,
			Description: fmt.Sprintf("Optional: delete the log group %s ecslogfix created (its log events are lost).", g),
			Command:     fmt.Sprintf("aws logs delete-log-group --log-group-name %s --region %s", Quote(g), regionArg(region)),
		})
	}
	return steps
}

// moveService is the step that points one service at revision. The
// placeholders stay unquoted (see above); real names are quoted.
func moveService(cluster, service, revision, region string) Step {
	arg := func(s, placeholder string) string {
		if s == placeholder {
			return s
		}
		return Quote(s)
	}
	return Step{
		Kind: StepMoveService, Cluster: cluster, Service: service, TaskDefinition: revision, Region: region,
		Description: fmt.Sprintf("Point the service %s in cluster %s back at the source revision %s.", service, cluster, revision),
		Command: fmt.Sprintf("aws ecs update-service --cluster %s --service %s --task-definition %s --region %s",
			arg(cluster, PlaceholderCluster), arg(service, PlaceholderService), Quote(revision), regionArg(region)),
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

// familyRevision returns "family:revision" from a task definition ARN, or s
// itself when it is not one.
func familyRevision(s string) string {
	if a, err := arn.Parse(s); err == nil {
		if ref, ok := strings.CutPrefix(a.Resource, "task-definition/"); ok {
			return ref
		}
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
