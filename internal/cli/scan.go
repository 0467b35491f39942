package cli

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/smithy-go"
	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"

	"github.com/ecslogfix/ecslogfix/internal/inventory"
	"github.com/ecslogfix/ecslogfix/internal/plan"
	"github.com/ecslogfix/ecslogfix/internal/policy"
	"github.com/ecslogfix/ecslogfix/internal/taskdef"
)

// Row verdicts that scan adds to COMPLIANT and NON_COMPLIANT.
const (
	VerdictExempt = "EXEMPT" // not compliant, but the exemption tag is set
	VerdictError  = "ERROR"  // the family could not be described
)

// Plan actions as scan and fix print them.
const (
	ActionNone     = "NONE"     // compliant or exempt
	ActionRegister = "REGISTER" // fix would register a compliant revision
	ActionBlocked  = "BLOCKED"  // the plan has blockers: a human must act
	ActionReport   = "REPORT"   // not compliant, nothing ecslogfix may change (e.g. FireLens)
)

// ScanRow is one family in scan's output. The JSON and CSV field names are
// part of the documented, stable output.
type ScanRow struct {
	Region            string            `json:"region"`
	Family            string            `json:"family"`
	Revision          int32             `json:"revision,omitempty"`
	TaskDefinitionARN string            `json:"taskDefinitionArn,omitempty"`
	Verdict           string            `json:"verdict"`
	Action            string            `json:"action"`
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
	Elapsed      time.Duration
}

type scanOptions struct {
	output        string
	familyPrefix  string
	showCompliant bool
	readRate      float64
}

func (a *App) scanCommand(g *globals) *cobra.Command {
	o := &scanOptions{}
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
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			switch o.output {
			case "table", "json", "csv":
			default:
				return usagef(cmd, "--output must be table, json or csv, not %q", o.output)
			}
			if o.readRate <= 0 {
				return usagef(cmd, "--read-rate must be positive")
			}
			pol, err := a.loadPolicy(g)
			if err != nil {
				return err
			}
			return a.runScan(cmd.Context(), g, o, pol)
		},
	}
	f := cmd.Flags()
	f.StringVarP(&o.output, "output", "o", "table", "output format: table, json or csv")
	f.StringVar(&o.familyPrefix, "family-prefix", "", "only families whose name starts with this")
	f.BoolVar(&o.showCompliant, "show-compliant", false, "list compliant families too")
	f.Float64Var(&o.readRate, "read-rate", inventory.DefaultReadRate, "ECS read calls per second, per region")
	return cmd
}

