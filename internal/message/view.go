package message

import (
	"cmp"
	"errors"
	"maps"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws/arn"

	"github.com/ecslogfix/ecslogfix/internal/awsarn"
	"github.com/ecslogfix/ecslogfix/internal/backout"
	"github.com/ecslogfix/ecslogfix/internal/escape"
	"github.com/ecslogfix/ecslogfix/internal/plan"
	"github.com/ecslogfix/ecslogfix/internal/policy"
	"github.com/ecslogfix/ecslogfix/internal/workflow"
)

// Length caps applied to every string taken from a request before any
// rendering, so that the worst case of each format is bounded.
const (
	capName    = 255  // family, container, log group class, tool names
	capARN     = 1024 // ARNs and log group names (real ones are shorter)
	capValue   = 512  // one awslogs option value
	capDetail  = 1000 // free text from the remediate function
	capCause   = 1000 // Failure.Cause after sanitising
	capError   = 200  // Failure.Error (an error type name)
	capCommand = 2048 // one backout command
	capList    = 50   // entries of any list (containers, log groups, blockers, steps)
	capOptions = 30   // options of one logConfiguration
	capReasons = 20   // reasons of one container
)

// awslogsOptions are the documented awslogs option keys whose values are
// safe to print. The value of any other option is never rendered, only its
// name, even if a plan carried it (defence in depth: a splunk token or a
// FireLens plugin credential may sit in another driver's options).
var awslogsOptions = map[string]bool{
	"awslogs-group":             true,
	"awslogs-region":            true,
	"awslogs-stream-prefix":     true,
	"awslogs-create-group":      true,
	"awslogs-datetime-format":   true,
	"awslogs-multiline-pattern": true,
	"mode":                      true,
	"max-buffer-size":           true,
}

// view is the sanitised, size-capped model every format renders from. It
// holds only what a notification may show.
type view struct {
	outcome     workflow.Outcome
	account     string
	region      string
	partition   string
	family      string
	sourceARN   string
	sourceRev   int
	newARN      string
	newRev      int
	latestARN   string
	detail      string
	trigger     string
	eventID     string
	enforcement string
	principal   *workflow.Principal
	origin      *workflow.Origin
	containers  []container
	blockers    []plan.Blocker
	logGroups   []LogGroupInfo
	execRole    string
	backout     []backout.Step
	rollout     *rolloutView // nil: no rollout step ran
	failure     *FailureInfo
	execARN     string
	// exemptionNotes say which exemptions stopped applying (expired or
	// malformed): the notification is how people learn it.
	exemptionNotes []string
	omitted        int // list entries dropped by the caps
}

type container struct {
	Name    string
	Action  plan.Action
	Reasons []policy.Reason
	Keys    []string // the log options the reasons are about
	Before  *Settings
	After   *Settings
}

// Settings is a redacted logConfiguration: the driver, the values of
// documented awslogs options only, and the names of every other option and
// secret option.
type Settings struct {
	Driver        string            `json:"driver"`
	Options       map[string]string `json:"options,omitempty"`       // documented awslogs options only
	OtherOptions  []string          `json:"otherOptions,omitempty"`  // names only
	SecretOptions []string          `json:"secretOptions,omitempty"` // names only
}

// LogGroupInfo is a log group of the revision an execution acted on:
// ecslogfix created it, found it existing, or (nothing was applied) plans
// for it (status created, existing or planned).
type LogGroupInfo struct {
	Name               string `json:"name"`
	Region             string `json:"region,omitempty"`
	Status             string `json:"status"` // created, existing, planned
	RetentionDays      int32  `json:"retentionDays"`
	KMSKeyARN          string `json:"kmsKeyArn,omitempty"`
	Class              string `json:"class,omitempty"`
	DeletionProtection bool   `json:"deletionProtection,omitempty"`
	// RetentionSet: ecslogfix set an existing group's retention (the
	// policy's existingGroupRetention); it was PreviousRetentionDays
	// (0: never expired).
	RetentionSet          bool  `json:"retentionSet,omitempty"`
	PreviousRetentionDays int32 `json:"previousRetentionDays,omitempty"`
	// Plan says, for a planned group, what was read of it and what
	// applying the plan would do (plan.LogGroup.Summary).
	Plan string `json:"plan,omitempty"`
}

