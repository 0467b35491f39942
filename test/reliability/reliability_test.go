package reliability

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestRecordAndSummarize(t *testing.T) {
	path := filepath.Join(t.TempDir(), "results.jsonl")
	t.Setenv(EnvReport, path)
	Record(t, Result{Scenario: "burst of 200", Passed: 1, Registrations: 200, Notifications: 200})
	Record(t, Result{Scenario: "30 % faults", Runs: 2, Passed: 2, Registrations: 200, Notifications: 201, Faults: 120, Note: "seed 1,2"})
	Record(t, Result{Scenario: "burst of 200", Passed: 0, Registrations: 199, Notifications: 199, Note: "one lost"})
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	results, err := ReadResults(f)
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
	if AllPassed(sum) || !AllPassed(sum[1:]) || AllPassed(nil) {
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
