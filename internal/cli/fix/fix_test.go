package fix

import (
	"slices"
	"testing"

	"github.com/ecslogfix/ecslogfix/internal/cli/command"
	"github.com/ecslogfix/ecslogfix/internal/cli/command/commandtest"
	"github.com/ecslogfix/ecslogfix/internal/cli/output"
)

// parse runs fix on args with runF in place of run, and returns the
// options runF was given.
func parse(t *testing.T, args ...string) *Options {
	t.Helper()
	return commandtest.Parse(t, &command.Factory{}, NewCmd, args...)
}

// TestCommandLine: fix's flags reach its options.
func TestCommandLine(t *testing.T) {
	x := parse(t, "--task-definition", "a", "--task-definition", "b:2", "--apply", "--rate", "1", "-o", "json")
	if x.output != output.FormatJSON || !slices.Equal(x.taskDefinitions, []string{"a", "b:2"}) || !x.apply || x.rate != 1 || x.all {
		t.Errorf("fix: %+v", x)
	}
	x = parse(t, "--all", "--family-prefix", "pay")
	if !x.all || x.familyPrefix != "pay" || x.apply || x.output != output.FormatText || x.readRate != 10 {
		t.Errorf("fix --all: %+v", x)
	}
}
