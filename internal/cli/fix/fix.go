// Package fix is the fix command: it plans each task definition and, with
// --apply, runs the remediation workflow's steps in-process with the
// pipeline's rules, then prints the items, the rollout and the backout
// steps (docs/cli.md, "fix").
package fix

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/spf13/cobra"

	"github.com/ecslogfix/ecslogfix/internal/awsclient"
	backoutsteps "github.com/ecslogfix/ecslogfix/internal/backout"
	"github.com/ecslogfix/ecslogfix/internal/check"
	"github.com/ecslogfix/ecslogfix/internal/cli/command"
	"github.com/ecslogfix/ecslogfix/internal/cli/explain"
	"github.com/ecslogfix/ecslogfix/internal/cli/output"
	"github.com/ecslogfix/ecslogfix/internal/cli/scan"
	"github.com/ecslogfix/ecslogfix/internal/consumer"
	"github.com/ecslogfix/ecslogfix/internal/escape"
	"github.com/ecslogfix/ecslogfix/internal/history"
	"github.com/ecslogfix/ecslogfix/internal/inventory"
	"github.com/ecslogfix/ecslogfix/internal/loggroup"
	"github.com/ecslogfix/ecslogfix/internal/message"
	"github.com/ecslogfix/ecslogfix/internal/plan"
	"github.com/ecslogfix/ecslogfix/internal/policy"
	"github.com/ecslogfix/ecslogfix/internal/reconcile"
	"github.com/ecslogfix/ecslogfix/internal/remediate"
	"github.com/ecslogfix/ecslogfix/internal/rollout"
	"github.com/ecslogfix/ecslogfix/internal/taskdef"
	"github.com/ecslogfix/ecslogfix/internal/workflow"
)

// applier is what fix --apply needs from the remediation package: the
// steps of the workflow, run in-process with exactly the pipeline's rules.
type applier interface {
	EnsureLogGroups(ctx context.Context, in workflow.Input) (workflow.Ensured, error)
	Register(ctx context.Context, st workflow.State) (workflow.Result, error)
	Rollout(ctx context.Context, st workflow.State) (workflow.Result, error)
	Watch(ctx context.Context, st workflow.State) (workflow.Result, error)
}

// Options is fix's command line.
type Options struct {
	f               *command.Factory
	output          output.Format
	taskDefinitions []string
	all             bool
	familyPrefix    string
	apply           bool
	rate            float64
	readRate        float64
	rollout         string // --rollout: none, services or all; "" = the policy's and the tag's
	rolloutRate     float64
	history         command.HistoryFlags
	region          string // the one --region, if given
}

// Item is what fix found and did for one task definition: scan's row
// (the same fields, the same meaning), the plan, and with --apply what
// registering did and how to back it out. The JSON field names are part of
// the documented, stable output.
type Item struct {
	scan.Row
	Plan      *plan.Plan                `json:"plan,omitempty"`    // not compliant: the fix
	Outcome   workflow.Outcome          `json:"outcome,omitempty"` // --apply: what the Register step decided
	Detail    string                    `json:"detail,omitempty"`  // why that outcome
	NewARN    string                    `json:"newArn,omitempty"`
	LogGroups []workflow.LogGroupResult `json:"logGroups,omitempty"` // --apply: found or created
	// Rollout is what the workflow's Rollout and Watch steps found and
	// did (--apply), or would do (a dry run: TO_MOVE), with the consumers.
	Rollout *workflow.Rollout   `json:"rollout,omitempty"`
	Backout []backoutsteps.Step `json:"backout,omitempty"` // for a new revision: the notification's steps
}

// Summary counts what fix did.
type Summary struct {
	Checked, Compliant, Exempt, ToFix, Registered, Blocked, NeedsHuman, Unchanged, Errors int
	// GroupsCreated counts the task definitions fixed by creating their
	// missing log groups alone (LOG_GROUP_CREATED, no new revision).
	GroupsCreated int
	// Moved and RolloutFailed count consumers of the new revisions.
	Moved, RolloutFailed int
	// Applied is set with --apply: the counts say what was done.
	Applied bool
}

