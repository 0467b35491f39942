package taskdef

import (
	"errors"
	"strings"
	"testing"
)

func TestParseARN(t *testing.T) {
	fam255 := strings.Repeat("a", 255)
	good := []struct {
		in   string
		want ARN
	}{
		{"arn:aws:ecs:us-east-1:111122223333:task-definition/orders-api:14", ARN{"aws", "us-east-1", "111122223333", "orders-api", 14}},
		{"arn:aws-cn:ecs:cn-north-1:222233334444:task-definition/cn_portal:6", ARN{"aws-cn", "cn-north-1", "222233334444", "cn_portal", 6}},
		{"arn:aws-us-gov:ecs:us-gov-west-1:111122223333:task-definition/X:2147483647", ARN{"aws-us-gov", "us-gov-west-1", "111122223333", "X", 2147483647}},
		{"arn:aws-iso:ecs:us-iso-east-1:111122223333:task-definition/a:1", ARN{"aws-iso", "us-iso-east-1", "111122223333", "a", 1}},
		{"arn:aws-iso-b:ecs:us-isob-east-1:111122223333:task-definition/a:1", ARN{"aws-iso-b", "us-isob-east-1", "111122223333", "a", 1}},
		{"arn:aws-eusc:ecs:eusc-de-east-1:111122223333:task-definition/a:10", ARN{"aws-eusc", "eusc-de-east-1", "111122223333", "a", 10}},
		{"arn:aws:ecs:eu-central-1:111122223333:task-definition/" + fam255 + ":2", ARN{"aws", "eu-central-1", "111122223333", fam255, 2}},
	}
	for _, tc := range good {
		got, err := ParseARN(tc.in)
		if err != nil {
			t.Errorf("ParseARN(%q): %v", tc.in, err)
			continue
		}
		if got != tc.want {
			t.Errorf("ParseARN(%q) = %+v, want %+v", tc.in, got, tc.want)
		}
		if got.String() != tc.in {
			t.Errorf("String() = %q, want %q", got.String(), tc.in)
		}
	}
	bad := []string{
		"",
		"orders-api:14",
		"arn:aws:ecs:us-east-1:111122223333:task-definition/orders-api",     // no revision
		"arn:aws:ecs:us-east-1:111122223333:task-definition/orders-api:0",   // revision 0
		"arn:aws:ecs:us-east-1:111122223333:task-definition/orders-api:014", // leading zero
		"arn:aws:ecs:us-east-1:111122223333:task-definition/orders-api:+14",
		"arn:aws:ecs:us-east-1:111122223333:task-definition/orders-api:-1",
		"arn:aws:ecs:us-east-1:111122223333:task-definition/orders-api:2147483648",
		"arn:aws:ecs:us-east-1:111122223333:task-definition/orders-api:1:2",
		"arn:aws:ecs:us-east-1:111122223333:task-definition/orders api:1",
		"arn:aws:ecs:us-east-1:111122223333:task-definition/:1",
		"arn:aws:ecs:us-east-1:111122223333:task-definition/" + fam255 + "b:1",
		"arn:aws:ecs:us-east-1:111122223333:task-definition/orders/api:1",
		"arn:aws:ecs:us-east-1:111122223333:service/orders-api:1",
		"arn:aws:ecs:us-east-1:11112222333:task-definition/orders-api:1",
		"arn:aws:ecs:us-east-1:1111222233334:task-definition/orders-api:1",
		"arn:aws:ecs:us-east-1:11112222333a:task-definition/orders-api:1",
		"arn:aws:ecs:US-EAST-1:111122223333:task-definition/orders-api:1",
		"arn:aws:ecs:useast1:111122223333:task-definition/orders-api:1",
		"arn:aws:ecs::111122223333:task-definition/orders-api:1",
		"arn:aws:ecs:us-east-01:111122223333:task-definition/orders-api:1",
		"arn:aws:ecs:us--east-1:111122223333:task-definition/orders-api:1",
		"arn:aws:ecs:us-east-123:111122223333:task-definition/orders-api:1",
		"arn:aws:ecs:us-east-x:111122223333:task-definition/orders-api:1",
		"arn:aws:iam:us-east-1:111122223333:task-definition/orders-api:1",
		"arn:evil:ecs:us-east-1:111122223333:task-definition/orders-api:1",
		"arn:aws-iso-bb:ecs:us-east-1:111122223333:task-definition/orders-api:1",
		"arn:aws-iso-1:ecs:us-east-1:111122223333:task-definition/orders-api:1",
		"ARN:aws:ecs:us-east-1:111122223333:task-definition/orders-api:1",
		"arn:aws:ecs:us-east-1:111122223333",
	}
	for _, in := range bad {
		if a, err := ParseARN(in); err == nil {
			t.Errorf("ParseARN(%q) = %+v, want error", in, a)
		} else {
			var e *ARNError
			if !errors.As(err, &e) || e.Reason == "" {
				t.Errorf("ParseARN(%q) error %v is not an *ARNError", in, err)
			}
		}
	}
	if _, err := ParseARN("arn:aws:ecs:us-east-1:111122223333:task-definition/a b:1"); err == nil ||
		!strings.Contains(err.Error(), `"arn:aws:ecs:us-east-1:111122223333:task-definition/a b:1"`) || !strings.Contains(err.Error(), "invalid character") {
		t.Errorf("error message = %v", err)
	}
	long := "arn:aws:ecs:us-east-1:111122223333:task-definition/" + strings.Repeat("x", 400)
	_, err := ParseARN(long)
	var e *ARNError
	if !errors.As(err, &e) || len(e.Input) > 310 {
		t.Errorf("long input not truncated in error: %v", err)
	}
}

