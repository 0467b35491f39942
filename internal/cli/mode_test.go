package cli

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ecslogfix/ecslogfix/internal/cli/scan"
	"github.com/ecslogfix/ecslogfix/internal/plan"
	"github.com/ecslogfix/ecslogfix/internal/policy/reason"
)

// The delivery mode is judged on the effective one (policy
// requiredMode, docs/configuration.md): a container's own mode, else the
// account's defaultLogDriverMode, else non-blocking. moto has no such
// setting; the fault proxy's stand-in keeps it as ECS does.
func TestMotoRequiredModeReadsTheAccountSetting(t *testing.T) {
	c, logs := needMoto(t)
	ctx := context.Background()
	pol := filepath.Join(t.TempDir(), "policy.yaml")
	if err := os.WriteFile(pol, []byte("requiredMode: blocking\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"ok-mode", "ok-nonblocking"} {
		in := seedInput(kindCompliant, f)
		if f == "ok-nonblocking" {
			in.ContainerDefinitions[0].LogConfiguration.Options["mode"] = "non-blocking"
		}
		if _, err := c.RegisterTaskDefinition(ctx, in); err != nil {
			t.Fatal(err)
		}
		seedGroup(t, logs, kindCompliant, f)
	}
	scanRows := func() map[string]scan.Row {
		t.Helper()
		r := runAWS(t, "scan", "--policy", pol, "--show-compliant", "--output", "json")
		if r.code != 0 && r.code != 1 {
			t.Fatalf("scan exit %d: %s", r.code, r.stderr)
		}
		var rows []scan.Row
		if err := json.Unmarshal([]byte(r.stdout), &rows); err != nil {
			t.Fatalf("scan json: %v\n%s", err, r.stdout)
		}
		out := map[string]scan.Row{}
		for _, row := range rows {
			out[row.Family] = row
		}
		return out
	}
	modeReason := func(row scan.Row) bool {
		for _, ct := range row.Containers {
			if slices.Contains(ct.Reasons, reason.InvalidMode) {
				return true
			}
		}
		return false
	}

	// No account setting: AWS's default, non-blocking, is in effect.
	rows := scanRows()
	if r := rows["ok-mode"]; r.Verdict != plan.VerdictNonCompliant || r.Action != scan.ActionRegister || !modeReason(r) {
		t.Fatalf("no mode, no account setting: %+v, want NON_COMPLIANT REGISTER with %s", r, reason.InvalidMode)
	}
	if r := rows["ok-nonblocking"]; r.Verdict != plan.VerdictNonCompliant || r.Action != scan.ActionReport || !modeReason(r) {
		t.Fatalf("an explicit other mode: %+v, want NON_COMPLIANT REPORT with %s", r, reason.InvalidMode)
	}

	// The account's default makes a container without a mode compliant;
	// the container's own mode still wins.
	if _, err := c.PutAccountSettingDefault(ctx, &ecs.PutAccountSettingDefaultInput{
		Name: types.SettingNameDefaultLogDriverMode, Value: aws.String("blocking")}); err != nil {
		t.Fatal(err)
	}
	rows = scanRows()
	if r := rows["ok-mode"]; r.Verdict != plan.VerdictCompliant {
		t.Fatalf("no mode, account default blocking: %+v, want COMPLIANT", r)
	}
	if r := rows["ok-nonblocking"]; r.Verdict != plan.VerdictNonCompliant || !modeReason(r) {
		t.Fatalf("mode non-blocking, account default blocking: %+v, want NON_COMPLIANT with %s", r, reason.InvalidMode)
	}
}
