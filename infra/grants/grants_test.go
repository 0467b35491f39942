package grants

import (
	"reflect"
	"testing"

	"github.com/ecslogfix/ecslogfix/internal/policy"
)

// The remediate role may create, tag and set the retention of exactly the
// log groups the policy allows (logGroupPatterns, by default the
// template's prefix): one resource per pattern, with the meaning "*" has in
// awslogs.MatchPattern. Reading any group stays allowed: it is how a
// missing one outside the patterns is told apart and reported.
func TestRemediateLogPermissionsFollowThePatterns(t *testing.T) {
	for _, tc := range []struct {
		pol  policy.Policy
		want []string
	}{
		{policy.Default(), []string{"arn:aws:logs:*:111122223333:log-group:/ecs/*"}},
		{policy.Policy{LogGroupTemplate: "/teams/{account}/{family}"}, []string{"arn:aws:logs:*:111122223333:log-group:/teams/*"}},
		{policy.Policy{LogGroupPatterns: []string{"/ecs/*", "/shared/ledger"}}, []string{"arn:aws:logs:*:111122223333:log-group:/ecs/*", "arn:aws:logs:*:111122223333:log-group:/shared/ledger"}},
	} {
		var create, describe []string
		for _, s := range RemediateStatements(tc.pol, "aws", "111122223333") {
			actions, _ := s["Action"].([]string)
			switch {
			case reflect.DeepEqual(actions, LogGroupCreateActions):
				create = s["Resource"].([]string)
			case reflect.DeepEqual(actions, []string{"logs:DescribeLogGroups"}):
				describe = []string{s["Resource"].(string)}
			}
		}
		if !reflect.DeepEqual(create, tc.want) || !reflect.DeepEqual(describe, []string{"*"}) {
			t.Errorf("patterns %v: create on %v, describe on %v; want create on %v", tc.pol.GroupPatterns(), create, describe, tc.want)
		}
		for _, r := range create {
			name := r[len("arn:aws:logs:*:111122223333:log-group:"):]
			if !tc.pol.MayCreate(name) && name[len(name)-1] != '*' {
				t.Errorf("resource %s is not a name the policy allows", r)
			}
		}
	}
}
