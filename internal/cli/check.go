package cli

import (
	"cmp"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/ecslogfix/ecslogfix/internal/check"
	"github.com/ecslogfix/ecslogfix/internal/cli/command"
	"github.com/ecslogfix/ecslogfix/internal/cli/output"
	"github.com/ecslogfix/ecslogfix/internal/cli/scan"
	"github.com/ecslogfix/ecslogfix/internal/escape"
	"github.com/ecslogfix/ecslogfix/internal/plan"
	"github.com/ecslogfix/ecslogfix/internal/source"
)

// FileReport is check's JSON output for one task definition (or one file
// that could not be read). The field names are part of the documented,
// stable output.
type FileReport = check.Report

// checkOptions is check's command line.
type checkOptions struct {
	f       *command.Factory
	files   []string
	output  output.Format
	account string
	region  string // --region, else AWS_REGION or AWS_DEFAULT_REGION
}

// newCmdCheck builds check; runF, when set, runs instead of runCheck, so
// tests can see what the command line parsed to.
func newCmdCheck(f *command.Factory, runF func(*checkOptions) error) *cobra.Command {
	o := &checkOptions{f: f}
	cmd := &cobra.Command{
		Use:   "check [flags] FILE|DIR...",
		Short: "Check task definitions, templates and plans against the policy (offline)",
		Long: `check evaluates task definitions without calling AWS: the pre-deploy gate
for CI. Each FILE is recognised by its content (JSON or YAML), and holds:

  - the output of 'aws ecs describe-task-definition --include TAGS', a bare
    task definition, or a register-task-definition input (--cli-input-json
    or --cli-input-yaml)
  - a CloudFormation template: every AWS::ECS::TaskDefinition
  - a CDK cloud assembly: a cdk.out directory or its manifest.json
  - a Terraform plan: 'terraform show -json PLANFILE'

A DIR that is not a cloud assembly is searched for *.json, *.yaml, *.yml
and *.template files; documents of other kinds there are skipped. "-" reads
standard input. Files are limited to 8 MiB; field names are case-sensitive
as in the ECS API, and a duplicate or case-variant key is an error.

A value a template or plan cannot know (an intrinsic function, "known after
apply") is never guessed: a task definition compliant for some of its
values only is UNRESOLVED, with what would make it compliant.

For task definition files check also prints the plan: what ecslogfix would
change. --output sarif writes SARIF 2.1.0 for code scanning, --output github
GitHub Actions annotations.

Exit status: 0 when every task definition is compliant (or exempt), 1 when
any is NON_COMPLIANT or UNRESOLVED, 2 when a file cannot be read, or on
usage errors.

--region and --account fill in the log group name and awslogs-region when
a task definition file has no ARN (default region: AWS_REGION).`,
		Example: `  # Gate a CI job on the task definition it is about to register
  ecslogfix check taskdef.json

  # Machine-readable verdicts for several files
  ecslogfix check --output json build/*.json | jq '.[] | select(.verdict == "NON_COMPLIANT")'

  # Infrastructure as code: a template, a CDK app, a Terraform plan
  ecslogfix check template.yaml cdk.out
  terraform show -json plan.out > plan.json && ecslogfix check -o sarif plan.json > ecslogfix.sarif

  # From a running account, with a custom policy
  aws ecs describe-task-definition --task-definition orders-api --include TAGS \
    | ecslogfix check --policy policy.yaml -`,
		Args: command.UsageArgs(cobra.MinimumNArgs(1)),
		RunE: func(cmd *cobra.Command, files []string) error {
			o.files = files
			region, err := f.OneRegion(cmd)
			if err != nil {
				return err
			}
			o.region = cmp.Or(region, f.Getenv("AWS_REGION"), f.Getenv("AWS_DEFAULT_REGION"))
			if runF != nil {
				return runF(o)
			}
			return runCheck(o)
		},
	}
	o.output = output.FormatText
	cmd.Flags().VarP((*checkFormat)(&o.output), "output", "o", "output format: text, json, csv, sarif or github")
	cmd.Flags().StringVar(&o.account, "account", "", "AWS account ID for the log group name when the file has no ARN")
	return cmd
}

// Formats only check writes.
const (
	FormatSARIF  output.Format = "sarif"  // SARIF 2.1.0, for code scanning
	FormatGitHub output.Format = "github" // GitHub Actions workflow-command annotations
)

// checkFormat is check's -o, a output.Format that may also be SARIF or GitHub
// annotations.
type checkFormat output.Format

func (f *checkFormat) String() string { return string(*f) }
func (f *checkFormat) Type() string   { return "format" }

