package fnenv

import (
	"errors"
	"maps"
	"reflect"
	"slices"
	"testing"

	"github.com/ecslogfix/ecslogfix/internal/config"
	"github.com/ecslogfix/ecslogfix/internal/policy"
)

func TestEnvironOmitsEmptyValues(t *testing.T) {
	env := DetectEnv{StarterEnv: StarterEnv{Mode: config.ModeSingle, StateMachineARN: "arn:sm"}, OwnRoleARNs: []string{"arn:a", "arn:b"}}.Environ()
	if env[EnvMode] != "single" || env[EnvStateMachineARN] != "arn:sm" || env[EnvOwnRoleARNs] != "arn:a,arn:b" || env[EnvPolicy] == "" {
		t.Fatalf("env = %v", env)
	}
	for _, k := range []string{EnvTopicARN, EnvMemberRoleName, EnvAllowedAccounts, EnvRegions, EnvSlackWebhookARN, EnvRegisterRate, EnvStartRate} {
		if _, ok := env[k]; ok {
			t.Errorf("%s set for an empty value", k)
		}
	}
}

// Each function's environment holds only the variables it reads.
func TestEachFunctionGetsOnlyItsVariables(t *testing.T) {
	for name, tc := range map[string]struct {
		env  map[string]string
		want []string
	}{
		"detect": {DetectEnv{StarterEnv: StarterEnv{Mode: config.ModeOrganization, StateMachineARN: "s", MemberRoleName: "m", AllowedAccounts: []string{"a"}}, OwnRoleARNs: []string{"r"}}.Environ(),
			[]string{EnvAllowedAccounts, EnvMemberRoleName, EnvMode, EnvOwnRoleARNs, EnvPolicy, EnvStateMachineARN}},
		"sweep": {SweepEnv{StarterEnv: StarterEnv{Mode: config.ModeOrganization, StateMachineARN: "s", MemberRoleName: "m", AllowedAccounts: []string{"a"}}, Regions: []string{"r"}, StartRate: 1, ReadRate: 2,
			Bucket: "b", TargetOUs: []string{"ou"}, StackSetCallAs: "SELF", RoleStackSet: "i", ForwardingStackSet: "f"}.Environ(),
			[]string{EnvAllowedAccounts, EnvForwardStackSet, EnvMemberRoleName, EnvMode, EnvPolicy, EnvReadRate, EnvRegions, EnvRoleStackSet, EnvStackSetCallAs, EnvStartRate, EnvStateMachineARN, EnvSweepBucket, EnvTargetOUs}},
		"remediate": {RemediateEnv{RegisterRate: 0.25}.Environ(), []string{EnvPolicy, EnvRegisterRate}},
		"notify":    {NotifyEnv{TopicARN: "t", SlackWebhookARN: "s"}.Environ(), []string{EnvSlackWebhookARN, EnvTopicARN}},
	} {
		if got := slices.Sorted(maps.Keys(tc.env)); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: variables %v, want %v", name, got, tc.want)
		}
	}
}

func TestReadRejectsBadMode(t *testing.T) {
	_, err := ReadDetectEnv(lookupEnv(map[string]string{EnvMode: "multi", EnvPolicy: "{}", EnvStateMachineARN: "arn:sm"}))
	var ee *EnvError
	if !errors.As(err, &ee) || ee.Var != EnvMode {
		t.Fatalf("got %v", err)
	}
	_, err = ReadRemediateEnv(lookupEnv(map[string]string{}))
	if !errors.As(err, &ee) || ee.Var != EnvPolicy {
		t.Fatalf("got %v", err)
	}
}

