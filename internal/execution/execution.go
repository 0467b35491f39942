// Package execution is the step detect and the sweep share: consider one
// task definition revision in one account and region — plan it once, and
// start the remediation workflow for a violation under a deterministic
// name, so that a duplicate delivery, the sweep meeting a live event and a
// retry all map one revision to one execution.
package execution

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"
	"golang.org/x/time/rate"

	"github.com/ecslogfix/ecslogfix/internal/awsarn"
	"github.com/ecslogfix/ecslogfix/internal/history"
	"github.com/ecslogfix/ecslogfix/internal/loggroup"
	"github.com/ecslogfix/ecslogfix/internal/plan"
	"github.com/ecslogfix/ecslogfix/internal/policy"
	"github.com/ecslogfix/ecslogfix/internal/policy/exemption"
	"github.com/ecslogfix/ecslogfix/internal/taskdef"
	"github.com/ecslogfix/ecslogfix/internal/workflow"
)

// SFN is the part of the Step Functions API the starter uses.
type SFN interface {
	StartExecution(ctx context.Context, in *sfn.StartExecutionInput, optFns ...func(*sfn.Options)) (*sfn.StartExecutionOutput, error)
	DescribeExecution(ctx context.Context, in *sfn.DescribeExecutionInput, optFns ...func(*sfn.Options)) (*sfn.DescribeExecutionOutput, error)
}

// Statuses of considering one revision.
const (
	StatusStarted   = "started"   // a workflow execution was started
	StatusDuplicate = "duplicate" // the execution already existed (duplicate delivery, sweep overlap)
	StatusCompliant = "compliant" // the revision is compliant
	StatusIgnored   = "ignored"   // see Reason
)

// Reasons a revision is not acted on. They are stable: log lines and the
// Ignored metric's Reason dimension carry them.
const (
	IgnoreInactive     = "inactive"      // the revision is no longer ACTIVE
	IgnoreExempt       = "exempt"        // the exemption tag is set
	IgnoreUnplannable  = "unplannable"   // plan.Build refused the task definition
	IgnoreInvalidInput = "invalid-input" // not a task definition ECS could hold (taskdef.CheckInput): no containers, duplicate names
)

// Response is what considering one revision gave. It carries no task
// definition content.
type Response struct {
	Status            string `json:"status"`
	Reason            string `json:"reason,omitempty"`
	TaskDefinitionARN string `json:"taskDefinitionArn,omitempty"`
	ExecutionName     string `json:"executionName,omitempty"`
	ExecutionARN      string `json:"executionArn,omitempty"`
}

// Ignored is the response for a revision not acted on.
func Ignored(reason, arn string) Response {
	return Response{Status: StatusIgnored, Reason: reason, TaskDefinitionARN: arn}
}

// MaxAttempts bounds the executions started for one revision: the first,
// and a new one after each failed one.
const MaxAttempts = 3

// Candidate is one revision to consider, with what the execution input
// carries about where it came from.
type Candidate struct {
	Target         workflow.Target
	TaskDefinition *types.TaskDefinition
	Tags           []types.Tag
	Trigger        workflow.Trigger
	EventID        string
	Principal      *workflow.Principal
	Origin         *workflow.Origin
	// Observer reads the live facts (log groups, the account's log driver
	// mode) of the run the candidate belongs to, each once for the run; nil
	// judges on content alone.
	Observer *loggroup.Observer
	// SweepID names the sweep that found it; RegisteredAt is when it was
	// registered, as far as known (for the history).
	SweepID      string
	RegisteredAt *time.Time
}

// Starter considers revisions and starts executions of one state machine.
type Starter struct {
	SFN             SFN
	StateMachineARN string
	Policy          policy.Policy
	Partition       string // of the targets; default "aws"
	// Limiter, when set, paces StartExecution (the sweep: each execution
	// registers at most one revision, so a backlog drains at the rate
	// registrations may happen).
	Limiter *rate.Limiter
	// History, when set, records the compliant and exempt decisions (the
	// workflow's outcomes are notify's to record).
	History history.Recorder
	// Now is the clock exemptions are judged by; default time.Now.
	Now func() time.Time
}

