package cli

import (
	"cmp"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/spf13/cobra"

	"github.com/ecslogfix/ecslogfix/internal/cli/taskfile"
	"github.com/ecslogfix/ecslogfix/internal/plan"
	"github.com/ecslogfix/ecslogfix/internal/policy"
	"github.com/ecslogfix/ecslogfix/internal/taskdef"
)

// Verdicts.
const (
	VerdictCompliant    = "COMPLIANT"
	VerdictNonCompliant = "NON_COMPLIANT"
)

// FileReport is check's JSON output for one file. The field names are part
// of the documented, stable output.
type FileReport struct {
	File              string            `json:"file"`
	Family            string            `json:"family,omitempty"`
	Revision          int32             `json:"revision,omitempty"`
	TaskDefinitionARN string            `json:"taskDefinitionArn,omitempty"`
	Status            string            `json:"status,omitempty"` // the task definition's status (ACTIVE, INACTIVE) when the file says
	Verdict           string            `json:"verdict,omitempty"`
	Exempt            bool              `json:"exempt,omitempty"`
	Containers        []ContainerReport `json:"containers,omitempty"`
	Plan              *plan.Plan        `json:"plan,omitempty"`
	Error             string            `json:"error,omitempty"` // the file could not be read or parsed
}

// ContainerReport is the verdict on one container.
type ContainerReport struct {
	Name      string          `json:"name"`
	Compliant bool            `json:"compliant"`
	Reasons   []policy.Reason `json:"reasons"`
}

// checkOptions is check's command line.
type checkOptions struct {
	f       *factory
	files   []string
	output  Format
	account string
	region  string // --region, else AWS_REGION or AWS_DEFAULT_REGION
}

