package execution

import (
	"regexp"
	"strings"
	"testing"
)

var validName = regexp.MustCompile(`^[0-9A-Za-z_-]{1,80}$`)

func TestName(t *testing.T) {
	long := strings.Repeat("a", 200) + strings.Repeat("Z", 55) // 255 chars, the maximum
	tests := []struct {
		account, region, family string
		rev                     int32
	}{
		{"111122223333", "us-east-1", "orders-api", 14},
		{"111122223333", "us-east-1", long, 1},
		{"111122223333", "us-east-1", long, 1000000},
		{"111122223333", "ap-southeast-2", "x", 2147483647},
		{"111122223333", "us-east-1", "weird/fam:ily é", 3}, // never from ECS, still safe
	}
	seen := map[string]bool{}
	for _, tc := range tests {
		n := Name(tc.account, tc.region, tc.family, tc.rev)
		if !validName.MatchString(n) {
			t.Errorf("%q (%d chars) is not a valid execution name", n, len(n))
		}
		if n != Name(tc.account, tc.region, tc.family, tc.rev) {
			t.Errorf("not deterministic: %s", n)
		}
		if seen[n] {
			t.Errorf("collision: %s", n)
		}
		seen[n] = true
	}
	if n := Name("111122223333", "us-east-1", "orders-api", 14); !strings.HasPrefix(n, "orders-api-14-") || len(n) != len("orders-api-14-")+16 {
		t.Errorf("short family name %s", n)
	}
	// Account, region and revision all change the name.
	base := Name("111122223333", "us-east-1", long, 1)
	for _, other := range []string{
		Name("444455556666", "us-east-1", long, 1),
		Name("111122223333", "eu-west-1", long, 1),
		Name("111122223333", "us-east-1", long, 2),
		Name("111122223333", "us-east-1", long[:254]+"Y", 1), // same truncated prefix
	} {
		if other == base {
			t.Errorf("%s does not distinguish", other)
		}
	}
}
