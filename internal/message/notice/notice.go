// Package notice is what a notification may say about one workflow
// execution, before any format renders it: the request reduced to ARNs,
// names, reason codes, redacted log settings and backout steps, every string
// made safe (escape.Line) and capped, every list bounded. The email body
// (internal/message/email), the chat payloads (internal/message/chat) and
// the structured document (internal/message) all render from one Notice,
// with the words they share (Summary, Headline, ...). Pure: no AWS calls.
package notice

import (
	"bytes"
	"cmp"
	"encoding/json"
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
	"github.com/ecslogfix/ecslogfix/internal/policy/awslogs"
	"github.com/ecslogfix/ecslogfix/internal/policy/reason"
	"github.com/ecslogfix/ecslogfix/internal/workflow"
)

// Length caps applied to every string taken from a request before any
// rendering, so that the worst case of each format is bounded.
const (
	MaxName    = 255  // family, container, log group class, tool names
	MaxARN     = 1024 // ARNs and log group names (real ones are shorter)
	capValue   = 512  // one awslogs option value
	MaxDetail  = 1000 // free text from the remediate function
	MaxCause   = 1000 // Failure.Cause after sanitising
	capError   = 200  // Failure.Error (an error type name)
	capCommand = 2048 // one backout command
	capList    = 50   // entries of any list (containers, log groups, blockers, steps)
	capOptions = 30   // options of one logConfiguration
	capReasons = 20   // reasons of one container
)

// Notice is the sanitised, size-capped model every format renders from. It
// holds only what a notification may show.
type Notice struct {
	Outcome       workflow.Outcome
	Account       string
	Region        string
	Partition     string
	Family        string
	SourceARN     string
	SourceRev     int
	NewARN        string
	NewRev        int
	LatestARN     string
	Detail        string
	Trigger       string
	EventID       string
	Enforcement   string
	Principal     *workflow.Principal
	Origin        *workflow.Origin
	Containers    []Container
	Blockers      []plan.Blocker
	LogGroups     []LogGroupInfo
	ExecutionRole string
	Backout       []backout.Step
	Rollout       *Rollout // nil: no rollout step ran
	Failure       *FailureInfo
	ExecutionARN  string
	// exemptionNotes say which exemptions stopped applying (expired or
	// malformed): the notification is how people learn it.
	ExemptionNotes []string
	Omitted        int // list entries dropped by the caps
}