// NewCmd builds fix; runF, when set, runs instead of run.
func NewCmd(f *command.Factory, runF func(*Options) error) *cobra.Command {
	o := &Options{f: f}
	cmd := &cobra.Command{
		Use:   "fix (--task-definition ARN|FAMILY[:REV] ... | --all [--family-prefix P]) [--apply]",
		Short: "Register compliant revisions of non-compliant task definitions (dry run by default)",
		Long: `fix computes the plan for each task definition and prints it as a diff.
Nothing changes unless --apply is given; then fix runs the same two steps
as the remediation workflow: it ensures the log groups exist (retention,
KMS key, tags from the policy), and registers a compliant revision that
keeps every other field and tag, with the pipeline's safety rules (the
source is re-read; a newer revision, an existing remediation or a blocker
means nothing is registered). RegisterTaskDefinition calls are limited to
--rate per second (default 0.5: ECS refills that bucket at 1/s for the
whole account, and your CI/CD pipelines need their share).

For every new revision fix prints its ARN and the commands that back it
out. Then, like the workflow's Rollout step, it finds what runs the source
revision (ECS services, EventBridge rule targets, Scheduler schedules) and
moves what --rollout allows to the new revision: none (list them), services
(ECS-controller services: UpdateService with only the task definition,
then it watches the deployment and puts a failed one back) or all (also rule
targets and schedules, changing only their task definition). Without
--rollout the policy's rollout mode applies, overridden by a task
definition's ecslogfix:rollout tag. CODE_DEPLOY and EXTERNAL services are
never moved: fix prints the command. A dry run prints what would move.

--task-definition takes a full ARN, FAMILY (its latest ACTIVE revision) or
FAMILY:REV, and may be repeated. --all takes every ACTIVE family's latest
revision, like scan, and lists only the ones that are not compliant.

Exit status: 0 when nothing is left to fix (with --apply: everything was
fixed), 1 when something is non-compliant (dry run) or could not be fixed
(blocked, needs a human), 2 on errors.`,
		Example: `  # What would change for one family (dry run)
  ecslogfix fix --task-definition orders-api

  # Fix one revision
  ecslogfix fix --task-definition orders-api:14 --apply

  # Fix every family of a team, one registration every 4 seconds
  ecslogfix fix --all --family-prefix payments- --apply --rate 0.25

  # Fix one family and roll the new revision out to its services
  ecslogfix fix --task-definition orders-api --rollout services --apply`,
		Args: command.UsageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if !awsclient.ValidRate(o.rate) {
				return command.Usagef(cmd, "--rate must be more than 0 and at most %g registrations per second", awsclient.MaxRate)
			}
			if err := command.CheckReadRate(cmd, o.readRate); err != nil {
				return err
			}
			if !awsclient.ValidRate(o.rolloutRate) {
				return command.Usagef(cmd, "--rollout-rate must be more than 0 and at most %g updates per second", awsclient.MaxRate)
			}
			if cmd.Flags().Changed("rollout") {
				if _, err := policy.ParseRollout(o.rollout); err != nil {
					return command.Usagef(cmd, "--rollout: %v", err)
				}
			}
			for _, td := range o.taskDefinitions {
				if err := command.ValidTarget(td); err != nil {
					return command.Usagef(cmd, "--task-definition %q: %v", td, err)
				}
			}
			if err := o.history.Check(cmd); err != nil {
				return err
			}
			return command.RunInRegion(cmd, &f.Globals, &o.region, o, runF, func(o *Options) error { return run(cmd.Context(), o) })
		},
	}
	output.AddFlag(cmd, &o.output)
	fl := cmd.Flags()
	fl.StringArrayVar(&o.taskDefinitions, "task-definition", nil, "task definition ARN, FAMILY or FAMILY:REV (repeatable)")
	fl.BoolVar(&o.all, "all", false, "every ACTIVE family's latest revision")
	fl.StringVar(&o.familyPrefix, "family-prefix", "", "with --all: only families starting with this")
	fl.BoolVar(&o.apply, "apply", false, "make the changes (default: dry run)")
	fl.Float64Var(&o.rate, "rate", awsclient.DefaultRegisterRate, "RegisterTaskDefinition calls per second")
	fl.Float64Var(&o.readRate, "read-rate", awsclient.DefaultReadRate, "ECS read calls per second")
	fl.StringVar(&o.rollout, "rollout", "", "move what runs the source to the new revision: none, services or all (default: the policy's, or the task definition's ecslogfix:rollout tag)")
	fl.Float64Var(&o.rolloutRate, "rollout-rate", awsclient.DefaultRolloutRate, "UpdateService, PutTargets and UpdateSchedule calls per second")
	command.AddHistoryFlags(cmd, &o.history)
	cmd.MarkFlagsOneRequired("task-definition", "all")
	cmd.MarkFlagsMutuallyExclusive("task-definition", "all")
	// With the two rules above, this one says --family-prefix needs --all.
	cmd.MarkFlagsMutuallyExclusive("task-definition", "family-prefix")
	return cmd
}

