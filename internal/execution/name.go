package execution

import (
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"strings"
)

// MaxName is Step Functions' limit on execution names.
const MaxName = 80

// Name is the deterministic Step Functions execution name for one
// task definition revision: the family (truncated), the revision and the
// first 16 hex digits of sha256("account/region/family:revision"). It uses
// only [0-9A-Za-z_-] and is at most 80 characters, so a duplicate event,
// the sweep and the CLI all map the same revision to the same execution
// and Step Functions refuses the second start (ExecutionAlreadyExists).
func Name(account, region, family string, revision int32) string {
	return NameAttempt(account, region, family, revision, 1)
}

// NameAttempt is the name of the attempt-th execution for one revision:
// attempt 1 is Name; later attempts (after a failed
// execution) differ only in the hash, so they are as deterministic and as
// short.
func NameAttempt(account, region, family string, revision int32, attempt int) string {
	return nameOf(account, region, family, revision, attempt, "")
}

// NameAfter is NameAttempt for a revision whose exemption ended on the day
// after: a series of its own, so the revision is fixed again after a
// backout exempted it, although an execution under Name succeeded.
func NameAfter(account, region, family string, revision int32, attempt int, after string) string {
	return nameOf(account, region, family, revision, attempt, after)
}

func nameOf(account, region, family string, revision int32, attempt int, after string) string {
	rev := strconv.FormatInt(int64(revision), 10)
	key := account + "/" + region + "/" + family + ":" + rev
	if attempt > 1 {
		key += "#" + strconv.Itoa(attempt)
	}
	if after != "" {
		key += "~" + after
	}
	sum := sha256.Sum256([]byte(key))
	hash := hex.EncodeToString(sum[:])[:16]
	room := MaxName - len(rev) - len(hash) - 2
	var b strings.Builder
	for _, r := range family {
		if b.Len() >= room {
			break
		}
		if r < 0x80 && (r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r == '-' || r == '_') {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	return b.String() + "-" + rev + "-" + hash
}
