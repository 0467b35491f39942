package cli

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ecslogfix/ecslogfix/internal/history"
	"github.com/ecslogfix/ecslogfix/internal/plan"
	"github.com/ecslogfix/ecslogfix/internal/policy/reason"
)

// writeHistory writes records as the store lays them out under dir.
func writeHistory(t *testing.T, dir string, recs ...history.Record) {
	t.Helper()
	for _, r := range recs {
		p := filepath.Join(dir, filepath.FromSlash(history.Location{}.Partition(r.Account, r.Region, r.Time)), r.ID+".jsonl")
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		b, _ := json.Marshal(r)
		if err := os.WriteFile(p, append(b, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestReportFromADirectory(t *testing.T) {
	dir := t.TempDir()
	day := time.Date(2026, 11, 3, 9, 0, 0, 0, time.UTC)
	ctx := plan.Context{Account: "111122223333", Region: "eu-west-1"}
	ok := history.FromPlan(plan.Plan{Family: "web", Revision: 1, SourceARN: "arn:aws:ecs:eu-west-1:111122223333:task-definition/web:1", Context: ctx, Compliant: true},
		history.Meta{Time: day, EventID: "e1"})
	bad := history.FromPlan(plan.Plan{Family: "batch", Revision: 2, SourceARN: "arn:aws:ecs:eu-west-1:111122223333:task-definition/batch:2", Context: ctx,
		Containers: []plan.ContainerChange{{Name: "app", Reasons: []reason.Code{reason.MissingLogConfiguration}}}}, history.Meta{Time: day.Add(time.Hour)})
	later := history.FromPlan(plan.Plan{Family: "later", Revision: 1, SourceARN: "arn:aws:ecs:eu-west-1:111122223333:task-definition/later:1", Context: ctx, Compliant: true},
		history.Meta{Time: day.AddDate(0, 1, 0), EventID: "e3"})
	writeHistory(t, dir, ok, bad, later)

	a, stdout, stderr := offlineApp(t, "")
	code := a.Run(context.Background(), []string{"report", "--history", dir, "--month", "2026-11", "-o", "csv"})
	if code != ExitViolation {
		t.Fatalf("exit %d, want %d (a family is not compliant)\n%s", code, ExitViolation, stderr)
	}
	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	if len(lines) != 3 || lines[0] != strings.Join([]string{"account", "region", "family", "state", "decision", "revision", "reasons", "exempt_until", "non_compliant_since", "last_decision"}, ",") ||
		!strings.HasPrefix(lines[1], "111122223333,eu-west-1,batch,NON_COMPLIANT,REPORT_ONLY,2,MISSING_LOG_CONFIGURATION,") {
		t.Fatalf("csv:\n%s", stdout)
	}
	out := filepath.Join(t.TempDir(), "r.html")
	a, _, stderr = offlineApp(t, "")
	if code := a.Run(context.Background(), []string{"report", "--history", dir, "-o", "html", "--out", out}); code != ExitViolation {
		t.Fatalf("html: exit %d\n%s", code, stderr)
	}
	page, err := os.ReadFile(out)
	if err != nil || !strings.Contains(string(page), `id="families">3<`) || !strings.Contains(stderr.String(), "3 families, 1 not compliant") {
		t.Errorf("html page (%v), stderr %s", err, stderr)
	}
	for _, tt := range []struct{ args, want string }{
		{"report --history " + dir + " --month 11/2026", `--month "11/2026" is not YYYY-MM`},
		{"report --history " + dir + " --from 2026-11-02 --to 2026-11-01", "--to 2026-11-01 is before --from 2026-11-02"},
		{"report --history " + dir + " -o pdf", "must be text, json, csv or html"},
		{"scan -o html", "must be text, json or csv"},
		{"report --history bucket-without-scheme", "not an s3://BUCKET/PREFIX location"},
	} {
		a, _, stderr := offlineApp(t, "")
		if code := a.Run(context.Background(), strings.Fields(tt.args)); code != ExitError || !strings.Contains(stderr.String(), tt.want) {
			t.Errorf("%s: exit %d, stderr %q, want %q", tt.args, code, stderr, tt.want)
		}
	}
	broken := filepath.Join(dir, "v1", "account=1", "region=r", "date=2026-11-05", "x.jsonl")
	_ = os.MkdirAll(filepath.Dir(broken), 0o755)
	_ = os.WriteFile(broken, []byte(`{"schema":"other"}`+"\n"), 0o644)
	a, _, stderr = offlineApp(t, "")
	if code := a.Run(context.Background(), []string{"report", "--history", dir}); code != ExitError || !strings.Contains(stderr.String(), `x.jsonl:1: schema "other"`) {
		t.Errorf("a foreign line: exit %d, %s", code, stderr)
	}
}
