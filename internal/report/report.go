// Package report builds the compliance report auditors read from the
// history (internal/history): per account and region, when and by which
// sweep it was covered and how many families are in each state; the open
// exemptions with their end dates; the mean time from registration to
// remediation; the families still not compliant; and how the controls map
// to the frameworks auditors ask about. Build is pure; the renderers write
// one self-contained HTML file (inline SVG charts, printable), CSV rows and
// JSON.
package report

import (
	"cmp"
	"slices"
	"time"

	"github.com/ecslogfix/ecslogfix/internal/history"
	"github.com/ecslogfix/ecslogfix/internal/policy/exemption"
	"github.com/ecslogfix/ecslogfix/internal/policy/reason"
)

// Schema names the report's JSON format.
const Schema = "ecslogfix.report/v1"

// Report is the whole report. Its JSON field names are the documented
// format.
type Report struct {
	Schema    string    `json:"schema"`
	From      string    `json:"from,omitempty"` // YYYY-MM-DD; empty: the history's start
	To        string    `json:"to,omitempty"`
	Generated time.Time `json:"generated"`
	Records   int       `json:"records"`
	// Totals counts families by state, Decisions decisions by kind.
	Totals    map[history.State]int    `json:"totals"`
	Decisions map[history.Decision]int `json:"decisions"`
	Scopes    []Scope                  `json:"scopes"`
	// Remediation measures registration to remediation over the
	// remediations whose registration time is known.
	Remediation  Remediation  `json:"remediation"`
	Exemptions   []Exemption  `json:"exemptions"`
	NonCompliant []Family     `json:"nonCompliant"`
	Families     []Family     `json:"families"`
	Frameworks   []Framework  `json:"frameworks"`
	Notes        []string     `json:"notes,omitempty"`
	Expired      []ExpiredOne `json:"expiredExemptions,omitempty"`
}

// Scope is one account and region.
type Scope struct {
	Account   string                `json:"account"`
	Region    string                `json:"region"`
	LastSwept *time.Time            `json:"lastSwept,omitempty"`
	SweepID   string                `json:"sweepId,omitempty"`
	Sweeps    int                   `json:"sweeps"`
	Families  int                   `json:"families"`
	States    map[history.State]int `json:"states"`
	Coverage  float64               `json:"coverage"` // compliant or exempt families, 0..1
}

// Remediation is the registration-to-remediation time.
type Remediation struct {
	Count        int     `json:"count"`    // remediations in the period
	Measured     int     `json:"measured"` // of those, with a known registration time
	MeanSeconds  float64 `json:"meanSeconds"`
	MaxSeconds   float64 `json:"maxSeconds"`
	MedianSecond float64 `json:"medianSeconds"`
}

// Exemption is one family exempt at the end of the period.
type Exemption struct {
	Account  string `json:"account"`
	Region   string `json:"region"`
	Family   string `json:"family"`
	Source   string `json:"source"` // tag, register, backout
	Until    string `json:"until,omitempty"`
	Ticket   string `json:"ticket,omitempty"`
	Approver string `json:"approver,omitempty"`
	Reason   string `json:"reason,omitempty"`
}

// ExpiredOne is an exemption that stopped applying in the period.
type ExpiredOne struct {
	Account string `json:"account"`
	Region  string `json:"region"`
	Family  string `json:"family"`
	Note    string `json:"note"`
}

// Family is one family's standing at the end of the period.
type Family struct {
	Account      string           `json:"account"`
	Region       string           `json:"region"`
	Family       string           `json:"family"`
	State        history.State    `json:"state"`
	Decision     history.Decision `json:"decision"`
	Revision     int32            `json:"revision,omitempty"`
	Reasons      []reason.Code    `json:"reasons,omitempty"`
	Since        *time.Time       `json:"since,omitempty"`
	LastDecision time.Time        `json:"lastDecision"`
	ExemptUntil  string           `json:"exemptUntil,omitempty"`
}

