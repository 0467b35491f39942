package policy

import (
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ecslogfix/ecslogfix/internal/policy/awslogs"
	"github.com/ecslogfix/ecslogfix/internal/policy/exemption"
	"github.com/ecslogfix/ecslogfix/internal/policy/reason"
)

func tag(k, v string) types.Tag { return types.Tag{Key: aws.String(k), Value: aws.String(v)} }

func day(s string) time.Time {
	d, err := time.Parse(exemption.DateLayout, s)
	if err != nil {
		panic(err)
	}
	return d.Add(13 * time.Hour) // any time of the day
}

func entry(scope exemption.Scope, approved, expires string) exemption.RegisterEntry {
	return exemption.RegisterEntry{Scope: scope, Reason: "legacy batch job, logs in S3", Approver: "security@example.com", Ticket: "SEC-1", Approved: approved, Expires: expires}
}

// twoContainers: app has no logConfiguration; router is a FireLens router
// logging through firelens.
func twoContainers() *types.TaskDefinition {
	return &types.TaskDefinition{Family: aws.String("orders-api"), ContainerDefinitions: []types.ContainerDefinition{
		{Name: aws.String("app")},
		{Name: aws.String("side"), LogConfiguration: &types.LogConfiguration{LogDriver: types.LogDriverSplunk}},
	}}
}