// run prints fix's items as they come, then the summary.
func run(ctx context.Context, o *Options) error {
	return output.Stream(o.f.Stdout, o.f.Stderr, o.output, fixTable, func(emit func(Item) error) (Summary, error) { return fix(ctx, o, emit) })
}

// fix plans (and with --apply, fixes) each task definition and hands each
// item to emit as it comes; with --all, compliant and exempt families are
// only counted.
func fix(ctx context.Context, o *Options, emit func(Item) error) (Summary, error) {
	pol, err := o.f.LoadPolicy()
	if err != nil {
		return Summary{}, err
	}
	factory, err := o.f.Clients(ctx, o.region, awsclient.Options{ReadRate: o.readRate, RegisterRate: o.rate, RolloutRate: o.rolloutRate})
	if err != nil {
		return Summary{}, err
	}
	ecsClient, err := factory.ECS(awsclient.Scope{})
	if err != nil {
		return Summary{}, err
	}
	var ap applier
	if o.apply {
		ap = newApplier(factory, pol, o.f.Stderr)
	}
	fx := &fixer{pol: pol, apply: ap, region: factory.Region(), sum: Summary{Applied: o.apply}, obs: loggroup.ObserverFrom(factory),
		rollout: policy.RolloutMode(o.rollout), wait: o.f.Pause, now: o.f.Clock, token: runToken()}
	if !o.apply {
		fx.preview = command.ConsumerClients(factory, awsclient.Scope{})
	}
	if store, err := o.history.Store(factory); err != nil {
		return Summary{}, err
	} else if store != nil {
		fx.history, fx.actor = store, command.Caller(ctx, factory)
	}
	put := func(it Item) error {
		fx.sum.count(it)
		if o.all && (it.Verdict == scan.VerdictCompliant || it.Verdict == scan.VerdictExempt) {
			return nil
		}
		return emit(it)
	}
	if o.all {
		_, err = inventory.Walk(ctx, ecsClient, inventory.Options{FamilyPrefix: o.familyPrefix}, func(it inventory.Item) error {
			if it.Err != nil {
				if scan.FatalAWS(it.Err) {
					return it.Err
				}
				return put(fx.failed(it.Family, explain.AWS(it.Err)))
			}
			// Walk delivers each family's latest ACTIVE revision.
			return put(fx.one(ctx, it.TaskDefinition, it.Tags, nil))
		})
		if err != nil {
			return fx.sum, fmt.Errorf("fix: %w", explain.AWS(err))
		}
	} else {
		for _, name := range o.taskDefinitions {
			src, latest, err := named(ctx, ecsClient, name)
			var it Item
			switch {
			case err != nil && scan.FatalAWS(err):
				return fx.sum, fmt.Errorf("fix: %w", explain.AWS(err))
			case err != nil:
				it = fx.failed(name, explain.AWS(err))
			case src.TaskDefinition == nil:
				it = fx.failed(name, fmt.Errorf("task definition %s not found in %s", name, factory.Region()))
			default:
				it = fx.one(ctx, src.TaskDefinition, src.Tags, latest)
			}
			if err := put(it); err != nil {
				return fx.sum, err
			}
		}
	}
	return fx.sum, nil
}

