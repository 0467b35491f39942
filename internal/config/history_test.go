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

func TestHistoryEnvironment(t *testing.T) {
	n := NotifyEnv{TopicARN: "t", History: HistoryEnv{Bucket: "b", Prefix: "p", Table: "s", Findings: true}, Mode: ModeOrganization, MemberRoleName: "ecslogfix-member"}
	env := n.Environ()
	got, err := ReadNotifyEnv(func(k string) string { return env[k] })
	if err != nil || got.History != n.History || got.Mode != ModeOrganization || got.MemberRoleName != "ecslogfix-member" {
		t.Fatalf("round trip %+v, %v (env %v)", got, err, env)
	}
	if env := (NotifyEnv{TopicARN: "t", Mode: ModeOrganization, MemberRoleName: "m"}).Environ(); env[EnvMode] != "" || env[EnvHistoryBucket] != "" {
		t.Errorf("notify without findings has %v", env)
	}
	for _, tt := range []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{EnvFindings: "import"}, EnvHistoryBucket + ": required with a state table or findings"},
		{map[string]string{EnvHistoryBucket: "b", EnvFindings: "import"}, EnvStateTable + ": required with findings"},
		{map[string]string{EnvHistoryBucket: "b", EnvStateTable: "t", EnvFindings: "notes"}, EnvFindings + ": notes needs import"},
		{map[string]string{EnvHistoryBucket: "b", EnvStateTable: "t", EnvFindings: "all"}, `"all" is not "import" or "notes"`},
	} {
		tt.env[EnvTopicARN] = "t"
		if _, err := ReadNotifyEnv(func(k string) string { return tt.env[k] }); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("ReadNotifyEnv(%v) = %v, want %q", tt.env, err, tt.want)
		}
	}
	r := ReportEnv{History: HistoryEnv{Bucket: "b", Table: "t"}, TopicARN: "topic"}
	renv := r.Environ()
	got2, err := ReadReportEnv(func(k string) string { return renv[k] })
	if err != nil || got2.ReportPrefix != DefaultReportPrefix || got2.History.Bucket != "b" {
		t.Errorf("report env %+v, %v", got2, err)
	}
	if _, err := ReadReportEnv(func(k string) string { return map[string]string{EnvTopicARN: "t"}[k] }); err == nil {
		t.Error("report without a history")
	}
}
