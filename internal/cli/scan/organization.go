package scan

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/organizations"
	"github.com/spf13/cobra"

	"github.com/ecslogfix/ecslogfix/internal/awsarn"
	"github.com/ecslogfix/ecslogfix/internal/awsclient"
	"github.com/ecslogfix/ecslogfix/internal/cli/command"
	"github.com/ecslogfix/ecslogfix/internal/cli/explain"
	"github.com/ecslogfix/ecslogfix/internal/cli/output"
	"github.com/ecslogfix/ecslogfix/internal/config"
	"github.com/ecslogfix/ecslogfix/internal/config/naming"
	"github.com/ecslogfix/ecslogfix/internal/coverage"
	"github.com/ecslogfix/ecslogfix/internal/escape"
	"github.com/ecslogfix/ecslogfix/internal/loggroup"
	"github.com/ecslogfix/ecslogfix/internal/orgscan"
	"github.com/ecslogfix/ecslogfix/internal/policy"
)

// orgOptions are scan's --organization flags.
type orgOptions struct {
	enabled     bool
	role        string
	ous         []string
	concurrency int
}

// addOrgFlags adds --organization and the flags that go with it.
func addOrgFlags(cmd *cobra.Command, o *orgOptions) {
	fl := cmd.Flags()
	fl.BoolVar(&o.enabled, "organization", false, "scan every ACTIVE account of the AWS Organization (run from the management account or a delegated administrator)")
	fl.StringVar(&o.role, "role", naming.Names{Prefix: config.DefaultPrefix}.MemberRole(),
		"with --organization: the IAM role assumed in each account (e.g. OrganizationAccountAccessRole)")
	fl.StringArrayVar(&o.ous, "ou", nil, "with --organization: only the accounts under this OU (ou-… or the root r-…), recursively; repeatable")
	fl.IntVar(&o.concurrency, "concurrency", orgscan.DefaultConcurrency, "with --organization: account-regions scanned at once")
}

// validate checks the flags: each names itself in its error.
func (o *orgOptions) validate(cmd *cobra.Command) error {
	if !o.enabled {
		for _, name := range []string{"role", "ou", "concurrency"} {
			if cmd.Flags().Changed(name) {
				return command.Usagef(cmd, "--%s needs --organization", name)
			}
		}
		return nil
	}
	if !awsarn.ValidRoleName(o.role) {
		return command.Usagef(cmd, "--role must be an IAM role name (1 to 64 letters, digits and +=,.@_-), not %q", o.role)
	}
	for _, ou := range o.ous {
		if !awsarn.ValidOU(ou) {
			return command.Usagef(cmd, "--ou must be an organizational unit ID (ou-…) or the root ID (r-…), not %q", ou)
		}
	}
	if o.concurrency < 1 || o.concurrency > orgscan.MaxConcurrency {
		return command.Usagef(cmd, "--concurrency must be from 1 to %d", orgscan.MaxConcurrency)
	}
	return nil
}

// runOrganization prints the rows of every account-region, then the
// per-account summary.
func runOrganization(ctx context.Context, o *Options) error {
	return output.Stream(o.f.Stdout, o.f.Stderr, o.output, orgTable, func(emit func(Row) error) (*orgSummary, error) { return scanOrganization(ctx, o, emit) })
}

// scanOrganization lists the organization's ACTIVE accounts (under --ou, or
// all), and scans every account × region, --concurrency at a time, each
// through --role (the caller's own account with its own credentials) at
// its own --read-rate (the factory paces each scope). The rows come out in
// account, then region order, whatever the timing.
func scanOrganization(ctx context.Context, o *Options, emit func(Row) error) (*orgSummary, error) {
	pol, err := o.f.LoadPolicy()
	if err != nil {
		return nil, err
	}
	var base string
	if len(o.f.Regions) > 0 {
		base = o.f.Regions[0]
	}
	factory, err := o.f.Clients(ctx, base, awsclient.Options{ReadRate: o.readRate})
	if err != nil {
		return nil, err
	}
	regions := o.f.Regions
	if len(regions) == 0 {
		regions = []string{factory.Region()}
	}
	caller, partition, err := factory.CallerAccount(ctx)
	if err != nil {
		return nil, explain.AWS(err)
	}
	cfg, err := factory.Config(awsclient.Scope{})
	if err != nil {
		return nil, err
	}
	org := organizations.NewFromConfig(cfg)
	parents := o.org.ous
	if len(parents) == 0 {
		root, err := coverage.Root(ctx, org)
		if err != nil {
			return nil, fmt.Errorf("%w (run from the management account or a delegated administrator)", explain.AWS(err))
		}
		parents = []string{root}
	}
	accounts, err := coverage.Accounts(ctx, org, parents)
	if err != nil {
		return nil, fmt.Errorf("list the organization's accounts: %w (run from the management account or a delegated administrator)", explain.AWS(err))
	}
	targets := orgscan.Targets(accounts, regions, caller, partition, o.org.role)
	sum := &orgSummary{regions: len(slices.Compact(slices.Sorted(slices.Values(regions)))), targets: len(targets), consumers: o.consumers}
	bar := o.f.Progress(len(targets), "scanning", "account-regions")
	obs := loggroup.ObserverFrom(factory) // one for the run: each log group is read once
	start := time.Now()
	err = orgscan.Run(ctx, targets, o.org.concurrency, func(ctx context.Context, t orgscan.Target) targetResult {
		return scanTarget(ctx, o, factory, pol, obs, t)
	}, func(t orgscan.Target, r targetResult) error {
		if bar != nil {
			_ = bar.Add(1)
		}
		sum.add(t, r)
		for _, row := range r.rows {
			row.Account, row.AccountName = t.Account, t.Name
			if err := emit(row); err != nil {
				return err
			}
		}
		return nil
	})
	sum.total.Elapsed = time.Since(start)
	if bar != nil {
		_ = bar.Finish()
	}
	return sum, err
}