// String is the one-line summary fix prints.
func (s Summary) String() string {
	if s.Applied {
		out := fmt.Sprintf("%d checked: %d compliant, %d exempt, %d registered, %d fixed by creating log groups, %d unchanged, %d blocked, %d need a human, %d errors",
			s.Checked, s.Compliant, s.Exempt, s.Registered, s.GroupsCreated, s.Unchanged, s.Blocked, s.NeedsHuman, s.Errors)
		if s.Moved > 0 || s.RolloutFailed > 0 {
			out += fmt.Sprintf("; %d consumers moved, %d rollouts failed", s.Moved, s.RolloutFailed)
		}
		return out
	}
	return fmt.Sprintf("%d checked: %d compliant, %d exempt, %d to fix, %d blocked, %d need a human, %d errors (dry run: nothing changed; add --apply)",
		s.Checked, s.Compliant, s.Exempt, s.ToFix, s.Blocked, s.NeedsHuman, s.Errors)
}

// exit is fix's exit status.
func (s Summary) Exit() error {
	switch {
	case s.Errors > 0:
		return &command.ExitStatus{Code: command.ExitError, Err: fmt.Errorf("fix: %d of %d task definitions failed", s.Errors, s.Checked)}
	case s.Blocked > 0 || s.NeedsHuman > 0 || s.RolloutFailed > 0 || (!s.Applied && s.ToFix > 0):
		return command.ErrViolations
	}
	return nil
}

// count adds one item.
func (s *Summary) count(it Item) {
	s.Checked++
	switch {
	case it.Error != "":
		s.Errors++
	case it.Verdict == scan.VerdictCompliant:
		s.Compliant++
	case it.Verdict == scan.VerdictExempt:
		s.Exempt++
	case it.Action == scan.ActionBlocked || it.Outcome == workflow.OutcomeBlocked:
		s.Blocked++
	case it.Action == scan.ActionReport || it.Outcome == workflow.OutcomeNeedsHuman:
		s.NeedsHuman++
	case it.Outcome == workflow.OutcomePartlyRemediated:
		// Registered, and still needing a human: counted as both, so
		// the summary says so and fix exits 1.
		s.ToFix++
		s.Registered++
		s.NeedsHuman++
	case it.Outcome == workflow.OutcomeRemediated:
		s.ToFix++
		s.Registered++
		if it.Rollout != nil && s.Applied {
			for _, c := range it.Rollout.Consumers {
				switch c.Status {
				case workflow.ConsumerMoved:
					s.Moved++
				case workflow.ConsumerRolloutFailed, workflow.ConsumerTimedOut:
					s.RolloutFailed++
				}
			}
		}
	case it.Outcome == workflow.OutcomeLogGroupCreated:
		s.ToFix++
		s.GroupsCreated++
	case it.Outcome != "":
		// ALREADY_COMPLIANT, ALREADY_REMEDIATED, SUPERSEDED, INACTIVE, EXEMPT, REPORT_ONLY.
		s.Unchanged++
	default:
		s.ToFix++
	}
}