type Container struct {
	Name    string
	Action  plan.Action
	Reasons []reason.Code
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

// New reduces req to what a notification may show. It fails only for a
// request with neither or both of Result and Failure.
func New(req workflow.NotifyRequest) (*Notice, error) {
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

func resultModel(req workflow.NotifyRequest) *Notice {
	r := req.Result
	v := &Notice{
		Outcome:      workflow.Outcome(escape.Line(string(r.Outcome), MaxName)),
		Account:      escape.Line(r.Target.Account, MaxName),
		Region:       escape.Line(r.Target.Region, MaxName),
		Family:       escape.Line(r.Family, MaxName),
		SourceARN:    escape.Line(r.SourceARN, MaxARN),
		NewARN:       escape.Line(r.NewARN, MaxARN),
		LatestARN:    escape.Line(r.LatestARN, MaxARN),
		Detail:       escape.Line(r.Detail, MaxDetail),
		Trigger:      escape.Line(string(r.Trigger), MaxName),
		EventID:      escape.Line(r.EventID, MaxName),
		Principal:    cleanPrincipal(r.Principal),
		Origin:       cleanOrigin(r.Origin),
		ExecutionARN: escape.Line(cmp.Or(req.ExecutionARN, r.ExecutionARN), MaxARN),
	}
	if v.Outcome == "" {
		v.Outcome = "UNKNOWN"
	}
	var explicitPartition string
	if p := r.Plan; p != nil {
		explicitPartition = escape.Line(p.Context.Partition, MaxName)
		if v.Family == "" {
			v.Family = escape.Line(p.Family, MaxName)
		}
		if v.SourceARN == "" {
			v.SourceARN = escape.Line(p.SourceARN, MaxARN)
		}
		if v.Account == "" {
			v.Account = escape.Line(p.Context.Account, MaxName)
		}
		if v.Region == "" {
			v.Region = escape.Line(p.Context.Region, MaxName)
		}
		v.ExecutionRole = escape.Line(p.ExecutionRoleARN, MaxARN)
		for _, n := range Limit(p.ExemptionNotes, Minimal) {
			v.ExemptionNotes = append(v.ExemptionNotes, escape.Line(n.Sentence(), MaxDetail))
		}
		for i, c := range p.Containers {
			if i == capList {
				v.Omitted += len(p.Containers) - capList
				break
			}
			v.Containers = append(v.Containers, cleanContainer(c))
		}
		for i, b := range p.Blockers {
			if i == capList {
				v.Omitted += len(p.Blockers) - capList
				break
			}
			v.Blockers = append(v.Blockers, plan.Blocker{Code: escape.Line(b.Code, MaxName), Message: escape.Line(b.Message, MaxDetail)})
		}
	}
	v.fillRefs(explicitPartition)
	v.Rollout = cleanRollout(*r, v.Region)
	v.addLogGroups(r.LogGroups)
	if len(r.LogGroups) == 0 && r.Plan != nil && v.Outcome != workflow.OutcomeRemediated {
		for i, g := range r.Plan.LogGroups {
			if i == capList {
				v.Omitted += len(r.Plan.LogGroups) - capList
				break
			}
			v.LogGroups = append(v.LogGroups, LogGroupInfo{
				Name: escape.Line(g.Name, MaxARN), Region: escape.Line(g.Region, MaxName), Status: "planned",
				RetentionDays: g.RetentionDays, KMSKeyARN: escape.Line(g.KMSKeyARN, MaxARN), Class: escape.Line(g.Class, MaxName),
				Plan: escape.Line(g.Summary(), MaxDetail),
			})
		}
	}
	v.Backout = v.backoutSteps()
	return v
}

// addLogGroups adds the log groups EnsureLogGroups reported, at most
// capList of them (the rest are counted as omitted).
func (v *Notice) addLogGroups(groups []workflow.LogGroupResult) {
	for i, g := range groups {
		if i == capList {
			v.Omitted += len(groups) - capList
			break
		}
		status := "existing"
		if g.Created {
			status = "created"
		}
		v.LogGroups = append(v.LogGroups, LogGroupInfo{
			Name: escape.Line(g.Name, MaxARN), Region: escape.Line(g.Region, MaxName), Status: status,
			RetentionDays: g.RetentionDays, KMSKeyARN: escape.Line(g.KMSKeyARN, MaxARN), Class: escape.Line(g.Class, MaxName),
			DeletionProtection: g.DeletionProtectionEnabled, RetentionSet: g.RetentionSet, PreviousRetentionDays: g.PreviousRetentionDays,
		})
	}
}

func failureModel(req workflow.NotifyRequest) *Notice {
	f := req.Failure
	in := f.Input
	v := &Notice{
		Outcome:      workflow.OutcomeFailed,
		Account:      escape.Line(in.Target.Account, MaxName),
		Region:       escape.Line(in.Target.Region, MaxName),
		Family:       escape.Line(in.Family, MaxName),
		SourceARN:    escape.Line(in.TaskDefinitionARN, MaxARN),
		Trigger:      escape.Line(string(in.Trigger), MaxName),
		EventID:      escape.Line(in.EventID, MaxName),
		Enforcement:  escape.Line(string(in.Enforcement), MaxName),
		Principal:    cleanPrincipal(in.Principal),
		Origin:       cleanOrigin(in.Origin),
		ExecutionARN: escape.Line(cmp.Or(req.ExecutionARN, f.ExecutionARN), MaxARN),
		Failure: &FailureInfo{
			State: escape.Line(f.State, MaxName),
			Error: escape.Line(f.Error, capError),
			Cause: escape.Cause(f.Cause, MaxCause),
		},
	}
	v.Failure.State = failedState(v.Failure.State)
	if v.Failure.Error == "" {
		v.Failure.Error = "unknown error"
	}
	if v.SourceRev == 0 && in.Revision > 0 {
		v.SourceRev = int(in.Revision)
	}
	for i, c := range in.Reasons {
		if i == capList {
			v.Omitted += len(in.Reasons) - capList
			break
		}
		v.Containers = append(v.Containers, Container{Name: escape.Line(c.Container, MaxName), Reasons: cleanReasons(c.Reasons)})
	}
	if in.Ensured != nil {
		v.addLogGroups(in.Ensured.LogGroups)
	}
	v.fillRefs("")
	v.Backout = v.backoutSteps()
	return v
}

// fillRefs derives family, revisions, account, region and partition from
// the ARNs where the request left them out.
func (v *Notice) fillRefs(explicitPartition string) {
	if fam, rev := TaskDefRef(v.SourceARN); fam != "" {
		if v.Family == "" {
			v.Family = escape.Line(fam, MaxName)
		}
		if rev > 0 {
			v.SourceRev = rev
		}
	}
	if _, rev := TaskDefRef(v.NewARN); rev > 0 {
		v.NewRev = rev
	}
	src, _ := arn.Parse(v.SourceARN)
	v.Account = cmp.Or(v.Account, src.AccountID)
	v.Region = cmp.Or(v.Region, src.Region)
	v.Partition = cmp.Or(explicitPartition, src.Partition, awsarn.PartitionOr(v.Region, "aws"))
}

// backoutSteps asks the plan package for the exact steps that undo what
// this execution changed: the new revision and the log groups it created.
func (v *Notice) backoutSteps() []backout.Step {
	in := backout.Input{Region: v.Region, NewARN: v.NewARN}
	if v.NewARN != "" {
		// Only a registered revision can have been deployed to services.
		in.SourceARN = v.SourceARN
		in.Moved = v.Rollout.MovedConsumers()
		in.SourceDeregistered = v.Rollout != nil && v.Rollout.SourceDeregistered
		in.ExecutionARN = v.ExecutionARN
	}
	for _, g := range v.LogGroups {
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
			v.Omitted += 1
			break
		}
		s.Description, s.Command = escape.Line(s.Description, MaxDetail), escape.Line(s.Command, capCommand)
		out = append(out, s)
	}
	return out
}

func cleanContainer(c plan.ContainerChange) Container {
	return Container{
		Name:    escape.Line(c.Name, MaxName),
		Action:  plan.Action(escape.Line(string(c.Action), MaxName)),
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
		out = append(out, escape.Line(k, MaxName))
	}
	return out
}

func cleanReasons(rs []reason.Code) []reason.Code {
	var out []reason.Code
	for i, r := range rs {
		if i == capReasons {
			break
		}
		out = append(out, reason.Code(escape.Line(string(r), MaxName)))
	}
	return out
}

// cleanSettings keeps the driver, the values of the options awslogs.ShownOption
// allows and the names of everything else. The plan already redacted other
// values; this is defence in depth for a plan from elsewhere.
func cleanSettings(ls *plan.LogSettings) *Settings {
	if ls == nil {
		return nil
	}
	s := &Settings{Driver: escape.Line(ls.Driver, MaxName)}
	keys := slices.Sorted(maps.Keys(ls.Options))
	for i, k := range keys {
		if i == capOptions {
			s.OtherOptions = append(s.OtherOptions, "… "+strconv.Itoa(len(keys)-capOptions)+" more")
			break
		}
		name := escape.Line(k, MaxName)
		if awslogs.ShownOption(ls.Driver, k) {
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
		s.SecretOptions = append(s.SecretOptions, escape.Line(n, MaxName))
	}
	sort.Strings(s.SecretOptions)
	return s
}

func cleanPrincipal(p *workflow.Principal) *workflow.Principal {
	if p == nil {
		return nil
	}
	return &workflow.Principal{
		Type:      escape.Line(p.Type, MaxName),
		ARN:       escape.Line(p.ARN, MaxARN),
		RoleARN:   escape.Line(p.RoleARN, MaxARN),
		UserName:  escape.Line(p.UserName, MaxName),
		InvokedBy: escape.Line(p.InvokedBy, MaxName),
	}
}

func cleanOrigin(o *workflow.Origin) *workflow.Origin {
	if o == nil {
		return nil
	}
	return &workflow.Origin{Tool: escape.Line(o.Tool, MaxName), Detail: escape.Line(o.Detail, MaxName)}
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

// TaskDefRef returns the family and revision of a task definition ARN
// (arn:…:task-definition/family:rev); rev is 0 when absent.
func TaskDefRef(s string) (family string, rev int) {
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

// Level is how much detail a rendering carries; Render lowers it until the
// message fits SNS's size limit.
type Level int

const (
	Full    Level = iota // everything
	Compact              // plan without option tables, one source snippet
	Minimal              // summary, backout and links only
)

// capMinimal is how many entries of each list the minimal level keeps.
const capMinimal = 5

// Limit returns at most the number of entries lvl keeps.
func Limit[T any](xs []T, lvl Level) []T {
	if lvl == Minimal && len(xs) > capMinimal {
		return xs[:capMinimal]
	}
	return xs
}

// Quiet reports whether the outcome needs no action from anyone.
func Quiet(o workflow.Outcome) bool {
	switch o {
	case workflow.OutcomeAlreadyCompliant, workflow.OutcomeAlreadyRemediated,
		workflow.OutcomeSuperseded, workflow.OutcomeInactive, workflow.OutcomeExempt:
		return true
	}
	return false
}

// JSON is json.Marshal without HTML escaping (the output is read by people
// and by JSON parsers, never embedded in HTML), optionally indented: every
// JSON format of a notification is written by it.
func JSON(v any, indent string) []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if indent != "" {
		enc.SetIndent("", indent)
	}
	if err := enc.Encode(v); err != nil {
		return []byte("null")
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n"))
}

// Schema names the structured notification document's format. Bump the
// version on any incompatible change.
const Schema = "ecslogfix.notification/v1"
