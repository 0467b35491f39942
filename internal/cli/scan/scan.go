// Package scan is the scan command: it judges the latest ACTIVE revision
// of every task definition family of each region, or of every account of
// the organization (docs/cli.md, "scan"), and holds the one evaluation
// path (Judge) fix uses too.
package scan

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/spf13/cobra"

	"github.com/ecslogfix/ecslogfix/internal/awsclient"
	"github.com/ecslogfix/ecslogfix/internal/awserr"
	"github.com/ecslogfix/ecslogfix/internal/cli/command"
	"github.com/ecslogfix/ecslogfix/internal/cli/explain"
	"github.com/ecslogfix/ecslogfix/internal/cli/output"
	"github.com/ecslogfix/ecslogfix/internal/consumer"
	"github.com/ecslogfix/ecslogfix/internal/escape"
	"github.com/ecslogfix/ecslogfix/internal/inventory"
	"github.com/ecslogfix/ecslogfix/internal/loggroup"
	"github.com/ecslogfix/ecslogfix/internal/plan"
	"github.com/ecslogfix/ecslogfix/internal/policy"
	"github.com/ecslogfix/ecslogfix/internal/policy/reason"
	"github.com/ecslogfix/ecslogfix/internal/taskdef"
	"github.com/ecslogfix/ecslogfix/internal/workflow"
)

// Row verdicts and actions as scan and fix print them: the plan's own
// vocabulary (plan.Verdict, plan.Remedy; check's verdicts are the same
// type), and ERROR for a family that could not be described.
const (
	VerdictCompliant                 = plan.VerdictCompliant
	VerdictNonCompliant              = plan.VerdictNonCompliant
	VerdictExempt                    = plan.VerdictExempt
	VerdictError        plan.Verdict = "ERROR"
	ActionNone                       = plan.RemedyNone
	ActionRegister                   = plan.RemedyRegister
	ActionBlocked                    = plan.RemedyBlocked
	ActionReport                     = plan.RemedyReport
	ActionCreateGroups               = plan.RemedyCreateGroups
)

// ContainerReport is the verdict on one container in scan and fix.
type ContainerReport struct {
	Name      string        `json:"name"`
	Compliant bool          `json:"compliant"`
	Reasons   []reason.Code `json:"reasons"`
	Keys      []string      `json:"keys,omitempty"` // the log options the reasons are about
}

// Row is one family in scan's output. The JSON and CSV field names are
// part of the documented, stable output.
type Row struct {
	// Account and AccountName are set by scan --organization.
	Account           string            `json:"account,omitempty"`
	AccountName       string            `json:"accountName,omitempty"`
	Region            string            `json:"region"`
	Family            string            `json:"family"`
	Revision          int32             `json:"revision,omitempty"`
	TaskDefinitionARN string            `json:"taskDefinitionArn,omitempty"`
	Verdict           plan.Verdict      `json:"verdict"`
	Action            plan.Remedy       `json:"action"`
	Containers        []ContainerReport `json:"containers,omitempty"` // the non-compliant ones
	Blockers          []string          `json:"blockers,omitempty"`
	Error             string            `json:"error,omitempty"`
	// Consumers (scan --consumers) are the services, rule targets and
	// schedules that run a non-compliant revision of the family: the
	// latest, or an older one they still run.
	Consumers []workflow.Consumer `json:"consumers,omitempty"`
}

// Summary counts what a scan saw.
type Summary struct {
	Regions      int
	Families     int
	Compliant    int
	NonCompliant int
	Exempt       int
	Errors       int
	// Blocked counts the non-compliant families fix cannot register
	// (action BLOCKED).
	Blocked int
	// FailedRegions are the regions whose listing failed, with the
	// reason (a row each too): what they hold is not in the output.
	FailedRegions []string
	// Exposed counts the consumers running a non-compliant revision
	// (scan --consumers).
	Exposed int
	Elapsed time.Duration
	// consumers is set with --consumers.
	consumers bool
}

// Options is scan's command line.
type Options struct {
	f             *command.Factory
	output        output.Format
	familyPrefix  string
	showCompliant bool
	consumers     bool
	readRate      float64
	org           orgOptions
}

