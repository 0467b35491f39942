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

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/ecslogfix/ecslogfix/internal/awsclient"
	"github.com/ecslogfix/ecslogfix/internal/cli/command"
	"github.com/ecslogfix/ecslogfix/internal/cli/fix"
	"github.com/ecslogfix/ecslogfix/internal/cli/scan"
)

// Exit codes (docs/cli.md, "Exit status").
const (
	ExitOK        = command.ExitOK
	ExitViolation = command.ExitViolation
	ExitError     = command.ExitError
)

// Version is set at build time with -ldflags "-X github.com/ecslogfix/ecslogfix/internal/cli.Version=v1.2.3";
// otherwise the module version go install recorded is used.
var Version = ""

// App is the program with its environment (command.Env: tests replace the
// parts that touch the outside world).
type App command.Env

// Run runs ecslogfix with args (without the program name) and returns the
// process exit code.
func Run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	a := &App{
		Stdin:      os.Stdin,
		Stdout:     stdout,
		Stderr:     stderr,
		Getenv:     os.Getenv,
		LoadAWS:    command.LoadAWS,
		IsTerminal: isTerminal,
	}
	return a.Run(ctx, args)
}

// Run runs the program with args and returns the exit code. Errors are
// printed as one "ecslogfix: …" line, never as a stack trace.
func (a *App) Run(ctx context.Context, args []string) int {
	root, f := a.rootCommand()
	defer f.Stop()
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
	if cause := f.TimedOut(); cause != nil {
		// Whatever failed first, the reason is the time limit.
		fmt.Fprintf(a.Stderr, "ecslogfix: %v (the results printed so far stand)\n", cause)
		return ExitError
	}
	var ex *command.ExitStatus
	if errors.As(err, &ex) {
		if ex.Err != nil {
			fmt.Fprintf(a.Stderr, "ecslogfix: %s\n", oneLine(ex.Err.Error()))
		}
		return ex.Code
	}
	fmt.Fprintf(a.Stderr, "ecslogfix: %s\n", oneLine(err.Error()))
	if ue := (*command.UsageError)(nil); errors.As(err, &ue) {
		fmt.Fprintf(a.Stderr, "Run '%s --help' for usage.\n", ue.Cmd)
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

func (a *App) rootCommand() (*cobra.Command, *command.Factory) {
	f := &command.Factory{Env: command.Env(*a)}
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
				return command.Usage(cmd, err)
			}
			if err := cmd.ValidateFlagGroups(); err != nil {
				return command.Usage(cmd, err)
			}
			return f.LimitTime(cmd)
		},
	}
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return command.Usage(c, err)
	})
	pf := root.PersistentFlags()
	pf.StringVar(&f.Profile, "profile", "", "AWS shared config profile (default: AWS_PROFILE or the default profile)")
	pf.DurationVar(&f.Timeout, "timeout", 0, "stop after this long, e.g. 10m (default: no limit; every AWS call attempt times out after "+awsclient.DefaultAttemptTimeout.String()+")")
	pf.StringArrayVar(&f.Regions, "region", nil, "AWS region (default: AWS_REGION or the profile's region); scan accepts it more than once")
	pf.StringVar(&f.PolicyFile, "policy", "", "policy file (JSON or YAML); default: the built-in SOP policy")
	root.AddCommand(
		newCmdCheck(f, nil),
		scan.NewCmd(f, nil),
		fix.NewCmd(f, nil),
		newCmdBackout(f, nil),
		newCmdReport(f, nil),
		a.versionCommand(),
	)
	return root, f
}

func (a *App) versionCommand() *cobra.Command {
	return &cobra.Command{
		Use:     "version",
		Short:   "Print the ecslogfix version",
		Example: "  ecslogfix version",
		Args:    command.UsageArgs(cobra.NoArgs),
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