// Set accepts the shared formats, sarif and github.
func (f *checkFormat) Set(s string) error {
	if v := output.Format(s); v == FormatSARIF || v == FormatGitHub {
		*f = checkFormat(v)
		return nil
	}
	var base output.Format
	if err := base.Set(s); err != nil {
		return errors.New("must be text, json, csv, sarif or github")
	}
	*f = checkFormat(base)
	return nil
}

// runCheck judges the inputs, prints the reports and turns them into the
// exit status.
func runCheck(o *checkOptions) error {
	reports, err := checkInputs(o)
	if err != nil {
		return err
	}
	switch o.output {
	case FormatSARIF:
		err = check.WriteSARIF(o.f.Stdout, reports, version())
	case FormatGitHub:
		err = check.WriteGitHub(o.f.Stdout, reports)
	default:
		var p *output.Printer[FileReport]
		if p, err = output.NewPrinter(o.f.Stdout, o.f.Stderr, o.output, checkTable); err != nil {
			return err
		}
		for _, r := range reports {
			if err := p.Print(r); err != nil {
				return err
			}
		}
		err = p.Finish("")
	}
	if err != nil {
		return err
	}
	return checkExit(reports)
}

// checkInputs judges every input through the one reader (internal/source)
// and the one judge (internal/check): a report per task definition, in
// argument order; an input that cannot be read is a report with Error set.
func checkInputs(o *checkOptions) ([]FileReport, error) {
	pol, err := o.f.LoadPolicy()
	if err != nil {
		return nil, err
	}
	fallback := plan.Context{Partition: "aws", Account: o.account, Region: o.region, Today: time.Now()}
	reports := make([]FileReport, 0, len(o.files))
	stdinUsed := false
	for _, arg := range o.files {
		var files []source.File
		if arg == "-" && stdinUsed {
			files = []source.File{{Name: arg, Err: &source.Error{File: arg, Msg: "standard input given more than once"}}}
		} else {
			stdinUsed = stdinUsed || arg == "-"
			files = source.ReadPath(arg, o.f.Stdin)
		}
		for _, f := range files {
			reports = append(reports, check.FileReports(f, pol, fallback)...)
		}
	}
	return reports, nil
}

// checkExit is check's exit status: an unreadable file wins over a
// violation, and an unresolved task definition fails like a violation.
func checkExit(reports []FileReport) error {
	var problems []string
	violation := false
	for _, r := range reports {
		switch {
		case r.Error != "":
			problems = append(problems, fmt.Sprintf("%s: %s", check.DisplayName(r.File), r.Error))
		case r.Failing():
			violation = true
		}
	}
	switch {
	case len(problems) > 0:
		// The messages quote the input: escaped, on one line.
		return &command.ExitStatus{Code: ExitError, Err: fmt.Errorf("check: %s", escape.Text(strings.Join(problems, "; ")))}
	case violation:
		return command.ErrViolations
	}
	return nil
}

// checkTable renders check's reports; the CSV has scan's columns where
// they mean the same, then the location of infrastructure as code.
var checkTable = output.Table[FileReport]{
	Columns: []string{"file", "family", "revision", "taskDefinitionArn", "status", "verdict", "exempt", "reasons", "blockers", "error",
		"format", "line", "resource"},
	Row: func(r FileReport) []string {
		exempt, blockers, line := "", "", ""
		if r.Error == "" {
			exempt = strconv.FormatBool(r.Exempt)
		}
		if r.Plan != nil {
			blockers = blockerCodes(r.Plan.Blockers)
		}
		if r.Line > 0 {
			line = strconv.Itoa(r.Line)
		}
		return []string{r.File, r.Family, scan.RevString(r.Revision), r.TaskDefinitionARN, r.Status, string(r.Verdict), exempt,
			checkReasons(r.Containers), blockers, r.Error, string(r.Format), line, r.Resource}
	},
	Text: func(w io.Writer, r FileReport, n int) {
		if n > 0 {
			fmt.Fprintln(w)
		}
		check.WriteReport(w, r)
	},
}

// checkReasons renders "container: CODE,CODE; other: UNRESOLVED" for the
// containers that are not compliant.
func checkReasons(cs []check.Container) string {
	parts := make([]string, 0, len(cs))
	for _, c := range cs {
		if c.Verdict == check.Compliant {
			continue
		}
		codes := make([]string, 0, len(c.Reasons)+1)
		for _, r := range c.Reasons {
			codes = append(codes, string(r))
		}
		if c.Verdict == check.Unresolved {
			codes = append(codes, string(check.Unresolved))
		}
		parts = append(parts, c.Name+": "+strings.Join(codes, ","))
	}
	return strings.Join(parts, "; ")
}

// blockerCodes renders a plan's blocker codes, space-separated.
func blockerCodes(bs []plan.Blocker) string {
	codes := make([]string, len(bs))
	for i, b := range bs {
		codes[i] = b.Code
	}
	return strings.Join(codes, " ")
}
