package config

import (
	"strings"
	"testing"
)

func TestEvidenceKeys(t *testing.T) {
	c, err := Load(lookupMap(map[string]any{"ecslogfix:history": "true", "ecslogfix:historyObjectLockDays": "2557",
		"ecslogfix:securityHub": "notes", "ecslogfix:reportSchedule": "off", "ecslogfix:historyAccessLogBucket": "org-log-archive"}))
	if err != nil {
		t.Fatal(err)
	}
	if !c.History || c.HistoryObjectLockDays != 2557 || c.SecurityHub != SecurityHubNotes || c.ReportSchedule != "" || c.HistoryAccessLogBucket != "org-log-archive" {
		t.Fatalf("config %+v", c)
	}
	h := c.HistoryEnv("b", "t")
	if !h.Findings || !h.Notes || h.Bucket != "b" || h.Table != "t" {
		t.Errorf("history env %+v", h)
	}
	if (Config{}).HistoryEnv("b", "t").On() {
		t.Error("history env without history")
	}
	register := `{"exemptions":{"register":[{"scope":{"familyPrefix":"x"},"reason":"r","approver":"a","ticket":"T-1","approved":"2026-01-01","expires":"2028-01-01"}]}}`
	for _, tt := range []struct {
		ctx  map[string]any
		want string
	}{
		{map[string]any{"ecslogfix:securityHub": "import"}, "ecslogfix:securityHub: needs ecslogfix:history"},
		{map[string]any{"ecslogfix:historyObjectLockDays": "30"}, "ecslogfix:historyObjectLockDays: needs ecslogfix:history"},
		{map[string]any{"ecslogfix:history": "true", "ecslogfix:historyObjectLockDays": "-1"}, "-1 is not in [0, 3653]"},
		{map[string]any{"ecslogfix:history": "true", "ecslogfix:securityHub": "yes"}, `"yes" is not off, import or notes`},
		{map[string]any{"ecslogfix:history": "true", "ecslogfix:historyAccessLogBucket": "Bad_Bucket"}, "is not an S3 bucket name"},
		{map[string]any{"ecslogfix:policy": register}, "ecslogfix:policy.exemptions: register[0] (T-1): it runs 730 days, more than the policy's maximum of 365"},
		{map[string]any{"ecslogfix:policy.exemptions": `{"register":[{"scope":{"account":"12"}}]}`}, `scope.account "12" is not a 12-digit account ID`},
	} {
		if _, err := Load(lookupMap(tt.ctx)); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Load(%v) = %v, want %q", tt.ctx, err, tt.want)
		}
	}
}