// fixer handles one task definition at a time.
type fixer struct {
	pol    policy.Policy
	apply  applier
	region string
	sum    Summary
	obs    *loggroup.Observer // the run's: each log group is read once
	// rollout is --rollout ("" = the policy's and the tag's).
	rollout policy.RolloutMode
	// preview, in a dry run with a rollout mode, lists the consumers.
	preview *consumer.Clients
	// wait waits between two Watch steps, as the workflow's RolloutWait.
	wait func(ctx context.Context, d time.Duration) error
	// history, when set, records each decision (--history), by actor.
	history history.Recorder
	actor   string
	now     func() time.Time
	// token names this run's remediations (workflow.Input.ExecutionToken):
	// an SDK retry after a lost response recognises its own registration.
	token string
}

// runToken is a fresh token for one fix run.
func runToken() string {
	b := make([]byte, 8)
	rand.Read(b) // never fails (crypto/rand)
	return "cli-" + hex.EncodeToString(b)
}

// record writes an item's decision to the history: the remediation's
// outcome with --apply, else the plan's verdict.
func (f *fixer) record(ctx context.Context, it *Item, p plan.Plan, res *workflow.Result) {
	if f.history == nil || it.Error != "" {
		return
	}
	now := f.now()
	recs := []history.Record{history.FromPlan(p, history.Meta{Time: now, Trigger: string(workflow.TriggerCLI), Actor: f.actor})}
	if res != nil {
		recs = history.FromResult(*res, "", now)
		for i := range recs {
			recs[i].Actor = f.actor
		}
	}
	if err := f.history.Record(ctx, recs...); err != nil {
		it.Error = "not recorded in the history: " + explain.AWS(err).Error()
	}
}

// failed is the item of a task definition that could not be read.
func (f *fixer) failed(name string, err error) Item {
	return Item{Row: scan.Row{Region: f.region, Family: name, Verdict: scan.VerdictError, Action: scan.ActionNone, Error: err.Error()}}
}

// one plans (and with --apply, fixes) td; latest is its family's latest
// ACTIVE revision as read, nil when td is that read.
func (f *fixer) one(ctx context.Context, td *types.TaskDefinition, tags []types.Tag, latest *reconcile.Revision) Item {
	if it, ok := f.ended(ctx, td, tags, latest); ok {
		return it
	}
	row, p := scan.Judge(ctx, f.obs, f.region, td, tags, f.pol)
	it := Item{Row: row}
	if row.Error != "" || row.Verdict != scan.VerdictNonCompliant {
		f.record(ctx, &it, p, nil)
		return it
	}
	it.Plan = &p
	if f.apply == nil && f.preview != nil && row.Action == scan.ActionRegister && f.rolloutAsked(tags) {
		ro, err := f.previewRollout(ctx, td, tags)
		if err != nil {
			it.Error = explain.AWS(err).Error()
			return it
		}
		it.Rollout = ro
	}
	if f.apply == nil || (row.Action != scan.ActionRegister && row.Action != scan.ActionCreateGroups) {
		f.record(ctx, &it, p, nil)
		return it
	}
	res, err := f.remediate(ctx, row, p)
	if err != nil {
		it.Error = explain.AWS(err).Error()
		return it
	}
	defer f.record(ctx, &it, p, &res)
	it.Outcome, it.Detail, it.NewARN, it.LogGroups, it.Rollout = res.Outcome, res.Detail, res.NewARN, res.LogGroups, res.Rollout
	if res.RolloutError != nil {
		it.Error = "rollout: " + res.RolloutError.Cause
	}
	if res.Outcome == workflow.OutcomeRemediated || res.Outcome == workflow.OutcomePartlyRemediated || res.Outcome == workflow.OutcomeLogGroupCreated {
		if res.Target.Region == "" {
			res.Target.Region = f.region
		}
		it.Backout = message.BackoutSteps(res)
	}
	return it
}

