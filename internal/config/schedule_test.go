package config

import "testing"

func TestValidSchedule(t *testing.T) {
	for _, ok := range []string{"rate(1 day)", "rate(12 hours)", "rate(1 minute)", "rate(30 minutes)", "cron(0 3 * * ? *)", "cron(15 10 ? * MON-FRI *)", "cron(0/15 * * * ? 2027)"} {
		if err := validSchedule(ok); err != nil {
			t.Errorf("%s: %v", ok, err)
		}
	}
	for _, bad := range []string{"rate(banana)", "rate(0 days)", "rate(1 days)", "rate(2 day)", "rate(1 week)", "rate(1day)", "rate()",
		"cron(0 3 * * *)", "cron(0 3 * * * *)", "cron(0 3 ? * ? *)", "cron(0 3 * * ? * *)", "cron(0 3 * * ? $)", "cron(0 3 * * ? *", "daily"} {
		if err := validSchedule(bad); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
}

// The regions setting takes every region the policy takes: one validator
// (awsarn), the sovereign-cloud and two-digit forms included.
func TestRegionsTakeEveryPartitionsShape(t *testing.T) {
	for _, r := range []string{"eusc-de-east-1", "ap-southeast-10"} {
		c, err := Load(func(k string) (any, bool) {
			if k == ContextPrefix+"regions" {
				return r, true
			}
			return nil, false
		})
		if err != nil || len(c.Regions) != 1 || c.Regions[0] != r {
			t.Errorf("regions %s: %+v, %v", r, c.Regions, err)
		}
	}
}