// Consider plans one revision once and, for a violation, starts its
// execution. Inactive, exempt and unplannable revisions are ignored; a
// compliant one is reported as such. An execution name that exists already
// is a duplicate, unless that execution failed: then the next attempt's
// name is started, up to MaxAttempts.
func (s *Starter) Consider(ctx context.Context, log *slog.Logger, c Candidate) (Response, error) {
	td := c.TaskDefinition
	arn := aws.ToString(td.TaskDefinitionArn)
	log = log.With("taskDefinitionArn", arn)
	if td.Status != types.TaskDefinitionStatusActive {
		log.Info("ignored", "reason", IgnoreInactive, "status", string(td.Status))
		return Ignored(IgnoreInactive, arn), nil
	}
	pol := s.Policy.WithDefaults()
	now := s.now()
	pc := plan.Context{Partition: s.partition(), Account: c.Target.Account, Region: c.Target.Region, Today: now}
	var p plan.Plan
	var err error
	if c.Observer != nil {
		// With the live facts: a revision compliant on paper whose log
		// groups are missing is a violation too (LOG_GROUP_MISSING).
		p, err = c.Observer.Plan(ctx, c.Target, td, c.Tags, pol, pc, false)
	} else {
		p, err = plan.Build(td, c.Tags, pol, pc)
	}
	var invalid *taskdef.InputError
	var observe *loggroup.ObserveError
	switch {
	case errors.As(err, &invalid):
		// The problem only: the path names the raw document's fields.
		log.Warn("ignored", "reason", IgnoreInvalidInput, "problem", invalid.Problem)
		return Ignored(IgnoreInvalidInput, arn), nil
	case errors.As(err, &observe):
		return Response{}, err
	case err != nil:
		log.Warn("ignored", "reason", IgnoreUnplannable, "error", err.Error())
		return Ignored(IgnoreUnplannable, arn), nil
	}
	switch p.Verdict() {
	case plan.VerdictExempt:
		log.Info("ignored", "reason", IgnoreExempt)
		return Ignored(IgnoreExempt, arn), s.record(ctx, p, c, now)
	case plan.VerdictCompliant:
		level := slog.LevelInfo
		if c.Trigger == workflow.TriggerSweep {
			level = slog.LevelDebug // one line per family would flood a sweep's log
		}
		log.Log(ctx, level, "compliant")
		return Response{Status: StatusCompliant, TaskDefinitionARN: arn}, s.record(ctx, p, c, now)
	}
	in := workflow.Input{
		Version:           workflow.Version,
		Trigger:           c.Trigger,
		EventID:           c.EventID,
		SweepID:           c.SweepID,
		Target:            c.Target,
		TaskDefinitionARN: arn,
		Family:            aws.ToString(td.Family),
		Revision:          td.Revision,
		Enforcement:       pol.Enforcement,
		Reasons:           p.Findings(),
		LogGroups:         p.LogGroups,
		Principal:         c.Principal,
		Origin:            c.Origin,
		RegisteredAt:      c.RegisteredAt,
	}
	if in.LogGroups == nil {
		in.LogGroups = []plan.LogGroup{}
	}
	return s.start(ctx, log.With("reasons", p.ReasonCodes()), in, expiredTag(p))
}

// record writes the history record of a decision taken without the
// workflow; its error makes the invocation fail, and its retry decides
// again.
func (s *Starter) record(ctx context.Context, p plan.Plan, c Candidate, now time.Time) error {
	if s.History == nil {
		return nil
	}
	m := history.Meta{Time: now, Trigger: string(c.Trigger), EventID: c.EventID, SweepID: c.SweepID, RegisteredAt: c.RegisteredAt}
	if c.Principal != nil {
		m.RegisteredBy = cmp.Or(c.Principal.RoleARN, c.Principal.ARN)
	}
	if err := s.History.Record(ctx, history.FromPlan(p, m)); err != nil {
		return fmt.Errorf("record %s: %w", p.SourceARN, err)
	}
	return nil
}

// expiredTag is the end date of the revision's expired end-date tag, or "".
// A backout exempts the source until such a date, after an execution for
// the same revision succeeded: the names after it differ, so the revision
// is fixed again once the date passed.
func expiredTag(p plan.Plan) string {
	for _, n := range p.ExemptionNotes {
		if n.Source == exemption.SourceTag && n.Expired {
			return n.Until
		}
	}
	return ""
}