// ended is the item of a revision on which the rule Register applies —
// reconcile.Content, the first half of reconcile.Decide, on what Register
// reads: the family's latest ACTIVE revision and the revision itself —
// ends before its content matters: SUPERSEDED by a newer revision,
// ALREADY_REMEDIATED by ecslogfix's fix of it, or INACTIVE. The dry run and
// --apply both answer that outcome, so they agree, and neither registers
// or creates anything. ok is false when the content decides (judge it).
func (f *fixer) ended(ctx context.Context, td *types.TaskDefinition, tags []types.Tag, latest *reconcile.Revision) (Item, bool) {
	arn := aws.ToString(td.TaskDefinitionArn)
	a, err := taskdef.ParseARN(arn)
	if err != nil {
		return f.failed(arn, err), true
	}
	source := &reconcile.Revision{TaskDefinition: td, Tags: tags}
	if latest == nil {
		latest = source
	}
	d, content, err := reconcile.Content(reconcile.Observation{Source: a, Latest: latest, ByARN: source, Enforcement: policy.Enforce, Token: f.token})
	if err != nil {
		return f.failed(arn, err), true
	}
	if content != nil || d.Registered != "" {
		return Item{}, false
	}
	pc := plan.Context{Partition: a.Partition, Account: a.Account, Region: a.Region, Today: f.now()}
	pl, err := plan.Build(td, tags, f.pol, pc)
	if err != nil {
		return f.failed(arn, err), true
	}
	it := Item{Row: scan.Row{Region: f.region, Family: a.Family, Revision: a.Revision, TaskDefinitionARN: arn, Verdict: pl.Verdict(), Action: scan.ActionNone},
		Outcome: d.Outcome, Detail: d.Detail}
	if f.apply == nil {
		f.record(ctx, &it, pl, nil)
		return it, true
	}
	res := workflow.Result{Version: workflow.Version, Target: workflow.Target{Account: a.Account, Region: a.Region}, Family: a.Family, SourceARN: arn,
		Trigger: workflow.TriggerCLI, LatestARN: d.LatestARN, Outcome: d.Outcome, Detail: d.Detail}
	f.record(ctx, &it, pl, &res)
	return it, true
}

// named reads the revision a --task-definition names and, when the name
// is exact (an ARN or FAMILY:REV), its family's latest ACTIVE revision,
// which Register reads before it decides; latest is nil when name is the
// family, whose read is its latest.
func named(ctx context.Context, c remediate.Describer, name string) (src, latest *reconcile.Revision, err error) {
	if src, err = remediate.Describe(ctx, c, name); err != nil || src.TaskDefinition == nil || !strings.Contains(name, ":") { // an ARN has colons too
		return src, nil, err
	}
	a, err := taskdef.ParseARN(aws.ToString(src.TaskDefinition.TaskDefinitionArn))
	if err != nil {
		return src, nil, nil // a bad ARN is the item's error (fixer.ended)
	}
	if latest, err = remediate.Describe(ctx, c, a.Family); err != nil {
		return nil, nil, fmt.Errorf("the latest revision of %s: %w", a.Family, err)
	}
	return src, latest, nil
}

