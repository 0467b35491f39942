package contextvalue

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync"
)

// EventBridge schedule expressions, as the EventBridge User Guide
// ("Creating an Amazon EventBridge rule that runs on a schedule") defines
// them: rate(VALUE UNIT) with a positive whole VALUE and a singular UNIT
// for 1, plural otherwise; cron(MIN HOUR DAY-OF-MONTH MONTH DAY-OF-WEEK
// YEAR) with six fields, one of the two day fields "?". A template with
// another form fails at deploy time (and cfn-lint refuses it), so synth
// refuses it first. The patterns are compiled on first use, not at
// start-up (docs/performance.md, "Cold start").
var (
	rateRE = sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile(`^rate\(([0-9]+) (minute|minutes|hour|hours|day|days)\)$`)
	})
	// cronFieldRE is the characters one cron field may hold.
	cronFieldRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[0-9A-Za-z*?,/#L W-]+$`) })
)

// ValidSchedule checks an EventBridge schedule expression.
func ValidSchedule(s string) error {
	if m := rateRE().FindStringSubmatch(s); m != nil {
		n, err := strconv.Atoi(m[1])
		switch {
		case err != nil || n < 1:
			return fmt.Errorf("%q: the rate must be a positive whole number", s)
		case n == 1 && strings.HasSuffix(m[2], "s"):
			return fmt.Errorf("%q: a rate of 1 takes a singular unit (minute, hour, day)", s)
		case n > 1 && !strings.HasSuffix(m[2], "s"):
			return fmt.Errorf("%q: a rate above 1 takes a plural unit (minutes, hours, days)", s)
		}
		return nil
	}
	if strings.HasPrefix(s, "rate(") {
		return fmt.Errorf("%q is not rate(VALUE UNIT), e.g. rate(1 day) or rate(12 hours)", s)
	}
	inner, isCron := strings.CutPrefix(s, "cron(")
	inner, closed := strings.CutSuffix(inner, ")")
	if !isCron || !closed {
		return fmt.Errorf("%q is not rate(...), cron(...) or off", s)
	}
	fields := strings.Fields(inner)
	if len(fields) != 6 {
		return fmt.Errorf("%q: cron takes six fields (minutes hours day-of-month month day-of-week year), not %d", s, len(fields))
	}
	for _, f := range fields {
		if !cronFieldRE().MatchString(f) {
			return fmt.Errorf("%q: cron field %q has a character EventBridge does not accept", s, f)
		}
	}
	if (fields[2] == "?") == (fields[4] == "?") {
		return fmt.Errorf("%q: exactly one of day-of-month and day-of-week must be ?", s)
	}
	return nil
}