// NewCmd builds scan; runF, when set, runs instead of run.
func NewCmd(f *command.Factory, runF func(*Options) error) *cobra.Command {
	o := &Options{f: f}
	cmd := &cobra.Command{
		Use:   "scan [flags]",
		Short: "Evaluate the latest ACTIVE revision of every task definition family (read-only)",
		Long: `scan lists every ACTIVE task definition family in each region, evaluates
its latest ACTIVE revision against the policy, and prints the families that
are not compliant, with the reason codes and what fix would do (action
REGISTER, BLOCKED, or REPORT for changes a human must make), then a summary.

It only reads: ListTaskDefinitionFamilies and DescribeTaskDefinition, at
--read-rate calls per second (default 10, half of ECS's shared read bucket),
with adaptive retries on throttling; DescribeLogGroups once per distinct log
group (a missing one is LOG_GROUP_MISSING, action CREATE_LOG_GROUPS when
that is all); ListAccountSettings once per region when the policy sets
requiredMode.

With --consumers it also lists what runs each family — ECS services
(ListClusters, ListServices, DescribeServices), EventBridge rule targets
(ListEventBuses, ListRules, ListTargetsByRule) and Scheduler schedules
(ListSchedules, GetSchedule) — and adds to each family the consumers that
run a non-compliant revision (the latest, or an older one they still run):
which running workloads do not log. A compliant family is listed when such
consumers remain on an older revision, and they make the exit status 1.

With --organization it scans every ACTIVE account of the AWS Organization
(or those under each --ou, recursively) in every --region, --concurrency
account-regions at a time, each at its own --read-rate. Run it from the
management account or a delegated administrator (organizations:ListRoots,
ListAccountsForParent, ListOrganizationalUnitsForParent); it assumes --role
in every other account (default: ecslogfix's member role, which trusts only
the hub's functions; OrganizationAccountAccessRole is the common
alternative; docs/cli.md gives a read-only role's policy). Rows and the
summary name each account; an account whose role cannot be assumed and a
region that is denied are rows with the reason, and exit status 2.

Exit status: 0 when every family is compliant or exempt, 1 when any is not,
2 on errors (including families that could not be described, and accounts
or regions not reachable).`,
		Example: `  # Everything in the profile's region
  ecslogfix scan

  # Two regions, one team's families, as CSV for a spreadsheet
  ecslogfix scan --region us-east-1 --region eu-west-1 --family-prefix payments- --output csv > scan.csv

  # Every family, compliant ones too, as JSON
  ecslogfix scan --show-compliant --output json | jq '.[] | select(.action == "BLOCKED")'

  # Which running services and scheduled tasks do not log
  ecslogfix scan --consumers --output json | jq '.[].consumers[]?'

  # Every account of the organization, two regions, 8 account-regions at a time
  ecslogfix scan --organization --role OrganizationAccountAccessRole --region us-east-1 --region eu-west-1 --concurrency 8`,
		Args: command.UsageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := command.CheckReadRate(cmd, o.readRate); err != nil {
				return err
			}
			if err := o.org.validate(cmd); err != nil {
				return err
			}
			if runF != nil {
				return runF(o)
			}
			if o.org.enabled {
				return runOrganization(cmd.Context(), o)
			}
			return run(cmd.Context(), o)
		},
	}
	output.AddFlag(cmd, &o.output)
	fl := cmd.Flags()
	fl.StringVar(&o.familyPrefix, "family-prefix", "", "only families whose name starts with this")
	fl.BoolVar(&o.showCompliant, "show-compliant", false, "list compliant families too")
	fl.BoolVar(&o.consumers, "consumers", false, "add the services, rule targets and schedules running a non-compliant revision")
	fl.Float64Var(&o.readRate, "read-rate", awsclient.DefaultReadRate, "ECS read calls per second, per region")
	addOrgFlags(cmd, &o.org)
	return cmd
}

// run prints scan's rows as they come, then the summary.
func run(ctx context.Context, o *Options) error {
	return output.Stream(o.f.Stdout, o.f.Stderr, o.output, Table, func(emit func(Row) error) (Summary, error) { return scan(ctx, o, emit) })
}