// remediate runs the workflow's steps in-process: EnsureLogGroups,
// Register and, for a new revision, Rollout and Watch until the rollout
// settles, waiting what RolloutWait would between two Watch steps. A
// rollout step's error is kept in the result, as the workflow's Catch
// keeps it: the revision stays registered.
func (f *fixer) remediate(ctx context.Context, row scan.Row, p plan.Plan) (workflow.Result, error) {
	in := workflow.Input{
		Version:           workflow.Version,
		Trigger:           workflow.TriggerCLI,
		Target:            workflow.Target{Account: p.Context.Account, Region: p.Context.Region},
		TaskDefinitionARN: p.SourceARN,
		Family:            p.Family,
		Revision:          p.Revision,
		// The user asked for --apply: enforce even when the policy reports.
		Enforcement: policy.Enforce,
		Reasons:     containerReasons(row.Containers),
		LogGroups:   p.LogGroups,
		Rollout:     f.rollout,

		ExecutionToken: f.token,
	}
	ensured, err := f.apply.EnsureLogGroups(ctx, in)
	if err != nil {
		return workflow.Result{}, fmt.Errorf("ensure log groups: %w", err)
	}
	res, err := f.apply.Register(ctx, workflow.State{Input: in, Ensured: &ensured})
	if err != nil {
		return workflow.Result{}, fmt.Errorf("register: %w", err)
	}
	if res.LogGroups == nil {
		res.LogGroups = ensured.LogGroups
	}
	if res.Outcome != workflow.OutcomeRemediated {
		return res, nil
	}
	st := workflow.State{Input: in, Ensured: &ensured}
	step := f.apply.Rollout
	for {
		st.Registered = &workflow.Registered{Result: res}
		next, err := step(ctx, st)
		if err != nil {
			res.RolloutError = &workflow.CaughtError{Error: "RolloutError", Cause: explain.AWS(err).Error()}
			return res, nil
		}
		res = next
		if res.Rollout == nil || res.Rollout.Settled {
			return res, nil
		}
		if err := f.wait(ctx, time.Duration(res.Rollout.WaitSeconds)*time.Second); err != nil {
			res.RolloutError = &workflow.CaughtError{Error: "RolloutError", Cause: err.Error()}
			return res, nil
		}
		step = f.apply.Watch
	}
}

// rolloutAsked reports whether a dry run shows the rollout of a task
// definition: --rollout, the policy's mode or the ecslogfix:rollout tag
// asks for one (listing consumers costs calls to ECS, EventBridge and
// Scheduler; a plain dry run makes none).
func (f *fixer) rolloutAsked(tags []types.Tag) bool {
	if f.rollout != "" || f.pol.WithDefaults().Rollout != policy.RolloutNone {
		return true
	}
	return slices.ContainsFunc(tags, func(t types.Tag) bool { return aws.ToString(t.Key) == taskdef.TagRollout })
}

// previewRollout is the dry run of the Rollout step: the consumers of
// td's family and what rollout.Plan would do with each.
func (f *fixer) previewRollout(ctx context.Context, td *types.TaskDefinition, tags []types.Tag) (*workflow.Rollout, error) {
	src, err := taskdef.ParseARN(aws.ToString(td.TaskDefinitionArn))
	if err != nil {
		return nil, err
	}
	consumers, err := consumer.List(ctx, *f.preview, src.Family)
	if err != nil {
		return nil, err
	}
	mode, note := rollout.Mode(f.pol.WithDefaults().Rollout, f.rollout, tags)
	ro, _ := rollout.Plan(rollout.Observation{Source: src, Mode: mode, Consumers: consumers})
	ro.Note, ro.Settled = note, true
	return &ro, nil
}

func containerReasons(cs []scan.ContainerReport) []workflow.ContainerReasons {
	var out []workflow.ContainerReasons
	for _, c := range cs {
		if !c.Compliant {
			out = append(out, workflow.ContainerReasons{Container: c.Name, Reasons: c.Reasons})
		}
	}
	return out
}

// fixTable renders fix's items; CSV has scan's columns and what applying
// did.
var fixTable = output.Table[Item]{
	Columns: []string{"region", "family", "revision", "taskDefinitionArn", "verdict", "action", "reasons", "blockers", "outcome", "newArn", "error"},
	Row: func(it Item) []string {
		return []string{it.Region, it.Family, scan.RevString(it.Revision), it.TaskDefinitionARN, string(it.Verdict), string(it.Action),
			scan.ReasonsString(it.Containers), strings.Join(it.Blockers, " "), string(it.Outcome), it.NewARN, it.Error}
	},
	Text: writeFixText,
}

