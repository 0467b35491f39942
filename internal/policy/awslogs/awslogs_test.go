package awslogs

import (
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// FuzzParseBufferSize holds ParseBufferSize to the pattern it replaced,
// Docker's size grammar as a regexp.
func FuzzParseBufferSize(f *testing.F) {
	re := regexp.MustCompile(`^([0-9]+(?:\.[0-9]+)?) ?([kKmMgGtTpP])?[iI]?[bB]?$`)
	want := func(s string) (int64, bool) {
		m := re.FindStringSubmatch(strings.TrimSpace(s))
		if m == nil {
			return 0, false
		}
		n, err := strconv.ParseFloat(m[1], 64)
		if err != nil || n <= 0 {
			return 0, false
		}
		mult := map[string]float64{"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40, "p": 1 << 50}[strings.ToLower(m[2])]
		return int64(n * mult), true
	}
	for _, s := range []string{"25m", "1", "0", "0.5k", "1.5 MiB", "2gb", "3Ti", "4 p", "5ib", "5bi", "5.", ".5", " 7k ", "8  k", "9kk", "1e3", "-1m", "10K", "1,5m", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		gotN, gotOK := ParseBufferSize(s)
		if wantN, wantOK := want(s); gotN != wantN || gotOK != wantOK {
			t.Errorf("ParseBufferSize(%q) = %d, %v; the pattern says %d, %v", s, gotN, gotOK, wantN, wantOK)
		}
	})
}
