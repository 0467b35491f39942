package execution

import (
	"strings"
	"testing"
)

// FuzzName checks that any account, region, family and revision give a
// valid, bounded, deterministic Step Functions execution name.
func FuzzName(f *testing.F) {
	f.Add("111122223333", "us-east-1", "orders-api", int32(14))
	f.Add("111122223333", "us-east-1", strings.Repeat("f", 255), int32(1000000))
	f.Add("", "", "", int32(0))
	f.Add("x", "y", "fam:ily/é\x00", int32(-1))
	f.Fuzz(func(t *testing.T, account, region, family string, rev int32) {
		n := Name(account, region, family, rev)
		if !validName.MatchString(n) {
			t.Fatalf("invalid name %q (%d chars)", n, len(n))
		}
		if n != Name(account, region, family, rev) {
			t.Fatal("not deterministic")
		}
	})
}
