package cli

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/spf13/cobra"

	"github.com/ecslogfix/ecslogfix/internal/awsclient"
	"github.com/ecslogfix/ecslogfix/internal/cli/command"
	"github.com/ecslogfix/ecslogfix/internal/cli/explain"
	"github.com/ecslogfix/ecslogfix/internal/cli/output"
	"github.com/ecslogfix/ecslogfix/internal/history"
	"github.com/ecslogfix/ecslogfix/internal/report"
)

// reportOptions is report's command line.
type reportOptions struct {
	f        *command.Factory
	output   output.Format
	history  string
	month    string
	from, to string
	out      string
	region   string
	period   history.Period
	now      func() time.Time
}

// newCmdReport builds report; runF, when set, runs instead of runReport.
func newCmdReport(f *command.Factory, runF func(*reportOptions) error) *cobra.Command {
	o := &reportOptions{f: f, now: time.Now}
	cmd := &cobra.Command{
		Use:   "report --history s3://BUCKET[/PREFIX]|DIR [--month YYYY-MM | --from YYYY-MM-DD --to YYYY-MM-DD] [-o html] [--out FILE]",
		Short: "The compliance report from the history: coverage, states, exemptions, time to remediation",
		Long: `report reads the history ecslogfix keeps (the stack's history bucket, or a
directory holding a copy of it, e.g. from aws s3 sync) and reports, per
account and region, which sweep covered it and when, how many families are
in each state, the open exemptions with their end dates, the mean time from
registration to remediation, the families still not compliant, and how the
controls map to PCI DSS, ISO/IEC 27001, SOC 2, NIS2, BSI C5 and the CIS
Controls. -o html writes one self-contained page (charts as inline SVG,
printable); csv one row per family; json the whole report.

Exit status: 0 when no family is left non-compliant, 1 otherwise, 2 on
errors.`,
		Example: `  # Last month's report as a page for the auditors
  ecslogfix report --history s3://ecslogfix-history-111122223333-eu-west-1 --month 2026-11 -o html --out report.html

  # Every family's state from a local copy, for a spreadsheet
  ecslogfix report --history ./history-copy -o csv`,
		Args: command.UsageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			p, err := reportPeriod(o.month, o.from, o.to)
			if err != nil {
				return command.Usagef(cmd, "%v", err)
			}
			o.period = p
			return command.RunInRegion(cmd, &f.Globals, &o.region, o, runF, func(o *reportOptions) error { return runReport(cmd, o) })
		},
	}
	output.AddDocumentFlag(cmd, &o.output)
	fl := cmd.Flags()
	fl.StringVar(&o.history, "history", "", "the history: s3://BUCKET[/PREFIX] or a directory holding a copy of it")
	fl.StringVar(&o.month, "month", "", "the month to report, YYYY-MM (default: the whole history)")
	fl.StringVar(&o.from, "from", "", "the first day to report, YYYY-MM-DD")
	fl.StringVar(&o.to, "to", "", "the last day to report, YYYY-MM-DD")
	fl.StringVar(&o.out, "out", "", "write the report to this file instead of standard output")
	_ = cmd.MarkFlagRequired("history")
	cmd.MarkFlagsMutuallyExclusive("month", "from")
	cmd.MarkFlagsMutuallyExclusive("month", "to")
	return cmd
}

// reportPeriod reads --month or --from/--to.
func reportPeriod(month, from, to string) (history.Period, error) {
	var p history.Period
	if month != "" {
		m, err := time.Parse("2006-01", month)
		if err != nil {
			return p, fmt.Errorf("--month %q is not YYYY-MM", month)
		}
		return history.Period{From: m, To: m.AddDate(0, 1, -1)}, nil
	}
	for _, x := range []struct {
		flag, v string
		t       *time.Time
	}{{"--from", from, &p.From}, {"--to", to, &p.To}} {
		if x.v == "" {
			continue
		}
		d, err := time.Parse(time.DateOnly, x.v)
		if err != nil {
			return p, fmt.Errorf("%s %q is not YYYY-MM-DD", x.flag, x.v)
		}
		*x.t = d
	}
	if !p.From.IsZero() && !p.To.IsZero() && p.To.Before(p.From) {
		return p, fmt.Errorf("--to %s is before --from %s", to, from)
	}
	return p, nil
}

// runReport reads the history, builds the report and renders it.
func runReport(cmd *cobra.Command, o *reportOptions) error {
	recs, err := readHistory(cmd.Context(), o.f, o.region, o.history, o.period)
	if err != nil {
		return fmt.Errorf("report: %w", err)
	}
	r := report.Build(recs, o.period, o.now())
	var w io.Writer = o.f.Stdout
	var file *os.File
	if o.out != "" {
		if file, err = os.Create(o.out); err != nil {
			return fmt.Errorf("report: %w", err)
		}
		w = file
	}
	err = output.RenderDocument(w, o.f.Stderr, o.output, report.Columns, r)
	if file != nil {
		err = cmp.Or(err, file.Close())
	}
	if err != nil {
		return fmt.Errorf("report: %w", err)
	}
	if o.out != "" {
		fmt.Fprintf(o.f.Stderr, "report: %d decisions, %d families, %d not compliant: %s\n", r.Records, len(r.Families), len(r.NonCompliant), o.out)
	}
	if len(r.NonCompliant) > 0 {
		return command.ErrViolations
	}
	return nil
}

// readHistory reads the records of p from an s3:// location or a local
// copy of one.
func readHistory(ctx context.Context, f *command.Factory, region, where string, p history.Period) ([]history.Record, error) {
	if st, err := os.Stat(where); err == nil && st.IsDir() {
		return history.ReadDir(where, p)
	}
	loc, err := history.ParseLocation(where)
	if err != nil {
		return nil, fmt.Errorf("%w (or a directory holding a copy of one)", err)
	}
	factory, err := f.Clients(ctx, region, awsclient.Options{})
	if err != nil {
		return nil, err
	}
	cfg, err := factory.Config(awsclient.Scope{})
	if err != nil {
		return nil, err
	}
	recs, err := history.ReadS3(ctx, s3.NewFromConfig(cfg), loc, p)
	if err != nil {
		return nil, explain.AWS(err)
	}
	return recs, nil
}
