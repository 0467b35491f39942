package plan

import (
	"encoding/json"
	"testing"

	"github.com/ecslogfix/ecslogfix/internal/policy"
	"github.com/ecslogfix/ecslogfix/internal/policy/awslogs"
	"github.com/ecslogfix/ecslogfix/internal/taskdef"
)

// FuzzBuildPlan feeds task definitions (describe-task-definition output, or
// a bare taskDefinition object) to Build. Build must not panic, and every
// plan must keep the invariants of checkInvariants: input untouched,
// untouched containers identical, the fix compliant unless blocked or
// reported, nothing secret printed.
func FuzzBuildPlan(f *testing.F) {
	f.Add([]byte(`{"taskDefinition":{"family":"a","containerDefinitions":[{"name":"c"}]}}`), false)
	f.Add([]byte(`{"family":"a","requiresCompatibilities":["FARGATE"],"containerDefinitions":[{"name":"c","logConfiguration":{"logDriver":"splunk","options":{"mode":"non-blocking"}}}]}`), true)
	f.Fuzz(func(t *testing.T, data []byte, report bool) {
		var d describeOutput
		if err := json.Unmarshal(data, &d); err != nil || d.TaskDefinition == nil {
			d = describeOutput{}
			if err := json.Unmarshal(data, &d.TaskDefinition); err != nil {
				return
			}
		}
		p := policy.Default()
		if report {
			p.OtherDrivers = policy.ReportDriver
			p.Mode = awslogs.ModeNonBlocking
			p.MaxBufferSize = "25m"
			p.LogGroupTemplate = "/ecs/{family}/{container}"
		}
		td, tags := d.TaskDefinition, d.Tags
		pristine := taskdef.Copy(td)
		pristineTags := *taskdef.Copy(&tags)
		pl, err := Build(td, tags, p, Context{})
		if err != nil {
			return
		}
		checkInvariants(t, td, tags, pristine, pristineTags, p, pl)
		_ = pl.Diff()
	})
}