// FailureInfo says which workflow state failed and why (sanitised).
type FailureInfo struct {
	State string `json:"state"`
	Error string `json:"error"`
	Cause string `json:"cause,omitempty"`
}

// errNoContent is returned for a request with neither Result nor Failure.
var errNoContent = errors.New("message: notify request has neither result nor failure")

// errBoth is returned for a request with both Result and Failure.
var errBoth = errors.New("message: notify request has both result and failure")

func newView(req workflow.NotifyRequest) (*view, error) {
	switch {
	case req.Result == nil && req.Failure == nil:
		return nil, errNoContent
	case req.Result != nil && req.Failure != nil:
		return nil, errBoth
	case req.Failure != nil:
		return failureModel(req), nil
	default:
		return resultModel(req), nil
	}
}

func resultModel(req workflow.NotifyRequest) *view {
	r := req.Result
	v := &view{
		outcome:   workflow.Outcome(escape.Line(string(r.Outcome), capName)),
		account:   escape.Line(r.Target.Account, capName),
		region:    escape.Line(r.Target.Region, capName),
		family:    escape.Line(r.Family, capName),
		sourceARN: escape.Line(r.SourceARN, capARN),
		newARN:    escape.Line(r.NewARN, capARN),
		latestARN: escape.Line(r.LatestARN, capARN),
		detail:    escape.Line(r.Detail, capDetail),
		trigger:   escape.Line(string(r.Trigger), capName),
		eventID:   escape.Line(r.EventID, capName),
		principal: cleanPrincipal(r.Principal),
		origin:    cleanOrigin(r.Origin),
		execARN:   escape.Line(cmp.Or(req.ExecutionARN, r.ExecutionARN), capARN),
	}
	if v.outcome == "" {
		v.outcome = "UNKNOWN"
	}
	var explicitPartition string
	if p := r.Plan; p != nil {
		explicitPartition = escape.Line(p.Context.Partition, capName)
		if v.family == "" {
			v.family = escape.Line(p.Family, capName)
		}
		if v.sourceARN == "" {
			v.sourceARN = escape.Line(p.SourceARN, capARN)
		}
		if v.account == "" {
			v.account = escape.Line(p.Context.Account, capName)
		}
		if v.region == "" {
			v.region = escape.Line(p.Context.Region, capName)
		}
		v.execRole = escape.Line(p.ExecutionRoleARN, capARN)
		for _, n := range limit(p.ExemptionNotes, levelMinimal) {
			v.exemptionNotes = append(v.exemptionNotes, escape.Line(n.Sentence(), capDetail))
		}
		for i, c := range p.Containers {
			if i == capList {
				v.omitted += len(p.Containers) - capList
				break
			}
			v.containers = append(v.containers, cleanContainer(c))
		}
		for i, b := range p.Blockers {
			if i == capList {
				v.omitted += len(p.Blockers) - capList
				break
			}
			v.blockers = append(v.blockers, plan.Blocker{Code: escape.Line(b.Code, capName), Message: escape.Line(b.Message, capDetail)})
		}
	}
	v.fillRefs(explicitPartition)
	v.rollout = cleanRollout(*r, v.region)
	v.addLogGroups(r.LogGroups)
	if len(r.LogGroups) == 0 && r.Plan != nil && v.outcome != workflow.OutcomeRemediated {
		for i, g := range r.Plan.LogGroups {
			if i == capList {
				v.omitted += len(r.Plan.LogGroups) - capList
				break
			}
			v.logGroups = append(v.logGroups, LogGroupInfo{
				Name: escape.Line(g.Name, capARN), Region: escape.Line(g.Region, capName), Status: "planned",
				RetentionDays: g.RetentionDays, KMSKeyARN: escape.Line(g.KMSKeyARN, capARN), Class: escape.Line(g.Class, capName),
				Plan: escape.Line(g.Summary(), capDetail),
			})
		}
	}
	v.backout = v.backoutSteps()
	return v
}

