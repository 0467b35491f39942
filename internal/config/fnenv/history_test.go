package fnenv

import (
	"strings"
	"testing"

	"github.com/ecslogfix/ecslogfix/internal/config"
)

func TestHistoryEnvironment(t *testing.T) {
	n := NotifyEnv{TopicARN: "t", History: config.HistoryEnv{Bucket: "b", Prefix: "p", Table: "s", Findings: true}, Mode: config.ModeOrganization, MemberRoleName: "ecslogfix-member"}
	env := n.Environ()
	got, err := ReadNotifyEnv(func(k string) string { return env[k] })
	if err != nil || got.History != n.History || got.Mode != config.ModeOrganization || got.MemberRoleName != "ecslogfix-member" {
		t.Fatalf("round trip %+v, %v (env %v)", got, err, env)
	}
	if env := (NotifyEnv{TopicARN: "t", Mode: config.ModeOrganization, MemberRoleName: "m"}).Environ(); env[EnvMode] != "" || env[EnvHistoryBucket] != "" {
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
	r := ReportEnv{History: config.HistoryEnv{Bucket: "b", Table: "t"}, TopicARN: "topic"}
	renv := r.Environ()
	got2, err := ReadReportEnv(func(k string) string { return renv[k] })
	if err != nil || got2.ReportPrefix != DefaultReportPrefix || got2.History.Bucket != "b" {
		t.Errorf("report env %+v, %v", got2, err)
	}
	if _, err := ReadReportEnv(func(k string) string { return map[string]string{EnvTopicARN: "t"}[k] }); err == nil {
		t.Error("report without a history")
	}
}
