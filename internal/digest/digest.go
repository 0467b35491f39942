// Package digest renders a sweep's digest: one notification for every
// execution a sweep started (their outcomes, per account-region), its
// coverage gaps and the link to the per-family report the sweep wrote to
// S3, in the same formats as one execution's message (internal/message):
// an email/plain-text body, an Amazon Q Developer in chat applications
// (AWS Chatbot) custom notification, a Slack Block Kit payload, a
// versioned JSON document and the SNS message attributes.
//
// Each list is capped (the top N per section, the rest counted; the
// report in S3 has every family), and the cap is lowered until the SNS
// message fits message.Budget. It is pure: no AWS calls, no clock.
package digest

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws/arn"

	"github.com/ecslogfix/ecslogfix/internal/console"
	"github.com/ecslogfix/ecslogfix/internal/escape"
	"github.com/ecslogfix/ecslogfix/internal/message"
	"github.com/ecslogfix/ecslogfix/internal/message/chat"
	"github.com/ecslogfix/ecslogfix/internal/policy/reason"
	"github.com/ecslogfix/ecslogfix/internal/taskdef"
	"github.com/ecslogfix/ecslogfix/internal/workflow"
)

// Schema names the digest document's format. Bump the version on any
// incompatible change.
const Schema = "ecslogfix.digest/v1"

// Outcome is the digest's value of the outcome message attribute (and of
// the neutral event's detail-type), so subscribers can filter digests in
// or out like any outcome.
const Outcome workflow.Outcome = "SWEEP_DIGEST"

// ThreadID threads every digest in one Chatbot thread: one family's
// messages thread by family (internal/message), the sweeps by themselves.
const ThreadID = "ecslogfix/sweeps"

// Input is what a digest is rendered from.
type Input struct {
	Summary workflow.SweepSummary
	// Outcomes are the outcomes of the executions the sweep started, as
	// notify wrote them.
	Outcomes []workflow.SweepOutcome
	// ExecutionARN is the sweep's execution.
	ExecutionARN string
	// DigestError, when set, is why the digest could not be published
	// (PublishDigest failed after its retries): the notification is then a
	// notice of that failure, of the summary only (Outcomes are not read).
	DigestError *workflow.CaughtError
}

// Lists of a section, in the order they are shown.
const (
	ListRemediated = "remediated"
	ListBlocked    = "blocked"
	ListNeedsHuman = "needsHuman"
	ListFailed     = "failed"
)

var listOf = map[workflow.Outcome]string{
	workflow.OutcomeRemediated:      ListRemediated,
	workflow.OutcomeBlocked:         ListBlocked,
	workflow.OutcomeNeedsHuman:      ListNeedsHuman,
	workflow.OutcomeFailed:          ListFailed,
	workflow.OutcomeReportOnly:      ListNeedsHuman, // report mode: a human applies the fix
	workflow.OutcomeLogGroupCreated: ListRemediated,
}

var listTitle = map[string]string{
	ListRemediated: "Remediated",
	ListBlocked:    "Blocked",
	ListNeedsHuman: "Needs a human",
	ListFailed:     "Failed",
}

var lists = []string{ListBlocked, ListNeedsHuman, ListFailed, ListRemediated}

// Item is one family in a section's list.
type Item struct {
	Family      string           `json:"family"`
	Revision    int              `json:"revision,omitempty"`    // the source's
	NewRevision int              `json:"newRevision,omitempty"` // ecslogfix's compliant one
	NewARN      string           `json:"newArn,omitempty"`
	Outcome     workflow.Outcome `json:"outcome"`
	Reasons     []reason.Code    `json:"reasons,omitempty"`
	Detail      string           `json:"detail,omitempty"`
}

// Section is one account-region.
type Section struct {
	Account string `json:"account"`
	Region  string `json:"region"`
	// Sweep is the walk's tallies (absent for a section known only from
	// its outcomes: the summary lists at most workflow.MaxListed).
	Sweep    *workflow.SweepSection   `json:"sweep,omitempty"`
	Outcomes map[workflow.Outcome]int `json:"outcomes"`
	// Lists by name (ListRemediated…), each at most the cap; Omitted
	// counts what the cap left out, per list.
	Lists   map[string][]Item `json:"lists"`
	Omitted map[string]int    `json:"omitted,omitempty"`
}

