package report

import (
	"bytes"
	"cmp"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ecslogfix/ecslogfix/internal/history"
)

// States in the order the report shows them, with their chart colours
// (distinguishable in grey when printed: the bars are also labelled).
var states = []struct {
	State history.State
	Color string
}{
	{history.StateCompliant, "#2e7d32"}, {history.StateRemediated, "#66bb6a"}, {history.StateExempt, "#f9a825"},
	{history.StateBackedOut, "#8d6e63"}, {history.StateNonCompliant, "#c62828"},
}

// Columns are the CSV columns: one row per family.
var Columns = []string{"account", "region", "family", "state", "decision", "revision", "reasons", "exempt_until", "non_compliant_since", "last_decision"}

// Rows are the report's families as CSV rows.
func (r Report) Rows() [][]string {
	out := make([][]string, 0, len(r.Families))
	for _, f := range r.Families {
		reasons := make([]string, len(f.Reasons))
		for i, x := range f.Reasons {
			reasons[i] = string(x)
		}
		since := ""
		if f.Since != nil {
			since = f.Since.UTC().Format(time.RFC3339)
		}
		out = append(out, []string{f.Account, f.Region, f.Family, string(f.State), string(f.Decision), revision(f.Revision),
			strings.Join(reasons, " "), f.ExemptUntil, since, f.LastDecision.UTC().Format(time.RFC3339)})
	}
	return out
}

func revision(n int32) string {
	if n == 0 {
		return ""
	}
	return strconv.Itoa(int(n))
}

// Text writes the report's summary for a terminal.
func (r Report) Text(w io.Writer) error {
	fmt.Fprintf(w, "ecslogfix compliance report %s\n", r.period())
	fmt.Fprintf(w, "%d decisions, %d families: %s\n", r.Records, len(r.Families), r.totalsText())
	for _, s := range r.Scopes {
		swept := "never swept"
		if s.LastSwept != nil {
			swept = "last swept " + s.LastSwept.UTC().Format(time.RFC3339) + " by " + s.SweepID
		}
		fmt.Fprintf(w, "  %s/%s: %d families, %.0f%% compliant or exempt, %s\n", s.Account, s.Region, s.Families, 100*s.Coverage, swept)
	}
	fmt.Fprintf(w, "registration to remediation: %s\n", r.mttrText())
	fmt.Fprintf(w, "open exemptions: %d; not compliant: %d\n", len(r.Exemptions), len(r.NonCompliant))
	for _, f := range r.NonCompliant {
		fmt.Fprintf(w, "  NON_COMPLIANT %s/%s %s:%d (%s)\n", f.Account, f.Region, f.Family, f.Revision, f.Decision)
	}
	return nil
}

func (r Report) period() string {
	switch {
	case r.From == "" && r.To == "":
		return "(whole history)"
	case r.From == r.To:
		return r.From
	}
	return strings.TrimSpace(r.From + " to " + r.To)
}

func (r Report) totalsText() string {
	var parts []string
	for _, s := range states {
		parts = append(parts, fmt.Sprintf("%d %s", r.Totals[s.State], strings.ToLower(strings.ReplaceAll(string(s.State), "_", " "))))
	}
	return strings.Join(parts, ", ")
}

func (r Report) mttrText() string {
	m := r.Remediation
	if m.Measured == 0 {
		return fmt.Sprintf("%d remediations, none with a known registration time", m.Count)
	}
	return fmt.Sprintf("mean %s, median %s, longest %s over %d of %d remediations", duration(m.MeanSeconds), duration(m.MedianSecond), duration(m.MaxSeconds), m.Measured, m.Count)
}

func duration(sec float64) string {
	return (time.Duration(sec) * time.Second).Round(time.Second).String()
}

// bar is one segment of a stacked bar.
type bar struct {
	X, W  float64
	Color string
	State history.State
	N     int
}

// stack lays counts out as a stacked bar of width total.
func stack(counts map[history.State]int, width float64) ([]bar, int) {
	n := 0
	for _, c := range counts {
		n += c
	}
	var out []bar
	x := 0.0
	for _, s := range states {
		c := counts[s.State]
		if c == 0 || n == 0 {
			continue
		}
		w := width * float64(c) / float64(n)
		out = append(out, bar{X: x, W: w, Color: s.Color, State: s.State, N: c})
		x += w
	}
	return out, n
}