// scan judges every family of every region and hands each row to emit
// (compliant ones only with --show-compliant), as it comes.
func scan(ctx context.Context, o *Options, emit func(Row) error) (Summary, error) {
	pol, err := o.f.LoadPolicy()
	if err != nil {
		return Summary{}, err
	}
	regions := o.f.Regions
	if len(regions) == 0 {
		regions = []string{""} // the profile's or environment's region
	}
	bar := o.f.Progress(-1, "scanning", "families")
	sum := Summary{Regions: len(regions), consumers: o.consumers}
	start := time.Now()
	var obs *loggroup.Observer // one for the run: each log group is read once
	for _, region := range regions {
		factory, err := o.f.Clients(ctx, region, awsclient.Options{ReadRate: o.readRate})
		if err != nil {
			return sum, err
		}
		if obs == nil {
			obs = loggroup.ObserverFrom(factory)
		}
		if bar != nil {
			bar.Describe("scanning " + factory.Region())
		}
		onFamily := func() {
			if bar != nil {
				_ = bar.Add(1)
			}
		}
		err = scanRegion(ctx, o, factory, awsclient.Scope{}, pol, obs, onFamily, emit, &sum)
		if err != nil {
			// The rows of the other regions stand; this region's gap is a
			// row with the reason, and the exit status says so.
			if ctx.Err() != nil {
				return sum, ctx.Err()
			}
			if err := emit(sum.failed(factory.Region(), err)); err != nil {
				return sum, err
			}
		}
	}
	sum.Elapsed = time.Since(start)
	if bar != nil {
		_ = bar.Finish()
	}
	return sum, nil
}

// scanRegion judges every family of one account-region — scope's, on
// factory's clients — and hands each row to emit (compliant ones only with
// --show-compliant) as it comes; onFamily is called for each family seen.
// A failed listing is returned: the caller makes it a row (sum.failed).
func scanRegion(ctx context.Context, o *Options, factory *awsclient.Factory, scope awsclient.Scope, pol policy.Policy, obs *loggroup.Observer,
	onFamily func(), emit func(Row) error, sum *Summary) error {
	region := cmp.Or(scope.Region, factory.Region())
	client, err := factory.ECS(scope)
	if err != nil {
		return err
	}
	var exposure *exposure
	if o.consumers {
		if exposure, err = newExposure(ctx, factory, scope, client, pol); err != nil {
			return fmt.Errorf("list the consumers: %w", err)
		}
	}
	_, err = inventory.Walk(ctx, client, inventory.Options{FamilyPrefix: o.familyPrefix}, func(it inventory.Item) error {
		onFamily()
		if it.Err != nil && FatalAWS(it.Err) {
			return it.Err
		}
		row := scanRow(ctx, obs, scope.RoleARN, region, it, pol)
		if exposure != nil && it.Err == nil {
			cs, err := exposure.of(ctx, row, it.TaskDefinition)
			if err != nil && FatalAWS(err) {
				return err
			}
			if err != nil {
				row.Error = explain.FirstLine(explain.AWS(err).Error())
			}
			row.Consumers = cs
			sum.Exposed += len(cs)
		}
		sum.count(row)
		if row.Verdict == VerdictCompliant && !o.showCompliant && len(row.Consumers) == 0 {
			return nil
		}
		return emit(row)
	})
	return err
}

// failed records that region was not scanned because of err, and returns
// the row that says so.
func (s *Summary) failed(region string, err error) Row {
	reason := explain.FirstLine(explain.AWS(err).Error())
	s.FailedRegions = append(s.FailedRegions, region+": "+reason)
	return Row{Region: region, Verdict: VerdictError, Action: ActionNone, Error: "region not scanned: " + reason}
}

// count adds one row.
func (s *Summary) count(row Row) {
	s.Families++
	if row.Action == ActionBlocked {
		s.Blocked++
	}
	switch row.Verdict {
	case VerdictCompliant:
		s.Compliant++
	case VerdictNonCompliant:
		s.NonCompliant++
	case VerdictExempt:
		s.Exempt++
	case VerdictError:
		s.Errors++
	}
}

// Exit is scan's exit status.
func (s Summary) Exit() error {
	switch {
	case len(s.FailedRegions) > 0:
		return &command.ExitStatus{Code: command.ExitError, Err: fmt.Errorf("scan incomplete, not scanned: %s", strings.Join(s.FailedRegions, "; "))}
	case s.Errors > 0:
		return &command.ExitStatus{Code: command.ExitError, Err: fmt.Errorf("scan incomplete: %d families could not be described", s.Errors)}
	case s.NonCompliant > 0 || s.Exposed > 0:
		return command.ErrViolations
	}
	return nil
}

