// Package commandtest runs one ecslogfix command's parsing in tests: the
// command built with its NewCmd, with runF in place of its run function.
package commandtest

import (
	"io"
	"testing"

	"github.com/spf13/cobra"

	"github.com/ecslogfix/ecslogfix/internal/cli/command"
)

// Parse runs the command newCmd builds on f with args, runF in place of its
// run function, and returns the options runF was given.
func Parse[O any](t testing.TB, f *command.Factory, newCmd func(*command.Factory, func(*O) error) *cobra.Command, args ...string) *O {
	t.Helper()
	var got *O
	cmd := newCmd(f, func(o *O) error { got = o; return nil })
	cmd.SetArgs(args)
	cmd.SetOut(io.Discard)
	cmd.SetErr(io.Discard)
	if err := cmd.Execute(); err != nil {
		t.Fatalf("%v: %v", args, err)
	}
	if got == nil {
		t.Fatalf("%v: runF not called", args)
	}
	return got
}
