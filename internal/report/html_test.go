package report

import (
	"bytes"
	"flag"
	"testing"
	"time"

	"github.com/ecslogfix/ecslogfix/internal/history"
	"github.com/ecslogfix/ecslogfix/internal/workflow"
	"github.com/ecslogfix/ecslogfix/test/goldenfile"
)

var update = flag.Bool("update", false, "rewrite testdata/report.html and testdata/empty.html")

// The page is compared byte for byte: every section filled, and history
// text carrying each character HTML escapes (NUL, quotes, &, +, <, >) in a
// text node, an attribute and an SVG title.
func TestHTMLGolden(t *testing.T) {
	recs := Sample()
	recs = append(recs, history.FromResult(workflow.Result{Outcome: workflow.OutcomeBlocked,
		Target: workflow.Target{Account: "444455556666", Region: "us-east-1"},
		Family: "a<b>\"c'd&e+f\x00g", SourceARN: "x"}, "e", day.Add(6*time.Minute))...)
	r := Build(recs, history.Period{From: day.AddDate(0, 0, -1), To: day}, day.Add(time.Hour))
	r.Expired = append(r.Expired, ExpiredOne{Account: "111122223333", Region: "eu-west-1", Family: "old", Note: `ended "2026-11-30" <R&D>`})
	var html bytes.Buffer
	if err := r.HTML(&html); err != nil {
		t.Fatal(err)
	}
	goldenfile.Check(t, "testdata/report.html", html.Bytes(), *update)

	html.Reset()
	if err := Build(nil, history.Period{}, day).HTML(&html); err != nil {
		t.Fatal(err)
	}
	goldenfile.Check(t, "testdata/empty.html", html.Bytes(), *update)
}