// String is the one-line summary scan prints.
func (s Summary) String() string {
	rate := ""
	if secs := s.Elapsed.Seconds(); secs > 0 && s.Families > 0 {
		rate = fmt.Sprintf(" (%.1f families/s)", float64(s.Families)/secs)
	}
	failed := ""
	if n := len(s.FailedRegions); n > 0 {
		failed = fmt.Sprintf(", %d region(s) not scanned", n)
	}
	exposed := ""
	if s.consumers {
		exposed = fmt.Sprintf("; %d consumers run a non-compliant revision", s.Exposed)
	}
	return fmt.Sprintf("%d families in %d region(s): %d compliant, %d non-compliant, %d exempt, %d errors%s%s%s",
		s.Families, s.Regions, s.Compliant, s.NonCompliant, s.Exempt, s.Errors, failed, exposed, rate)
}

// exposure finds, per family, the consumers that run a non-compliant
// revision: the account-region's consumers are listed once, and each
// older revision a consumer runs is read and judged once.
type exposure struct {
	ecs      ECS
	pol      policy.Policy
	byFamily map[string][]workflow.Consumer
	verdicts map[string]bool // revision ARN → non-compliant
}

// ECS is the ECS API scan --consumers reads older revisions with.
type ECS interface {
	DescribeTaskDefinition(ctx context.Context, in *ecs.DescribeTaskDefinitionInput, optFns ...func(*ecs.Options)) (*ecs.DescribeTaskDefinitionOutput, error)
}

func newExposure(ctx context.Context, factory *awsclient.Factory, scope awsclient.Scope, client ECS, pol policy.Policy) (*exposure, error) {
	cc := command.ConsumerClients(factory, scope)
	if cc == nil {
		return nil, fmt.Errorf("no clients for %s", cmp.Or(scope.Region, factory.Region()))
	}
	all, err := consumer.List(ctx, *cc, "")
	if err != nil {
		return nil, err
	}
	e := &exposure{ecs: client, pol: pol, byFamily: map[string][]workflow.Consumer{}, verdicts: map[string]bool{}}
	for _, c := range all {
		if ref, err := taskdef.ParseRef(c.TaskDefinition); err == nil {
			e.byFamily[ref.Family] = append(e.byFamily[ref.Family], c)
		}
	}
	return e, nil
}

// of returns the consumers of row's family that run a non-compliant (and
// not exempt) revision; latest is the revision the row judged.
func (e *exposure) of(ctx context.Context, row Row, latest *types.TaskDefinition) ([]workflow.Consumer, error) {
	e.verdicts[row.TaskDefinitionARN] = row.Verdict == VerdictNonCompliant
	var out []workflow.Consumer
	for _, c := range e.byFamily[row.Family] {
		arn := c.TaskDefinition
		if c.Revision == 0 {
			arn = aws.ToString(latest.TaskDefinitionArn) // it runs the latest ACTIVE revision
		}
		bad, ok := e.verdicts[arn]
		if !ok {
			d, err := e.ecs.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String(arn), Include: []types.TaskDefinitionField{types.TaskDefinitionFieldTags}})
			if err != nil {
				return out, fmt.Errorf("describe %s (run by %s): %w", arn, c.ARN, err)
			}
			ev := e.pol.Evaluate(d.TaskDefinition, d.Tags)
			bad = !ev.Compliant && !ev.Exempt
			e.verdicts[arn] = bad
		}
		if bad {
			out = append(out, c)
		}
	}
	return out, nil
}

// scanRow evaluates one inventory item of region, read through role
// (empty: the caller's credentials).
func scanRow(ctx context.Context, obs *loggroup.Observer, role, region string, it inventory.Item, pol policy.Policy) Row {
	if it.Err != nil {
		return Row{Region: region, Family: it.Family, Verdict: VerdictError, Action: ActionNone, Error: explain.FirstLine(explain.AWS(it.Err).Error())}
	}
	row, _ := judgeAs(ctx, obs, role, region, it.TaskDefinition, it.Tags, pol)
	return row
}

// Judge is the one evaluation path of scan and fix: plan.BuildWith (which
// evaluates the policy once) with the live facts obs reads — whether each
// log group of the revision the plan leads to exists, the account's log
// driver mode when the policy needs it — as a row and the plan.
func Judge(ctx context.Context, obs *loggroup.Observer, region string, td *types.TaskDefinition, tags []types.Tag, pol policy.Policy) (Row, plan.Plan) {
	return judgeAs(ctx, obs, "", region, td, tags, pol)
}

