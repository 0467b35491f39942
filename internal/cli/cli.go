// Package cli implements the ecslogfix command line: check (offline),
// scan, fix and backout, on the same policy, plan, inventory and
// remediation packages the Lambda functions use. Run is the whole program;
// cmd/ecslogfix/main.go only calls it.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/ecslogfix/ecslogfix/internal/awsclient"
	"github.com/ecslogfix/ecslogfix/internal/policy"
)

// Exit codes.
const (
	ExitOK        = 0 // everything compliant (or the action succeeded)
	ExitViolation = 1 // at least one non-compliant, non-exempt task definition
	ExitError     = 2 // usage, input, credential or AWS errors
)

// Version is set at build time with -ldflags "-X github.com/ecslogfix/ecslogfix/internal/cli.Version=v1.2.3";
// otherwise the module version go install recorded is used.
var Version = ""

// App is the program with its environment; tests replace the parts that
// touch the outside world.
type App struct {
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	// Getenv reads the environment (os.Getenv).
	Getenv func(string) string
	// LoadAWS loads the SDK configuration for a profile and region (either
	// may be empty: the SDK's default chain then applies).
	LoadAWS func(ctx context.Context, profile, region string) (aws.Config, error)
	// IsTerminal reports whether w is an interactive terminal (progress bar).
	IsTerminal func(w io.Writer) bool
	// Wait waits d (fix's pause between two looks at a rollout's
	// deployments); nil waits on a timer.
	Wait func(ctx context.Context, d time.Duration) error
	// Now is the clock (exemption days, the history's records); default
	// time.Now.
	Now func() time.Time
}

// wait is Wait, or a timer that the context can cut short.
func (a *App) wait(ctx context.Context, d time.Duration) error {
	if a.Wait != nil {
		return a.Wait(ctx, d)
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (a *App) now() time.Time {
	if a.Now != nil {
		return a.Now()
	}
	return time.Now()
}

// Run runs ecslogfix with args (without the program name) and returns the
// process exit code.
func Run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	a := &App{
		Stdin:      os.Stdin,
		Stdout:     stdout,
		Stderr:     stderr,
		Getenv:     os.Getenv,
		LoadAWS:    loadAWS,
		IsTerminal: isTerminal,
	}
	return a.Run(ctx, args)
}

// Run runs the program with args and returns the exit code. Errors are
// printed as one "ecslogfix: …" line, never as a stack trace.
func (a *App) Run(ctx context.Context, args []string) int {
	root, f := a.rootCommand()
	defer func() {
		if f.cancel != nil {
			f.cancel()
		}
	}()
	if args == nil {
		args = []string{} // cobra reads os.Args when given nil
	}
	root.SetArgs(args)
	root.SetIn(a.Stdin)
	root.SetOut(a.Stdout)
	root.SetErr(a.Stderr)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return ExitOK
	}
	if f.timed != nil && errors.Is(f.timed.Err(), context.DeadlineExceeded) {
		// Whatever failed first, the reason is the time limit.
		fmt.Fprintf(a.Stderr, "ecslogfix: %v (the results printed so far stand)\n", context.Cause(f.timed))
		return ExitError
	}
	var ex *exitError
	if errors.As(err, &ex) {
		if ex.err != nil {
			fmt.Fprintf(a.Stderr, "ecslogfix: %s\n", oneLine(ex.err.Error()))
		}
		return ex.code
	}
	fmt.Fprintf(a.Stderr, "ecslogfix: %s\n", oneLine(err.Error()))
	if ue := (*usageError)(nil); errors.As(err, &ue) {
		fmt.Fprintf(a.Stderr, "Run '%s --help' for usage.\n", ue.cmd)
	} else if strings.HasPrefix(err.Error(), "unknown command ") {
		// cobra looks the subcommand up before any Args check runs.
		fmt.Fprintf(a.Stderr, "Run '%s --help' for usage.\n", root.CommandPath())
	}
	return ExitError
}

// oneLine keeps an error message on one line: AWS error messages may hold
// line breaks, and a script reads the error as the last line of stderr.
func oneLine(s string) string {
	return strings.Join(strings.FieldsFunc(s, func(r rune) bool { return r == '\n' || r == '\r' }), " ")
}

// exitError carries an exit code other than ExitError.
type exitError struct {
	code int
	err  error // printed when not nil
}

func (e *exitError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit %d", e.code)
	}
	return e.err.Error()
}
func (e *exitError) Unwrap() error { return e.err }

// errViolations ends a command with ExitViolation and no extra message
// (the report already says what is wrong).
var errViolations = &exitError{code: ExitViolation}

// usageError is a problem with the command line.
type usageError struct {
	cmd string
	err error
}

func (e *usageError) Error() string { return e.err.Error() }
func (e *usageError) Unwrap() error { return e.err }

func usagef(cmd *cobra.Command, format string, args ...any) error {
	return &usageError{cmd: cmd.CommandPath(), err: fmt.Errorf(format, args...)}
}