// HTML writes the report as one self-contained page: no script, no
// external resource; charts are inline SVG; it prints on A4. It is written
// with fmt rather than html/template: text/template's reflective method
// calls keep every exported method of every linked type in the binary
// (the CLI was 2.5× larger with it; docs/performance.md).
func (r Report) HTML(w io.Writer) error {
	var b bytes.Buffer
	p := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	period := e(r.period())
	p("%s<title>ecslogfix compliance report %s</title>\n%s\n", pageHead, period, pageStyle)
	p("</head>\n<body>\n<h1>ecslogfix compliance report</h1>\n")
	p(`<p class="meta">Period: <span id="period">%s</span> · generated %s · <span id="records">%d</span> decisions from the history</p>`+"\n\n", period, e(at(r.Generated)), r.Records)

	p("<h2>Summary</h2>\n<div class=\"tiles\">\n")
	for _, s := range states {
		p(`<div class="tile"><b id="total-%s">%d</b>%s</div>`+"\n", e(s.State), r.Totals[s.State], e(s.State))
	}
	p(`<div class="tile"><b id="families">%d</b>families</div>`+"\n", len(r.Families))
	p(`<div class="tile"><b id="open-exemptions">%d</b>open exemptions</div>`+"\n</div>\n", len(r.Exemptions))
	p(`<svg role="img" aria-label="families by state" width="740" height="46" viewBox="0 0 740 46">` + "\n")
	totalBars, _ := stack(r.Totals, 720)
	for _, t := range totalBars {
		p(`<rect x="%s" y="4" width="%s" height="24" fill="%s"><title>%s: %d</title></rect>`+"\n", e(t.X), e(t.W), e(t.Color), e(t.State), t.N)
		p(`<text x="%s" y="42" text-anchor="middle">%d</text>`+"\n", e(t.X+t.W/2), t.N)
	}
	p("</svg>\n<p>Registration to remediation: <span id=\"mttr\">%s</span>.</p>\n\n", e(r.mttrText()))

	p("<h2>Coverage per account and region</h2>\n<table id=\"coverage\"><tr><th>Account</th><th>Region</th><th>Families</th>")
	for _, s := range states {
		p("<th>%s</th>", e(s.State))
	}
	p("<th>Compliant or exempt</th><th>Last sweep</th><th>Sweeps</th></tr>\n")
	for _, sc := range r.Scopes {
		p(`<tr><td>%s</td><td>%s</td><td class="n">%d</td>`, e(sc.Account), e(sc.Region), sc.Families)
		for _, s := range states {
			p(`<td class="n">%d</td>`, sc.States[s.State])
		}
		p(`<td class="n">%s</td>`+"\n<td>", e(fmt.Sprintf("%.0f%%", 100*sc.Coverage)))
		if sc.LastSwept != nil {
			p("%s (%s)", e(at(*sc.LastSwept)), e(sc.SweepID))
		} else {
			p(`<span class="bad">never</span>`)
		}
		p(`</td><td class="n">%d</td></tr>`+"\n", sc.Sweeps)
	}
	height := max(34, 34*len(r.Scopes))
	p("</table>\n"+`<svg role="img" aria-label="families by state per account and region" width="740" height="%d" viewBox="0 0 740 %d">`+"\n", height, height)
	for i, sc := range r.Scopes {
		y := e(float64(i) * 34)
		p(`<text x="0" y="%s" dy="18">%s</text>`+"\n", y, e(sc.Account+" "+sc.Region))
		bars, _ := stack(sc.States, 520)
		for _, t := range bars {
			p(`<rect x="%s" y="%s" width="%s" height="24" fill="%s" transform="translate(210 0)"><title>%s: %d</title></rect>`+"\n", e(t.X), y, e(t.W), e(t.Color), e(t.State), t.N)
		}
	}
	p("</svg>\n")
	for _, n := range r.Notes {
		p(`<p class="bad">%s</p>`, e(n))
	}

	decisions := slices.Sorted(maps.Keys(r.Decisions))
	most := 1
	for _, d := range decisions {
		most = max(most, r.Decisions[d])
	}
	height = max(24, 24*len(decisions))
	p("\n\n<h2>Decisions in the period</h2>\n"+`<svg role="img" aria-label="decisions by kind" width="740" height="%d" viewBox="0 0 740 %d">`+"\n", height, height)
	for i, d := range decisions {
		width := e(480 * float64(r.Decisions[d]) / float64(most))
		p(`<text x="0" y="%d" dy="16">%s</text><rect x="170" y="%d" width="%s" height="18" fill="#1565c0"></rect>`+"\n", i*24, e(d), i*24, width)
		p(`<text x="%s" y="%d" dy="14" dx="176" id="decision-%s">%d</text>`+"\n", width, i*24, e(d), r.Decisions[d])
	}
	p("</svg>\n\n<h2>Families still not compliant</h2>\n")
	if len(r.NonCompliant) > 0 {
		p(`<table id="non-compliant"><tr><th>Account</th><th>Region</th><th>Family</th><th>Revision</th><th>Decision</th><th>Reasons</th><th>Since</th></tr>` + "\n")
		for _, f := range r.NonCompliant {
			since := ""
			if f.Since != nil {
				since = at(*f.Since)
			}
			p(`<tr><td>%s</td><td>%s</td><td>%s</td><td class="n">%d</td><td>%s</td><td>%s</td><td>%s</td></tr>`+"\n",
				e(f.Account), e(f.Region), e(f.Family), f.Revision, e(f.Decision), e(strings.Trim(fmt.Sprint(f.Reasons), "[]")), e(since))
		}
		p("</table>")
	} else {
		p(`<p class="empty">None.</p>`)
	}
	p("\n\n<h2>Open exemptions</h2>\n")
	if len(r.Exemptions) > 0 {
		p(`<table id="exemptions"><tr><th>Account</th><th>Region</th><th>Family</th><th>By</th><th>Until</th><th>Ticket</th><th>Approver</th><th>Reason</th></tr>` + "\n")
		for _, x := range r.Exemptions {
			until := cmp.Or(e(x.Until), `<span class="bad">no end date</span>`)
			p("<tr><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td></tr>\n",
				e(x.Account), e(x.Region), e(x.Family), e(x.Source), until, e(x.Ticket), e(x.Approver), e(x.Reason))
		}
		p("</table>")
	} else {
		p(`<p class="empty">None.</p>`)
	}
	p("\n")
	if len(r.Expired) > 0 {
		p(`<h3>Exemptions that ended in the period</h3><ul id="expired">`)
		for _, x := range r.Expired {
			p("<li>%s/%s %s: %s</li>", e(x.Account), e(x.Region), e(x.Family), e(x.Note))
		}
		p("</ul>")
	}
	p("\n\n<h2>Framework mapping</h2>\n<table id=\"frameworks\"><tr><th>Framework</th><th>Requirement</th><th>How ecslogfix meets it</th></tr>\n")
	for _, f := range r.Frameworks {
		p("<tr><td>%s</td><td>%s</td><td>%s</td></tr>\n", e(f.Framework), e(f.Requirement), e(f.How))
	}
	p("</table>\n"+`<p class="meta">Source: the ecslogfix history (%d records, schema ecslogfix.history/v1). Each decision is a JSON line in S3; see docs/history.md for the Athena table.</p>`+"\n</body>\n</html>\n", r.Records)
	_, err := w.Write(b.Bytes())
	return err
}