// Report is where the full per-family report is.
type Report struct {
	Bucket string `json:"bucket"`
	Key    string `json:"key"`
	URI    string `json:"uri"`            // s3://bucket/key
	Link   string `json:"link,omitempty"` // the S3 console, where the partition has one
}

// Totals are the sweep's counts.
type Totals struct {
	Targets       int `json:"targets"`
	TargetsWalked int `json:"targetsWalked"`
	TargetsFailed int `json:"targetsFailed"`
	Evaluated     int `json:"evaluated"`
	Compliant     int `json:"compliant"`
	Violations    int `json:"violations"`
	Started       int `json:"started"`
	Duplicates    int `json:"duplicates"` // already handled by an earlier execution (an earlier digest)
	Skipped       int `json:"skipped"`
	Errors        int `json:"errors"`
	CoverageGaps  int `json:"coverageGaps"`
	// Pending are executions started whose outcome was not in when the
	// digest was published (see the report and the executions).
	Pending int `json:"pending"`
}

// Document is the digest for machines (the sqs and lambda keys, and the
// neutral event's detail).
type Document struct {
	Schema       string                   `json:"schema"`
	Outcome      workflow.Outcome         `json:"outcome"` // Outcome
	Summary      string                   `json:"summary"`
	SweepID      string                   `json:"sweepId"`
	ExecutionARN string                   `json:"executionArn,omitempty"`
	Report       Report                   `json:"report"`
	Totals       Totals                   `json:"totals"`
	Outcomes     map[workflow.Outcome]int `json:"outcomes"`
	Sections     []Section                `json:"sections"`
	// SectionsOmitted counts the account-regions left out by the cap.
	SectionsOmitted int                    `json:"sectionsOmitted,omitempty"`
	Gaps            []workflow.CoverageGap `json:"gaps"`
	GapsOmitted     int                    `json:"gapsOmitted,omitempty"`
	FailedTargets   []workflow.Target      `json:"failedTargets"`
	WalkError       *workflow.CaughtError  `json:"walkError,omitempty"`
	// DigestError is set on the notice of a digest that was not published.
	DigestError *workflow.CaughtError `json:"digestError,omitempty"`
	Truncated   bool                  `json:"truncated,omitempty"`
}

// Notification is the digest in every format.
type Notification struct {
	Subject    string
	Text       string
	Chatbot    chat.Chatbot
	Slack      chat.Slack
	Document   Document
	Attributes map[string]string
	Truncated  bool
}

// level is one cap: at most sections account-regions and top items per
// list.
type level struct{ sections, top int }

// levels are tried in order until the message fits.
var levels = []level{{25, 10}, {10, 5}, {5, 3}, {3, 1}, {0, 0}}

// Render renders the digest, lowering the caps until the SNS message fits
// message.Budget.
func Render(in Input) (Notification, error) {
	all := build(in)
	var n Notification
	for _, l := range levels {
		n = render(in, all, l)
		if n.Size() <= message.Budget {
			return n, nil
		}
	}
	return n, fmt.Errorf("digest: sweep %s is %d bytes even without sections", in.Summary.SweepID, n.Size())
}

