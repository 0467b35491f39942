package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/ecslogfix/ecslogfix/internal/cli/explain"
	"github.com/ecslogfix/ecslogfix/internal/cli/fix"
	"github.com/ecslogfix/ecslogfix/internal/policy/reason"
	"github.com/ecslogfix/ecslogfix/internal/source"
	"github.com/ecslogfix/ecslogfix/internal/taskdef"
)

// EnvRealWorld names a directory of task definitions and CloudTrail
// records collected from public sources (not the project's to copy: read
// in place, never committed). .ci/run sets it when such a directory exists.
const EnvRealWorld = "ECSLOGFIX_REALWORLD_DIR"

// TestRealWorldFiles runs check on every file of that directory: each gets
// a verdict, or one clear line of error (exit 2) naming a position, a
// field or what the document is, and the same output on every run.
func TestRealWorldFiles(t *testing.T) {
	dir, files := realWorldFiles(t)
	verdicts, errs := 0, 0
	tally := map[string]int{} // verdict, and each reason code, over the task definitions
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
					var rs [][]reason.Code
					for _, c := range rep.Containers {
						rs = append(rs, c.Reasons)
					}
					count(tally, string(rep.Verdict), rs...)
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
	t.Logf("%d files: %d verdicts, %d clear errors; %s", len(files), verdicts, errs, tallyText(tally))
}

// realWorldFiles lists the JSON files of the directory EnvRealWorld names,
// or skips the test (opt-in).
func realWorldFiles(t *testing.T) (string, []string) {
	t.Helper()
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
	return dir, files
}

// count adds a verdict and each distinct reason code of its containers.
func count(tally map[string]int, verdict string, reasons ...[]reason.Code) {
	tally[verdict]++
	seen := map[reason.Code]bool{}
	for _, rs := range reasons {
		for _, r := range rs {
			if !seen[r] {
				seen[r] = true
				tally[string(r)]++
			}
		}
	}
}

func tallyText(m map[string]int) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, fmt.Sprintf("%s %d", k, m[k]))
	}
	return strings.Join(parts, ", ")
}

// TestRealWorldLive takes every file check judged (a task definition
// file) through the live path: registered in moto (through the
// stand-ins) under a family of its own, then `fix --task-definition` (dry
// run) reads its log groups once each — all missing in a new account, as
// in moto — and says what it would do. Each gets a verdict and an action,
// or one clear line of error (exit 2); a definition moto refuses to
// register is reported with moto's answer, which names the field.
func TestRealWorldLive(t *testing.T) {
	dir, files := realWorldFiles(t)
	c, _ := needMoto(t)
	ctx := context.Background()
	tally := map[string]int{}
	live, refused := 0, 0
	for i, f := range files {
		rel, _ := filepath.Rel(dir, f)
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		file := source.Read(rel, data)
		if file.Err != nil || len(file.Resources) != 1 || !file.Resources[0].Format.IsTaskDefinitionFile() {
			continue // check's error, or not a task definition file: TestRealWorldFiles covers it
		}
		t.Run(rel, func(t *testing.T) {
			res := file.Resources[0]
			family := fmt.Sprintf("rw-%02d", i)
			td := *res.TaskDefinition
			td.Family = aws.String(family)
			in, err := taskdef.RegisterInput(&td, res.Tags)
			if err == nil {
				_, err = c.RegisterTaskDefinition(ctx, in)
			}
			if err != nil {
				refused++
				if msg := explain.FirstLine(err.Error()); msg == "" || stackTrace.MatchString(msg) {
					t.Errorf("not one clear line: %q", err)
				}
				t.Logf("not registrable: %s", explain.FirstLine(err.Error()))
				return
			}
			live++
			r := runAWS(t, "fix", "--task-definition", family, "-o", "json")
			var items []fix.Item
			if err := json.Unmarshal([]byte(r.stdout), &items); err != nil || len(items) != 1 {
				t.Fatalf("fix: exit %d, %v\n%s%s", r.code, err, r.stdout, r.stderr)
			}
			it := items[0]
			switch {
			case r.code == ExitError && it.Error != "" && strings.Count(r.stderr, "\n") == 1:
				count(tally, "ERROR")
			case (r.code == ExitOK || r.code == ExitViolation) && it.Error == "" && it.Verdict != "" && it.Action != "":
				var rs [][]reason.Code
				for _, c := range it.Containers {
					rs = append(rs, c.Reasons)
				}
				count(tally, string(it.Verdict)+"/"+string(it.Action), rs...)
			default:
				t.Errorf("exit %d: no verdict and no clear error: %+v\n%s", r.code, it, r.stderr)
			}
			t.Logf("%s %s %v", it.Verdict, it.Action, it.Containers)
		})
	}
	t.Logf("%d task definitions judged live, %d not registrable; %s", live, refused, tallyText(tally))
}
