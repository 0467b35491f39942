package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/spf13/cobra"

	"github.com/ecslogfix/ecslogfix/internal/inventory"
	"github.com/ecslogfix/ecslogfix/internal/plan"
	"github.com/ecslogfix/ecslogfix/internal/policy"
	"github.com/ecslogfix/ecslogfix/internal/remediation"
	"github.com/ecslogfix/ecslogfix/internal/taskdef"
	"github.com/ecslogfix/ecslogfix/internal/workflow"
)

// applier is what fix --apply needs from the remediation package: the two
// steps of the workflow, run in-process with exactly the pipeline's rules.
type applier interface {
	EnsureLogGroups(ctx context.Context, in workflow.Input) (workflow.Ensured, error)
	Register(ctx context.Context, st workflow.State) (workflow.Result, error)
}

type fixOptions struct {
	taskDefinitions []string
	all             bool
	familyPrefix    string
	apply           bool
	rate            float64
	readRate        float64
}

// FixSummary counts what fix did.
type FixSummary struct {
	Checked, Compliant, Exempt, ToFix, Registered, Blocked, NeedsHuman, Unchanged, Errors int
}

func (a *App) fixCommand(g *globals) *cobra.Command {
	o := &fixOptions{}
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
out. Running services keep their revision until you deploy the new one.

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
  ecslogfix fix --all --family-prefix payments- --apply --rate 0.25`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if o.all == (len(o.taskDefinitions) > 0) {
				return usagef(cmd, "give either --task-definition (one or more) or --all")
			}
			if o.familyPrefix != "" && !o.all {
				return usagef(cmd, "--family-prefix needs --all")
			}
			if o.rate <= 0 || o.rate > 20 {
				return usagef(cmd, "--rate must be more than 0 and at most 20 registrations per second")
			}
			if o.readRate <= 0 {
				return usagef(cmd, "--read-rate must be positive")
			}
			for _, td := range o.taskDefinitions {
				if err := validTarget(td); err != nil {
					return usagef(cmd, "--task-definition %q: %v", td, err)
				}
			}
			region, err := oneRegion(cmd, g)
			if err != nil {
				return err
			}
			pol, err := a.loadPolicy(g)
			if err != nil {
				return err
			}
			return a.runFix(cmd.Context(), g, o, region, pol)
		},
	}
	f := cmd.Flags()
	f.StringArrayVar(&o.taskDefinitions, "task-definition", nil, "task definition ARN, FAMILY or FAMILY:REV (repeatable)")
	f.BoolVar(&o.all, "all", false, "every ACTIVE family's latest revision")
	f.StringVar(&o.familyPrefix, "family-prefix", "", "with --all: only families starting with this")
	f.BoolVar(&o.apply, "apply", false, "make the changes (default: dry run)")
	f.Float64Var(&o.rate, "rate", remediation.DefaultRegisterRate, "RegisterTaskDefinition calls per second")
	f.Float64Var(&o.readRate, "read-rate", inventory.DefaultReadRate, "ECS read calls per second")
	return cmd
}

// validTarget checks a --task-definition value: an ARN, FAMILY or FAMILY:REV.
func validTarget(s string) error {
	if strings.HasPrefix(s, "arn:") {
		_, err := taskdef.ParseARN(s)
		return err
	}
	family, rev, found := strings.Cut(s, ":")
	if found && (rev == "" || strings.Trim(rev, "0123456789") != "" || rev[0] == '0') {
		return errors.New("the revision must be a positive number")
	}
	return taskdef.ValidFamily(family)
}

func (a *App) runFix(ctx context.Context, g *globals, o *fixOptions, region string, pol policy.Policy) error {
	cfg, err := a.awsConfig(ctx, g, region)
	if err != nil {
		return err
	}
	factory := remediation.NewFactory(cfg, nil, remediation.FactoryOptions{ReadRate: o.readRate, RegisterRate: o.rate})
	clients, err := factory.Clients(ctx, workflow.Target{Region: cfg.Region})
	if err != nil {
		return err
	}
	var ap applier
	if o.apply {
		ap = newApplier(factory, pol, a.Stderr)
	}
	out := a.Stdout
	// With --all, compliant and exempt families are only counted.
	fx := &fixer{out: out, pol: pol, apply: ap, region: cfg.Region, quiet: o.all}
	if o.all {
		_, err = inventory.Walk(ctx, clients.ECS, inventory.Options{FamilyPrefix: o.familyPrefix, ReadRate: o.readRate}, func(it inventory.Item) error {
			if it.Err != nil {
				if fatalAWS(it.Err) {
					return it.Err
				}
				fx.sum.Checked++
				fx.fail(it.Family, explain(it.Err))
				return nil
			}
			return fx.one(ctx, it.TaskDefinition, it.Tags)
		})
		if err != nil {
			return fmt.Errorf("fix: %w", explain(err))
		}
	} else {
		for _, name := range o.taskDefinitions {
			d, err := clients.ECS.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{
				TaskDefinition: aws.String(name),
				Include:        []types.TaskDefinitionField{types.TaskDefinitionFieldTags},
			})
			switch {
			case err != nil && fatalAWS(err):
				return fmt.Errorf("fix: %w", explain(err))
			case err != nil && notFound(err):
				fx.sum.Checked++
				fx.fail(name, fmt.Errorf("task definition %s not found in %s", name, cfg.Region))
				continue
			case err != nil:
				fx.sum.Checked++
				fx.fail(name, explain(err))
				continue
			}
			if err := fx.one(ctx, d.TaskDefinition, d.Tags); err != nil {
				return err
			}
		}
	}
	s := fx.sum
	if o.apply {
		fmt.Fprintf(out, "\n%d checked: %d compliant, %d exempt, %d registered, %d unchanged, %d blocked, %d need a human, %d errors\n",
			s.Checked, s.Compliant, s.Exempt, s.Registered, s.Unchanged, s.Blocked, s.NeedsHuman, s.Errors)
	} else {
		fmt.Fprintf(out, "\n%d checked: %d compliant, %d exempt, %d to fix, %d blocked, %d need a human, %d errors (dry run: nothing changed; add --apply)\n",
			s.Checked, s.Compliant, s.Exempt, s.ToFix, s.Blocked, s.NeedsHuman, s.Errors)
	}
	switch {
	case s.Errors > 0:
		return &exitError{code: ExitError, err: fmt.Errorf("fix: %d of %d task definitions failed", s.Errors, s.Checked)}
	case s.Blocked > 0 || s.NeedsHuman > 0 || (!o.apply && s.ToFix > 0):
		return errViolations
	}
	return nil
}

// fixer handles one task definition at a time and counts.
type fixer struct {
	out    io.Writer
	pol    policy.Policy
	apply  applier
	region string
	quiet  bool // do not list compliant and exempt task definitions
	sum    FixSummary
}

func (f *fixer) fail(name string, err error) {
	f.sum.Errors++
	fmt.Fprintf(f.out, "%s: ERROR %v\n", name, err)
}

func (f *fixer) one(ctx context.Context, td *types.TaskDefinition, tags []types.Tag) error {
	f.sum.Checked++
	ev, p, err := assess(td, tags, f.pol, contextOf(td, f.region))
	id := fmt.Sprintf("%s:%d", aws.ToString(td.Family), td.Revision)
	if err != nil {
		f.fail(id, err)
		return nil
	}
	act := action(ev, p)
	switch {
	case ev.Compliant:
		f.sum.Compliant++
		if !f.quiet {
			fmt.Fprintf(f.out, "%s: compliant\n", id)
		}
		return nil
	case ev.Exempt:
		f.sum.Exempt++
		if !f.quiet {
			fmt.Fprintf(f.out, "%s: exempt\n", id)
		}
		return nil
	}
	fmt.Fprintf(f.out, "%s: %s %s\n", id, VerdictNonCompliant, act)
	writePlanText(f.out, &p, "  ")
	switch act {
	case ActionBlocked:
		f.sum.Blocked++
		return nil
	case ActionReport:
		f.sum.NeedsHuman++
		return nil
	}
	f.sum.ToFix++
	if f.apply == nil {
		return nil
	}
	res, err := f.remediate(ctx, ev, p)
	if err != nil {
		f.fail(id, explain(err))
		return nil
	}
	f.report(res)
	return nil
}

// remediate runs the workflow's two steps in-process.
func (f *fixer) remediate(ctx context.Context, ev policy.Evaluation, p plan.Plan) (workflow.Result, error) {
	in := workflow.Input{
		Version:           workflow.Version,
		Trigger:           workflow.TriggerCLI,
		Target:            workflow.Target{Account: p.Context.Account, Region: p.Context.Region},
		TaskDefinitionARN: p.SourceARN,
		Family:            p.Family,
		Revision:          p.Revision,
		// The user asked for --apply: enforce even when the policy reports.
		Enforcement: policy.Enforce,
		Reasons:     containerReasons(ev),
		LogGroups:   p.LogGroups,
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
	return res, nil
}

// report prints what Register did and, for a new revision, how to undo it.
func (f *fixer) report(res workflow.Result) {
	switch res.Outcome {
	case workflow.OutcomeRemediated:
		f.sum.Registered++
		fmt.Fprintf(f.out, "  registered %s\n", res.NewARN)
		in := plan.BackoutInput{Region: res.Target.Region, NewARN: res.NewARN, SourceARN: res.SourceARN}
		if in.Region == "" {
			in.Region = f.region
		}
		for _, lg := range res.LogGroups {
			if lg.Created {
				in.CreatedLogGroups = append(in.CreatedLogGroups, lg.Name)
				if lg.DeletionProtectionEnabled {
					in.DeletionProtected = append(in.DeletionProtected, lg.Name)
				}
			}
		}
		if steps := plan.Backout(in); len(steps) > 0 {
			fmt.Fprintln(f.out, "  to back out:")
			for _, s := range steps {
				fmt.Fprintf(f.out, "    # %s\n    %s\n", s.Description, s.Command)
			}
		}
	case workflow.OutcomeBlocked:
		f.sum.Blocked++
		fmt.Fprintf(f.out, "  not registered: %s: %s\n", res.Outcome, res.Detail)
	case workflow.OutcomeNeedsHuman:
		f.sum.NeedsHuman++
		fmt.Fprintf(f.out, "  not registered: %s: %s\n", res.Outcome, res.Detail)
	default:
		// ALREADY_COMPLIANT, ALREADY_REMEDIATED, SUPERSEDED, INACTIVE, EXEMPT, REPORT_ONLY.
		f.sum.Unchanged++
		f.sum.ToFix--
		fmt.Fprintf(f.out, "  not registered: %s: %s\n", res.Outcome, res.Detail)
	}
}

func containerReasons(ev policy.Evaluation) []workflow.ContainerReasons {
	var out []workflow.ContainerReasons
	for _, c := range ev.Containers {
		if !c.Compliant {
			out = append(out, workflow.ContainerReasons{Container: c.Name, Reasons: c.Reasons})
		}
	}
	return out
}

// newApplier builds the remediation package's Remediator, the code the
// remediate Lambda runs, on the CLI's clients; its warnings go to stderr.
func newApplier(factory *remediation.Factory, pol policy.Policy, stderr io.Writer) applier {
	return &remediation.Remediator{
		Policy:  pol,
		Clients: factory,
		Logger:  slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
	}
}