// build makes every section, uncapped: from the summary's sections and
// the outcomes' account-regions.
func build(in Input) []Section {
	type key struct{ account, region string }
	at := map[key]*Section{}
	var order []key
	get := func(account, region string) *Section {
		k := key{account, region}
		if s, ok := at[k]; ok {
			return s
		}
		s := &Section{Account: account, Region: region, Outcomes: map[workflow.Outcome]int{}, Lists: map[string][]Item{}}
		at[k], order = s, append(order, k)
		return s
	}
	for _, ss := range in.Summary.Sections {
		get(ss.Account, ss.Region).Sweep = &ss
	}
	for _, o := range in.Outcomes {
		s := get(o.Account, o.Region)
		s.Outcomes[o.Outcome]++
		l, ok := listOf[o.Outcome]
		if !ok {
			continue // quiet outcomes are counted only
		}
		s.Lists[l] = append(s.Lists[l], Item{Family: o.Family, Revision: revision(o.SourceARN), NewRevision: revision(o.NewARN), NewARN: o.NewARN,
			Outcome: o.Outcome, Reasons: o.Reasons, Detail: escape.Line(o.Detail, 300)})
	}
	out := make([]Section, 0, len(order))
	for _, k := range order {
		s := at[k]
		for _, items := range s.Lists {
			slices.SortFunc(items, func(a, b Item) int { return cmp.Compare(a.Family, b.Family) })
		}
		out = append(out, *s)
	}
	// Sections with something for a human first, then the most remediated.
	weight := func(s Section) int {
		return len(s.Lists[ListBlocked]) + len(s.Lists[ListNeedsHuman]) + len(s.Lists[ListFailed])
	}
	slices.SortStableFunc(out, func(a, b Section) int {
		return cmp.Or(cmp.Compare(weight(b), weight(a)), cmp.Compare(len(b.Lists[ListRemediated]), len(a.Lists[ListRemediated])),
			cmp.Compare(a.Account, b.Account), cmp.Compare(a.Region, b.Region))
	})
	return out
}

// revision is a task-definition ARN's revision (0 for none).
func revision(s string) int {
	a, err := taskdef.ParseARN(s)
	if err != nil {
		return 0
	}
	return int(a.Revision)
}

func render(in Input, all []Section, l level) Notification {
	doc := document(in, all, l)
	n := Notification{Document: doc, Truncated: doc.Truncated, Attributes: map[string]string{
		message.AttrOutcome: string(Outcome),
	}}
	n.Subject = subject(doc)
	n.Text = text(doc)
	n.Chatbot = chatbot(doc)
	n.Slack = slack(doc)
	return n
}

func document(in Input, all []Section, l level) Document {
	sum := in.Summary
	doc := Document{
		Schema: Schema, Outcome: Outcome, SweepID: sum.SweepID, ExecutionARN: in.ExecutionARN,
		Report: report(sum, in.ExecutionARN),
		Totals: Totals{Targets: sum.Targets, TargetsWalked: sum.TargetsWalked, TargetsFailed: sum.TargetsFailed, Evaluated: sum.Evaluated,
			Compliant: sum.Compliant, Violations: sum.Violations, Started: sum.Started, Duplicates: sum.Duplicates, Skipped: sum.Skipped,
			Errors: sum.Errors, CoverageGaps: sum.CoverageGaps, Pending: max(0, sum.Started-len(in.Outcomes))},
		Outcomes: map[workflow.Outcome]int{}, Sections: []Section{}, Gaps: []workflow.CoverageGap{},
		FailedTargets: slices.Clone(sum.FailedTargets), WalkError: sum.WalkError,
	}
	if doc.FailedTargets == nil {
		doc.FailedTargets = []workflow.Target{}
	}
	if e := in.DigestError; e != nil {
		// The outcomes were not read: none counts as pending.
		doc.DigestError = &workflow.CaughtError{Error: escape.Line(e.Error, capLine), Cause: escape.Cause(e.Cause, capLine)}
		doc.Totals.Pending = 0
	}
	for _, o := range in.Outcomes {
		doc.Outcomes[o.Outcome]++
	}
	doc.SectionsOmitted = sum.SectionsOmitted + max(0, len(all)-l.sections)
	for _, s := range all[:min(len(all), l.sections)] {
		c := s
		c.Lists, c.Omitted = map[string][]Item{}, map[string]int{}
		for name, items := range s.Lists {
			c.Lists[name] = items[:min(len(items), l.top)]
			if left := len(items) - len(c.Lists[name]); left > 0 {
				c.Omitted[name] = left
				doc.Truncated = true
			}
		}
		if len(c.Omitted) == 0 {
			c.Omitted = nil
		}
		doc.Sections = append(doc.Sections, c)
	}
	top := min(len(sum.Gaps), l.top*2)
	doc.Gaps = append(doc.Gaps, sum.Gaps[:top]...)
	doc.GapsOmitted = sum.CoverageGaps - top
	doc.Truncated = doc.Truncated || doc.SectionsOmitted > 0 || doc.GapsOmitted > 0
	doc.Summary = headline(doc)
	return doc
}

