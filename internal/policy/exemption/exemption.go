// Package exemption decides whether, and why, a task definition (or some
// of its containers) is exempt from the logging policy on a given day: the
// exemption tag and its end date, and the policy's register of approved
// exemptions. An exemption that is expired or malformed does not exempt
// (fail open), and says so. Pure: no AWS calls.
package exemption

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ecslogfix/ecslogfix/internal/awsarn"
	"github.com/ecslogfix/ecslogfix/internal/policy/reason"
)

// Exemption defaults and bounds.
const (
	// DefaultMaxExemptionDays is the longest term of an exemption when the
	// policy sets none.
	DefaultMaxExemptionDays = 365
	// DefaultBackoutDays is how long a backout exempts the family when the
	// policy sets no backoutDays.
	DefaultBackoutDays = 30
	// MaxExemptionDays bounds maxDays: ten years, the longest S3 Object
	// Lock retention the history is usually kept for.
	MaxExemptionDays = 3653
	// MaxRegister bounds the register: the policy travels in every
	// function's environment, which Lambda limits to 4 KB in all.
	MaxRegister = 12
	// UntilSuffix makes the end-date tag's key from the exemption tag's:
	// ecslogfix:exempt → ecslogfix:exempt-until.
	UntilSuffix = "-until"
	// DateLayout is how exemption dates are written (UTC days).
	DateLayout = "2006-01-02"
)

// Tag is one key=value tag.
type Tag struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// UntilKey is the key of the end-date tag that goes with t.
func (t Tag) UntilKey() string { return t.Key + UntilSuffix }

// Carried reports whether tags carry t: the key must match exactly, the
// value ignoring case and surrounding spaces.
func (t Tag) Carried(tags []types.Tag) bool {
	for _, tg := range tags {
		if tg.Key == nil || *tg.Key != t.Key {
			continue
		}
		if strings.EqualFold(strings.TrimSpace(aws.ToString(tg.Value)), strings.TrimSpace(t.Value)) {
			return true
		}
	}
	return false
}

// Exemptions is the policy's exemption rules and register. An exemption
// that is expired or malformed does not exempt (fail open): ecslogfix acts
// as if it were not there, and says so (Judgement.Notes).
type Exemptions struct {
	// MaxDays is the longest an exemption may run: a register entry from
	// approved to expires, an end-date tag from today. Default 365.
	MaxDays int `json:"maxDays,omitempty"`
	// RequireExpiry makes the exemption tag exempt only together with an
	// end-date tag (ecslogfix:exempt-until=YYYY-MM-DD).
	RequireExpiry bool `json:"requireExpiry,omitempty"`
	// BackoutDays is how long `ecslogfix backout` exempts the family by
	// default (the end-date tag it sets on the source). Default 30.
	BackoutDays int `json:"backoutDays,omitempty"`
	// Register lists the approved exemptions, reviewed with the policy.
	Register []RegisterEntry `json:"register,omitempty"`
}

// Scope says what one register entry exempts. An empty field matches
// anything; an entry must name an account or a family prefix.
type Scope struct {
	Account      string `json:"account,omitempty"`
	Region       string `json:"region,omitempty"`
	FamilyPrefix string `json:"familyPrefix,omitempty"`
	// Container and ReasonCode narrow the entry to findings: only the
	// containers (all of whose reasons are covered) are left as they are.
	Container  string      `json:"container,omitempty"`
	ReasonCode reason.Code `json:"reasonCode,omitempty"`
}

// RegisterEntry is one approved exemption.
type RegisterEntry struct {
	Scope    Scope  `json:"scope"`
	Reason   string `json:"reason"`   // why logging is not required here
	Approver string `json:"approver"` // who accepted the risk
	Ticket   string `json:"ticket"`   // where the approval is recorded
	Approved string `json:"approved"` // YYYY-MM-DD
	Expires  string `json:"expires"`  // YYYY-MM-DD, the last exempt day (UTC)
}

// Exemption sources.
const (
	SourceTag      = "tag"
	SourceRegister = "register"
)

// Exemption is an exemption that applies: where it comes from and until
// when. The tag gives no reason, approver or ticket.
type Exemption struct {
	Source   string `json:"source"`
	Until    string `json:"until,omitempty"` // empty: the tag without an end date
	Reason   string `json:"reason,omitempty"`
	Approver string `json:"approver,omitempty"`
	Ticket   string `json:"ticket,omitempty"`
	Scope    *Scope `json:"scope,omitempty"`
}

// Sentence says in words why the task definition is exempt.
func (e Exemption) Sentence() string {
	var s string
	switch e.Source {
	case SourceRegister:
		s = fmt.Sprintf("exempt by register entry %s (approved by %s: %s)", e.Ticket, e.Approver, e.Reason)
	default:
		s = "the source revision carries the exemption tag"
	}
	if e.Until != "" {
		return s + ", until " + e.Until
	}
	return s + ", with no end date"
}

