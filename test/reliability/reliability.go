// Package reliability holds what the scenarios of docs/reliability.md
// share: the result of a scenario run, a recorder that appends results to
// the file named by ECSLOGFIX_RELIABILITY_REPORT (so `make reliability` can
// print one table over all packages), the table itself, and the rate-budget
// check applied to a fault proxy's observed request rate. The scenarios in
// test/reliability/faults and test/reliability/security record through it.
package reliability

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ecslogfix/ecslogfix/test/docblock"
)

// EnvReport names the JSON-lines file Record appends to.
const EnvReport = "ECSLOGFIX_RELIABILITY_REPORT"

// Scenarios are the IDs of every row `make reliability` must produce: the
// scenarios' Record calls and reliability.sh's fuzz and govulncheck rows. A
// report that lacks one does not pass (Missing): a scenario that failed
// before it recorded, or was left out by a -run pattern, leaves no row.
var Scenarios = []string{
	"interleaved", "rollout-faults", "hostile-input", "races-and-loops", "burst", "burst-deployed", "retries-spent",
	"thirty-percent", "exhausted-retries", "cross-account", "secret-leakage", "fuzz", "govulncheck",
}

// Result is the outcome of one scenario run (or of Runs runs summed).
type Result struct {
	// ID is the scenario's stable name, one of Scenarios.
	ID            string `json:"id"`
	Scenario      string `json:"scenario"`
	Runs          int    `json:"runs"`
	Passed        int    `json:"passed"`
	Registrations int    `json:"registrations"` // RegisterTaskDefinition calls that reached the emulator
	Notifications int    `json:"notifications"` // notifications delivered (SNS → SQS)
	Faults        int    `json:"faults"`        // faults injected by the proxy
	Note          string `json:"note,omitempty"`
}

// Record appends r to the report file when EnvReport is set; it is a no-op
// otherwise, so scenarios run as plain tests too. The row is written when
// the test ends (tb.Cleanup), so every assertion counts, those after
// Record included: a test that failed by then records Passed = 0 whatever
// r says.
func Record(tb testing.TB, r Result) {
	tb.Helper()
	path := os.Getenv(EnvReport)
	if path == "" {
		return
	}
	if r.Runs == 0 {
		r.Runs = 1
	}
	tb.Cleanup(func() {
		if tb.Failed() {
			r.Passed = 0
		}
		if err := docblock.AppendRow(path, r); err != nil {
			tb.Errorf("reliability report: %v", err)
		}
	})
}

// Missing lists the Scenarios no result has a row for, in order.
func Missing(results []Result) []string {
	var out []string
	for _, id := range Scenarios {
		if !slices.ContainsFunc(results, func(r Result) bool { return r.ID == id }) {
			out = append(out, id)
		}
	}
	return out
}

// Summarize sums the results per scenario, in order of first appearance.
func Summarize(results []Result) []Result {
	var out []Result
	for _, r := range results {
		i := slices.IndexFunc(out, func(s Result) bool { return s.Scenario == r.Scenario })
		if i < 0 {
			i, out = len(out), append(out, Result{ID: r.ID, Scenario: r.Scenario})
		}
		s := &out[i]
		s.Runs += r.Runs
		s.Passed += r.Passed
		s.Registrations += r.Registrations
		s.Notifications += r.Notifications
		s.Faults += r.Faults
		if r.Note != "" && !slices.Contains(strings.Split(s.Note, "; "), r.Note) {
			s.Note = strings.TrimPrefix(s.Note+"; "+r.Note, "; ")
		}
	}
	return out
}

// Markdown renders summarized results as docs/reliability.md's table.
func Markdown(results []Result) string {
	cells := make([][]string, len(results))
	for i, r := range results {
		cells[i] = []string{r.Scenario, strconv.Itoa(r.Runs), strconv.Itoa(r.Passed), strconv.Itoa(r.Registrations),
			strconv.Itoa(r.Notifications), strconv.Itoa(r.Faults), r.Note}
	}
	return docblock.Table("| Scenario | Runs | Passed | Registrations | Notifications | Faults injected | Note |\n|---|---:|---:|---:|---:|---:|---|\n", cells)
}

// AllPassed reports whether every run of every scenario passed and every
// one of Scenarios ran.
func AllPassed(results []Result) bool {
	if len(Missing(results)) > 0 {
		return false
	}
	for _, r := range results {
		if r.Passed != r.Runs {
			return false
		}
	}
	return len(results) > 0
}

// Budget is a token-bucket rate limit: Rate calls per second sustained,
// Burst calls at once.
type Budget struct {
	Rate  float64
	Burst int
}

// Allowed is the most calls a client honouring b may make in any window of
// length d: the burst plus the refill during the window.
func (b Budget) Allowed(d time.Duration) float64 {
	return float64(max(b.Burst, 1)) + b.Rate*d.Seconds()
}

// CheckRate compares the most calls seen in sliding windows of 1 s and 10 s
// (maxIn is typically a faultproxy Proxy's MaxInWindow for one API) with the
// budget, allowing tolerance (0.1 = 10 %) over it. It returns an error
// naming every window that exceeded the budget.
func CheckRate(maxIn func(time.Duration) int, b Budget, tolerance float64) error {
	var errs []error
	for _, d := range []time.Duration{time.Second, 10 * time.Second} {
		seen, allowed := maxIn(d), b.Allowed(d)*(1+tolerance)
		if float64(seen) > allowed {
			errs = append(errs, fmt.Errorf("%d calls in a %v window, budget %.1f (rate %g/s, burst %d, +%.0f%%)",
				seen, d, allowed, b.Rate, b.Burst, tolerance*100))
		}
	}
	return errors.Join(errs...)
}

// Doc marks the generated table in docs/reliability.md: `make reliability`
// replaces what is between its markers (reliability-report -doc), and
// TestCommittedTableShape checks the committed block against Markdown's
// shape.
var Doc = docblock.MarkersFor("make reliability")
