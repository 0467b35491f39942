package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/ecslogfix/ecslogfix/internal/awsarn"
	"github.com/ecslogfix/ecslogfix/internal/awsclient"
	"github.com/ecslogfix/ecslogfix/internal/cli/backout"
	"github.com/ecslogfix/ecslogfix/internal/cli/command"
	"github.com/ecslogfix/ecslogfix/internal/cli/explain"
	"github.com/ecslogfix/ecslogfix/internal/cli/output"
	"github.com/ecslogfix/ecslogfix/internal/config"
	"github.com/ecslogfix/ecslogfix/internal/config/naming"
	"github.com/ecslogfix/ecslogfix/internal/policy/exemption"
	"github.com/ecslogfix/ecslogfix/internal/taskdef"
)

// backoutOptions is backout's command line.
type backoutOptions struct {
	f              *command.Factory
	output         output.Format
	taskDefinition string
	clusters       []string
	deleteLogGroup bool
	apply          bool
	execution      string // --execution: the remediation whose rollout record says what moved
	exemptUntil    string // the day the source is exempt until; default today + the policy's backoutDays
	history        command.HistoryFlags
	region         string // the one --region, if given
	prefix         string // --prefix: the deployment's resource name prefix
}

// newCmdBackout builds backout; runF, when set, runs instead of runBackout.
func newCmdBackout(f *command.Factory, runF func(*backoutOptions) error) *cobra.Command {
	o := &backoutOptions{f: f}
	cmd := &cobra.Command{
		Use:   "backout --task-definition FAMILY:REV [--execution ARN | --cluster C ...] [--delete-log-group] [--apply]",
		Short: "Undo a revision ecslogfix registered (dry run by default)",
		Long: `backout undoes one remediation: it refuses any revision ecslogfix did not
register: one without all of ecslogfix's tags (` + taskdef.TagSourceRevision + ` naming an
older revision, ` + taskdef.TagManaged + `=true, ` + taskdef.TagExecution + `), or that ECS says
another principal registered (registeredBy: neither the --prefix deployment's
remediate or member role nor the caller). It runs the steps the
notification of the remediation lists, with the services and log groups it
finds filled in. With --apply it moves the services of the given clusters
that run the revision back to the source revision (UpdateService),
deregisters the revision (so the family's latest ACTIVE revision is the
source again), tags the source with the policy's end-date tag
(ecslogfix:exempt-until) so that ecslogfix leaves it until --exempt-until
(default: today plus the policy's exemptions.backoutDays, 30) and fixes it
again after, and with --delete-log-group deletes each log group of the
revision that ecslogfix created (tag ` + taskdef.TagManaged + `), that no
ACTIVE revision of the family uses (it names the one that does) and that
holds no log streams, turning its deletion protection off first. Without
--apply it prints what it would do. With --history the backout is recorded
in the history (BACKED_OUT).

Without --cluster or --execution it reads the rollout record of the
remediation the revision names (` + taskdef.TagExecution + `), and warns when there is none.

With --execution (the remediation's Step Functions execution, named in its
notification) backout reads the execution's rollout record and points
exactly the consumers it moved — services, EventBridge rule targets,
Scheduler schedules — back at the revision each ran before, changing
nothing else, and only while they still run the new revision (one someone
moved on since is left alone). When policy deregisterSource afterRollout
deregistered the source, it first registers a copy of it, tagged with the
policy's exemption tag (pass the pipeline's --policy), and points them at
the copy: ECS refuses an INACTIVE revision.

Exit status: 0 on success, 2 on errors or when the revision is not one
ecslogfix registered.`,
		Example: `  # What would be undone
  ecslogfix backout --task-definition orders-api:15 --cluster prod

  # Undo it, and delete the log group ecslogfix created if still empty
  ecslogfix backout --task-definition orders-api:15 --cluster prod --delete-log-group --apply

  # Undo a remediation and its rollout, exactly as its notification lists
  ecslogfix backout --task-definition orders-api:15 --execution arn:aws:states:us-east-1:111122223333:execution:ecslogfix-remediation:NAME --apply`,
		Args: command.UsageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := validRevision(o.taskDefinition); err != nil {
				return command.Usagef(cmd, "--task-definition %q: %v", o.taskDefinition, err)
			}
			if o.execution != "" {
				if a, err := awsarn.Parse(o.execution); err != nil || a.Service != "states" || !strings.HasPrefix(a.Resource, "execution:") {
					return command.Usagef(cmd, "--execution %q: not a Step Functions execution ARN", o.execution)
				}
			}
			if err := o.history.Check(cmd); err != nil {
				return err
			}
			if o.exemptUntil != "" {
				d, err := time.Parse(exemption.DateLayout, o.exemptUntil)
				if err != nil || d.Before(time.Now().UTC().Truncate(24*time.Hour)) {
					return command.Usagef(cmd, "--exempt-until %q: a day to come, YYYY-MM-DD", o.exemptUntil)
				}
			}
			return command.RunInRegion(cmd, &f.Globals, &o.region, o, runF, func(o *backoutOptions) error { return runBackout(cmd.Context(), o) })
		},
	}
	output.AddFlag(cmd, &o.output)
	fl := cmd.Flags()
	fl.StringVar(&o.taskDefinition, "task-definition", "", "the revision ecslogfix registered: FAMILY:REV or its ARN")
	fl.StringArrayVar(&o.clusters, "cluster", nil, "cluster whose services may run the revision (repeatable)")
	fl.BoolVar(&o.deleteLogGroup, "delete-log-group", false, "also delete the log groups ecslogfix created for it, when empty")
	fl.BoolVar(&o.apply, "apply", false, "make the changes (default: dry run)")
	fl.StringVar(&o.prefix, "prefix", config.DefaultPrefix, "the deployment's resource name prefix (ecslogfix:prefix): its remediate and member roles are the registrants backout trusts")
	fl.StringVar(&o.execution, "execution", "", "the remediation's execution ARN: move back exactly the consumers its rollout moved")
	fl.StringVar(&o.exemptUntil, "exempt-until", "", "the day (YYYY-MM-DD) until which ecslogfix leaves the source as it is (default: today + the policy's backoutDays)")
	command.AddHistoryFlags(cmd, &o.history)
	_ = cmd.MarkFlagRequired("task-definition") // the flag exists: no error
	cmd.MarkFlagsMutuallyExclusive("execution", "cluster")
	return cmd
}