// Note is an exemption that matched but does not apply: it
// expired, or it is malformed.
type Note struct {
	Source  string `json:"source"`
	Ticket  string `json:"ticket,omitempty"`
	Until   string `json:"until,omitempty"`
	Expired bool   `json:"expired,omitempty"`
	Problem string `json:"problem"`
}

// Sentence says what happened to the exemption.
func (n Note) Sentence() string {
	what := "the exemption tag"
	if n.Source == SourceRegister {
		what = "register entry " + n.Ticket
	}
	return what + " no longer exempts: " + n.Problem
}

// Subject is what exemptions are judged on besides the tags: where the
// task definition lives, and the day.
type Subject struct {
	Account, Region, Family string
	// Today is the day of the decision; zero means unknown, and then no
	// dated exemption applies.
	Today time.Time
}

// Max is the longest term of an exemption.
func (e Exemptions) Max() int { return cmp.Or(e.MaxDays, DefaultMaxExemptionDays) }

// Backout is how many days a backout exempts by default.
func (e Exemptions) Backout() int { return cmp.Or(e.BackoutDays, DefaultBackoutDays) }

// Day is t's UTC date as written in exemptions.
func Day(t time.Time) string { return t.UTC().Format(DateLayout) }

func parseDay(s string) (time.Time, bool) {
	d, err := time.Parse(DateLayout, strings.TrimSpace(s))
	return d, err == nil
}

func days(from, to time.Time) int { return int(to.Sub(from).Hours() / 24) }

// Finding is what the rules read of one container's verdict: its name and
// its reasons (none: compliant).
type Finding struct {
	Name    string
	Reasons []reason.Code
}

// Judgement is what the exemption rules decided for one task definition.
type Judgement struct {
	Whole      *Exemption         // the whole task definition is exempt
	Containers map[int]*Exemption // finding index → the entry covering all its reasons
	Notes      []Note
}

// Judge is the one place that decides whether, and why, a task definition
// with tags (or some of its containers, findings) is exempt on s.Today:
// the exemption tag, its end date, and the register.
func (e Exemptions) Judge(tag Tag, tags []types.Tag, s Subject, findings []Finding) Judgement {
	var j Judgement
	j.Whole = e.tagExemption(tag, tags, s, &j.Notes)
	today := s.Today
	if !today.IsZero() {
		today = today.UTC().Truncate(24 * time.Hour)
	}
	for i := range e.Register {
		r := &e.Register[i]
		if !r.Scope.matches(s) {
			continue
		}
		note := Note{Source: SourceRegister, Ticket: r.Ticket, Until: r.Expires}
		if problem := r.Malformed(e.Max()); problem != "" {
			note.Problem = problem
			j.Notes = append(j.Notes, note)
			continue
		}
		approved, _ := parseDay(r.Approved)
		expires, _ := parseDay(r.Expires)
		switch {
		case today.IsZero():
			note.Problem = "the day of the decision is not known"
		case today.Before(approved):
			note.Problem = "approved " + r.Approved + ", a day still to come"
		case today.After(expires):
			note.Expired, note.Problem = true, "expired on "+r.Expires
		}
		if note.Problem != "" {
			j.Notes = append(j.Notes, note)
			continue
		}
		ex := &Exemption{Source: SourceRegister, Until: r.Expires, Reason: r.Reason, Approver: r.Approver, Ticket: r.Ticket, Scope: &r.Scope}
		if r.Scope.Container == "" && r.Scope.ReasonCode == "" {
			if j.Whole == nil {
				j.Whole = ex
			}
			continue
		}
		for ci, f := range findings {
			if len(f.Reasons) == 0 || (r.Scope.Container != "" && f.Name != r.Scope.Container) {
				continue
			}
			if j.Containers == nil {
				j.Containers = map[int]*Exemption{}
			}
			if _, done := j.Containers[ci]; !done && e.covers(f, s) {
				j.Containers[ci] = ex
			}
		}
	}
	return j
}

// covers reports whether valid register entries cover every reason of f.
func (e Exemptions) covers(f Finding, s Subject) bool {
	for _, r := range f.Reasons {
		ok := slices.ContainsFunc(e.Register, func(re RegisterEntry) bool {
			return re.Scope.matches(s) && (re.Scope.Container == "" || re.Scope.Container == f.Name) &&
				(re.Scope.ReasonCode == "" || re.Scope.ReasonCode == r) && re.validOn(s.Today, e.Max())
		})
		if !ok {
			return false
		}
	}
	return true
}

func (e RegisterEntry) validOn(today time.Time, maxDays int) bool {
	if today.IsZero() || e.Malformed(maxDays) != "" {
		return false
	}
	today = today.UTC().Truncate(24 * time.Hour)
	approved, _ := parseDay(e.Approved)
	expires, _ := parseDay(e.Expires)
	return !today.Before(approved) && !today.After(expires)
}