// addLogGroups adds the log groups EnsureLogGroups reported, at most
// capList of them (the rest are counted as omitted).
func (v *view) addLogGroups(groups []workflow.LogGroupResult) {
	for i, g := range groups {
		if i == capList {
			v.omitted += len(groups) - capList
			break
		}
		status := "existing"
		if g.Created {
			status = "created"
		}
		v.logGroups = append(v.logGroups, LogGroupInfo{
			Name: escape.Line(g.Name, capARN), Region: escape.Line(g.Region, capName), Status: status,
			RetentionDays: g.RetentionDays, KMSKeyARN: escape.Line(g.KMSKeyARN, capARN), Class: escape.Line(g.Class, capName),
			DeletionProtection: g.DeletionProtectionEnabled, RetentionSet: g.RetentionSet, PreviousRetentionDays: g.PreviousRetentionDays,
		})
	}
}

func failureModel(req workflow.NotifyRequest) *view {
	f := req.Failure
	in := f.Input
	v := &view{
		outcome:     workflow.OutcomeFailed,
		account:     escape.Line(in.Target.Account, capName),
		region:      escape.Line(in.Target.Region, capName),
		family:      escape.Line(in.Family, capName),
		sourceARN:   escape.Line(in.TaskDefinitionARN, capARN),
		trigger:     escape.Line(string(in.Trigger), capName),
		eventID:     escape.Line(in.EventID, capName),
		enforcement: escape.Line(string(in.Enforcement), capName),
		principal:   cleanPrincipal(in.Principal),
		origin:      cleanOrigin(in.Origin),
		execARN:     escape.Line(cmp.Or(req.ExecutionARN, f.ExecutionARN), capARN),
		failure: &FailureInfo{
			State: escape.Line(f.State, capName),
			Error: escape.Line(f.Error, capError),
			Cause: escape.Cause(f.Cause, capCause),
		},
	}
	v.failure.State = failedState(v.failure.State)
	if v.failure.Error == "" {
		v.failure.Error = "unknown error"
	}
	if v.sourceRev == 0 && in.Revision > 0 {
		v.sourceRev = int(in.Revision)
	}
	for i, c := range in.Reasons {
		if i == capList {
			v.omitted += len(in.Reasons) - capList
			break
		}
		v.containers = append(v.containers, container{Name: escape.Line(c.Container, capName), Reasons: cleanReasons(c.Reasons)})
	}
	if in.Ensured != nil {
		v.addLogGroups(in.Ensured.LogGroups)
	}
	v.fillRefs("")
	v.backout = v.backoutSteps()
	return v
}

// fillRefs derives family, revisions, account, region and partition from
// the ARNs where the request left them out.
func (v *view) fillRefs(explicitPartition string) {
	if fam, rev := taskDefRef(v.sourceARN); fam != "" {
		if v.family == "" {
			v.family = escape.Line(fam, capName)
		}
		if rev > 0 {
			v.sourceRev = rev
		}
	}
	if _, rev := taskDefRef(v.newARN); rev > 0 {
		v.newRev = rev
	}
	src, _ := arn.Parse(v.sourceARN)
	v.account = cmp.Or(v.account, src.AccountID)
	v.region = cmp.Or(v.region, src.Region)
	v.partition = cmp.Or(explicitPartition, src.Partition, awsarn.PartitionOr(v.region, "aws"))
}

// BackoutSteps are the backout steps a notification of r lists, as values:
// what `ecslogfix fix --apply` prints, so that the two cannot disagree.
func BackoutSteps(r workflow.Result) []backout.Step {
	return resultModel(workflow.NotifyRequest{Result: &r}).backout
}

// backoutSteps asks the plan package for the exact steps that undo what
// this execution changed: the new revision and the log groups it created.
func (v *view) backoutSteps() []backout.Step {
	in := backout.Input{Region: v.region, NewARN: v.newARN}
	if v.newARN != "" {
		// Only a registered revision can have been deployed to services.
		in.SourceARN = v.sourceARN
		in.Moved = v.rollout.movedConsumers()
		in.SourceDeregistered = v.rollout != nil && v.rollout.sourceDeregistered
		in.ExecutionARN = v.execARN
	}
	for _, g := range v.logGroups {
		bg := backout.Group{Name: g.Name, Region: g.Region, DeletionProtected: g.DeletionProtection, PreviousRetentionDays: g.PreviousRetentionDays}
		switch {
		case g.Status == "created":
			in.CreatedLogGroups = append(in.CreatedLogGroups, bg)
		case g.Status == "existing" && g.RetentionSet:
			in.RetentionSet = append(in.RetentionSet, bg)
		}
	}
	if in.NewARN == "" && len(in.CreatedLogGroups) == 0 && len(in.RetentionSet) == 0 {
		return nil
	}
	var out []backout.Step
	for i, s := range backout.Steps(in) {
		if i == capList {
			v.omitted += 1
			break
		}
		s.Description, s.Command = escape.Line(s.Description, capDetail), escape.Line(s.Command, capCommand)
		out = append(out, s)
	}
	return out
}