func (s *Starter) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// start starts in's execution under its deterministic name; after is the
// end of an expired exemption of the revision, which starts a new series
// of names.
func (s *Starter) start(ctx context.Context, log *slog.Logger, in workflow.Input, after string) (Response, error) {
	// Every attempt of the series shares the first attempt's name as its
	// token: an attempt after a failed one owns what that one registered.
	in.ExecutionToken = NameAttempt(in.Target.Account, in.Target.Region, in.Family, in.Revision, 1)
	if after != "" {
		in.ExecutionToken = NameAfter(in.Target.Account, in.Target.Region, in.Family, in.Revision, 1, after)
	}
	body, err := json.Marshal(in)
	if err != nil {
		return Response{}, fmt.Errorf("marshal execution input: %w", err)
	}
	for attempt := 1; ; attempt++ {
		name := NameAttempt(in.Target.Account, in.Target.Region, in.Family, in.Revision, attempt)
		if after != "" {
			name = NameAfter(in.Target.Account, in.Target.Region, in.Family, in.Revision, attempt, after)
		}
		if s.Limiter != nil {
			if err := s.Limiter.Wait(ctx); err != nil {
				return Response{}, fmt.Errorf("%w: %w", ErrOutOfTime, err)
			}
		}
		out, err := s.SFN.StartExecution(ctx, &sfn.StartExecutionInput{
			StateMachineArn: aws.String(s.StateMachineARN),
			Name:            aws.String(name),
			Input:           aws.String(string(body)),
		})
		var exists *sfntypes.ExecutionAlreadyExists
		switch {
		case errors.As(err, &exists):
			status, err := s.status(ctx, name)
			if err != nil {
				return Response{}, err
			}
			if attempt < MaxAttempts && (status == sfntypes.ExecutionStatusFailed || status == sfntypes.ExecutionStatusTimedOut || status == sfntypes.ExecutionStatusAborted) {
				log.Info("retrying after a failed execution", "executionName", name, "status", string(status))
				continue
			}
			log.Info("duplicate", "executionName", name, "status", string(status))
			return Response{Status: StatusDuplicate, TaskDefinitionARN: in.TaskDefinitionARN, ExecutionName: name}, nil
		case err != nil:
			return Response{}, fmt.Errorf("start execution %s: %w", name, err)
		}
		log.Info("started", "executionName", name, "executionArn", aws.ToString(out.ExecutionArn), "enforcement", string(in.Enforcement))
		return Response{Status: StatusStarted, TaskDefinitionARN: in.TaskDefinitionARN, ExecutionName: name, ExecutionARN: aws.ToString(out.ExecutionArn)}, nil
	}
}

// ErrOutOfTime is returned when the context ends before the next start may
// happen (the sweep stops and resumes there).
var ErrOutOfTime = errors.New("out of time")

// status is the status of the execution named name.
func (s *Starter) status(ctx context.Context, name string) (sfntypes.ExecutionStatus, error) {
	arn := strings.Replace(s.StateMachineARN, ":stateMachine:", ":execution:", 1) + ":" + name
	out, err := s.SFN.DescribeExecution(ctx, &sfn.DescribeExecutionInput{ExecutionArn: aws.String(arn)})
	if err != nil {
		return "", workflow.Classify(fmt.Errorf("describe execution %s: %w", name, err))
	}
	return out.Status, nil
}

func (s *Starter) partition() string { return cmp.Or(s.Partition, "aws") }

// Reach says how an account is reached from where the function runs: in
// organization mode through the member role, unless it is the function's
// own (home) account.
type Reach struct {
	Organization   bool
	MemberRoleName string
	HomeAccount    string // empty: every account is reached through the member role
	Partition      string
}

// Target is where account and region are reached.
func (r Reach) Target(account, region string) workflow.Target {
	t := workflow.Target{Account: account, Region: region}
	if r.Organization && r.MemberRoleName != "" && (r.HomeAccount == "" || account != r.HomeAccount) {
		t.RoleARN = awsarn.RoleARN(cmp.Or(r.Partition, "aws"), account, r.MemberRoleName)
	}
	return t
}
