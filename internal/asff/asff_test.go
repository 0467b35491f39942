package asff

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/securityhub"
	"github.com/aws/aws-sdk-go-v2/service/securityhub/types"

	"github.com/ecslogfix/ecslogfix/internal/history"
	"github.com/ecslogfix/ecslogfix/internal/plan"
	"github.com/ecslogfix/ecslogfix/internal/policy/reason"
)

var now = time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)

const (
	acct = "111122223333"
	reg  = "eu-west-1"
	src  = "arn:aws:ecs:eu-west-1:111122223333:task-definition/orders-api:3"
)

func item(state history.State, open, exempt []reason.Code, by string) *history.Item {
	since := now.Add(-time.Hour)
	return &history.Item{Account: acct, Region: reg, Family: "orders-api", State: state, Revision: 3, TaskDefinitionARN: src,
		Reasons: open, Exempted: exempt, ExemptBy: by, ExemptUntil: map[bool]string{true: "2026-12-31"}[by != ""], ChangedAt: since, Since: &since}
}

var (
	missing = reason.MissingLogConfiguration
	prefix  = reason.MissingStreamPrefix
	firel   = reason.Firelens
)

type want struct {
	id     string
	record types.RecordState
	status types.ComplianceStatus
	flow   types.WorkflowStatus
}

func TestFindingsPerTransition(t *testing.T) {
	id := func(r reason.Code) string { return ID(acct, reg, "orders-api", r) }
	exid := func(r reason.Code, by string) string { return ExemptionID(acct, reg, "orders-api", r, by) }
	rec := history.Record{TaskDefinitionARN: src, Findings: []plan.Finding{{Container: "app", Reasons: []reason.Code{missing, prefix}}},
		Exempted: []plan.Finding{{Container: "router", Reasons: []reason.Code{firel}}}}
	tests := []struct {
		name          string
		before, after *history.Item
		want          []want
	}{
		{"first seen open", nil, item(history.StateNonCompliant, []reason.Code{missing, prefix}, nil, ""), []want{
			{id(missing), types.RecordStateActive, types.ComplianceStatusFailed, types.WorkflowStatusNew},
			{id(prefix), types.RecordStateActive, types.ComplianceStatusFailed, types.WorkflowStatusNew}}},
		{"first seen compliant", nil, item(history.StateCompliant, nil, nil, ""), nil},
		{"fixed", item(history.StateNonCompliant, []reason.Code{missing}, nil, ""), item(history.StateRemediated, nil, nil, ""), []want{
			{id(missing), types.RecordStateArchived, types.ComplianceStatusPassed, types.WorkflowStatusResolved}}},
		{"one reason fixed", item(history.StateNonCompliant, []reason.Code{missing, prefix}, nil, ""), item(history.StateNonCompliant, []reason.Code{missing}, nil, ""), []want{
			{id(missing), types.RecordStateActive, types.ComplianceStatusFailed, types.WorkflowStatusNew},
			{id(prefix), types.RecordStateArchived, types.ComplianceStatusPassed, types.WorkflowStatusResolved}}},
		{"exempted", item(history.StateNonCompliant, []reason.Code{firel}, nil, ""), item(history.StateExempt, nil, []reason.Code{firel}, "RISK-7"), []want{
			{id(firel), types.RecordStateArchived, types.ComplianceStatusFailed, types.WorkflowStatusResolved},
			{exid(firel, "RISK-7"), types.RecordStateActive, types.ComplianceStatusFailed, types.WorkflowStatusSuppressed}}},
		{"exemption expired", item(history.StateExempt, nil, []reason.Code{firel}, "RISK-7"), item(history.StateNonCompliant, []reason.Code{firel}, nil, ""), []want{
			{id(firel), types.RecordStateActive, types.ComplianceStatusFailed, types.WorkflowStatusNew},
			{exid(firel, "RISK-7"), types.RecordStateArchived, types.ComplianceStatusFailed, types.WorkflowStatusSuppressed}}},
		{"exempt, then fixed", item(history.StateExempt, nil, []reason.Code{firel}, "tag"), item(history.StateCompliant, nil, nil, ""), []want{
			{id(firel), types.RecordStateArchived, types.ComplianceStatusPassed, types.WorkflowStatusResolved},
			{exid(firel, "tag"), types.RecordStateArchived, types.ComplianceStatusPassed, types.WorkflowStatusSuppressed}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs := Findings(history.Change{Record: rec, Before: tt.before, After: *tt.after}, "aws", now)
			if len(fs) != len(tt.want) {
				t.Fatalf("%d findings, want %d: %+v", len(fs), len(tt.want), fs)
			}
			for i, f := range fs {
				w := tt.want[i]
				if *f.Id != w.id || f.RecordState != w.record || f.Compliance.Status != w.status || f.Workflow.Status != w.flow {
					t.Errorf("finding %d: %s %s %s %s, want %+v", i, *f.Id, f.RecordState, f.Compliance.Status, f.Workflow.Status, w)
				}
				if err := Validate(f); err != nil {
					t.Errorf("finding %s: %v", *f.Id, err)
				}
				if *f.AwsAccountId != acct || *f.ProductArn != "arn:aws:securityhub:eu-west-1:111122223333:product/111122223333/default" ||
					*f.Resources[0].Id != src || *f.CreatedAt != now.Add(-time.Hour).Format(time.RFC3339) {
					t.Errorf("finding %s: account %s product %s resource %s created %s", *f.Id, *f.AwsAccountId, *f.ProductArn, *f.Resources[0].Id, *f.CreatedAt)
				}
			}
		})
	}
}

