package cli

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"

	"github.com/ecslogfix/ecslogfix/internal/awsclient"
	"github.com/ecslogfix/ecslogfix/internal/awserr"
	"github.com/ecslogfix/ecslogfix/internal/escape"
	"github.com/ecslogfix/ecslogfix/internal/inventory"
	"github.com/ecslogfix/ecslogfix/internal/plan"
	"github.com/ecslogfix/ecslogfix/internal/policy"
	"github.com/ecslogfix/ecslogfix/internal/taskdef"
)

// Row verdicts and actions as scan and fix print them: the plan's own
// vocabulary (plan.Verdict, plan.Remedy), and ERROR for a family that could
// not be described.
const (
	VerdictExempt               = plan.VerdictExempt
	VerdictError   plan.Verdict = "ERROR"
	ActionNone                  = plan.RemedyNone
	ActionRegister              = plan.RemedyRegister
	ActionBlocked               = plan.RemedyBlocked
	ActionReport                = plan.RemedyReport
)

// ScanRow is one family in scan's output. The JSON and CSV field names are
// part of the documented, stable output.
type ScanRow struct {
	Region            string            `json:"region"`
	Family            string            `json:"family"`
	Revision          int32             `json:"revision,omitempty"`
	TaskDefinitionARN string            `json:"taskDefinitionArn,omitempty"`
	Verdict           plan.Verdict      `json:"verdict"`
	Action            plan.Remedy       `json:"action"`
	Containers        []ContainerReport `json:"containers,omitempty"` // the non-compliant ones
	Blockers          []string          `json:"blockers,omitempty"`
	Error             string            `json:"error,omitempty"`
}

// ScanSummary counts what a scan saw.
type ScanSummary struct {
	Regions      int
	Families     int
	Compliant    int
	NonCompliant int
	Exempt       int
	Errors       int
	// FailedRegions are the regions whose listing failed, with the
	// reason (a row each too): what they hold is not in the output.
	FailedRegions []string
	Elapsed       time.Duration
}

// scanOptions is scan's command line.
type scanOptions struct {
	f             *factory
	output        Format
	familyPrefix  string
	showCompliant bool
	readRate      float64
}

// newCmdScan builds scan; runF, when set, runs instead of runScan.
func newCmdScan(f *factory, runF func(*scanOptions) error) *cobra.Command {
	o := &scanOptions{f: f}
	cmd := &cobra.Command{
		Use:   "scan [flags]",
		Short: "Evaluate the latest ACTIVE revision of every task definition family (read-only)",
		Long: `scan lists every ACTIVE task definition family in each region, evaluates
its latest ACTIVE revision against the policy, and prints the families that
are not compliant, with the reason codes and what fix would do (action
REGISTER, BLOCKED, or REPORT for changes a human must make), then a summary.

It only reads: ListTaskDefinitionFamilies and DescribeTaskDefinition, at
--read-rate calls per second (default 10, half of ECS's shared read bucket),
with adaptive retries on throttling.

Exit status: 0 when every family is compliant or exempt, 1 when any is not,
2 on errors (including families that could not be described).`,
		Example: `  # Everything in the profile's region
  ecslogfix scan

  # Two regions, one team's families, as CSV for a spreadsheet
  ecslogfix scan --region us-east-1 --region eu-west-1 --family-prefix payments- --output csv > scan.csv

  # Every family, compliant ones too, as JSON
  ecslogfix scan --show-compliant --output json | jq '.[] | select(.action == "BLOCKED")'`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if !awsclient.ValidReadRate(o.readRate) {
				return usagef(cmd, "--read-rate must be more than 0 and at most %g reads per second", awsclient.MaxReadRate)
			}
			if runF != nil {
				return runF(o)
			}
			return runScan(cmd.Context(), o)
		},
	}
	addOutputFlag(cmd, &o.output)
	fl := cmd.Flags()
	fl.StringVar(&o.familyPrefix, "family-prefix", "", "only families whose name starts with this")
	fl.BoolVar(&o.showCompliant, "show-compliant", false, "list compliant families too")
	fl.Float64Var(&o.readRate, "read-rate", awsclient.DefaultReadRate, "ECS read calls per second, per region")
	return cmd
}

// runScan prints scan's rows as they come, then the summary.
func runScan(ctx context.Context, o *scanOptions) error {
	return stream(o.f, o.output, scanTable, func(emit func(ScanRow) error) (ScanSummary, error) { return scan(ctx, o, emit) })
}

