package report

import (
	"fmt"
	"html/template"
	"io"
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

type chartRow struct {
	Label string
	Y     float64
	Bars  []bar
	Total int
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
// external resource; charts are inline SVG; it prints on A4.
func (r Report) HTML(w io.Writer) error {
	var rows []chartRow
	for i, s := range r.Scopes {
		bars, n := stack(s.States, 520)
		rows = append(rows, chartRow{Label: s.Account + " " + s.Region, Y: float64(i) * 34, Bars: bars, Total: n})
	}
	totalBars, total := stack(r.Totals, 720)
	decisions := make([]history.Decision, 0, len(r.Decisions))
	for d := range r.Decisions {
		decisions = append(decisions, d)
	}
	slices.Sort(decisions)
	maxDecisions := 1
	for _, d := range decisions {
		maxDecisions = max(maxDecisions, r.Decisions[d])
	}
	data := map[string]any{
		"R": r, "Period": r.period(), "MTTR": r.mttrText(), "States": states, "Rows": rows, "ChartHeight": max(34, 34*len(rows)),
		"TotalBars": totalBars, "Total": total, "Decisions": decisions, "MaxDecisions": maxDecisions,
		"DecisionHeight": max(24, 24*len(decisions)),
	}
	return page.Execute(w, data)
}

var page = template.Must(template.New("report").Funcs(template.FuncMap{
	"pct":   func(f float64) string { return fmt.Sprintf("%.0f%%", 100*f) },
	"time":  func(t *time.Time) string { return t.UTC().Format("2006-01-02 15:04 UTC") },
	"at":    func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04 UTC") },
	"count": func(m map[history.State]int, s history.State) int { return m[s] },
	"dec":   func(m map[history.Decision]int, d history.Decision) int { return m[d] },
	"width": func(n, most int) float64 { return 480 * float64(n) / float64(most) },
	"y":     func(i int) int { return i * 24 },
	"mid":   func(b bar) float64 { return b.X + b.W/2 },
	"join": func(rs any) string {
		s := fmt.Sprint(rs)
		return strings.Trim(s, "[]")
	},
}).Parse(pageTemplate))

const pageTemplate = `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>ecslogfix compliance report {{.Period}}</title>
<style>
body { font: 14px/1.45 -apple-system, "Segoe UI", "DejaVu Sans", Arial, sans-serif; color: #1b1b1b; margin: 2rem auto; max-width: 60rem; padding: 0 1rem; }
h1 { font-size: 1.6rem; margin-bottom: .2rem; } h2 { font-size: 1.15rem; margin-top: 2rem; border-bottom: 1px solid #bbb; }
.meta { color: #555; } table { border-collapse: collapse; width: 100%; margin: .5rem 0; }
th, td { text-align: left; padding: .25rem .5rem; border-bottom: 1px solid #ddd; vertical-align: top; } th { background: #f2f2f2; }
#coverage { font-size: 12px; } td.n { text-align: right; font-variant-numeric: tabular-nums; } .tiles { display: flex; flex-wrap: wrap; gap: .6rem; }
.tile { border: 1px solid #ccc; border-radius: 4px; padding: .4rem .8rem; min-width: 8rem; } .tile b { display: block; font-size: 1.5rem; }
.bad { color: #b71c1c; } svg text { font-size: 12px; fill: #1b1b1b; } .empty { color: #555; font-style: italic; }
@media print { body { margin: 0; max-width: none; font-size: 11px; } h2 { break-after: avoid; } table, svg { break-inside: avoid; } @page { size: A4; margin: 14mm; } }
</style>
</head>
<body>
<h1>ecslogfix compliance report</h1>
<p class="meta">Period: <span id="period">{{.Period}}</span> · generated {{at .R.Generated}} · <span id="records">{{.R.Records}}</span> decisions from the history</p>

<h2>Summary</h2>
<div class="tiles">
{{range .States}}<div class="tile"><b id="total-{{.State}}">{{count $.R.Totals .State}}</b>{{.State}}</div>
{{end}}<div class="tile"><b id="families">{{len .R.Families}}</b>families</div>
<div class="tile"><b id="open-exemptions">{{len .R.Exemptions}}</b>open exemptions</div>
</div>
<svg role="img" aria-label="families by state" width="740" height="46" viewBox="0 0 740 46">
{{range .TotalBars}}<rect x="{{.X}}" y="4" width="{{.W}}" height="24" fill="{{.Color}}"><title>{{.State}}: {{.N}}</title></rect>
<text x="{{mid .}}" y="42" text-anchor="middle">{{.N}}</text>
{{end}}</svg>
<p>Registration to remediation: <span id="mttr">{{.MTTR}}</span>.</p>

<h2>Coverage per account and region</h2>
<table id="coverage"><tr><th>Account</th><th>Region</th><th>Families</th>{{range .States}}<th>{{.State}}</th>{{end}}<th>Compliant or exempt</th><th>Last sweep</th><th>Sweeps</th></tr>
{{range .R.Scopes}}<tr><td>{{.Account}}</td><td>{{.Region}}</td><td class="n">{{.Families}}</td>{{$s := .}}{{range $.States}}<td class="n">{{count $s.States .State}}</td>{{end}}<td class="n">{{pct .Coverage}}</td>
<td>{{if .LastSwept}}{{time .LastSwept}} ({{.SweepID}}){{else}}<span class="bad">never</span>{{end}}</td><td class="n">{{.Sweeps}}</td></tr>
{{end}}</table>
<svg role="img" aria-label="families by state per account and region" width="740" height="{{.ChartHeight}}" viewBox="0 0 740 {{.ChartHeight}}">
{{range .Rows}}<text x="0" y="{{.Y}}" dy="18">{{.Label}}</text>
{{$y := .Y}}{{range .Bars}}<rect x="{{.X}}" y="{{$y}}" width="{{.W}}" height="24" fill="{{.Color}}" transform="translate(210 0)"><title>{{.State}}: {{.N}}</title></rect>
{{end}}{{end}}</svg>
{{range .R.Notes}}<p class="bad">{{.}}</p>{{end}}

<h2>Decisions in the period</h2>
<svg role="img" aria-label="decisions by kind" width="740" height="{{.DecisionHeight}}" viewBox="0 0 740 {{.DecisionHeight}}">
{{range $i, $d := .Decisions}}<text x="0" y="{{y $i}}" dy="16">{{$d}}</text><rect x="170" y="{{y $i}}" width="{{width (dec $.R.Decisions $d) $.MaxDecisions}}" height="18" fill="#1565c0"></rect>
<text x="{{width (dec $.R.Decisions $d) $.MaxDecisions}}" y="{{y $i}}" dy="14" dx="176" id="decision-{{$d}}">{{dec $.R.Decisions $d}}</text>
{{end}}</svg>

<h2>Families still not compliant</h2>
{{if .R.NonCompliant}}<table id="non-compliant"><tr><th>Account</th><th>Region</th><th>Family</th><th>Revision</th><th>Decision</th><th>Reasons</th><th>Since</th></tr>
{{range .R.NonCompliant}}<tr><td>{{.Account}}</td><td>{{.Region}}</td><td>{{.Family}}</td><td class="n">{{.Revision}}</td><td>{{.Decision}}</td><td>{{join .Reasons}}</td><td>{{if .Since}}{{time .Since}}{{end}}</td></tr>
{{end}}</table>{{else}}<p class="empty">None.</p>{{end}}

<h2>Open exemptions</h2>
{{if .R.Exemptions}}<table id="exemptions"><tr><th>Account</th><th>Region</th><th>Family</th><th>By</th><th>Until</th><th>Ticket</th><th>Approver</th><th>Reason</th></tr>
{{range .R.Exemptions}}<tr><td>{{.Account}}</td><td>{{.Region}}</td><td>{{.Family}}</td><td>{{.Source}}</td><td>{{if .Until}}{{.Until}}{{else}}<span class="bad">no end date</span>{{end}}</td><td>{{.Ticket}}</td><td>{{.Approver}}</td><td>{{.Reason}}</td></tr>
{{end}}</table>{{else}}<p class="empty">None.</p>{{end}}
{{if .R.Expired}}<h3>Exemptions that ended in the period</h3><ul id="expired">{{range .R.Expired}}<li>{{.Account}}/{{.Region}} {{.Family}}: {{.Note}}</li>{{end}}</ul>{{end}}

<h2>Framework mapping</h2>
<table id="frameworks"><tr><th>Framework</th><th>Requirement</th><th>How ecslogfix meets it</th></tr>
{{range .R.Frameworks}}<tr><td>{{.Framework}}</td><td>{{.Requirement}}</td><td>{{.How}}</td></tr>
{{end}}</table>
<p class="meta">Source: the ecslogfix history ({{.R.Records}} records, schema ecslogfix.history/v1). Each decision is a JSON line in S3; see docs/history.md for the Athena table.</p>
</body>
</html>
`
