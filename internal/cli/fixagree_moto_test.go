package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"

	"github.com/ecslogfix/ecslogfix/internal/cli/fix"
	"github.com/ecslogfix/ecslogfix/internal/cli/scan"
	"github.com/ecslogfix/ecslogfix/internal/plan"
	"github.com/ecslogfix/ecslogfix/internal/workflow"
)

// fixRun is what one fix run said about one task definition.
type fixRun struct {
	action  plan.Remedy
	outcome workflow.Outcome
	code    int
}

// TestMotoFixDryRunPredictsApply: for each case, fix's dry run answers
// what --apply then does (style.md: "apply exactly what was planned; dry
// run and apply agree"). A dry run that ends (an outcome) ends the apply
// the same way, with the same exit status; a dry run that acts (REGISTER,
// CREATE_LOG_GROUPS) is what the apply did, the dry run exiting 1 and the
// apply 0; a dry run that cannot act (BLOCKED, REPORT, nothing to do) is
// the apply's action, with the same exit status.
func TestMotoFixDryRunPredictsApply(t *testing.T) {
	c, logs := needMoto(t)
	ctx := context.Background()
	register := func(in *ecs.RegisterTaskDefinitionInput) string {
		t.Helper()
		out, err := c.RegisterTaskDefinition(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		return aws.ToString(out.TaskDefinition.TaskDefinitionArn)
	}
	many := seedInput(kindAdd, "agree-tags")
	for i := len(many.Tags); i < 49; i++ {
		many.Tags = append(many.Tags, tag(fmt.Sprintf("k%02d", i), "v"))
	}
	cases := []struct {
		name string
		// setup registers the case and returns the --task-definition.
		setup func() string
		dry   fixRun
		apply fixRun
	}{
		{"older ACTIVE, newer user revision", func() string {
			older := register(seedInput(kindAdd, "agree-newer-user"))
			register(seedInput(kindComplete, "agree-newer-user"))
			return older
		}, fixRun{scan.ActionNone, workflow.OutcomeSuperseded, 0}, fixRun{scan.ActionNone, workflow.OutcomeSuperseded, 0}},
		{"older ACTIVE, newer ecslogfix remediation of it", func() string {
			older := register(seedInput(kindAdd, "agree-remediated"))
			if r := runAWS(t, "fix", "--task-definition", "agree-remediated", "--apply"); r.code != ExitOK {
				t.Fatalf("remediate the source: exit %d\n%s%s", r.code, r.stdout, r.stderr)
			}
			return older
		}, fixRun{scan.ActionNone, workflow.OutcomeAlreadyRemediated, 0}, fixRun{scan.ActionNone, workflow.OutcomeAlreadyRemediated, 0}},
		{"older ACTIVE, newer user revision, FAMILY:REV", func() string {
			register(seedInput(kindAdd, "agree-by-rev"))
			register(seedInput(kindAdd, "agree-by-rev"))
			return "agree-by-rev:1"
		}, fixRun{scan.ActionNone, workflow.OutcomeSuperseded, 0}, fixRun{scan.ActionNone, workflow.OutcomeSuperseded, 0}},
		{"INACTIVE", func() string {
			arn := register(seedInput(kindAdd, "agree-inactive"))
			if _, err := c.DeregisterTaskDefinition(ctx, &ecs.DeregisterTaskDefinitionInput{TaskDefinition: aws.String(arn)}); err != nil {
				t.Fatal(err)
			}
			return arn
		}, fixRun{scan.ActionNone, workflow.OutcomeInactive, 0}, fixRun{scan.ActionNone, workflow.OutcomeInactive, 0}},
		{"INACTIVE, a newer user revision", func() string {
			arn := register(seedInput(kindAdd, "agree-inactive-newer"))
			register(seedInput(kindAdd, "agree-inactive-newer"))
			if _, err := c.DeregisterTaskDefinition(ctx, &ecs.DeregisterTaskDefinitionInput{TaskDefinition: aws.String(arn)}); err != nil {
				t.Fatal(err)
			}
			return arn
		}, fixRun{scan.ActionNone, workflow.OutcomeSuperseded, 0}, fixRun{scan.ActionNone, workflow.OutcomeSuperseded, 0}},
		{"49 user tags: ECS's tag limit", func() string {
			return register(many)
		}, fixRun{scan.ActionBlocked, "", 1}, fixRun{scan.ActionBlocked, "", 1}},
		{"exempt", func() string {
			return register(seedInput(kindExempt, "agree-exempt"))
		}, fixRun{scan.ActionNone, "", 0}, fixRun{scan.ActionNone, "", 0}},
		{"compliant", func() string {
			arn := register(seedInput(kindCompliant, "agree-compliant"))
			seedGroup(t, logs, kindCompliant, "agree-compliant")
			return arn
		}, fixRun{scan.ActionNone, "", 0}, fixRun{scan.ActionNone, "", 0}},
		{"compliant, its log group missing", func() string {
			return register(seedInput(kindNoGroup, "agree-nogroup"))
		}, fixRun{scan.ActionCreateGroups, "", 1}, fixRun{scan.ActionCreateGroups, workflow.OutcomeLogGroupCreated, 0}},
		{"fixable", func() string {
			return register(seedInput(kindAdd, "agree-fixable"))
		}, fixRun{scan.ActionRegister, "", 1}, fixRun{scan.ActionRegister, workflow.OutcomeRemediated, 0}},
		{"fixable, older ACTIVE under ecslogfix's fix of an older one", func() string {
			register(seedInput(kindAdd, "agree-under-ours"))
			src := register(seedInput(kindAdd, "agree-under-ours"))
			in := seedInput(kindCompliant, "agree-under-ours")
			in.Tags = append(in.Tags, tag("ecslogfix:source-revision", "1"), tag("ecslogfix:managed", "true"))
			register(in)
			return src
		}, fixRun{scan.ActionRegister, "", 1}, fixRun{scan.ActionRegister, workflow.OutcomeRemediated, 0}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			target := tc.setup()
			run := func(args ...string) fixRun {
				t.Helper()
				r := runAWS(t, append([]string{"fix", "--task-definition", target, "--output", "json"}, args...)...)
				var items []fix.Item
				if err := json.Unmarshal([]byte(r.stdout), &items); err != nil || len(items) != 1 || items[0].Error != "" {
					t.Fatalf("fix %s %v: exit %d, %v\n%s%s", target, args, r.code, err, r.stdout, r.stderr)
				}
				return fixRun{items[0].Action, items[0].Outcome, r.code}
			}
			dry := run()
			apply := run("--apply")
			if dry != tc.dry || apply != tc.apply {
				t.Errorf("fix %s:\ndry run %+v, want %+v\napply   %+v, want %+v", target, dry, tc.dry, apply, tc.apply)
			}
			switch acts := dry.action == scan.ActionRegister || dry.action == scan.ActionCreateGroups; {
			case dry.action != apply.action:
				t.Errorf("the dry run's action %s, the apply's %s", dry.action, apply.action)
			case dry.outcome != "" && (dry.outcome != apply.outcome || dry.code != apply.code):
				t.Errorf("the dry run ended %s (exit %d), the apply %s (exit %d)", dry.outcome, dry.code, apply.outcome, apply.code)
			case acts && (dry.code != ExitViolation || apply.code != ExitOK):
				t.Errorf("a dry run that acts exits %d, the apply %d; want 1 and 0", dry.code, apply.code)
			case !acts && dry.code != apply.code:
				t.Errorf("the dry run exits %d, the apply %d", dry.code, apply.code)
			}
		})
	}
}
