package cli

import (
	"bytes"
	"encoding/csv"
	"strings"
	"testing"
	"unicode"

	"github.com/ecslogfix/ecslogfix/internal/cli/output"
	"github.com/ecslogfix/ecslogfix/internal/cli/scan"
	"github.com/ecslogfix/ecslogfix/internal/policy/reason"
)

// hostile is what a registrant can put in names, option values and error
// messages that scan prints: terminal escapes, a forged row, a workflow
// command, a spreadsheet formula.
const hostile = "=cmd|x\x1b[2K\r\napp COMPLIANT\n::error::forged\u202e"

// TestScanTextAndCSVEscapeEveryField renders a row with hostile text in
// every string field, as a table and as CSV (the printer every command
// shares).
func TestScanTextAndCSVEscapeEveryField(t *testing.T) {
	row := scan.Row{Region: hostile, Family: hostile, TaskDefinitionARN: hostile, Verdict: scan.VerdictNonCompliant, Action: "REGISTER",
		Containers: []scan.ContainerReport{{Name: hostile, Reasons: []reason.Code{reason.MissingGroup}}}, Blockers: []string{hostile}, Error: hostile}
	for _, format := range []output.Format{output.FormatText, output.FormatCSV} {
		var out, errw bytes.Buffer
		p, err := output.NewPrinter(&out, &errw, format, scan.Table)
		if err != nil {
			t.Fatal(err)
		}
		if err := p.Print(row); err != nil {
			t.Fatal(err)
		}
		if err := p.Finish(""); err != nil {
			t.Fatal(err)
		}
		for _, r := range out.String() {
			if r != '\n' && (unicode.IsControl(r) || unicode.Is(unicode.Cf, r)) {
				t.Errorf("%s: raw %U", format, r)
			}
		}
		if lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n"); len(lines) != 2 {
			t.Errorf("%s: %d lines, want a header and one row:\n%s", format, len(lines), out.String())
		}
		if format == output.FormatCSV {
			recs, err := csv.NewReader(strings.NewReader(out.String())).ReadAll()
			if err != nil || len(recs) != 2 {
				t.Fatalf("csv: %v %d records", err, len(recs))
			}
			for _, cell := range recs[1] {
				if cell != "" && strings.ContainsRune("=+-@", rune(cell[0])) {
					t.Errorf("csv cell starts a formula: %q", cell)
				}
			}
		}
	}
}

// TestCheckCSVEscapesEveryField is the same for check's CSV, read from a
// file through the real reader.
func TestCheckCSVEscapesEveryField(t *testing.T) {
	in := `{"family": "=1+1\u001b[2J", "containerDefinitions": [{"name": "-x\r\n::add-mask::y", "logConfiguration": {"logDriver": "@SUM(A1)"}}]}`
	r := runApp(t, in, "check", "-o", "csv", "-")
	for _, c := range r.stdout {
		if c != '\n' && unicode.IsControl(c) {
			t.Errorf("raw %U in %q", c, r.stdout)
		}
	}
	recs, err := csv.NewReader(strings.NewReader(r.stdout)).ReadAll()
	if err != nil || len(recs) != 2 {
		t.Fatalf("%v %q", err, r.stdout)
	}
	for _, cell := range recs[1] {
		if cell != "" && strings.ContainsRune("=+-@", rune(cell[0])) {
			t.Errorf("csv cell starts a formula: %q", cell)
		}
	}
}