func TestParseRef(t *testing.T) {
	good := map[string]ARN{
		"orders-api":    {Family: "orders-api"},
		"orders-api:14": {Family: "orders-api", Revision: 14},
		"arn:aws:ecs:us-east-1:111122223333:task-definition/orders-api:14": {"aws", "us-east-1", "111122223333", "orders-api", 14},
		"arn:aws:ecs:us-east-1:111122223333:task-definition/orders-api":    {"aws", "us-east-1", "111122223333", "orders-api", 0},
	}
	for in, want := range good {
		got, err := ParseRef(in)
		if err != nil || got != want {
			t.Errorf("ParseRef(%q) = %+v, %v; want %+v", in, got, err, want)
		}
		if got.String() != in {
			t.Errorf("ParseRef(%q).String() = %q", in, got.String())
		}
	}
	for _, in := range []string{"", ":1", "orders-api:", "orders-api:0", "orders api", "arn:aws:ecs:us-east-1:111122223333:task-definition/x:0", "arn:nope"} {
		if a, err := ParseRef(in); err == nil {
			t.Errorf("ParseRef(%q) = %+v, want error", in, a)
		}
	}
	if got := (ARN{Family: "f", Revision: 3, Partition: "aws", Region: "us-east-1", Account: "111122223333"}).FamilyRevision(); got != "f:3" {
		t.Errorf("FamilyRevision = %q", got)
	}
	if (ARN{}).String() != "" {
		t.Error("zero ARN should format as empty")
	}
}

func TestValidFamily(t *testing.T) {
	for _, ok := range []string{"a", "A-z_0", strings.Repeat("x", 255)} {
		if err := ValidFamily(ok); err != nil {
			t.Errorf("ValidFamily(%q) = %v", ok, err)
		}
	}
	for _, bad := range []string{"", strings.Repeat("x", 256), "a b", "a.b", "a:b", "a/b", "é", "a\x00"} {
		if err := ValidFamily(bad); err == nil {
			t.Errorf("ValidFamily(%q) = nil, want error", bad)
		}
	}
}

// FuzzParseRef: never panics; whatever parses formats back to itself.
func FuzzParseRef(f *testing.F) {
	for _, s := range []string{"orders-api", "orders-api:14", "arn:aws:ecs:us-east-1:111122223333:task-definition/orders-api:14",
		"arn:aws-iso-b:ecs:us-isob-east-1:111122223333:task-definition/a:1", "a:01", "arn:aws:ecs:x:y:z"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		a, err := ParseRef(s)
		if err != nil {
			return
		}
		if a.String() != s {
			t.Errorf("ParseRef(%q).String() = %q", s, a.String())
		}
		if a.Partition != "" && a.Revision != 0 {
			if b, err := ParseARN(s); err != nil || b != a {
				t.Errorf("ParseARN(%q) = %+v, %v; ParseRef gave %+v", s, b, err, a)
			}
		}
	})
}