// Build reads recs (sorted by time, as history reads them) for the period
// p and reports their state at its end.
func Build(recs []history.Record, p history.Period, now time.Time) Report {
	r := Report{Schema: Schema, Generated: now.UTC(), Totals: map[history.State]int{}, Decisions: map[history.Decision]int{},
		Frameworks: Frameworks(), Scopes: []Scope{}, Exemptions: []Exemption{}, NonCompliant: []Family{}, Families: []Family{}}
	if !p.From.IsZero() {
		r.From = p.From.UTC().Format(time.DateOnly)
	}
	if !p.To.IsZero() {
		r.To = p.To.UTC().Format(time.DateOnly)
	}
	type key struct{ account, region, family string }
	items := map[key]*history.Item{}
	recOf := map[key]history.Record{}
	scopes := map[[2]string]*Scope{}
	scope := func(account, region string) *Scope {
		k := [2]string{account, region}
		if scopes[k] == nil {
			scopes[k] = &Scope{Account: account, Region: region, States: map[history.State]int{}}
		}
		return scopes[k]
	}
	var durations []float64
	for _, rec := range history.Sorted(slices.Clone(recs)) {
		r.Records++
		r.Decisions[rec.Decision]++
		sc := scope(rec.Account, rec.Region)
		if rec.Decision == history.DecisionSwept {
			sc.Sweeps++
			t := rec.Time
			sc.LastSwept, sc.SweepID = &t, rec.SweepID
			continue
		}
		if rec.Decision == history.DecisionRemediated && rec.Outcome != "ALREADY_REMEDIATED" {
			r.Remediation.Count++
			if rec.RegisteredAt != nil && !rec.Time.Before(*rec.RegisteredAt) {
				durations = append(durations, rec.Time.Sub(*rec.RegisteredAt).Seconds())
			}
		}
		for _, n := range rec.ExemptionNotes {
			if n.Expired {
				r.Expired = append(r.Expired, ExpiredOne{Account: rec.Account, Region: rec.Region, Family: rec.Family, Note: n.Sentence()})
			}
		}
		k := key{rec.Account, rec.Region, rec.Family}
		next, _ := history.Next(items[k], rec)
		if next.Family != "" {
			items[k] = &next
			recOf[k] = rec
		}
	}
	r.Expired = slices.CompactFunc(r.Expired, func(a, b ExpiredOne) bool { return a == b })
	if len(durations) > 0 {
		slices.Sort(durations)
		var sum float64
		for _, d := range durations {
			sum += d
		}
		r.Remediation.Measured = len(durations)
		r.Remediation.MeanSeconds = sum / float64(len(durations))
		r.Remediation.MaxSeconds = durations[len(durations)-1]
		r.Remediation.MedianSecond = durations[len(durations)/2]
	}
	keys := make([]key, 0, len(items))
	for k := range items {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b key) int {
		return cmp.Or(cmp.Compare(a.account, b.account), cmp.Compare(a.region, b.region), cmp.Compare(a.family, b.family))
	})
	for _, k := range keys {
		it := items[k]
		f := Family{Account: it.Account, Region: it.Region, Family: it.Family, State: it.State, Decision: it.Decision, Revision: it.Revision,
			Reasons: append(slices.Clone(it.Reasons), it.Exempted...), Since: it.Since, LastDecision: it.UpdatedAt, ExemptUntil: it.ExemptUntil}
		r.Families = append(r.Families, f)
		r.Totals[it.State]++
		sc := scope(it.Account, it.Region)
		sc.Families++
		sc.States[it.State]++
		switch {
		case it.State == history.StateNonCompliant:
			r.NonCompliant = append(r.NonCompliant, f)
		case it.State == history.StateExempt || it.State == history.StateBackedOut:
			e := Exemption{Account: it.Account, Region: it.Region, Family: it.Family, Until: it.ExemptUntil, Source: exemption.SourceTag}
			if ex := recOf[k].Exemption; ex != nil {
				e.Source, e.Ticket, e.Approver, e.Reason = ex.Source, ex.Ticket, ex.Approver, ex.Reason
			}
			if it.State == history.StateBackedOut {
				e.Source = history.TriggerBackout
			}
			r.Exemptions = append(r.Exemptions, e)
		}
	}
	sk := make([][2]string, 0, len(scopes))
	for k := range scopes {
		sk = append(sk, k)
	}
	slices.SortFunc(sk, func(a, b [2]string) int { return cmp.Or(cmp.Compare(a[0], b[0]), cmp.Compare(a[1], b[1])) })
	for _, k := range sk {
		sc := scopes[k]
		if sc.Families > 0 {
			good := sc.States[history.StateCompliant] + sc.States[history.StateRemediated] + sc.States[history.StateExempt] + sc.States[history.StateBackedOut]
			sc.Coverage = float64(good) / float64(sc.Families)
		}
		if sc.LastSwept == nil {
			r.Notes = append(r.Notes, "no sweep is recorded for "+sc.Account+"/"+sc.Region+" in the period: its coverage rests on events alone")
		}
		r.Scopes = append(r.Scopes, *sc)
	}
	return r
}

// Framework is how one framework's requirement is met.
type Framework struct {
	Framework   string `json:"framework"`
	Requirement string `json:"requirement"`
	How         string `json:"how"`
}

// Frameworks is the mapping auditors ask for.
func Frameworks() []Framework {
	return []Framework{
		{"AWS Security Hub (CSPM)", "ECS.9: ECS task definitions should have a logging configuration",
			"ECS.9 passes with any logConfiguration; ecslogfix requires awslogs to CloudWatch Logs with group, region and stream prefix, fixes what falls short, publishes its own findings per reason and notes ECS.9 findings of remediated revisions."},
		{"PCI DSS v4.0", "Requirement 10.2: audit logs are implemented to support the detection of anomalies and suspicious activity",
			"Every container of every task definition logs to a CloudWatch Logs group that exists, with retention set (10.5.1 retention is the policy's retentionDays); this history records each decision."},
		{"ISO/IEC 27001:2022", "Annex A 8.15 Logging",
			"Logs of containers are produced, stored and protected in CloudWatch Logs (KMS key and retention from the policy); deviations are corrected or exempted with an approver, a ticket and an end date."},
		{"SOC 2 (2017 TSC)", "CC7.2: the entity monitors system components for anomalies",
			"Monitoring needs the logs: ecslogfix keeps them flowing and the report evidences coverage per account and region, sweeps and the time to remediation."},
		{"NIS2 (Directive (EU) 2022/2555)", "Article 21(2): cybersecurity risk-management measures, including incident handling and the assessment of their effectiveness",
			"Container logs are available for incident handling; the history (Object Lock) and this report assess the measure's effectiveness."},
		{"BSI C5:2020", "OPS-10 to OPS-13: logging and monitoring (the collection, storage and protection of log data)",
			"Log data of ECS workloads is collected centrally in CloudWatch Logs with managed retention; changes to task definitions are traceable in the history."},
		{"CIS Critical Security Controls v8.1", "Safeguard 8.2: collect audit logs",
			"Audit logs of containerized applications are collected in CloudWatch Logs for every ECS task definition, enforced continuously."},
		{"CIS AWS Foundations Benchmark", "(no control)",
			"No control of the CIS AWS Foundations Benchmark covers ECS task definition logging: it addresses account-level services (IAM, CloudTrail, AWS Config, VPC and others). Evidence for this requirement comes from the controls above."},
	}
}
