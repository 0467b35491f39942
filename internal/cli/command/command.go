// Package command holds what every ecslogfix command is built from: the
// program's environment and the flags every command shares (Factory), the
// exit statuses and the usage errors (docs/cli.md, "Exit status").
package command

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"

	"github.com/ecslogfix/ecslogfix/internal/policy"
	"github.com/ecslogfix/ecslogfix/internal/taskdef"
)

// Exit codes.
const (
	ExitOK        = 0 // everything compliant (or the action succeeded)
	ExitViolation = 1 // at least one non-compliant, non-exempt task definition
	ExitError     = 2 // usage, input, credential or AWS errors
)

// ExitStatus ends a command with an exit code other than ExitError.
type ExitStatus struct {
	Code int
	Err  error // printed when not nil
}

func (e *ExitStatus) Error() string {
	if e.Err == nil {
		return fmt.Sprintf("exit %d", e.Code)
	}
	return e.Err.Error()
}
func (e *ExitStatus) Unwrap() error { return e.Err }

// ErrViolations ends a command with ExitViolation and no extra message
// (the report already says what is wrong).
var ErrViolations error = &ExitStatus{Code: ExitViolation}

// UsageError is a problem with the command line of the command Cmd (its
// path, for the "--help" hint).
type UsageError struct {
	Cmd string
	Err error
}

func (e *UsageError) Error() string { return e.Err.Error() }
func (e *UsageError) Unwrap() error { return e.Err }

// Usage makes err a usage error of cmd.
func Usage(cmd *cobra.Command, err error) error {
	return &UsageError{Cmd: cmd.CommandPath(), Err: err}
}

// Usagef is a usage error of cmd with the formatted message.
func Usagef(cmd *cobra.Command, format string, args ...any) error {
	return Usage(cmd, fmt.Errorf(format, args...))
}

// UsageArgs makes the errors of a cobra positional-argument check usage
// errors.
func UsageArgs(check cobra.PositionalArgs) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if err := check(cmd, args); err != nil {
			return Usage(cmd, err)
		}
		return nil
	}
}

// Env is the program with its environment; tests replace the parts that
// touch the outside world.
type Env struct {
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

// Pause is Wait, or a timer that the context can cut short.
func (e *Env) Pause(ctx context.Context, d time.Duration) error {
	if e.Wait != nil {
		return e.Wait(ctx, d)
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

// Clock is Now, or time.Now.
func (e *Env) Clock() time.Time {
	if e.Now != nil {
		return e.Now()
	}
	return time.Now()
}

// Globals are the flags every command shares.
type Globals struct {
	Profile    string
	Regions    []string
	PolicyFile string
	// Timeout bounds the whole command (0: none); every HTTP attempt is
	// bounded anyway (awsclient.DefaultAttemptTimeout).
	Timeout time.Duration
}

// LoadPolicy reads --policy or returns the default policy.
func (g *Globals) LoadPolicy() (policy.Policy, error) {
	if g.PolicyFile == "" {
		return policy.Default(), nil
	}
	data, err := os.ReadFile(g.PolicyFile)
	if err != nil {
		return policy.Policy{}, fmt.Errorf("policy: %w", err)
	}
	p, err := policy.Parse(data)
	if err != nil {
		return policy.Policy{}, fmt.Errorf("policy %s: %w", g.PolicyFile, err)
	}
	return p, nil
}

// OneRegion returns the single --region value allowed outside scan.
func (g *Globals) OneRegion(cmd *cobra.Command) (string, error) {
	switch len(g.Regions) {
	case 0:
		return "", nil
	case 1:
		return g.Regions[0], nil
	}
	return "", Usagef(cmd, "--region can be given only once for %s", cmd.Name())
}

// RunInRegion ends the RunE of a command that works in one region: it sets
// *region from --region, then hands o to runF, the tests' stand-in, when
// set, else to run.
func RunInRegion[O any](cmd *cobra.Command, g *Globals, region *string, o O, runF, run func(O) error) error {
	r, err := g.OneRegion(cmd)
	if err != nil {
		return err
	}
	*region = r
	if runF != nil {
		return runF(o)
	}
	return run(o)
}

// Factory is what every command is built from: the program's environment
// and the flags every command shares.
type Factory struct {
	Env
	Globals
	// timed is --timeout's context and cancel, when set.
	timed  context.Context
	cancel context.CancelFunc
}

// LimitTime bounds cmd's context by --timeout, when set: the context ends
// the command's AWS calls; Stop releases it.
func (f *Factory) LimitTime(cmd *cobra.Command) error {
	if f.Timeout < 0 {
		return Usagef(cmd, "--timeout must not be negative")
	}
	if f.Timeout > 0 {
		ctx, cancel := context.WithTimeoutCause(cmd.Context(), f.Timeout, fmt.Errorf("--timeout %s reached", f.Timeout))
		f.timed, f.cancel = ctx, cancel
		cmd.SetContext(ctx)
	}
	return nil
}

// Stop releases --timeout's context.
func (f *Factory) Stop() {
	if f.cancel != nil {
		f.cancel()
	}
}

// TimedOut is the reason --timeout gave, once it was reached (nil before,
// or without --timeout).
func (f *Factory) TimedOut() error {
	if f.timed != nil && errors.Is(f.timed.Err(), context.DeadlineExceeded) {
		return context.Cause(f.timed)
	}
	return nil
}

// Progress is the progress bar on stderr when it is a terminal (nil
// otherwise): of total items (-1: unknown, a spinner with the count), with
// the count, the rate and, when total is known, the time left.
func (f *Factory) Progress(total int, description, items string) *progressbar.ProgressBar {
	if !f.IsTerminal(f.Stderr) {
		return nil
	}
	opts := []progressbar.Option{
		progressbar.OptionSetWriter(f.Stderr),
		progressbar.OptionSetDescription(description),
		progressbar.OptionShowCount(),
		progressbar.OptionShowIts(),
		progressbar.OptionSetItsString(items),
		progressbar.OptionClearOnFinish(),
	}
	if total < 0 {
		opts = append(opts, progressbar.OptionSpinnerType(14))
	} else {
		opts = append(opts, progressbar.OptionSetPredictTime(true), progressbar.OptionFullWidth())
	}
	return progressbar.NewOptions(total, opts...)
}

// ValidTarget checks a --task-definition value: an ARN, FAMILY or FAMILY:REV.
func ValidTarget(s string) error {
	if strings.HasPrefix(s, "arn:") {
		_, err := taskdef.ParseARN(s)
		return err
	}
	family, rev, found := strings.Cut(s, ":")
	if found && (rev == "" || strings.Trim(rev, "0123456789") != "" || rev[0] == '0') {
		return errors.New("the revision must be a positive number")
	}
	return taskdef.ValidFamily(family)
}