func (a *App) runScan(ctx context.Context, g *globals, o *scanOptions, pol policy.Policy) error {
	regions := g.regions
	if len(regions) == 0 {
		regions = []string{""} // the profile's or environment's region
	}
	out := a.Stdout
	sink, err := newRowSink(out, o.output)
	if err != nil {
		return err
	}
	var bar *progressbar.ProgressBar
	if a.IsTerminal(a.Stderr) {
		bar = progressbar.NewOptions(-1,
			progressbar.OptionSetWriter(a.Stderr),
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
		cfg, err := a.awsConfig(ctx, g, region)
		if err != nil {
			return err
		}
		client := ecs.NewFromConfig(cfg)
		if bar != nil {
			bar.Describe("scanning " + cfg.Region)
		}
		_, err = inventory.Walk(ctx, client, inventory.Options{FamilyPrefix: o.familyPrefix, ReadRate: o.readRate}, func(it inventory.Item) error {
			if bar != nil {
				_ = bar.Add(1)
			}
			if it.Err != nil && fatalAWS(it.Err) {
				return it.Err
			}
			row := scanRow(cfg.Region, it, pol)
			sum.Families++
			switch row.Verdict {
			case VerdictCompliant:
				sum.Compliant++
			case VerdictNonCompliant:
				sum.NonCompliant++
			case VerdictExempt:
				sum.Exempt++
			case VerdictError:
				sum.Errors++
			}
			if row.Verdict == VerdictCompliant && !o.showCompliant {
				return nil
			}
			return sink.write(row)
		})
		if err != nil {
			return fmt.Errorf("scan %s: %w", cfg.Region, explain(err))
		}
	}
	sum.Elapsed = time.Since(start)
	if bar != nil {
		_ = bar.Finish()
	}
	if err := sink.close(); err != nil {
		return err
	}
	summaryTo := a.Stderr
	if o.output == "table" {
		summaryTo = out
		fmt.Fprintln(out)
	}
	fmt.Fprintln(summaryTo, sum.String())
	switch {
	case sum.Errors > 0:
		return &exitError{code: ExitError, err: fmt.Errorf("scan incomplete: %d families could not be described", sum.Errors)}
	case sum.NonCompliant > 0:
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
	return fmt.Sprintf("%d families in %d region(s): %d compliant, %d non-compliant, %d exempt, %d errors%s",
		s.Families, s.Regions, s.Compliant, s.NonCompliant, s.Exempt, s.Errors, rate)
}

// scanRow evaluates one inventory item.
func scanRow(region string, it inventory.Item, pol policy.Policy) ScanRow {
	row := ScanRow{Region: region, Family: it.Family}
	if it.Err != nil {
		row.Verdict, row.Action, row.Error = VerdictError, ActionNone, firstLine(explain(it.Err).Error())
		return row
	}
	td := it.TaskDefinition
	row.Revision = td.Revision
	row.TaskDefinitionARN = aws.ToString(td.TaskDefinitionArn)
	ev, p, err := assess(td, it.Tags, pol, contextOf(td, region))
	if err != nil {
		row.Verdict, row.Action, row.Error = VerdictError, ActionNone, err.Error()
		return row
	}
	row.Verdict = rowVerdict(ev)
	row.Action = action(ev, p)
	for _, c := range ev.Containers {
		if !c.Compliant {
			row.Containers = append(row.Containers, ContainerReport{Name: c.Name, Compliant: false, Reasons: c.Reasons})
		}
	}
	for _, b := range p.Blockers {
		row.Blockers = append(row.Blockers, b.Code)
	}
	return row
}

// assess is the one evaluation path of scan and fix: policy.Evaluate and plan.Build.
func assess(td *types.TaskDefinition, tags []types.Tag, pol policy.Policy, c plan.Context) (policy.Evaluation, plan.Plan, error) {
	ev := pol.Evaluate(td, tags)
	p, err := plan.Build(td, tags, pol, c)
	if err != nil {
		return ev, p, fmt.Errorf("plan %s: %w", aws.ToString(td.Family), err)
	}
	return ev, p, nil
}

// contextOf is the plan context of td: its ARN's, else the region scanned.
func contextOf(td *types.TaskDefinition, region string) plan.Context {
	if arn, err := taskdef.ParseARN(aws.ToString(td.TaskDefinitionArn)); err == nil {
		return plan.Context{Partition: arn.Partition, Account: arn.Account, Region: arn.Region}
	}
	return plan.Context{Partition: "aws", Region: region}
}

func rowVerdict(ev policy.Evaluation) string {
	switch {
	case ev.Compliant:
		return VerdictCompliant
	case ev.Exempt:
		return VerdictExempt
	}
	return VerdictNonCompliant
}

func action(ev policy.Evaluation, p plan.Plan) string {
	switch {
	case ev.Compliant || ev.Exempt:
		return ActionNone
	case p.Blocked():
		return ActionBlocked
	case p.NeedsChange():
		return ActionRegister
	}
	return ActionReport
}

// fatalAWS reports errors that will fail every call the same way, so
// going on family by family is pointless.
func fatalAWS(err error) bool {
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		return false
	}
	switch ae.ErrorCode() {
	case "AccessDeniedException", "AccessDenied", "UnrecognizedClientException", "InvalidClientTokenId",
		"InvalidSignatureException", "ExpiredToken", "ExpiredTokenException":
		return true
	}
	return false
}

// rowSink writes rows as they come: JSON as one streamed array, CSV with
// a header, table aligned at the end (it holds only the rows it prints).
type rowSink struct {
	format string
	out    io.Writer
	csv    *csv.Writer
	tab    *tabwriter.Writer
	n      int
}

func newRowSink(out io.Writer, format string) (*rowSink, error) {
	s := &rowSink{format: format, out: out}
	switch format {
	case "csv":
		s.csv = csv.NewWriter(out)
		if err := s.csv.Write([]string{"region", "family", "revision", "taskDefinitionArn", "verdict", "action", "reasons", "blockers", "error"}); err != nil {
			return nil, err
		}
	case "table":
		s.tab = tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
		fmt.Fprintln(s.tab, "REGION\tFAMILY\tREV\tVERDICT\tACTION\tREASONS")
	}
	return s, nil
}

func (s *rowSink) write(r ScanRow) error {
	defer func() { s.n++ }()
	switch s.format {
	case "json":
		b, err := json.MarshalIndent(r, "  ", "  ")
		if err != nil {
			return err
		}
		sep := ",\n  "
		if s.n == 0 {
			sep = "[\n  "
		}
		_, err = fmt.Fprintf(s.out, "%s%s", sep, b)
		return err
	case "csv":
		return s.csv.Write([]string{r.Region, r.Family, revString(r.Revision), r.TaskDefinitionARN, r.Verdict, r.Action,
			reasonsString(r.Containers), strings.Join(r.Blockers, " "), r.Error})
	default:
		detail := reasonsString(r.Containers)
		if len(r.Blockers) > 0 {
			detail += " [" + strings.Join(r.Blockers, ",") + "]"
		}
		if r.Error != "" {
			detail = r.Error
		}
		_, err := fmt.Fprintf(s.tab, "%s\t%s\t%s\t%s\t%s\t%s\n", r.Region, r.Family, revString(r.Revision), r.Verdict, r.Action, strings.TrimSpace(detail))
		return err
	}
}

func (s *rowSink) close() error {
	switch s.format {
	case "json":
		closing := "\n]\n"
		if s.n == 0 {
			closing = "[]\n"
		}
		_, err := io.WriteString(s.out, closing)
		return err
	case "csv":
		s.csv.Flush()
		return s.csv.Error()
	default:
		return s.tab.Flush()
	}
}

func revString(r int32) string {
	if r == 0 {
		return ""
	}
	return strconv.Itoa(int(r))
}

// reasonsString renders "container: CODE,CODE; other: CODE".
func reasonsString(cs []ContainerReport) string {
	parts := make([]string, 0, len(cs))
	for _, c := range cs {
		codes := make([]string, len(c.Reasons))
		for i, r := range c.Reasons {
			codes[i] = string(r)
		}
		parts = append(parts, c.Name+": "+strings.Join(codes, ","))
	}
	return strings.Join(parts, "; ")
}
