package loggroup

import (
	"context"
	"fmt"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ecslogfix/ecslogfix/internal/awsclient"
	"github.com/ecslogfix/ecslogfix/internal/plan"
	"github.com/ecslogfix/ecslogfix/internal/policy"
	"github.com/ecslogfix/ecslogfix/internal/policy/awslogs"
	"github.com/ecslogfix/ecslogfix/internal/workflow"
)

// ReaderFor returns the CloudWatch Logs reader of an account and region.
type ReaderFor func(t workflow.Target) (Reader, error)

// Settings is the part of the ECS API the observer reads the account's
// defaultLogDriverMode with.
type Settings interface {
	ListAccountSettings(ctx context.Context, in *ecs.ListAccountSettingsInput, optFns ...func(*ecs.Options)) (*ecs.ListAccountSettingsOutput, error)
}

// SettingsFor returns the ECS client of an account and region.
type SettingsFor func(t workflow.Target) (Settings, error)

// Observer reads the live facts of one run — the log groups task
// definitions write to, and each account and region's default log driver
// mode — once each, whatever the number of task definitions that share
// them. Make one per run (an event, a sweep, a CLI command): it remembers
// what it read. Safe for concurrent use (two first reads of one group at
// the same moment may both call AWS; runs read one task definition at a
// time).
type Observer struct {
	logs     ReaderFor
	settings SettingsFor

	mu     sync.Mutex
	groups map[groupKey]Found
	modes  map[modeKey]string
	reads  int
}

type groupKey struct{ account, region, name string }
type modeKey struct{ account, region string }

// NewObserver returns an Observer reading groups with logs and the
// account setting with settings (nil: never read, AWS's default applies).
func NewObserver(logs ReaderFor, settings SettingsFor) *Observer {
	return &Observer{logs: logs, settings: settings, groups: map[groupKey]Found{}, modes: map[modeKey]string{}}
}

// ObserverFrom returns an observer on the client factory's CloudWatch
// Logs and ECS clients for each target (its role, the group's region).
func ObserverFrom(f *awsclient.Factory) *Observer {
	return NewObserver(
		func(t workflow.Target) (Reader, error) {
			return f.Logs(awsclient.Scope{Region: t.Region, RoleARN: t.RoleARN})
		},
		func(t workflow.Target) (Settings, error) {
			return f.ECS(awsclient.Scope{Region: t.Region, RoleARN: t.RoleARN})
		})
}

// Reads is the number of AWS calls the observer made (for the cost rows).
func (o *Observer) Reads() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.reads
}

// Group reads one group of t's account in ref's region, or remembers it.
func (o *Observer) Group(ctx context.Context, t workflow.Target, ref awslogs.GroupRef) (Found, error) {
	k := groupKey{t.Account, ref.Region, ref.Name}
	o.mu.Lock()
	f, ok := o.groups[k]
	o.mu.Unlock()
	if ok {
		return f, nil
	}
	r, err := o.logs(workflow.Target{Account: t.Account, Region: ref.Region, RoleARN: t.RoleARN})
	if err != nil {
		return Found{}, fmt.Errorf("logs client for %s/%s: %w", t.Account, ref.Region, err)
	}
	f, err = Find(ctx, r, ref.Name, ref.Region)
	if err != nil {
		return Found{}, err
	}
	o.mu.Lock()
	o.groups[k] = f
	o.reads++
	o.mu.Unlock()
	return f, nil
}

// Facts observes refs in t's account and, when mode is true, the account's
// defaultLogDriverMode in t's region: what policy.EvaluateWith and
// plan.BuildWith take.
func (o *Observer) Facts(ctx context.Context, t workflow.Target, refs []awslogs.GroupRef, mode bool) (awslogs.Facts, error) {
	f := awslogs.Facts{Groups: make(map[awslogs.GroupRef]awslogs.GroupFact, len(refs))}
	for _, ref := range refs {
		g, err := o.Group(ctx, t, ref)
		if err != nil {
			return awslogs.Facts{}, err
		}
		f.Groups[ref] = g.Fact()
	}
	if mode {
		m, err := o.DriverMode(ctx, t)
		if err != nil {
			return awslogs.Facts{}, err
		}
		f.LogDriverMode = m
	}
	return f, nil
}

// DriverMode returns the effective defaultLogDriverMode account setting
// of t's account and region ("" when unset, or when the observer has no
// ECS client): ListAccountSettings with effectiveSettings, which reports
// the account default when the caller has no setting of its own.
func (o *Observer) DriverMode(ctx context.Context, t workflow.Target) (string, error) {
	if o.settings == nil {
		return "", nil
	}
	k := modeKey{t.Account, t.Region}
	o.mu.Lock()
	m, ok := o.modes[k]
	o.mu.Unlock()
	if ok {
		return m, nil
	}
	c, err := o.settings(t)
	if err != nil {
		return "", fmt.Errorf("ecs client for %s/%s: %w", t.Account, t.Region, err)
	}
	out, err := c.ListAccountSettings(ctx, &ecs.ListAccountSettingsInput{Name: ecstypes.SettingNameDefaultLogDriverMode, EffectiveSettings: true})
	if err != nil {
		return "", workflow.Classify(fmt.Errorf("list account settings (defaultLogDriverMode) in %s: %w", t.Region, err))
	}
	for _, s := range out.Settings {
		if s.Name == ecstypes.SettingNameDefaultLogDriverMode {
			m = aws.ToString(s.Value)
		}
	}
	o.mu.Lock()
	o.modes[k] = m
	o.reads++
	o.mu.Unlock()
	return m, nil
}

// ObserveError is an error of reading a live fact (AWS's), apart from the
// plan's refusals of the input.
type ObserveError struct{ Err error }

func (e *ObserveError) Error() string { return e.Err.Error() }
func (e *ObserveError) Unwrap() error { return e.Err }

// Plan plans td (in target t) with the live facts its verdict depends on:
// the account's log driver mode when the policy requires a mode a
// container leaves to it, and whether the log groups of the revision the
// plan leads to exist — every time when every is true (scan, fix: the
// report names each missing group), else only for a revision compliant on
// its content (detect, the sweep: a non-compliant one starts the workflow,
// which reads them again before it acts). A failed read is an
// *ObserveError; any other error is plan.BuildWith's refusal of the input.
func (o *Observer) Plan(ctx context.Context, t workflow.Target, td *ecstypes.TaskDefinition, tags []ecstypes.Tag, pol policy.Policy, pc plan.Context, every bool) (plan.Plan, error) {
	var f awslogs.Facts
	if pol.NeedsLogDriverMode(td) {
		m, err := o.DriverMode(ctx, t)
		if err != nil {
			return plan.Plan{}, &ObserveError{err}
		}
		f.LogDriverMode = m
	}
	p, err := plan.BuildWith(td, tags, pol, pc, f)
	if err != nil || len(p.LogGroups) == 0 || (!every && p.Verdict() != plan.VerdictCompliant) {
		return p, err
	}
	refs := make([]awslogs.GroupRef, len(p.LogGroups))
	for i, g := range p.LogGroups {
		refs[i] = g.Ref()
	}
	facts, err := o.Facts(ctx, t, refs, false)
	if err != nil {
		return plan.Plan{}, &ObserveError{err}
	}
	f.Groups = facts.Groups
	return plan.BuildWith(td, tags, pol, pc, f)
}