// judgeAs is Judge with the live facts read through role (empty: the
// caller's credentials), as scan --organization reads a member account.
func judgeAs(ctx context.Context, obs *loggroup.Observer, role, region string, td *types.TaskDefinition, tags []types.Tag, pol policy.Policy) (Row, plan.Plan) {
	row := Row{Region: region, Family: aws.ToString(td.Family), Revision: td.Revision, TaskDefinitionARN: aws.ToString(td.TaskDefinitionArn)}
	pc := contextOf(td, region)
	p, err := obs.Plan(ctx, workflow.Target{Account: pc.Account, Region: pc.Region, RoleARN: role}, td, tags, pol, pc, true)
	var observe *loggroup.ObserveError
	switch {
	case errors.As(err, &observe):
		row.Verdict, row.Action, row.Error = VerdictError, ActionNone, fmt.Sprintf("read the log groups of %s: %s", row.Family, explain.FirstLine(explain.AWS(err).Error()))
		return row, p
	case err != nil:
		row.Verdict, row.Action, row.Error = VerdictError, ActionNone, fmt.Sprintf("plan %s: %v", row.Family, err)
		return row, p
	}
	row.Verdict, row.Action = p.Verdict(), p.Remedy()
	for _, c := range p.Containers {
		if len(c.Reasons) > 0 {
			row.Containers = append(row.Containers, ContainerReport{Name: c.Name, Compliant: false, Reasons: c.Reasons, Keys: c.Keys})
		}
	}
	for _, b := range p.Blockers {
		row.Blockers = append(row.Blockers, b.Code)
	}
	return row, p
}

// contextOf is the plan context of td: its ARN's, else the region
// scanned; exemptions are judged on today.
func contextOf(td *types.TaskDefinition, region string) plan.Context {
	today := time.Now()
	if arn, err := taskdef.ParseARN(aws.ToString(td.TaskDefinitionArn)); err == nil {
		return plan.Context{Partition: arn.Partition, Account: arn.Account, Region: arn.Region, Today: today}
	}
	return plan.Context{Partition: "aws", Region: region, Today: today}
}

// consumersString is the CSV form of consumers: KIND:ARN@REVISION, space
// separated (revision 0: the family's latest).
func consumersString(cs []workflow.Consumer) string {
	parts := make([]string, 0, len(cs))
	for _, c := range cs {
		parts = append(parts, fmt.Sprintf("%s:%s@%d", c.Kind, c.ARN, c.Revision))
	}
	return strings.Join(parts, " ")
}

// FatalAWS reports errors that will fail every call the same way, so
// going on family by family is pointless.
func FatalAWS(err error) bool { return awserr.AuthOf(err) != awserr.AuthNone }

// Table renders scan's rows: text is a table.
var Table = output.Table[Row]{
	Columns: []string{"region", "family", "revision", "taskDefinitionArn", "verdict", "action", "reasons", "blockers", "error", "consumers"},
	Row: func(r Row) []string {
		return []string{r.Region, r.Family, RevString(r.Revision), r.TaskDefinitionARN, string(r.Verdict), string(r.Action),
			ReasonsString(r.Containers), strings.Join(r.Blockers, " "), r.Error, consumersString(r.Consumers)}
	},
	Header: "REGION\tFAMILY\tREV\tVERDICT\tACTION\tREASONS",
	Text: func(w io.Writer, r Row, _ int) {
		detail := ReasonsString(r.Containers)
		if len(r.Blockers) > 0 {
			detail += " [" + strings.Join(r.Blockers, ",") + "]"
		}
		if n := len(r.Consumers); n > 0 {
			detail += fmt.Sprintf(" (run by %d consumer(s) of non-compliant revisions)", n)
		}
		if r.Error != "" {
			detail = r.Error
		}
		// Names and errors come from the account: escaped, so that a tab or
		// a line break cannot shift a column or forge a row.
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\n", escape.Text(r.Region), escape.Text(r.Family), RevString(r.Revision), r.Verdict, r.Action,
			escape.Text(strings.TrimSpace(detail)))
	},
}

// RevString is a revision as a CSV or table cell: empty when unknown.
func RevString(r int32) string {
	if r == 0 {
		return ""
	}
	return strconv.Itoa(int(r))
}

// ReasonsString renders "container: CODE,CODE; other: CODE" for the
// containers that are not compliant.
func ReasonsString(cs []ContainerReport) string {
	parts := make([]string, 0, len(cs))
	for _, c := range cs {
		if c.Compliant {
			continue
		}
		codes := make([]string, len(c.Reasons))
		for i, r := range c.Reasons {
			codes[i] = string(r)
		}
		parts = append(parts, c.Name+": "+strings.Join(codes, ","))
	}
	return strings.Join(parts, "; ")
}