func at(t time.Time) string { return t.UTC().Format("2006-01-02 15:04 UTC") }

// escaper replaces what html/template's HTML escaper replaces, the same
// way, in text and in quoted attribute values.
var escaper = strings.NewReplacer("\x00", "\uFFFD", `"`, "&#34;", "&", "&amp;", "'", "&#39;", "+", "&#43;", "<", "&lt;", ">", "&gt;")

// e formats v as fmt.Sprint does and escapes it for HTML.
func e(v any) string { return escaper.Replace(fmt.Sprint(v)) }

const pageHead = `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
`

const pageStyle = `<style>
body { font: 14px/1.45 -apple-system, "Segoe UI", "DejaVu Sans", Arial, sans-serif; color: #1b1b1b; margin: 2rem auto; max-width: 60rem; padding: 0 1rem; }
h1 { font-size: 1.6rem; margin-bottom: .2rem; } h2 { font-size: 1.15rem; margin-top: 2rem; border-bottom: 1px solid #bbb; }
.meta { color: #555; } table { border-collapse: collapse; width: 100%; margin: .5rem 0; }
th, td { text-align: left; padding: .25rem .5rem; border-bottom: 1px solid #ddd; vertical-align: top; } th { background: #f2f2f2; }
#coverage { font-size: 12px; } td.n { text-align: right; font-variant-numeric: tabular-nums; } .tiles { display: flex; flex-wrap: wrap; gap: .6rem; }
.tile { border: 1px solid #ccc; border-radius: 4px; padding: .4rem .8rem; min-width: 8rem; } .tile b { display: block; font-size: 1.5rem; }
.bad { color: #b71c1c; } svg text { font-size: 12px; fill: #1b1b1b; } .empty { color: #555; font-style: italic; }
@media print { body { margin: 0; max-width: none; font-size: 11px; } h2 { break-after: avoid; } table, svg { break-inside: avoid; } @page { size: A4; margin: 14mm; } }
</style>`
