package reliability

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ecslogfix/ecslogfix/test/docblock"
)

func TestRecordAndSummarize(t *testing.T) {
	path := filepath.Join(t.TempDir(), "results.jsonl")
	t.Setenv(EnvReport, path)
	// Rows are written when the recording test ends.
	t.Run("record", func(t *testing.T) {
		Record(t, Result{Scenario: "burst of 200", Passed: 1, Registrations: 200, Notifications: 200})
		Record(t, Result{Scenario: "30 % faults", Runs: 2, Passed: 2, Registrations: 200, Notifications: 201, Faults: 120, Note: "seed 1,2"})
		Record(t, Result{Scenario: "burst of 200", Passed: 0, Registrations: 199, Notifications: 199, Note: "one lost"})
	})
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	results, err := docblock.ReadRows[Result](f)
	if err != nil {
		t.Fatal(err)
	}
	sum := Summarize(results)
	want := []Result{
		{Scenario: "burst of 200", Runs: 2, Passed: 1, Registrations: 399, Notifications: 399, Note: "one lost"},
		{Scenario: "30 % faults", Runs: 2, Passed: 2, Registrations: 200, Notifications: 201, Faults: 120, Note: "seed 1,2"},
	}
	if len(sum) != 2 || sum[0] != want[0] || sum[1] != want[1] {
		t.Fatalf("Summarize = %+v\nwant %+v", sum, want)
	}
	all := func(rs []Result) []Result { // rs, and a passed row for every other scenario
		out := slices.Clone(rs)
		for _, id := range Missing(rs) {
			out = append(out, Result{ID: id, Runs: 1, Passed: 1})
		}
		return out
	}
	sum[0].ID, sum[1].ID = Scenarios[0], Scenarios[1]
	if AllPassed(all(sum)) || !AllPassed(all(sum[1:2])) || AllPassed(nil) {
		t.Error("AllPassed")
	}
	md := Markdown(sum)
	if !strings.Contains(md, "| burst of 200 | 2 | 1 | 399 | 399 | 0 | one lost |") {
		t.Errorf("Markdown:\n%s", md)
	}
}

func TestRecordWithoutReportIsNoop(t *testing.T) {
	t.Setenv(EnvReport, "")
	Record(t, Result{Scenario: "x"}) // must neither fail nor write
}

func TestCheckRate(t *testing.T) {
	b := Budget{Rate: 1, Burst: 5} // ≤ 6 per 1 s, ≤ 15 per 10 s; +10 %: 6.6 and 16.5
	window := func(per1, per10 int) func(time.Duration) int {
		return func(d time.Duration) int {
			if d == time.Second {
				return per1
			}
			return per10
		}
	}
	if err := CheckRate(window(6, 16), b, 0.1); err != nil {
		t.Errorf("within budget: %v", err)
	}
	err := CheckRate(window(7, 17), b, 0.1)
	if err == nil || !strings.Contains(err.Error(), "7 calls in a 1s window") || !strings.Contains(err.Error(), "17 calls in a 10s window") {
		t.Errorf("over budget: err = %v", err)
	}
	if got := (Budget{Rate: 2}).Allowed(10 * time.Second); got != 21 {
		t.Errorf("Allowed = %v, want 21 (burst defaults to 1)", got)
	}
}

// TestReportFailsUnlessEveryScenarioRan: a report with 1 of the scenarios
// passed used to pass; every one of Scenarios must have a row.
func TestReportFailsUnlessEveryScenarioRan(t *testing.T) {
	one := []Result{{ID: Scenarios[0], Scenario: "one", Runs: 1, Passed: 1}}
	if AllPassed(one) {
		t.Errorf("1 of %d scenarios passes the report", len(Scenarios))
	}
	if got := Missing(one); !slices.Equal(got, Scenarios[1:]) {
		t.Errorf("Missing = %v, want %v", got, Scenarios[1:])
	}
	var every []Result
	for _, id := range Scenarios {
		every = append(every, Result{ID: id, Scenario: id, Runs: 1, Passed: 1})
	}
	if !AllPassed(every) || len(Missing(every)) != 0 {
		t.Error("every scenario passed, and the report fails")
	}
}

// laterFailure is a test that fails after it recorded.
type laterFailure struct {
	testing.TB
	failed   bool
	cleanups []func()
}

func (l *laterFailure) Helper()               {}
func (l *laterFailure) Failed() bool          { return l.failed }
func (l *laterFailure) Cleanup(f func())      { l.cleanups = append(l.cleanups, f) }
func (l *laterFailure) Errorf(string, ...any) { l.failed = true }
func (l *laterFailure) Fatalf(string, ...any) { l.failed = true }
func (l *laterFailure) Error(...any)          { l.failed = true }

// TestRecordCountsAssertionsAfterIt: a scenario that records and then fails
// an assertion records Passed = 0 (the row used to say passed).
func TestRecordCountsAssertionsAfterIt(t *testing.T) {
	path := filepath.Join(t.TempDir(), "results.jsonl")
	t.Setenv(EnvReport, path)
	l := &laterFailure{TB: t}
	Record(l, Result{ID: "burst", Scenario: "burst", Passed: 1})
	l.Errorf("the last assertion fails")
	for _, f := range l.cleanups {
		f()
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rs, err := docblock.ReadRows[Result](f)
	if err != nil || len(rs) != 1 || rs[0].Passed != 0 {
		t.Fatalf("rows %+v (%v), want one with Passed 0", rs, err)
	}
}

// TestScenariosMatchTheRecordCalls: Scenarios names exactly the IDs the
// scenarios and reliability.sh record, so a new scenario cannot be left out
// of the check.
func TestScenariosMatchTheRecordCalls(t *testing.T) {
	var ids []string
	for _, glob := range []string{"faults/*_test.go", "security/*_test.go"} {
		files, _ := filepath.Glob(glob)
		for _, name := range files {
			b, err := os.ReadFile(name)
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range regexp.MustCompile(`reliability\.Result\{\s*ID: "([^"]+)"`).FindAllSubmatch(b, -1) {
				ids = append(ids, string(m[1]))
			}
		}
	}
	sh, err := os.ReadFile("reliability.sh")
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range regexp.MustCompile(`(?m)^\s*(?:\d\)\s*)?(?:\w+=\S+ )?row ([a-z-]+) "`).FindAllSubmatch(sh, -1) {
		if !slices.Contains(ids, string(m[1])) {
			ids = append(ids, string(m[1]))
		}
	}
	slices.Sort(ids)
	want := slices.Sorted(slices.Values(Scenarios))
	if !slices.Equal(ids, want) {
		t.Errorf("recorded IDs %v, Scenarios %v", ids, want)
	}
}

// The committed table of docs/reliability.md has the shape the generator
// writes: its provenance line, Markdown's header, seven cells per row and
// one row per scenario. Timing values and notes are not compared.
func TestCommittedTableShape(t *testing.T) {
	rows, err := Doc.CheckFile(filepath.Join("..", "..", "docs", "reliability.md"), Markdown(nil), 7)
	if err != nil {
		t.Fatalf("%v\nregenerate with make reliability", err)
	}
	if len(rows) != len(Scenarios) {
		t.Errorf("%d rows, want one per scenario (%d): regenerate with make reliability", len(rows), len(Scenarios))
	}
}