// scan judges every family of every region and hands each row to emit
// (compliant ones only with --show-compliant), as it comes.
func scan(ctx context.Context, o *scanOptions, emit func(ScanRow) error) (ScanSummary, error) {
	pol, err := o.f.loadPolicy()
	if err != nil {
		return ScanSummary{}, err
	}
	regions := o.f.regions
	if len(regions) == 0 {
		regions = []string{""} // the profile's or environment's region
	}
	var bar *progressbar.ProgressBar
	if o.f.IsTerminal(o.f.Stderr) {
		bar = progressbar.NewOptions(-1,
			progressbar.OptionSetWriter(o.f.Stderr),
			progressbar.OptionSetDescription("scanning"),
			progressbar.OptionShowCount(),
			progressbar.OptionShowIts(),
			progressbar.OptionSetItsString("families"),
			progressbar.OptionSpinnerType(14),
			progressbar.OptionClearOnFinish(),
		)
	}
	sum := ScanSummary{Regions: len(regions)}
	start := time.Now()
	for _, region := range regions {
		factory, err := o.f.clients(ctx, &o.f.globals, region, awsclient.Options{ReadRate: o.readRate})
		if err != nil {
			return sum, err
		}
		client, err := factory.ECS(awsclient.Scope{})
		if err != nil {
			return sum, err
		}
		if bar != nil {
			bar.Describe("scanning " + factory.Region())
		}
		_, err = inventory.Walk(ctx, client, inventory.Options{FamilyPrefix: o.familyPrefix}, func(it inventory.Item) error {
			if bar != nil {
				_ = bar.Add(1)
			}
			if it.Err != nil && fatalAWS(it.Err) {
				return it.Err
			}
			row := scanRow(factory.Region(), it, pol)
			sum.count(row.Verdict)
			if row.Verdict == VerdictCompliant && !o.showCompliant {
				return nil
			}
			return emit(row)
		})
		if err != nil {
			// The rows of the other regions stand; this region's gap is a
			// row with the reason, and the exit status says so.
			if ctx.Err() != nil {
				return sum, ctx.Err()
			}
			reason := firstLine(explain(err).Error())
			sum.FailedRegions = append(sum.FailedRegions, factory.Region()+": "+reason)
			row := ScanRow{Region: factory.Region(), Verdict: VerdictError, Action: ActionNone, Error: "region not scanned: " + reason}
			if err := emit(row); err != nil {
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

// count adds one row of verdict v.
func (s *ScanSummary) count(v plan.Verdict) {
	s.Families++
	switch v {
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

// exit is scan's exit status.
func (s ScanSummary) exit() error {
	switch {
	case len(s.FailedRegions) > 0:
		return &exitError{code: ExitError, err: fmt.Errorf("scan incomplete, not scanned: %s", strings.Join(s.FailedRegions, "; "))}
	case s.Errors > 0:
		return &exitError{code: ExitError, err: fmt.Errorf("scan incomplete: %d families could not be described", s.Errors)}
	case s.NonCompliant > 0:
		return errViolations
	}
	return nil
}

// String is the one-line summary scan prints.
func (s ScanSummary) String() string {
	rate := ""
	if secs := s.Elapsed.Seconds(); secs > 0 && s.Families > 0 {
		rate = fmt.Sprintf(" (%.1f families/s)", float64(s.Families)/secs)
	}
	failed := ""
	if n := len(s.FailedRegions); n > 0 {
		failed = fmt.Sprintf(", %d region(s) not scanned", n)
	}
	return fmt.Sprintf("%d families in %d region(s): %d compliant, %d non-compliant, %d exempt, %d errors%s%s",
		s.Families, s.Regions, s.Compliant, s.NonCompliant, s.Exempt, s.Errors, failed, rate)
}

// scanRow evaluates one inventory item.
func scanRow(region string, it inventory.Item, pol policy.Policy) ScanRow {
	if it.Err != nil {
		return ScanRow{Region: region, Family: it.Family, Verdict: VerdictError, Action: ActionNone, Error: firstLine(explain(it.Err).Error())}
	}
	row, _ := judge(region, it.TaskDefinition, it.Tags, pol)
	return row
}

// judge is the one evaluation path of scan and fix: plan.Build (which
// evaluates the policy once), as a row and the plan.
func judge(region string, td *types.TaskDefinition, tags []types.Tag, pol policy.Policy) (ScanRow, plan.Plan) {
	row := ScanRow{Region: region, Family: aws.ToString(td.Family), Revision: td.Revision, TaskDefinitionARN: aws.ToString(td.TaskDefinitionArn)}
	p, err := plan.Build(td, tags, pol, contextOf(td, region))
	if err != nil {
		row.Verdict, row.Action, row.Error = VerdictError, ActionNone, fmt.Sprintf("plan %s: %v", row.Family, err)
		return row, p
	}
	row.Verdict, row.Action = p.Verdict(), p.Remedy()
	for _, f := range p.Findings() {
		row.Containers = append(row.Containers, ContainerReport{Name: f.Container, Compliant: false, Reasons: f.Reasons})
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

// fatalAWS reports errors that will fail every call the same way, so
// going on family by family is pointless.
func fatalAWS(err error) bool { return awserr.AuthOf(err) != awserr.AuthNone }

// scanTable renders scan's rows: text is a table.
var scanTable = table[ScanRow]{
	columns: []string{"region", "family", "revision", "taskDefinitionArn", "verdict", "action", "reasons", "blockers", "error"},
	row: func(r ScanRow) []string {
		return []string{r.Region, r.Family, revString(r.Revision), r.TaskDefinitionARN, string(r.Verdict), string(r.Action),
			reasonsString(r.Containers), strings.Join(r.Blockers, " "), r.Error}
	},
	header: "REGION\tFAMILY\tREV\tVERDICT\tACTION\tREASONS",
	text: func(w io.Writer, r ScanRow, _ int) {
		detail := reasonsString(r.Containers)
		if len(r.Blockers) > 0 {
			detail += " [" + strings.Join(r.Blockers, ",") + "]"
		}
		if r.Error != "" {
			detail = r.Error
		}
		// Names and errors come from the account: escaped, so that a tab or
		// a line break cannot shift a column or forge a row.
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\n", escape.Text(r.Region), escape.Text(r.Family), revString(r.Revision), r.Verdict, r.Action,
			escape.Text(strings.TrimSpace(detail)))
	},
}