// globals are the flags every command shares.
type globals struct {
	profile    string
	regions    []string
	policyFile string
	// timeout bounds the whole command (0: none); every HTTP attempt is
	// bounded anyway (awsclient.DefaultAttemptTimeout).
	timeout time.Duration
}

// factory is what every command is built from: the program's environment
// and the flags every command shares.
type factory struct {
	*App
	globals
	// timed is --timeout's context and cancel, when set.
	timed  context.Context
	cancel context.CancelFunc
}

func (a *App) rootCommand() (*cobra.Command, *factory) {
	f := &factory{App: a}
	root := &cobra.Command{
		Use:   "ecslogfix",
		Short: "Keep every ECS task definition logging to CloudWatch Logs",
		Long: `ecslogfix checks ECS task definitions against the logging policy, and fixes
the ones that do not log to CloudWatch Logs by registering a compliant
revision (losslessly: every other field and tag is kept). It runs the same
policy and remediation code as the ecslogfix Lambda functions.

AWS access follows the standard conventions: --profile and --region (or
AWS_PROFILE, AWS_REGION), environment credentials, and AWS_ENDPOINT_URL.`,
		Example: `  ecslogfix check taskdef.json
  ecslogfix scan --region us-east-1 --region eu-west-1
  ecslogfix fix --task-definition orders-api
  ecslogfix fix --all --apply`,
		SilenceUsage:  true,
		SilenceErrors: true,
		CompletionOptions: cobra.CompletionOptions{
			DisableDefaultCmd: true,
		},
		// Cobra checks required flags and flag groups after this hook and
		// returns its errors as they are; checking them here first makes
		// them usage errors, with the hint, like every other.
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			if err := cmd.ValidateRequiredFlags(); err != nil {
				return &usageError{cmd: cmd.CommandPath(), err: err}
			}
			if err := cmd.ValidateFlagGroups(); err != nil {
				return &usageError{cmd: cmd.CommandPath(), err: err}
			}
			if f.timeout < 0 {
				return usagef(cmd, "--timeout must not be negative")
			}
			if f.timeout > 0 {
				// The context ends the command's AWS calls; Run cancels it.
				ctx, cancel := context.WithTimeoutCause(cmd.Context(), f.timeout, fmt.Errorf("--timeout %s reached", f.timeout))
				f.timed, f.cancel = ctx, cancel
				cmd.SetContext(ctx)
			}
			return nil
		},
	}
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return &usageError{cmd: c.CommandPath(), err: err}
	})
	pf := root.PersistentFlags()
	pf.StringVar(&f.profile, "profile", "", "AWS shared config profile (default: AWS_PROFILE or the default profile)")
	pf.DurationVar(&f.timeout, "timeout", 0, "stop after this long, e.g. 10m (default: no limit; every AWS call attempt times out after "+awsclient.DefaultAttemptTimeout.String()+")")
	pf.StringArrayVar(&f.regions, "region", nil, "AWS region (default: AWS_REGION or the profile's region); scan accepts it more than once")
	pf.StringVar(&f.policyFile, "policy", "", "policy file (JSON or YAML); default: the built-in SOP policy")
	root.AddCommand(
		newCmdCheck(f, nil),
		newCmdScan(f, nil),
		newCmdFix(f, nil),
		newCmdBackout(f, nil),
		newCmdReport(f, nil),
		a.versionCommand(),
	)
	return root, f
}

// usageArgs makes the errors of a cobra positional-argument check usage
// errors.
func usageArgs(check cobra.PositionalArgs) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if err := check(cmd, args); err != nil {
			return &usageError{cmd: cmd.CommandPath(), err: err}
		}
		return nil
	}
}

// loadPolicy reads --policy or returns the default policy.
func (g *globals) loadPolicy() (policy.Policy, error) {
	if g.policyFile == "" {
		return policy.Default(), nil
	}
	data, err := os.ReadFile(g.policyFile)
	if err != nil {
		return policy.Policy{}, fmt.Errorf("policy: %w", err)
	}
	p, err := policy.Parse(data)
	if err != nil {
		return policy.Policy{}, fmt.Errorf("policy %s: %w", g.policyFile, err)
	}
	return p, nil
}

// oneRegion returns the single --region value allowed outside scan.
func (g *globals) oneRegion(cmd *cobra.Command) (string, error) {
	switch len(g.regions) {
	case 0:
		return "", nil
	case 1:
		return g.regions[0], nil
	}
	return "", usagef(cmd, "--region can be given only once for %s", cmd.Name())
}

func (a *App) versionCommand() *cobra.Command {
	return &cobra.Command{
		Use:     "version",
		Short:   "Print the ecslogfix version",
		Example: "  ecslogfix version",
		Args:    usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			fmt.Fprintf(cmd.OutOrStdout(), "ecslogfix %s\n", version())
			return nil
		},
	}
}

func version() string {
	if Version != "" {
		return Version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "dev"
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}
