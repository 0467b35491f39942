package cli

import (
	"bytes"
	"slices"
	"testing"

	"github.com/spf13/cobra"

	"github.com/ecslogfix/ecslogfix/internal/cli/command"
	"github.com/ecslogfix/ecslogfix/internal/cli/command/commandtest"
	"github.com/ecslogfix/ecslogfix/internal/cli/output"
	"github.com/ecslogfix/ecslogfix/internal/cli/scan"
)

// parse runs a command built with newCmdX on args in the offline
// environment, with runF in place of its run function, and returns the
// options runF was given.
func parse[O any](t *testing.T, newCmd func(*command.Factory, func(*O) error) *cobra.Command, args ...string) *O {
	t.Helper()
	a, _, _ := offlineApp(t, "")
	return commandtest.Parse(t, &command.Factory{Env: command.Env(*a)}, newCmd, args...)
}

func TestCommandLines(t *testing.T) {
	c := parse(t, newCmdCheck, "-o", "csv", "--account", "444455556666", "a.json", "-")
	if c.output != output.FormatCSV || c.account != "444455556666" || c.region != "us-east-1" || !slices.Equal(c.files, []string{"a.json", "-"}) {
		t.Errorf("check: %+v", c)
	}
	b := parse(t, newCmdBackout, "--task-definition", "f:2", "--cluster", "a", "--cluster", "b", "--delete-log-group", "-o", "csv")
	if b.output != output.FormatCSV || b.taskDefinition != "f:2" || !slices.Equal(b.clusters, []string{"a", "b"}) || !b.deleteLogGroup || b.apply {
		t.Errorf("backout: %+v", b)
	}
}

// TestOutputEverywhere: every command takes the same -o, and refuses the
// same wrong value the same way (check also writes SARIF and annotations).
func TestOutputEverywhere(t *testing.T) {
	for _, args := range [][]string{
		{"check", "x.json"},
		{"scan"},
		{"fix", "--all"},
		{"backout", "--task-definition", "f:2"},
	} {
		r := runApp(t, "", append(args, "-o", "yaml")...)
		formats := "text, json or csv"
		if args[0] == "check" {
			formats = "text, json, csv, sarif or github"
		}
		want := `ecslogfix: invalid argument "yaml" for "-o, --output" flag: must be ` + formats + "\n" +
			"Run 'ecslogfix " + args[0] + " --help' for usage.\n"
		if r.code != ExitError || r.stderr != want {
			t.Errorf("%v -o yaml: exit %d\n%s", args, r.code, r.stderr)
		}
	}
}

// TestPrinterJSON: with no result the array is empty; with some it is one
// array, whatever the type.
func TestPrinterJSON(t *testing.T) {
	var out, errw bytes.Buffer
	p, err := output.NewPrinter(&out, &errw, output.FormatJSON, scan.Table)
	if err != nil {
		t.Fatal(err)
	}
	p.Note("for people")
	if err := p.Finish("summary"); err != nil {
		t.Fatal(err)
	}
	if out.String() != "[]\n" || errw.String() != "for people\nsummary\n" {
		t.Errorf("stdout %q, stderr %q", out.String(), errw.String())
	}
}