func TestExemptionDecision(t *testing.T) {
	subject := exemption.Subject{Account: "111122223333", Region: "eu-west-1", Family: "orders-api", Today: day("2026-12-01")}
	family := exemption.Scope{FamilyPrefix: "orders-"}
	tests := []struct {
		name     string
		p        Policy
		tags     []types.Tag
		s        exemption.Subject
		exempt   bool
		source   string
		until    string
		notes    []string // problems, in order
		expired  bool
		partial  []bool // per container Exempt, when not whole
		sentence string
	}{
		{name: "nothing", s: subject},
		{name: "bare tag", tags: []types.Tag{tag("ecslogfix:exempt", "true")}, s: subject, exempt: true, source: exemption.SourceTag, sentence: "with no end date"},
		{name: "bare tag without a day", tags: []types.Tag{tag("ecslogfix:exempt", "TRUE ")}, s: exemption.Subject{}, exempt: true, source: exemption.SourceTag},
		{name: "tag with end date", tags: []types.Tag{tag("ecslogfix:exempt", "true"), tag("ecslogfix:exempt-until", "2026-12-31")}, s: subject, exempt: true, source: exemption.SourceTag, until: "2026-12-31", sentence: "until 2026-12-31"},
		{name: "end date alone exempts", tags: []types.Tag{tag("ecslogfix:exempt-until", "2026-12-01")}, s: subject, exempt: true, source: exemption.SourceTag, until: "2026-12-01"},
		{name: "end date passed", tags: []types.Tag{tag("ecslogfix:exempt", "true"), tag("ecslogfix:exempt-until", "2026-11-30")}, s: subject, notes: []string{"expired on 2026-11-30"}, expired: true},
		{name: "end date not a date", tags: []types.Tag{tag("ecslogfix:exempt-until", "soon")}, s: subject, notes: []string{`ecslogfix:exempt-until="soon" is not a date (YYYY-MM-DD)`}},
		{name: "end date too far", p: Policy{Exemptions: exemption.Exemptions{MaxDays: 30}}, tags: []types.Tag{tag("ecslogfix:exempt-until", "2027-01-15")}, s: subject, notes: []string{"ends 2027-01-15, more than the policy's 30 days from today"}},
		{name: "end date without a day", tags: []types.Tag{tag("ecslogfix:exempt-until", "2026-12-31")}, s: exemption.Subject{Family: "orders-api"}, notes: []string{"the day of the decision is not known"}},
		{name: "expiry required", p: Policy{Exemptions: exemption.Exemptions{RequireExpiry: true}}, tags: []types.Tag{tag("ecslogfix:exempt", "true")}, s: subject, notes: []string{"it has no ecslogfix:exempt-until end date, which the policy requires"}},
		{name: "custom tag key", p: Policy{ExemptionTag: exemption.Tag{Key: "skip-logs", Value: "yes"}}, tags: []types.Tag{tag("skip-logs-until", "2026-12-02")}, s: subject, exempt: true, source: exemption.SourceTag, until: "2026-12-02"},
		{name: "register entry", p: Policy{Exemptions: exemption.Exemptions{Register: []exemption.RegisterEntry{entry(family, "2026-11-01", "2027-01-31")}}}, s: subject, exempt: true, source: exemption.SourceRegister, until: "2027-01-31", sentence: "exempt by register entry SEC-1 (approved by security@example.com: legacy batch job, logs in S3), until 2027-01-31"},
		{name: "register last day", p: Policy{Exemptions: exemption.Exemptions{Register: []exemption.RegisterEntry{entry(family, "2026-11-01", "2026-12-01")}}}, s: subject, exempt: true, source: exemption.SourceRegister, until: "2026-12-01"},
		{name: "register expired", p: Policy{Exemptions: exemption.Exemptions{Register: []exemption.RegisterEntry{entry(family, "2026-10-01", "2026-11-30")}}}, s: subject, notes: []string{"expired on 2026-11-30"}, expired: true},
		{name: "register not yet approved", p: Policy{Exemptions: exemption.Exemptions{Register: []exemption.RegisterEntry{entry(family, "2026-12-02", "2026-12-30")}}}, s: subject, notes: []string{"approved 2026-12-02, a day still to come"}},
		{name: "register too long", p: Policy{Exemptions: exemption.Exemptions{MaxDays: 90, Register: []exemption.RegisterEntry{entry(family, "2026-11-01", "2027-11-01")}}}, s: subject, notes: []string{"it runs 365 days, more than the policy's maximum of 90"}},
		{name: "register without approver", p: Policy{Exemptions: exemption.Exemptions{Register: []exemption.RegisterEntry{func() exemption.RegisterEntry {
			e := entry(family, "2026-11-01", "2026-12-31")
			e.Approver = " "
			return e
		}()}}}, s: subject, notes: []string{"it names no approver"}},
		{name: "register bad date", p: Policy{Exemptions: exemption.Exemptions{Register: []exemption.RegisterEntry{entry(family, "2026-11-01", "31.12.2026")}}}, s: subject, notes: []string{`expires "31.12.2026" is not a date (YYYY-MM-DD)`}},
		{name: "register other account", p: Policy{Exemptions: exemption.Exemptions{Register: []exemption.RegisterEntry{entry(exemption.Scope{Account: "444455556666"}, "2026-11-01", "2026-12-31")}}}, s: subject},
		{name: "register other region", p: Policy{Exemptions: exemption.Exemptions{Register: []exemption.RegisterEntry{entry(exemption.Scope{Account: "111122223333", Region: "us-east-1"}, "2026-11-01", "2026-12-31")}}}, s: subject},
		{name: "register account-wide", p: Policy{Exemptions: exemption.Exemptions{Register: []exemption.RegisterEntry{entry(exemption.Scope{Account: "111122223333"}, "2026-11-01", "2026-12-31")}}}, s: subject, exempt: true, source: exemption.SourceRegister},
		{name: "register empty scope never matches", p: Policy{Exemptions: exemption.Exemptions{Register: []exemption.RegisterEntry{entry(exemption.Scope{Region: "eu-west-1"}, "2026-11-01", "2026-12-31")}}}, s: subject},
		{name: "register one container", p: Policy{Exemptions: exemption.Exemptions{Register: []exemption.RegisterEntry{entry(exemption.Scope{FamilyPrefix: "orders-", Container: "side"}, "2026-11-01", "2026-12-31")}}}, s: subject, partial: []bool{false, true}},
		{name: "register both containers by reason", p: Policy{Exemptions: exemption.Exemptions{Register: []exemption.RegisterEntry{
			entry(exemption.Scope{FamilyPrefix: "orders-", ReasonCode: reason.MissingLogConfiguration}, "2026-11-01", "2026-12-31"),
			entry(exemption.Scope{FamilyPrefix: "orders-", Container: "side", ReasonCode: reason.DriverNotAllowed}, "2026-11-01", "2026-12-31"),
		}}}, s: subject, exempt: true, source: exemption.SourceRegister, partial: []bool{true, true}},
		{name: "register reason not covering", p: Policy{Exemptions: exemption.Exemptions{Register: []exemption.RegisterEntry{entry(exemption.Scope{FamilyPrefix: "orders-", Container: "side", ReasonCode: reason.Firelens}, "2026-11-01", "2026-12-31")}}}, s: subject, partial: []bool{false, false}},
		{name: "expired tag, valid entry", p: Policy{Exemptions: exemption.Exemptions{Register: []exemption.RegisterEntry{entry(family, "2026-11-01", "2026-12-31")}}}, tags: []types.Tag{tag("ecslogfix:exempt-until", "2026-11-01")}, s: subject, exempt: true, source: exemption.SourceRegister, notes: []string{"expired on 2026-11-01"}, expired: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev := tt.p.EvaluateFor(twoContainers(), tt.tags, tt.s, awslogs.Facts{})
			if ev.Exempt != tt.exempt {
				t.Fatalf("exempt = %v, want %v (%+v)", ev.Exempt, tt.exempt, ev)
			}
			if tt.exempt && (ev.Exemption == nil || ev.Exemption.Source != tt.source || ev.Exemption.Until != tt.until && tt.until != "") {
				t.Errorf("exemption %+v, want source %s until %s", ev.Exemption, tt.source, tt.until)
			}
			if !tt.exempt && ev.Exemption != nil {
				t.Errorf("exemption %+v on a task definition that is not exempt", ev.Exemption)
			}
			if tt.sentence != "" && !strings.Contains(ev.Exemption.Sentence(), tt.sentence) {
				t.Errorf("sentence %q lacks %q", ev.Exemption.Sentence(), tt.sentence)
			}
			var got []string
			for _, n := range ev.ExemptionNotes {
				got = append(got, n.Problem)
				if n.Expired != tt.expired {
					t.Errorf("note %+v: expired %v, want %v", n, n.Expired, tt.expired)
				}
				if !strings.Contains(n.Sentence(), "no longer exempts: "+n.Problem) {
					t.Errorf("note sentence %q", n.Sentence())
				}
			}
			if strings.Join(got, "|") != strings.Join(tt.notes, "|") {
				t.Errorf("notes %q, want %q", got, tt.notes)
			}
			for i, want := range tt.partial {
				if ev.Containers[i].Exempt != want {
					t.Errorf("container %s exempt %v, want %v", ev.Containers[i].Name, ev.Containers[i].Exempt, want)
				}
				if ev.Containers[i].Compliant || len(ev.Containers[i].Reasons) == 0 {
					t.Errorf("container %s lost its findings: %+v", ev.Containers[i].Name, ev.Containers[i])
				}
			}
			if ev.Compliant {
				t.Error("exemption made the task definition compliant")
			}
		})
	}
}