func TestSeverityAndRemediationText(t *testing.T) {
	for r, want := range map[reason.Code]types.SeverityLabel{
		missing: types.SeverityLabelHigh, reason.InvalidGroup: types.SeverityLabelHigh, reason.MissingGroup: types.SeverityLabelHigh,
		firel: types.SeverityLabelMedium, reason.DriverNotAllowed: types.SeverityLabelMedium, reason.MissingRegion: types.SeverityLabelMedium,
		prefix: types.SeverityLabelLow, reason.RouterNotAwslogs: types.SeverityLabelLow,
		reason.LogGroupMissing: types.SeverityLabelHigh, reason.ExecutionRoleMissing: types.SeverityLabelHigh,
		reason.UnknownOption: types.SeverityLabelHigh, reason.InvalidRegion: types.SeverityLabelMedium,
		reason.InvalidStreamPrefix: types.SeverityLabelLow, reason.InvalidMode: types.SeverityLabelLow,
	} {
		if got := Severity(r); got != want {
			t.Errorf("%s: %s, want %s", r, got, want)
		}
	}
	if len(reason.All()) != 14 {
		t.Fatalf("a reason was added: give it a severity")
	}
	after := item(history.StateNonCompliant, []reason.Code{missing}, nil, "")
	after.Fixes = []history.Fix{{Container: "app", After: &plan.LogSettings{Driver: "awslogs", Options: map[string]string{"awslogs-group": "/ecs/orders-api", "awslogs-region": reg, "awslogs-stream-prefix": "ecs"}}}}
	rec := history.Record{TaskDefinitionARN: src, Decision: history.DecisionBlocked, Detail: "the fix cannot be applied safely: no role",
		Findings: []plan.Finding{{Container: "app", Reasons: []reason.Code{missing}}}}
	f := Findings(history.Change{Record: rec, After: *after}, "aws", now)[0]
	text := *f.Remediation.Recommendation.Text
	if !strings.Contains(text, "Fix for container app: logDriver awslogs, awslogs-group=/ecs/orders-api, awslogs-region=eu-west-1, awslogs-stream-prefix=ecs.") {
		t.Errorf("recommendation %q", text)
	}
	if d := *f.Description; !strings.Contains(d, "(containers app)") || !strings.Contains(d, "no role") {
		t.Errorf("description %q", d)
	}
	long := *after
	long.Family = strings.Repeat("f", 255)
	rec.Detail = strings.Repeat("x", 2000)
	for _, f := range Findings(history.Change{Record: rec, After: long}, "aws", now) {
		if err := Validate(f); err != nil {
			t.Errorf("a 255-character family: %v", err)
		}
	}
}

// capture answers every request with an empty import result and keeps the
// request body: the SDK's own serializer and its required-member
// validation see every document.
type capture struct{ bodies []string }

func (c *capture) Do(r *http.Request) (*http.Response, error) {
	b, _ := io.ReadAll(r.Body)
	c.bodies = append(c.bodies, string(b))
	return &http.Response{StatusCode: 200, Header: http.Header{"Content-Type": {"application/json"}},
		Body: io.NopCloser(strings.NewReader(`{"FailedCount":0,"SuccessCount":1,"FailedFindings":[]}`)), Request: r}, nil
}

func TestFindingsPassTheSDKsValidation(t *testing.T) {
	c := &capture{}
	client := securityhub.New(securityhub.Options{Region: reg, HTTPClient: c, Credentials: credentials.NewStaticCredentialsProvider("a", "b", "")})
	after := item(history.StateExempt, []reason.Code{missing}, []reason.Code{firel}, "RISK-7")
	fs := Findings(history.Change{Record: history.Record{TaskDefinitionARN: src}, After: *after}, "aws", now)
	if _, err := client.BatchImportFindings(context.Background(), &securityhub.BatchImportFindingsInput{Findings: fs}); err != nil {
		t.Fatalf("the SDK refused the documents: %v", err)
	}
	for _, k := range []string{`"SchemaVersion":"2018-10-08"`, `"Compliance":{"RelatedRequirements"`, `"Workflow":{"Status":"SUPPRESSED"}`, `"Type":"AwsEcsTaskDefinition"`} {
		if !strings.Contains(c.bodies[0], k) {
			t.Errorf("request lacks %s:\n%s", k, c.bodies[0])
		}
	}
	// A document without a required member is refused by the SDK before
	// anything is sent.
	bad := fs[0]
	bad.GeneratorId = nil
	_, err := client.BatchImportFindings(context.Background(), &securityhub.BatchImportFindingsInput{Findings: []types.AwsSecurityFinding{bad}})
	if err == nil || !strings.Contains(err.Error(), "GeneratorId") || len(c.bodies) != 1 {
		t.Errorf("missing GeneratorId: %v (%d requests)", err, len(c.bodies))
	}
	if err := Validate(bad); err == nil {
		t.Error("Validate accepted a finding without GeneratorId")
	}
	bad = fs[0]
	bad.Severity = &types.Severity{Label: "SEVERE"}
	if err := Validate(bad); err == nil || !strings.Contains(err.Error(), "severity") {
		t.Errorf("Validate on a bad label: %v", err)
	}
}
