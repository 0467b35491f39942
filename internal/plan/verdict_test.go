package plan

import (
	"reflect"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ecslogfix/ecslogfix/internal/policy"
	"github.com/ecslogfix/ecslogfix/internal/policy/awslogs"
)

func TestVerdictAndStep(t *testing.T) {
	reasons := []policy.Reason{policy.ReasonMissingLogConfiguration}
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
		"create groups": {Plan{Containers: []ContainerChange{{Name: "a", Reasons: []policy.Reason{policy.ReasonLogGroupMissing}}},
			LogGroups: []LogGroup{{Name: "/ecs/a", Observed: &awslogs.GroupFact{}}}}, VerdictNonCompliant, RemedyCreateGroups},
		"group it may not create": {Plan{Containers: []ContainerChange{{Name: "a", Reasons: []policy.Reason{policy.ReasonLogGroupMissing}}},
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
		{Name: "app", Reasons: []policy.Reason{policy.ReasonMissingLogConfiguration}},
		{Name: "ok"},
		{Name: "sidecar", Reasons: []policy.Reason{policy.ReasonDriverNotAllowed, policy.ReasonMissingLogConfiguration}},
	}}
	want := []Finding{{"app", []policy.Reason{policy.ReasonMissingLogConfiguration}}, {"sidecar", []policy.Reason{policy.ReasonDriverNotAllowed, policy.ReasonMissingLogConfiguration}}}
	if got := p.Findings(); !reflect.DeepEqual(got, want) {
		t.Errorf("Findings = %v", got)
	}
	if got := p.ReasonCodes(); !reflect.DeepEqual(got, []string{string(policy.ReasonMissingLogConfiguration), string(policy.ReasonDriverNotAllowed)}) {
		t.Errorf("ReasonCodes = %v", got)
	}
	if got := (Plan{}).Findings(); got == nil || len(got) != 0 {
		t.Errorf("no findings must be an empty list, got %#v", got)
	}
}
