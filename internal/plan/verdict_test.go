package plan

import (
	"reflect"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ecslogfix/ecslogfix/internal/policy/awslogs"
	"github.com/ecslogfix/ecslogfix/internal/policy/reason"
)

func TestVerdictAndStep(t *testing.T) {
	reasons := []reason.Code{reason.MissingLogConfiguration}
	for name, tc := range map[string]struct {
		p       Plan
		verdict Verdict
		remedy  Remedy
	}{
		"compliant":          {Plan{Compliant: true}, VerdictCompliant, RemedyNone},
		"exempt":             {Plan{Exempt: true, Containers: []ContainerChange{{Name: "a", Reasons: reasons}}}, VerdictExempt, RemedyNone},
		"compliant & exempt": {Plan{Compliant: true, Exempt: true}, VerdictCompliant, RemedyNone},
		"blocked":            {Plan{Blockers: []Blocker{{Code: BlockTooLarge}}, Changed: &types.TaskDefinition{}}, VerdictNonCompliant, RemedyBlocked},
		"register":           {Plan{Changed: &types.TaskDefinition{}}, VerdictNonCompliant, RemedyRegister},
		"report only":        {Plan{Containers: []ContainerChange{{Name: "a", Reasons: reasons, Action: ActionReport}}}, VerdictNonCompliant, RemedyReport},
		"create groups": {Plan{Containers: []ContainerChange{{Name: "a", Reasons: []reason.Code{reason.LogGroupMissing}}},
			LogGroups: []LogGroup{{Name: "/ecs/a", Observed: &awslogs.GroupFact{}}}}, VerdictNonCompliant, RemedyCreateGroups},
		"group it may not create": {Plan{Containers: []ContainerChange{{Name: "a", Reasons: []reason.Code{reason.LogGroupMissing}}},
			LogGroups: []LogGroup{{Name: "/x/a", Observed: &awslogs.GroupFact{}, OutsidePatterns: true}}}, VerdictNonCompliant, RemedyReport},
		"register, a group it may not create": {Plan{Changed: &types.TaskDefinition{}, LogGroups: []LogGroup{{Name: "/x/a", Observed: &awslogs.GroupFact{}, OutsidePatterns: true}}}, VerdictNonCompliant, RemedyReport},
		"register, the driver creates it":     {Plan{Changed: &types.TaskDefinition{}, LogGroups: []LogGroup{{Name: "/x/a", Observed: &awslogs.GroupFact{}, OutsidePatterns: true, DriverCreates: true}}}, VerdictNonCompliant, RemedyRegister},
	} {
		if got := tc.p.Verdict(); got != tc.verdict {
			t.Errorf("%s: Verdict = %s, want %s", name, got, tc.verdict)
		}
		if got := tc.p.Remedy(); got != tc.remedy {
			t.Errorf("%s: Remedy = %s, want %s", name, got, tc.remedy)
		}
	}
}

func TestFindingsAndReasonCodes(t *testing.T) {
	p := Plan{Containers: []ContainerChange{
		{Name: "app", Reasons: []reason.Code{reason.MissingLogConfiguration}},
		{Name: "ok"},
		{Name: "sidecar", Reasons: []reason.Code{reason.DriverNotAllowed, reason.MissingLogConfiguration}},
	}}
	want := []Finding{{"app", []reason.Code{reason.MissingLogConfiguration}}, {"sidecar", []reason.Code{reason.DriverNotAllowed, reason.MissingLogConfiguration}}}
	if got := p.Findings(); !reflect.DeepEqual(got, want) {
		t.Errorf("Findings = %v", got)
	}
	if got := p.ReasonCodes(); !reflect.DeepEqual(got, []string{string(reason.MissingLogConfiguration), string(reason.DriverNotAllowed)}) {
		t.Errorf("ReasonCodes = %v", got)
	}
	if got := (Plan{}).Findings(); got == nil || len(got) != 0 {
		t.Errorf("no findings must be an empty list, got %#v", got)
	}
}
