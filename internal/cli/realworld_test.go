package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// EnvRealWorld names a directory of task definitions and CloudTrail
// records collected from public sources (not the project's to copy: read
// in place, never committed). .ci/run sets it when such a directory exists.
const EnvRealWorld = "ECSLOGFIX_REALWORLD_DIR"

// TestRealWorldFiles runs check on every file of that directory: each gets
// a verdict, or one clear line of error (exit 2) naming a position, a
// field or what the document is, and the same output on every run.
func TestRealWorldFiles(t *testing.T) {
	dir := os.Getenv(EnvRealWorld)
	if dir == "" {
		t.Skipf("opt-in: set %s to a directory of real-world task definitions", EnvRealWorld)
	}
	var files []string
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(p, ".json") {
			files = append(files, p)
		}
		return err
	})
	if err != nil || len(files) == 0 {
		t.Fatalf("%s: %v (%d files)", dir, err, len(files))
	}
	verdicts, errs := 0, 0
	for _, f := range files {
		rel, _ := filepath.Rel(dir, f)
		t.Run(rel, func(t *testing.T) {
			r := runApp(t, "", "check", "--output", "json", f)
			again := runApp(t, "", "check", "--output", "json", f)
			if r.stdout != again.stdout || r.stderr != again.stderr || r.code != again.code {
				t.Errorf("a second run differs")
			}
			var reports []FileReport
			if err := json.Unmarshal([]byte(r.stdout), &reports); err != nil || len(reports) == 0 {
				t.Fatalf("output: %v\n%s", err, r.stdout)
			}
			switch r.code {
			case ExitOK, ExitViolation:
				verdicts++
				for _, rep := range reports {
					if rep.Verdict == "" || rep.Error != "" {
						t.Errorf("no verdict: %+v", rep)
					}
				}
			case ExitError:
				errs++
				if strings.Count(r.stderr, "\n") != 1 || !strings.HasPrefix(r.stderr, "ecslogfix: check: ") ||
					strings.Contains(r.stderr, "types.") || stackTrace.MatchString(r.stderr) {
					t.Errorf("not one clear line: %q", r.stderr)
				}
				for _, rep := range reports {
					if rep.Error == "" || !strings.ContainsAny(rep.Error, ":") {
						t.Errorf("error report %+v", rep)
					}
				}
			default:
				t.Errorf("exit %d", r.code)
			}
			t.Logf("exit %d: %s", r.code, strings.TrimSpace(r.stderr))
		})
	}
	t.Logf("%d files: %d verdicts, %d clear errors", len(files), verdicts, errs)
}
