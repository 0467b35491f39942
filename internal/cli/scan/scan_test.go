package scan

import (
	"io"
	"testing"

	"github.com/ecslogfix/ecslogfix/internal/cli/command"
	"github.com/ecslogfix/ecslogfix/internal/cli/output"
)

// TestCommandLine: scan's flags reach its options.
func TestCommandLine(t *testing.T) {
	var got *Options
	cmd := NewCmd(&command.Factory{}, func(o *Options) error { got = o; return nil })
	cmd.SetArgs([]string{"--output", "table", "--family-prefix", "pay", "--show-compliant", "--read-rate", "5"})
	cmd.SetOut(io.Discard)
	cmd.SetErr(io.Discard)
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
	if got == nil {
		t.Fatal("runF not called")
	}
	if got.output != output.FormatText || got.familyPrefix != "pay" || !got.showCompliant || got.readRate != 5 {
		t.Errorf("scan: %+v", got)
	}
}