// runBackout runs backout on the AWS clients and prints what it did, also
// when a step failed.
func runBackout(ctx context.Context, o *backoutOptions) error {
	factory, err := o.f.Clients(ctx, o.region, awsclient.Options{})
	if err != nil {
		return err
	}
	ecsClient, err := factory.ECS(awsclient.Scope{})
	if err != nil {
		return err
	}
	logsClient, err := factory.Logs(awsclient.Scope{})
	if err != nil {
		return err
	}
	pol, err := o.f.LoadPolicy()
	if err != nil {
		return err
	}
	store, err := o.history.Store(factory)
	if err != nil {
		return err
	}
	b := &backout.Executor{ECS: ecsClient, Logs: logsClient, Region: factory.Region(), Consumers: command.ConsumerClients(factory, awsclient.Scope{}), SFN: factory.SFN(), Policy: pol, Now: o.f.Clock,
		Names: naming.Names{Prefix: o.prefix}, Caller: command.Caller(ctx, factory)}
	res, runErr := b.Run(ctx, backout.Request{TaskDefinition: o.taskDefinition, Clusters: o.clusters, DeleteLogGroup: o.deleteLogGroup, Apply: o.apply,
		Execution: o.execution, ExemptUntil: o.exemptUntil})
	if res.TaskDefinitionARN == "" {
		return runErr
	}
	if runErr == nil && res.Applied && store != nil {
		if err := b.Record(ctx, store, res, b.Caller); err != nil {
			runErr = fmt.Errorf("backout: done, but not recorded in the history: %w", explain.AWS(err))
		}
	}
	p, err := output.NewPrinter(o.f.Stdout, o.f.Stderr, o.output, backoutTable)
	if err != nil {
		return err
	}
	p.Note("%s was registered by ecslogfix from %s", res.TaskDefinitionARN, res.SourceARN)
	if res.Warning != "" {
		p.Note("warning: %s", res.Warning)
	}
	for _, s := range res.Steps {
		if err := p.Print(s); err != nil {
			return err
		}
	}
	footer := "dry run: nothing changed; add --apply"
	switch {
	case runErr != nil:
		footer = ""
	case res.Applied && res.LatestARN != "":
		footer = fmt.Sprintf("latest ACTIVE revision of %s: %s", res.Family, res.LatestARN)
	case res.Applied:
		footer = ""
	}
	if err := p.Finish(footer); err != nil {
		return err
	}
	return runErr
}

// validRevision accepts FAMILY:REV or a task definition ARN (which always
// names a revision).
func validRevision(s string) error {
	if strings.HasPrefix(s, "arn:") {
		_, err := taskdef.ParseARN(s)
		return err
	}
	if !strings.Contains(s, ":") {
		return errors.New("name the revision: FAMILY:REV")
	}
	return command.ValidTarget(s)
}

// backoutTable renders backout's steps.
var backoutTable = output.Table[backout.Step]{
	Columns: []string{"kind", "resource", "region", "status", "reason", "command"},
	Row: func(s backout.Step) []string {
		return []string{string(s.Kind), s.Resource(), s.Region, string(s.Status), s.Reason, s.Command}
	},
	Text: func(w io.Writer, s backout.Step, _ int) {
		switch s.Status {
		case backout.StepPlanned:
			fmt.Fprintf(w, "would %s\n  %s\n", backout.Action(s.Step), s.Command)
		case backout.StepDone:
			fmt.Fprintf(w, "done: %s\n  %s\n", backout.Action(s.Step), s.Command)
		case backout.StepFailed:
			fmt.Fprintf(w, "failed: %s: %s\n  %s\n", backout.Action(s.Step), s.Reason, s.Command)
		default:
			fmt.Fprintf(w, "skipped: %s: %s\n", backout.Action(s.Step), s.Reason)
		}
	},
}