func cleanContainer(c plan.ContainerChange) container {
	return container{
		Name:    escape.Line(c.Name, capName),
		Action:  plan.Action(escape.Line(string(c.Action), capName)),
		Reasons: cleanReasons(c.Reasons),
		Keys:    cleanKeys(c.Keys),
		Before:  cleanSettings(c.Before),
		After:   cleanSettings(c.After),
	}
}

// cleanKeys keeps option names (never values), capped.
func cleanKeys(ks []string) []string {
	var out []string
	for i, k := range ks {
		if i == capOptions {
			break
		}
		out = append(out, escape.Line(k, capName))
	}
	return out
}

func cleanReasons(rs []policy.Reason) []policy.Reason {
	var out []policy.Reason
	for i, r := range rs {
		if i == capReasons {
			break
		}
		out = append(out, policy.Reason(escape.Line(string(r), capName)))
	}
	return out
}

// cleanSettings keeps the driver, the values of documented awslogs options
// (only when the driver is awslogs) and the names of everything else.
func cleanSettings(ls *plan.LogSettings) *Settings {
	if ls == nil {
		return nil
	}
	s := &Settings{Driver: escape.Line(ls.Driver, capName)}
	keys := slices.Sorted(maps.Keys(ls.Options))
	for i, k := range keys {
		if i == capOptions {
			s.OtherOptions = append(s.OtherOptions, "… "+strconv.Itoa(len(keys)-capOptions)+" more")
			break
		}
		name := escape.Line(k, capName)
		if ls.Driver == "awslogs" && awslogsOptions[k] {
			if s.Options == nil {
				s.Options = map[string]string{}
			}
			s.Options[name] = escape.Line(ls.Options[k], capValue)
			continue
		}
		s.OtherOptions = append(s.OtherOptions, name)
	}
	for i, n := range ls.SecretOptions {
		if i == capOptions {
			break
		}
		s.SecretOptions = append(s.SecretOptions, escape.Line(n, capName))
	}
	sort.Strings(s.SecretOptions)
	return s
}

func cleanPrincipal(p *workflow.Principal) *workflow.Principal {
	if p == nil {
		return nil
	}
	return &workflow.Principal{
		Type:      escape.Line(p.Type, capName),
		ARN:       escape.Line(p.ARN, capARN),
		RoleARN:   escape.Line(p.RoleARN, capARN),
		UserName:  escape.Line(p.UserName, capName),
		InvokedBy: escape.Line(p.InvokedBy, capName),
	}
}

func cleanOrigin(o *workflow.Origin) *workflow.Origin {
	if o == nil {
		return nil
	}
	return &workflow.Origin{Tool: escape.Line(o.Tool, capName), Detail: escape.Line(o.Detail, capName)}
}

// failedState names the Task state that failed: the workflow's Catch goes
// through a Pass state named after it (RegisterFailed for Register), whose
// name may be what the failure carries.
func failedState(s string) string {
	switch s {
	case workflow.StateEnsureLogGroupsFailed:
		return workflow.StateEnsureLogGroups
	case workflow.StateRegisterFailed:
		return workflow.StateRegister
	case workflow.StateNotifyFailed:
		return workflow.StateNotify
	case "":
		return "unknown state"
	}
	return s
}

// taskDefRef returns the family and revision of a task definition ARN
// (arn:…:task-definition/family:rev); rev is 0 when absent.
func taskDefRef(s string) (family string, rev int) {
	// The SDK's parser is lenient on purpose here: a message renders what
	// it was given, validated or not.
	a, err := arn.Parse(s)
	ref, ok := strings.CutPrefix(a.Resource, "task-definition/")
	if err != nil || !ok {
		return "", 0
	}
	i := strings.LastIndexByte(ref, ':')
	if i < 0 {
		return ref, 0
	}
	n, err := strconv.Atoi(ref[i+1:])
	if err != nil || n < 0 {
		return ref, 0
	}
	return ref[:i], n
}