// writeFixText prints an item: its verdict and plan, then what applying it
// did and, for a new revision, how to undo it.
func writeFixText(w io.Writer, it Item, _ int) {
	id := it.Family
	if it.Revision != 0 {
		id = fmt.Sprintf("%s:%d", it.Family, it.Revision)
	}
	switch {
	case it.Plan == nil && it.Error != "":
		fmt.Fprintf(w, "%s: ERROR %s\n", id, it.Error)
		return
	case it.Verdict == scan.VerdictCompliant:
		fmt.Fprintf(w, "%s: compliant\n", id)
		return
	case it.Verdict == scan.VerdictExempt:
		fmt.Fprintf(w, "%s: exempt\n", id)
		return
	}
	fmt.Fprintf(w, "%s: %s %s\n", id, it.Verdict, it.Action)
	check.WritePlan(w, it.Plan, "  ")
	if it.Outcome == "" {
		writeRolloutText(w, it.Rollout)
	}
	switch {
	case it.Error != "":
		fmt.Fprintf(w, "%s: ERROR %s\n", id, it.Error)
	case it.Outcome == workflow.OutcomeRemediated || it.Outcome == workflow.OutcomePartlyRemediated || it.Outcome == workflow.OutcomeLogGroupCreated:
		switch it.Outcome {
		case workflow.OutcomeRemediated:
			fmt.Fprintf(w, "  registered %s\n", it.NewARN)
		case workflow.OutcomePartlyRemediated:
			fmt.Fprintf(w, "  registered %s, NOT compliant: %s\n", it.NewARN, escape.Text(it.Detail))
		default:
			fmt.Fprintf(w, "  %s: %s\n", it.Outcome, escape.Text(it.Detail))
		}
		writeGroupResults(w, it.LogGroups)
		writeRolloutText(w, it.Rollout)
		if len(it.Backout) > 0 {
			fmt.Fprintln(w, "  to back out:")
			for _, s := range it.Backout {
				fmt.Fprintf(w, "    # %s\n    %s\n", s.Description, s.Command)
			}
		}
	case it.Outcome != "":
		fmt.Fprintf(w, "  not registered: %s: %s\n", it.Outcome, escape.Text(it.Detail))
		writeGroupResults(w, it.LogGroups)
		if len(it.LogGroups) == 0 {
			fmt.Fprintln(w, "  no log group was created")
		}
	}
}

// writeGroupResults says what became of each log group of the revision.
func writeGroupResults(w io.Writer, groups []workflow.LogGroupResult) {
	for _, g := range groups {
		fmt.Fprintf(w, "  log group %s (%s): %s\n", escape.Text(g.Name), escape.Text(g.Region), message.GroupStatus(g))
	}
}

// writeRolloutText prints a rollout record: one line per consumer.
func writeRolloutText(w io.Writer, ro *workflow.Rollout) {
	if ro == nil || (len(ro.Consumers) == 0 && ro.Note == "" && ro.Mode == policy.RolloutNone) {
		return
	}
	fmt.Fprintf(w, "  rollout (mode %s): %d consumer(s)\n", ro.Mode, len(ro.Consumers))
	if ro.Note != "" {
		fmt.Fprintf(w, "    note: %s\n", ro.Note)
	}
	for _, c := range ro.Consumers {
		fmt.Fprintf(w, "    %s %s: %s (%s → %s)\n", c.Kind, c.ARN, c.Status, backoutsteps.FamilyRevision(c.Before), backoutsteps.FamilyRevision(c.After))
		if c.Reason != "" {
			fmt.Fprintf(w, "      %s\n", c.Reason)
		}
	}
	if ro.SourceDeregistered {
		fmt.Fprintln(w, "    the source revision was deregistered (deregisterSource afterRollout)")
	}
}

// newApplier builds the remediate package's Remediator, the code the
// remediate Lambda runs, on the CLI's clients; its warnings go to stderr.
func newApplier(factory *awsclient.Factory, pol policy.Policy, stderr io.Writer) applier {
	return &remediate.Remediator{
		Policy:  pol,
		Clients: remediate.ClientsFrom(factory),
		Logger:  slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
	}
}
