package bench

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"os"
	"path"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ecslogfix/ecslogfix/test/docblock"
)

// Row is one figure of the benchmark table. Other benchmarks (API calls per
// remediation, sweep scale, end-to-end latency) contribute rows as JSON
// lines (docblock.AppendRow), so `make bench` prints all figures in one table.
type Row struct {
	Measure string `json:"measure"`          // what is measured, e.g. "cold start, median of 10 (min–max)"
	Subject string `json:"subject"`          // detect, remediate, notify, python baseline, ...
	Value   string `json:"value"`            // the figure with its unit
	Target  string `json:"target,omitempty"` // the budget, when there is one
	Verdict string `json:"verdict,omitempty"`
}

// Doc marks the generated table in docs/performance.md ("Latest run"):
// `make bench` replaces what is between its markers (test/bench/cmd/bench
// -doc), and TestCommittedTableShape checks the committed block against
// Markdown's shape.
var Doc = docblock.MarkersFor("make bench")

// Functions are the functions under functions/ that test/bench/cmd/bench
// measures unless -functions names others: docs/performance.md's table has
// a cold start and a zip size row for each.
func Functions() []string { return []string{"detect", "remediate", "notify"} }

// Verdict renders whether a target was met.
func Verdict(met bool) string {
	if met {
		return "met"
	}
	return "MISSED"
}

// Markdown renders rows as one markdown table.
func Markdown(rows []Row) string {
	cells := make([][]string, len(rows))
	for i, r := range rows {
		cells[i] = []string{r.Measure, r.Subject, r.Value, r.Target, r.Verdict}
	}
	return docblock.Table("| Measure | Subject | Value | Target | Verdict |\n|---|---|---|---|---|\n", cells)
}

// ParseGoBench turns `go test -bench -benchmem` output into rows, one per
// benchmark, with the median of each metric over the -count runs (the raw
// output stays the input for benchstat). pkg lines name the subject.
func ParseGoBench(r io.Reader) ([]Row, error) {
	type bench struct {
		pkg, name string
		units     []string
		values    map[string][]float64
	}
	var order []*bench
	pkg := ""
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) >= 2 && f[0] == "pkg:" {
			pkg = path.Base(f[1])
			continue
		}
		if len(f) < 4 || !strings.HasPrefix(f[0], "Benchmark") {
			continue
		}
		name := strings.TrimPrefix(f[0], "Benchmark")
		if i := strings.LastIndexByte(name, '-'); i > 0 {
			name = name[:i] // drop the -GOMAXPROCS suffix
		}
		i := slices.IndexFunc(order, func(b *bench) bool { return b.pkg == pkg && b.name == name })
		if i < 0 {
			i, order = len(order), append(order, &bench{pkg: pkg, name: name, values: map[string][]float64{}})
		}
		b := order[i]
		for i := 2; i+1 < len(f); i += 2 {
			v, err := strconv.ParseFloat(f[i], 64)
			if err != nil {
				continue
			}
			unit := f[i+1]
			if _, ok := b.values[unit]; !ok {
				b.units = append(b.units, unit)
			}
			b.values[unit] = append(b.values[unit], v)
		}
	}
	rows := make([]Row, 0, len(order))
	for _, b := range order {
		var parts []string
		n := 0
		for _, u := range b.units {
			vs := b.values[u]
			n = max(n, len(vs))
			// One decimal at most: the mean of two medians must not print
			// as 551.9000000000001.
			parts = append(parts, strconv.FormatFloat(math.Round(Median(vs)*10)/10, 'f', -1, 64)+" "+u)
		}
		measure := "go bench " + b.name
		if n > 1 {
			measure += fmt.Sprintf(" (median of %d)", n)
		}
		rows = append(rows, Row{Measure: measure, Subject: b.pkg, Value: strings.Join(parts, ", ")})
	}
	return rows, sc.Err()
}

// Millis renders d in milliseconds with one decimal.
func Millis(d time.Duration) string {
	return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond))
}

// MiB renders a byte count in MiB.
func MiB(n int64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }

// EnvRows names the JSON-lines file RecordRow appends to; scripts/bench.sh
// sets it, runs the pipeline benchmarks (TestBench* functions) and adds
// their rows to the table.
const EnvRows = "ECSLOGFIX_BENCH_ROWS"

// RecordRow appends row to the file named by EnvRows; without it, the row is
// only logged, so a pipeline benchmark also runs as a plain test.
func RecordRow(tb testing.TB, row Row) {
	tb.Helper()
	tb.Logf("bench row: %s | %s | %s | %s | %s", row.Measure, row.Subject, row.Value, row.Target, row.Verdict)
	path := os.Getenv(EnvRows)
	if path == "" {
		return
	}
	if err := docblock.AppendRow(path, row); err != nil {
		tb.Fatalf("bench rows: %v", err)
	}
}

// EnvBench gates the pipeline benchmarks (TestBench* functions): they run
// only when it is "1", as scripts/bench.sh sets it, so `go test ./...`
// stays fast.
const EnvBench = "ECSLOGFIX_BENCH"

// RequireBench skips the calling test unless EnvBench is "1".
func RequireBench(tb testing.TB) {
	tb.Helper()
	if os.Getenv(EnvBench) != "1" {
		tb.Skipf("pipeline benchmark: runs under scripts/bench.sh (set %s=1)", EnvBench)
	}
}

// EnvInt is a benchmark's size from the environment variable name: a
// whole number of at least least, or def when it is not set.
func EnvInt(tb testing.TB, name string, def, least int) int {
	tb.Helper()
	s := os.Getenv(name)
	if s == "" {
		return def
	}
	v, err := strconv.Atoi(s)
	if err != nil || v < least {
		tb.Fatalf("%s=%q: want a whole number ≥ %d", name, s, least)
	}
	return v
}
