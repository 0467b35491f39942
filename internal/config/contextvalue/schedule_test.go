package contextvalue

import "testing"

func TestValidSchedule(t *testing.T) {
	for _, ok := range []string{"rate(1 day)", "rate(12 hours)", "rate(1 minute)", "rate(30 minutes)", "cron(0 3 * * ? *)", "cron(15 10 ? * MON-FRI *)", "cron(0/15 * * * ? 2027)"} {
		if err := ValidSchedule(ok); err != nil {
			t.Errorf("%s: %v", ok, err)
		}
	}
	for _, bad := range []string{"rate(banana)", "rate(0 days)", "rate(1 days)", "rate(2 day)", "rate(1 week)", "rate(1day)", "rate()",
		"cron(0 3 * * *)", "cron(0 3 * * * *)", "cron(0 3 ? * ? *)", "cron(0 3 * * ? * *)", "cron(0 3 * * ? $)", "cron(0 3 * * ? *", "daily"} {
		if err := ValidSchedule(bad); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
}
