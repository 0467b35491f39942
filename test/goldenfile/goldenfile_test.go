package goldenfile

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestFirstDiffLine(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want int
	}{
		{"x", "y", 1},
		{"a\nb\n", "a\nc\n", 2},
		{"a\nb\n", "a\nb\nc\n", 3},
	} {
		if got := firstDiffLine([]byte(tc.a), []byte(tc.b)); got != tc.want {
			t.Errorf("firstDiffLine(%q, %q) = %d, want %d", tc.a, tc.b, got, tc.want)
		}
	}
}

// Update writes the file (and its directory); without update the same
// bytes pass.
func TestCheckUpdateThenCompare(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "x.txt")
	Check(t, path, []byte("hello\n"), true)
	if b, err := os.ReadFile(path); err != nil || string(b) != "hello\n" {
		t.Fatalf("wrote %q, %v", b, err)
	}
	Check(t, path, []byte("hello\n"), false)
}

// recorder catches what Check reports.
type recorder struct {
	testing.TB
	errors []string
}

func (r *recorder) Helper() {}

func (r *recorder) Errorf(format string, args ...any) {
	r.errors = append(r.errors, fmt.Sprintf(format, args...))
}

// Different bytes are an error that names the file and the first line
// that differs.
func TestCheckReportsDifference(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.txt")
	if err := os.WriteFile(path, []byte("a\nb\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r := &recorder{TB: t}
	Check(r, path, []byte("a\nc\n"), false)
	if len(r.errors) != 1 || !strings.Contains(r.errors[0], path+" differs from the golden file at line 2") {
		t.Fatalf("reported %q", r.errors)
	}
}
