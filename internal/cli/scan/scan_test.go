package scan

import (
	"testing"

	"github.com/ecslogfix/ecslogfix/internal/cli/command"
	"github.com/ecslogfix/ecslogfix/internal/cli/command/commandtest"
	"github.com/ecslogfix/ecslogfix/internal/cli/output"
)

// TestCommandLine: scan's flags reach its options.
func TestCommandLine(t *testing.T) {
	got := commandtest.Parse(t, &command.Factory{}, NewCmd, "--output", "table", "--family-prefix", "pay", "--show-compliant", "--read-rate", "5")
	if got.output != output.FormatText || got.familyPrefix != "pay" || !got.showCompliant || got.readRate != 5 {
		t.Errorf("scan: %+v", got)
	}
}
