// Package goldenfile compares test output with committed golden files.
package goldenfile

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// shown is how much of each side a failure prints.
const shown = 16 << 10

// Check compares got with the golden file at path. With update set (the
// test package's -update flag) it writes got there instead, creating the
// directories it needs.
func Check(tb testing.TB, path string, got []byte, update bool) {
	tb.Helper()
	if update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			tb.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			tb.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		tb.Fatalf("%v (go test -update creates it)", err)
	}
	if !bytes.Equal(got, want) {
		tb.Errorf("%s differs from the golden file at line %d (go test -update rewrites it; review the diff):\n--- got\n%s\n--- want\n%s",
			path, firstDiffLine(got, want), clip(got), clip(want))
	}
}

// firstDiffLine is the 1-based number of the first line where a and b differ.
func firstDiffLine(a, b []byte) int {
	line := 1
	for i := 0; i < len(a) && i < len(b) && a[i] == b[i]; i++ {
		if a[i] == '\n' {
			line++
		}
	}
	return line
}

func clip(b []byte) []byte {
	if len(b) <= shown {
		return b
	}
	return append(b[:shown:shown], "\n… (clipped)"...)
}