// newCmdCheck builds check; runF, when set, runs instead of runCheck, so
// tests can see what the command line parsed to.
func newCmdCheck(f *factory, runF func(*checkOptions) error) *cobra.Command {
	o := &checkOptions{f: f}
	cmd := &cobra.Command{
		Use:   "check [flags] FILE...",
		Short: "Check task definition files against the policy (offline)",
		Long: `check evaluates task definitions from files without calling AWS: the
pre-deploy gate for CI. Each FILE holds one of:

  - the output of 'aws ecs describe-task-definition --include TAGS'
  - a bare task definition object
  - a 'register-task-definition --cli-input-json' document

"-" reads standard input. For each file check prints the verdict, each
container's reason codes, and the plan: what ecslogfix would change.

Exit status: 0 when every task definition is compliant (or exempt), 1 when
any is not, 2 when a file cannot be read or parsed, or on usage errors.

--region and --account fill in the log group name and awslogs-region when
the file has no task definition ARN (default region: AWS_REGION).`,
		Example: `  # Gate a CI job on the task definition it is about to register
  ecslogfix check taskdef.json

  # Machine-readable verdicts for several files
  ecslogfix check --output json build/*.json | jq '.[] | select(.verdict == "NON_COMPLIANT")'

  # From a running account, with a custom policy
  aws ecs describe-task-definition --task-definition orders-api --include TAGS \
    | ecslogfix check --policy policy.yaml -`,
		Args: usageArgs(cobra.MinimumNArgs(1)),
		RunE: func(cmd *cobra.Command, files []string) error {
			o.files = files
			region, err := f.oneRegion(cmd)
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
	addOutputFlag(cmd, &o.output)
	cmd.Flags().StringVar(&o.account, "account", "", "AWS account ID for the log group name when the file has no ARN")
	return cmd
}

// runCheck judges the files, prints the reports and turns them into the
// exit status.
func runCheck(o *checkOptions) error {
	reports, err := check(o)
	if err != nil {
		return err
	}
	p, err := newPrinter(o.f.Stdout, o.f.Stderr, o.output, checkTable)
	if err != nil {
		return err
	}
	for _, r := range reports {
		if err := p.print(r); err != nil {
			return err
		}
	}
	if err := p.finish(""); err != nil {
		return err
	}
	return checkExit(reports)
}

// check judges every file: one report a file, in argument order. A file
// that cannot be read or parsed is a report with Error set.
func check(o *checkOptions) ([]FileReport, error) {
	pol, err := o.f.loadPolicy()
	if err != nil {
		return nil, err
	}
	fallback := plan.Context{Partition: "aws", Account: o.account, Region: o.region}
	reports := make([]FileReport, 0, len(o.files))
	stdinUsed := false
	for _, f := range o.files {
		r := FileReport{File: f}
		data, err := o.f.readInput(f, &stdinUsed)
		var doc taskfile.Document
		if err == nil {
			doc, err = taskfile.Parse(data)
		}
		if err == nil {
			err = evaluate(&r, doc.TaskDefinition, doc.Tags, pol, fallback)
		}
		if err != nil {
			r.Error = err.Error()
		}
		reports = append(reports, r)
	}
	return reports, nil
}

// checkExit is check's exit status: an unreadable file wins over a
// violation.
func checkExit(reports []FileReport) error {
	var problems []string
	violation := false
	for _, r := range reports {
		switch {
		case r.Error != "":
			problems = append(problems, fmt.Sprintf("%s: %s", displayName(r.File), r.Error))
		case r.Verdict == VerdictNonCompliant && !r.Exempt:
			violation = true
		}
	}
	switch {
	case len(problems) > 0:
		return &exitError{code: ExitError, err: fmt.Errorf("check: %s", strings.Join(problems, "; "))}
	case violation:
		return errViolations
	}
	return nil
}

// checkTable renders check's reports; the CSV has scan's columns where
// they mean the same.
var checkTable = table[FileReport]{
	columns: []string{"file", "family", "revision", "taskDefinitionArn", "status", "verdict", "exempt", "reasons", "blockers", "error"},
	row: func(r FileReport) []string {
		exempt, blockers := "", ""
		if r.Error == "" {
			exempt = strconv.FormatBool(r.Exempt)
		}
		if r.Plan != nil {
			blockers = blockerCodes(r.Plan.Blockers)
		}
		return []string{r.File, r.Family, revString(r.Revision), r.TaskDefinitionARN, r.Status, r.Verdict, exempt,
			reasonsString(r.Containers), blockers, r.Error}
	},
	text: func(w io.Writer, r FileReport, n int) {
		if n > 0 {
			fmt.Fprintln(w)
		}
		writeFileText(w, r)
	},
}

// blockerCodes renders a plan's blocker codes, space-separated.
func blockerCodes(bs []plan.Blocker) string {
	codes := make([]string, len(bs))
	for i, b := range bs {
		codes[i] = b.Code
	}
	return strings.Join(codes, " ")
}

// evaluate fills r with the verdict and plan for td; one rule set: policy.Evaluate and plan.Build.
func evaluate(r *FileReport, td *types.TaskDefinition, tags []types.Tag, pol policy.Policy, fallback plan.Context) error {
	r.Family = aws.ToString(td.Family)
	r.Revision = td.Revision
	r.TaskDefinitionARN = aws.ToString(td.TaskDefinitionArn)
	r.Status = string(td.Status)
	ctx := fallback
	if r.TaskDefinitionARN != "" {
		if arn, err := taskdef.ParseARN(r.TaskDefinitionARN); err == nil {
			ctx = plan.Context{Partition: arn.Partition, Account: arn.Account, Region: arn.Region}
		}
	}
	ev := pol.Evaluate(td, tags)
	r.Exempt = ev.Exempt
	r.Verdict = verdict(ev)
	r.Containers = make([]ContainerReport, 0, len(ev.Containers))
	for _, c := range ev.Containers {
		reasons := c.Reasons
		if reasons == nil {
			reasons = []policy.Reason{}
		}
		r.Containers = append(r.Containers, ContainerReport{Name: c.Name, Compliant: c.Compliant, Reasons: reasons})
	}
	p, err := plan.Build(td, tags, pol, ctx)
	if err != nil {
		return fmt.Errorf("plan: %w", err)
	}
	r.Plan = &p
	return nil
}

func verdict(ev policy.Evaluation) string {
	if ev.Compliant {
		return VerdictCompliant
	}
	return VerdictNonCompliant
}

func writeFileText(w io.Writer, r FileReport) {
	name := displayName(r.File)
	if r.Error != "" {
		fmt.Fprintf(w, "%s: ERROR %s\n", name, r.Error)
		return
	}
	id := r.Family
	if r.Revision != 0 {
		id = fmt.Sprintf("%s:%d", r.Family, r.Revision)
	}
	v := r.Verdict
	if r.Exempt {
		v += " (exempt)"
	}
	fmt.Fprintf(w, "%s: %s %s\n", name, id, v)
	for _, c := range r.Containers {
		if c.Compliant {
			fmt.Fprintf(w, "  container %-24s ok\n", c.Name)
			continue
		}
		codes := make([]string, len(c.Reasons))
		for i, rc := range c.Reasons {
			codes[i] = string(rc)
		}
		fmt.Fprintf(w, "  container %-24s %s\n", c.Name, strings.Join(codes, ", "))
	}
	writePlanText(w, r.Plan, "  ")
}

// writePlanText prints the plan's blockers and diff, indented.
func writePlanText(w io.Writer, p *plan.Plan, indent string) {
	if p == nil {
		return
	}
	diff := strings.TrimRight(p.Diff(), "\n")
	if diff == "" {
		for _, b := range p.Blockers {
			fmt.Fprintf(w, "%sblocked: %s: %s\n", indent, b.Code, b.Message)
		}
	}
	switch {
	case p.Exempt:
		fmt.Fprintf(w, "%splan: none (exempt)\n", indent)
	case p.Changed == nil && len(p.Blockers) == 0 && p.Compliant:
		fmt.Fprintf(w, "%splan: nothing to change\n", indent)
	default:
		if diff != "" {
			fmt.Fprintf(w, "%splan:\n", indent)
			for _, line := range strings.Split(diff, "\n") {
				fmt.Fprintf(w, "%s  %s\n", indent, line)
			}
		}
		for _, lg := range p.LogGroups {
			fmt.Fprintf(w, "%slog group: %s (%s, retention %s)\n", indent, lg.Name, lg.Region, retention(lg.RetentionDays))
		}
	}
}

func retention(days int32) string {
	if days == 0 {
		return "never expires"
	}
	return fmt.Sprintf("%d days", days)
}

func (a *App) readInput(name string, stdinUsed *bool) ([]byte, error) {
	if name == "-" {
		if *stdinUsed {
			return nil, fmt.Errorf("standard input given more than once")
		}
		*stdinUsed = true
		return io.ReadAll(a.Stdin)
	}
	data, err := os.ReadFile(name)
	if err != nil {
		if os.IsNotExist(err) {
			return nil, fmt.Errorf("no such file")
		}
		return nil, fmt.Errorf("read: %w", err)
	}
	return data, nil
}

func displayName(f string) string {
	if f == "-" {
		return "<stdin>"
	}
	return f
}