func TestExemptionsParseAndValidate(t *testing.T) {
	good := `exemptions:
  maxDays: 90
  backoutDays: 14
  register:
    - scope: {familyPrefix: legacy-, reasonCode: FIRELENS_NOT_AWSLOGS}
      reason: FireLens ships to the SIEM
      approver: ciso@example.com
      ticket: RISK-7
      approved: 2026-11-01
      expires: 2027-01-15
`
	p, err := Parse([]byte(good))
	if err != nil {
		t.Fatal(err)
	}
	if p.Exemptions.Max() != 90 || p.Exemptions.Backout() != 14 || len(p.Exemptions.Register) != 1 || p.Exemptions.Register[0].Scope.ReasonCode != reason.Firelens {
		t.Fatalf("parsed %+v", p.Exemptions)
	}
	if probs := p.Exemptions.Problems(); len(probs) != 0 {
		t.Errorf("problems %v", probs)
	}
	if d := Default().Exemptions; d.Max() != exemption.DefaultMaxExemptionDays || d.Backout() != exemption.DefaultBackoutDays {
		t.Errorf("defaults %d %d", d.Max(), d.Backout())
	}
	for _, tt := range []struct{ in, want string }{
		{"exemptions: {register: [{scope: {familyPrefix: a}, Reason: x}]}", `unknown field "exemptions.register[0].Reason"`},
		{"exemptions: {register: [{scope: {family: a}}]}", `unknown field "exemptions.register[0].scope.family"`},
		{"exemptions: {maxDay: 3}", `unknown field "exemptions.maxDay"`},
		{"exemptions: {maxDays: 4000}", "exemptions.maxDays: 4000 is not in [1, 3653]"},
		{"exemptions: {maxDays: 10, backoutDays: 30}", "exemptions.backoutDays: 30 is not in [1, maxDays 10]"},
		{"exemptions: {register: " + strings.Repeat("[", 1) + strings.Repeat("{scope: {familyPrefix: a}},", 13) + "]}", "exemptions.register: 13 entries; at most 12"},
	} {
		if _, err := Parse([]byte(tt.in)); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Parse(%q) = %v, want %q", tt.in, err, tt.want)
		}
	}
	bad := exemption.Exemptions{Register: []exemption.RegisterEntry{entry(exemption.Scope{FamilyPrefix: "x"}, "2026-01-01", "2027-06-01"), {Scope: exemption.Scope{Account: "1"}}}}
	probs := bad.Problems()
	if len(probs) != 2 || !strings.Contains(probs[0], "register[0] (SEC-1): it runs 516 days") || !strings.Contains(probs[1], `register[1] (no ticket): scope.account "1"`) {
		t.Errorf("problems %q", probs)
	}
}