func lookupEnv(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

// The tests below go through policy.Parse.

func TestEnvironRoundTrip(t *testing.T) {
	sm := "arn:aws:states:eu-west-1:111122223333:stateMachine:ecslogfix-remediation"
	roundTrip := func(name string, in any, env map[string]string, read func(func(string) string) (any, error)) {
		t.Helper()
		got, err := read(func(k string) string { return env[k] })
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !reflect.DeepEqual(got, in) {
			t.Fatalf("%s round trip:\n got %+v\nwant %+v", name, got, in)
		}
	}
	d := DetectEnv{StarterEnv: StarterEnv{Mode: config.ModeOrganization, Policy: policy.Default(), StateMachineARN: sm,
		MemberRoleName: "ecslogfix-member", AllowedAccounts: []string{"111122223333", "444455556666"}},
		OwnRoleARNs: []string{"arn:aws:iam::111122223333:role/ecslogfix-remediate", "arn:aws:iam::*:role/ecslogfix-member"}}
	roundTrip("detect", d, d.Environ(), func(g func(string) string) (any, error) { return ReadDetectEnv(g) })
	sw := SweepEnv{StarterEnv: StarterEnv{Mode: config.ModeOrganization, Policy: policy.Default(), StateMachineARN: sm, MemberRoleName: "ecslogfix-member",
		AllowedAccounts: []string{"111122223333"}}, Regions: []string{"eu-west-1", "eusc-de-east-1"}, StartRate: 0.25, ReadRate: 5,
		Bucket: "ecslogfix-sweeps-abc", TargetOUs: []string{"ou-ab12-abcdefgh", "r-ab12"}, StackSetCallAs: "DELEGATED_ADMIN",
		RoleStackSet: "ecslogfix-member-iam", ForwardingStackSet: "ecslogfix-member"}
	roundTrip("sweep", sw, sw.Environ(), func(g func(string) string) (any, error) { return ReadSweepEnv(g) })
	r := RemediateEnv{Policy: policy.Default(), RegisterRate: 0.25, RolloutRate: 0.1}
	roundTrip("remediate", r, r.Environ(), func(g func(string) string) (any, error) { return ReadRemediateEnv(g) })
	n := NotifyEnv{TopicARN: "arn:aws:sns:eu-west-1:111122223333:ecslogfix-notifications", SlackWebhookARN: "arn:aws:secretsmanager:eu-west-1:111122223333:secret:hook-AbCdEf"}
	roundTrip("notify", n, n.Environ(), func(g func(string) string) (any, error) { return ReadNotifyEnv(g) })
}

func TestReadErrorsNameTheVariable(t *testing.T) {
	base := map[string]string{EnvPolicy: "{}", EnvStateMachineARN: "arn:sm", EnvTopicARN: "arn:topic"}
	readers := map[string]func(func(string) string) error{
		"detect":    func(g func(string) string) error { _, err := ReadDetectEnv(g); return err },
		"sweep":     func(g func(string) string) error { _, err := ReadSweepEnv(g); return err },
		"remediate": func(g func(string) string) error { _, err := ReadRemediateEnv(g); return err },
		"notify":    func(g func(string) string) error { _, err := ReadNotifyEnv(g); return err },
	}
	for _, tc := range []struct {
		fn  string
		v   string
		env map[string]string
	}{
		{"remediate", EnvPolicy, map[string]string{EnvPolicy: `{"retentionDays":8}`}},
		{"remediate", EnvPolicy, map[string]string{EnvPolicy: `{"unknownField":1}`}},
		{"remediate", EnvRegisterRate, map[string]string{EnvRegisterRate: "-1"}},
		{"remediate", EnvRegisterRate, map[string]string{EnvRegisterRate: "21"}},
		{"remediate", EnvRolloutRate, map[string]string{EnvRolloutRate: "0"}},
		{"remediate", EnvPolicy, map[string]string{EnvPolicy: `{"rollout":"everything"}`}},
		{"sweep", EnvStartRate, map[string]string{EnvStartRate: "fast"}},
		{"sweep", EnvReadRate, map[string]string{EnvReadRate: "0"}},
		{"detect", EnvAllowedAccounts, map[string]string{EnvAllowedAccounts: "12"}},
		{"detect", EnvOwnRoleARNs, map[string]string{EnvOwnRoleARNs: "arn:aws:iam::111122223333:user/x"}},
		{"sweep", EnvRegions, map[string]string{EnvRegions: "eu-west-1,,Moon"}},
		{"detect", EnvMemberRoleName, map[string]string{EnvMode: config.ModeOrganization}},
		{"sweep", EnvMemberRoleName, map[string]string{EnvMode: config.ModeOrganization}},
		{"sweep", EnvSweepBucket, map[string]string{}},
		{"sweep", EnvTargetOUs, map[string]string{EnvMode: config.ModeOrganization, EnvMemberRoleName: "m", EnvSweepBucket: "b"}},
		{"sweep", EnvTargetOUs, map[string]string{EnvSweepBucket: "b", EnvTargetOUs: "ou-x"}},
		{"sweep", EnvRoleStackSet, map[string]string{EnvMode: config.ModeOrganization, EnvMemberRoleName: "m", EnvSweepBucket: "b", EnvTargetOUs: "r-ab12"}},
		{"sweep", EnvForwardStackSet, map[string]string{EnvMode: config.ModeOrganization, EnvMemberRoleName: "m", EnvSweepBucket: "b", EnvTargetOUs: "r-ab12", EnvRoleStackSet: "i"}},
		{"sweep", EnvStackSetCallAs, map[string]string{EnvSweepBucket: "b", EnvStackSetCallAs: "ADMIN"}},
		{"detect", EnvStateMachineARN, map[string]string{EnvStateMachineARN: ""}},
		{"notify", EnvTopicARN, map[string]string{EnvTopicARN: ""}},
	} {
		env := maps.Clone(base)
		maps.Copy(env, tc.env)
		err := readers[tc.fn](lookupEnv(env))
		var ee *EnvError
		if !errors.As(err, &ee) || ee.Var != tc.v {
			t.Errorf("%s %v: got %v, want an error naming %s", tc.fn, tc.env, err, tc.v)
		}
	}
	var fe *policy.FieldError
	if _, err := ReadRemediateEnv(lookupEnv(map[string]string{EnvPolicy: `{"retentionDays":8}`})); !errors.As(err, &fe) {
		t.Errorf("a policy error keeps its field: %v", err)
	}
	r, err := ReadRemediateEnv(lookupEnv(base))
	if err != nil || r.RegisterRate != config.DefaultRegisterRate || r.RolloutRate != config.DefaultRolloutRate || !reflect.DeepEqual(r.Policy, policy.Default()) {
		t.Fatalf("defaults: %+v, %v", r, err)
	}
	d, err := ReadDetectEnv(lookupEnv(base))
	if err != nil || d.Mode != config.ModeSingle {
		t.Fatalf("defaults: %+v, %v", d, err)
	}
}

func TestHookEnvRoundTrip(t *testing.T) {
	p := policy.Default()
	p.StreamPrefix = "svc"
	env := HookEnv{Policy: p}.Environ()
	if len(env) != 1 {
		t.Errorf("hook environment %v: the policy only", env)
	}
	got, err := ReadHookEnv(lookupEnv(env))
	if err != nil || got.Policy.StreamPrefix != "svc" {
		t.Fatalf("%v %+v", err, got)
	}
	var ee *EnvError
	if _, err := ReadHookEnv(lookupEnv(nil)); !errors.As(err, &ee) || ee.Var != EnvPolicy {
		t.Errorf("no policy: %v", err)
	}
}
