package bench

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// The committed table of docs/performance.md has the shape
// test/bench/cmd/bench writes: its provenance line, Markdown's header, five
// cells per row, the Python baseline rows, and a cold start and an arm64
// zip row for each of Functions. Values are not compared.
func TestCommittedTableShape(t *testing.T) {
	rows, err := Doc.CheckFile(filepath.Join("..", "..", "docs", "performance.md"), Markdown(nil), 5)
	if err != nil {
		t.Fatalf("%v\nregenerate with make bench", err)
	}
	// measure prefix and subject of every row, from its first two cells
	var keys [][2]string
	for _, r := range rows {
		cells := strings.SplitN(strings.TrimPrefix(r, "| "), " | ", 3)
		keys = append(keys, [2]string{cells[0], cells[1]})
	}
	has := func(prefix, subject string) bool {
		return slices.ContainsFunc(keys, func(k [2]string) bool {
			return strings.HasPrefix(k[0], prefix) && (subject == "" || k[1] == subject)
		})
	}
	for _, prefix := range []string{"Python baseline: start", "Python baseline: peak RSS"} {
		if !has(prefix, "") {
			t.Errorf("no %q row: regenerate with make bench", prefix)
		}
	}
	for _, f := range Functions() {
		for _, prefix := range []string{"cold start (", "cold start ÷ Python baseline", "arm64 zip"} {
			if !has(prefix, f) {
				t.Errorf("no %q row for %s: regenerate with make bench", prefix, f)
			}
		}
	}
}