// tagExemption judges the exemption tag and its end date.
func (e Exemptions) tagExemption(tag Tag, tags []types.Tag, s Subject, notes *[]Note) *Exemption {
	until, dated := tagValue(tags, tag.UntilKey())
	switch {
	case dated:
		note := Note{Source: SourceTag, Until: strings.TrimSpace(until)}
		d, ok := parseDay(until)
		today := s.Today.UTC().Truncate(24 * time.Hour)
		switch {
		case !ok:
			note.Problem = fmt.Sprintf("%s=%q is not a date (YYYY-MM-DD)", tag.UntilKey(), until)
		case s.Today.IsZero():
			note.Problem = "the day of the decision is not known"
		case today.After(d):
			note.Expired, note.Problem = true, "expired on "+Day(d)
		case days(today, d) > e.Max():
			note.Problem = fmt.Sprintf("ends %s, more than the policy's %d days from today", Day(d), e.Max())
		default:
			return &Exemption{Source: SourceTag, Until: Day(d)}
		}
		*notes = append(*notes, note)
		return nil
	case tag.Carried(tags) && e.RequireExpiry:
		*notes = append(*notes, Note{Source: SourceTag, Problem: "it has no " + tag.UntilKey() + " end date, which the policy requires"})
		return nil
	case tag.Carried(tags):
		return &Exemption{Source: SourceTag}
	}
	return nil
}

func tagValue(tags []types.Tag, key string) (string, bool) {
	for _, t := range tags {
		if t.Key != nil && *t.Key == key {
			return aws.ToString(t.Value), true
		}
	}
	return "", false
}

func (sc Scope) matches(s Subject) bool {
	if sc.Account == "" && sc.FamilyPrefix == "" {
		return false // malformed: never matches everything
	}
	return (sc.Account == "" || sc.Account == s.Account) &&
		(sc.Region == "" || sc.Region == s.Region) &&
		strings.HasPrefix(s.Family, sc.FamilyPrefix)
}

// Malformed says what is wrong with the entry regardless of the day, or
// "" when nothing is. A malformed entry never exempts.
func (e RegisterEntry) Malformed(maxDays int) string {
	sc := e.Scope
	switch {
	case sc.Account == "" && sc.FamilyPrefix == "":
		return "its scope names neither an account nor a family prefix"
	case sc.Account != "" && !awsarn.ValidAccount(sc.Account):
		return fmt.Sprintf("scope.account %q is not a 12-digit account ID", sc.Account)
	case sc.Region != "" && !awsarn.ValidRegion(sc.Region):
		return fmt.Sprintf("scope.region %q is not a region", sc.Region)
	case sc.ReasonCode != "" && !slices.Contains(reason.All(), sc.ReasonCode):
		return fmt.Sprintf("scope.reasonCode %q is not a reason code", sc.ReasonCode)
	case strings.TrimSpace(e.Reason) == "":
		return "it gives no reason"
	case strings.TrimSpace(e.Approver) == "":
		return "it names no approver"
	case strings.TrimSpace(e.Ticket) == "":
		return "it names no ticket"
	}
	approved, ok := parseDay(e.Approved)
	if !ok {
		return fmt.Sprintf("approved %q is not a date (YYYY-MM-DD)", e.Approved)
	}
	expires, ok := parseDay(e.Expires)
	if !ok {
		return fmt.Sprintf("expires %q is not a date (YYYY-MM-DD)", e.Expires)
	}
	switch n := days(approved, expires); {
	case n < 0:
		return "it expires before it was approved"
	case n > maxDays:
		return fmt.Sprintf("it runs %d days, more than the policy's maximum of %d", n, maxDays)
	}
	return ""
}

// OutOfBounds names the first of the rules' bounds e exceeds (the field
// under "exemptions") and says why, or returns "" when none is; the
// register's entries are checked by Problems.
func (e Exemptions) OutOfBounds() (field, problem string) {
	switch {
	case e.MaxDays < 0 || e.MaxDays > MaxExemptionDays:
		return "maxDays", fmt.Sprintf("%d is not in [1, %d]", e.MaxDays, MaxExemptionDays)
	case e.BackoutDays < 0 || e.Backout() > e.Max():
		return "backoutDays", fmt.Sprintf("%d is not in [1, maxDays %d]", e.Backout(), e.Max())
	case len(e.Register) > MaxRegister:
		return "register", fmt.Sprintf("%d entries; at most %d (the policy travels in each function's environment, which Lambda limits to 4 KB): narrow scopes with familyPrefix, or tag the task definitions with %s", len(e.Register), MaxRegister, "ecslogfix:exempt-until")
	}
	return "", ""
}

// Problems lists the register entries that are malformed, as "register[i]
// (TICKET): problem": the deployment refuses them, though at run time they
// only stop exempting.
func (e Exemptions) Problems() []string {
	var out []string
	for i, r := range e.Register {
		if p := r.Malformed(e.Max()); p != "" {
			out = append(out, fmt.Sprintf("register[%d] (%s): %s", i, cmp.Or(r.Ticket, "no ticket"), p))
		}
	}
	return out
}