// report locates the per-family report; the console link is in the
// sweep's own partition and region (from its execution's ARN).
func report(sum workflow.SweepSummary, executionARN string) Report {
	r := Report{Bucket: sum.Bucket, Key: sum.ReportKey, URI: "s3://" + sum.Bucket + "/" + sum.ReportKey}
	a, err := arn.Parse(executionARN)
	if err != nil || sum.Bucket == "" {
		return r
	}
	r.Link = console.S3Object(a.Partition, a.Region, sum.Bucket, sum.ReportKey)
	return r
}

// counted renders the outcome counts, the most frequent first.
func counted(m map[workflow.Outcome]int) string {
	keys := make([]workflow.Outcome, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b workflow.Outcome) int { return cmp.Or(cmp.Compare(m[b], m[a]), cmp.Compare(a, b)) })
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s %d", k, m[k]))
	}
	return strings.Join(parts, " · ")
}

// headline is the one-sentence summary of the digest.
func headline(doc Document) string {
	o := doc.Outcomes
	human := o[workflow.OutcomeBlocked] + o[workflow.OutcomeNeedsHuman] + o[workflow.OutcomeReportOnly] + o[workflow.OutcomeFailed] + o[workflow.OutcomePartlyRemediated]
	s := fmt.Sprintf("%d remediated, %d for a human in %d account-region(s)", o[workflow.OutcomeRemediated]+o[workflow.OutcomeLogGroupCreated], human, doc.Totals.Targets)
	if doc.Totals.CoverageGaps > 0 {
		s += fmt.Sprintf(", %d coverage gap(s)", doc.Totals.CoverageGaps)
	}
	return s
}

func subject(doc Document) string {
	if doc.DigestError != nil {
		return escape.Line("[ecslogfix] Sweep digest not published: "+doc.Summary, 99)
	}
	return escape.Line("[ecslogfix] Sweep digest: "+doc.Summary, 99)
}

// itemLine is one family as text: "family:3 → :4" or "family:3: REASON…".
func itemLine(it Item) string {
	s := it.Family
	if it.Revision > 0 {
		s += fmt.Sprintf(":%d", it.Revision)
	}
	if it.NewRevision > 0 {
		s += fmt.Sprintf(" → :%d", it.NewRevision)
	}
	var reasons []string
	for _, r := range it.Reasons {
		reasons = append(reasons, string(r))
	}
	if len(reasons) > 0 && it.Outcome != workflow.OutcomeRemediated && it.Outcome != workflow.OutcomeLogGroupCreated {
		s += " (" + strings.Join(reasons, ", ") + ")"
	}
	if it.Detail != "" && it.Outcome != workflow.OutcomeRemediated {
		s += ": " + it.Detail
	}
	return s
}

func gapLine(g workflow.CoverageGap) string {
	where := g.Account + " (every region)"
	if g.Region != "" {
		where = g.Account + "/" + g.Region
	}
	s := fmt.Sprintf("%s: %s %s (%s)", where, g.Reason, g.Status, g.StackSet)
	if g.Detail != "" {
		s += ": " + g.Detail
	}
	return escape.Line(s, 300)
}

// Size is what SNS counts against its limit.
func (n Notification) Size() int {
	size := len(n.SNSMessage()) + len(n.Subject)
	for k, v := range n.Attributes {
		size += len(k) + len("String") + len(v)
	}
	return size
}

// SNSMessage is the MessageStructure=json message, keyed like an
// execution's (message.Notification.SNSMessage).
func (n Notification) SNSMessage() string {
	doc := string(message.JSON(n.Document))
	return string(message.JSON(map[string]string{
		"default": n.Text, "email": n.Text, "https": string(message.JSON(n.Chatbot)), "sqs": doc, "lambda": doc,
	}))
}