// targetResult is what one account-region gave: its rows, their counts,
// and why it was not (or not wholly) scanned.
type targetResult struct {
	rows        []Row
	sum         Summary
	unreachable bool
}

// scanTarget scans one account-region. An account whose role cannot be
// assumed and a region whose listing is denied are a row each, with the
// reason.
func scanTarget(ctx context.Context, o *Options, factory *awsclient.Factory, pol policy.Policy, obs *loggroup.Observer, t orgscan.Target) targetResult {
	var r targetResult
	scope := awsclient.Scope{Region: t.Region, RoleARN: t.RoleARN}
	if t.RoleARN != "" {
		// Assume the role first (the factory caches its credentials), so
		// that a role the account does not let the caller assume is told
		// apart from a denied region.
		cfg, err := factory.Config(scope)
		if err == nil {
			_, err = cfg.Credentials.Retrieve(ctx)
		}
		if err != nil {
			r.unreachable = true
			r.rows = []Row{{Region: t.Region, Verdict: VerdictError, Action: ActionNone,
				Error: fmt.Sprintf("account not reachable: cannot assume %s: %s", t.RoleARN, explain.FirstLine(explain.AWS(err).Error()))}}
			return r
		}
	}
	emit := func(row Row) error { r.rows = append(r.rows, row); return nil }
	if err := scanRegion(ctx, o, factory, scope, pol, obs, func() {}, emit, &r.sum); err != nil {
		r.unreachable = true
		r.rows = append(r.rows, r.sum.failed(t.Region, err))
	}
	return r
}

// orgSummary counts an organization scan, per account and in all.
type orgSummary struct {
	accounts    []accountSummary // in account order
	total       Summary
	regions     int
	targets     int
	unreachable int // account-regions not (wholly) scanned
	consumers   bool
}

// accountSummary is one account's line of the summary.
type accountSummary struct {
	account, name string
	Summary
	notReachable int
}

// add counts target t's result.
func (s *orgSummary) add(t orgscan.Target, r targetResult) {
	if n := len(s.accounts); n == 0 || s.accounts[n-1].account != t.Account {
		s.accounts = append(s.accounts, accountSummary{account: t.Account, name: t.Name})
	}
	a := &s.accounts[len(s.accounts)-1]
	a.merge(r.sum)
	s.total.merge(r.sum)
	if r.unreachable {
		a.notReachable++
		s.unreachable++
	}
}

// merge adds o's counts to s.
func (s *Summary) merge(o Summary) {
	s.Families += o.Families
	s.Compliant += o.Compliant
	s.NonCompliant += o.NonCompliant
	s.Exempt += o.Exempt
	s.Errors += o.Errors
	s.Blocked += o.Blocked
	s.Exposed += o.Exposed
	s.FailedRegions = append(s.FailedRegions, o.FailedRegions...)
}

// String is the per-account table, then the line over all accounts.
func (s *orgSummary) String() string {
	var b strings.Builder
	tw := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ACCOUNT\tNAME\tFAMILIES\tCOMPLIANT\tNON-COMPLIANT\tBLOCKED\tEXEMPT\tERRORS\tNOT REACHABLE")
	for _, a := range s.accounts {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%d\t%d\t%d\t%d/%d\n", escape.Text(a.account), escape.Text(a.name), a.Families, a.Compliant, a.NonCompliant,
			a.Blocked, a.Exempt, a.Errors, a.notReachable, s.regions)
	}
	_ = tw.Flush()
	t := s.total
	rate := ""
	if secs := t.Elapsed.Seconds(); secs > 0 && t.Families > 0 {
		rate = fmt.Sprintf(" (%.1f families/s)", float64(t.Families)/secs)
	}
	exposed := ""
	if s.consumers {
		exposed = fmt.Sprintf("; %d consumers run a non-compliant revision", t.Exposed)
	}
	fmt.Fprintf(&b, "%d families in %d account(s) × %d region(s): %d compliant, %d non-compliant (%d blocked), %d exempt, %d errors; %d of %d account-regions not reachable%s%s",
		t.Families, len(s.accounts), s.regions, t.Compliant, t.NonCompliant, t.Blocked, t.Exempt, t.Errors, s.unreachable, s.targets, exposed, rate)
	return b.String()
}

// Exit is the organization scan's exit status: 2 when an account-region
// was not reachable or a family could not be described, 1 when a family
// is not compliant, else 0.
func (s *orgSummary) Exit() error {
	switch {
	case s.unreachable > 0:
		return &command.ExitStatus{Code: command.ExitError, Err: fmt.Errorf("scan incomplete: %d of %d account-regions not reachable (their rows say why)", s.unreachable, s.targets)}
	case s.total.Errors > 0:
		return &command.ExitStatus{Code: command.ExitError, Err: fmt.Errorf("scan incomplete: %d families could not be described", s.total.Errors)}
	case s.total.NonCompliant > 0 || s.total.Exposed > 0:
		return command.ErrViolations
	}
	return nil
}

// orgTable renders scan --organization's rows: scan's, after the account.
var orgTable = output.Table[Row]{
	Columns: append([]string{"account", "accountName"}, Table.Columns...),
	Row:     func(r Row) []string { return append([]string{r.Account, r.AccountName}, Table.Row(r)...) },
	Header:  "ACCOUNT\tNAME\t" + Table.Header,
	Text: func(w io.Writer, r Row, n int) {
		fmt.Fprintf(w, "%s\t%s\t", escape.Text(r.Account), escape.Text(cmp.Or(r.AccountName, "-")))
		Table.Text(w, r, n)
	},
}
