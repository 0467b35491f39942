package report

import (
	"bytes"
	"context"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/ecslogfix/ecslogfix/internal/history"
	"github.com/ecslogfix/ecslogfix/test/localaws"
)

var screenshot = flag.Bool("screenshot", false, "rewrite docs/report-screenshot.png from the sample report")

// chromium finds Debian's chromium (make tools installs it).
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	localaws.RequireTool(t, &localaws.MissingToolError{Tool: "chromium", Hint: "Debian's chromium package (make tools installs it)"})
	return ""
}

// headless runs chromium on page with a fresh profile, no network
// services, and the given output flag.
func headless(t *testing.T, bin, page string, out ...string) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	args := append([]string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
		"--disable-sync", "--no-first-run", "--user-data-dir=" + t.TempDir(), "--window-size=1100,1900"}, out...)
	cmd := exec.CommandContext(ctx, bin, append(args, "file://"+page)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("chromium: %v\n%s", err, stderr.String())
	}
	return stdout.Bytes()
}

// The HTML report opened in headless Chromium renders with the counts of
// the history it was built from (the DOM Chromium laid out, not the
// template's text), and its charts are drawn.
func TestReportInChromium(t *testing.T) {
	bin := chromium(t)
	r := Build(Sample(), history.Period{From: day, To: day}, day.Add(time.Hour))
	dir := t.TempDir()
	page := filepath.Join(dir, "report.html")
	var html bytes.Buffer
	if err := r.HTML(&html); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(page, html.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	dom := string(headless(t, bin, page, "--dump-dom"))
	for id, want := range map[string]string{"total-COMPLIANT": "1", "total-REMEDIATED": "1", "total-EXEMPT": "1", "total-NON_COMPLIANT": "1",
		"families": "4", "open-exemptions": "1", "records": "7", "decision-COMPLIANT": "2"} {
		m := regexp.MustCompile(`id="` + id + `"[^>]*>([^<]*)<`).FindStringSubmatch(dom)
		if m == nil || m[1] != want {
			t.Errorf("%s in the rendered page: %v, want %s", id, m, want)
		}
	}
	if n := len(regexp.MustCompile(`<rect `).FindAllString(dom, -1)); n < 8 {
		t.Errorf("%d chart bars rendered", n)
	}
	shot := filepath.Join(dir, "report.png")
	headless(t, bin, page, "--screenshot="+shot, "--hide-scrollbars")
	png, err := os.ReadFile(shot)
	if err != nil || len(png) < 10000 || !bytes.HasPrefix(png, []byte("\x89PNG")) {
		t.Fatalf("screenshot: %d bytes, %v", len(png), err)
	}
	if *screenshot {
		if err := os.WriteFile(filepath.Join("..", "..", "docs", "report-screenshot.png"), png, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
