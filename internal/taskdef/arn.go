package taskdef

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/ecslogfix/ecslogfix/internal/awsarn"
)

// ARN is a parsed task-definition ARN.
type ARN struct {
	Partition string
	Region    string
	Account   string
	Family    string
	Revision  int32
}

// ARNError reports a malformed task-definition ARN or reference.
type ARNError struct {
	Input  string // the rejected text, truncated to 300 bytes
	Reason string
}

func (e *ARNError) Error() string {
	return fmt.Sprintf("taskdef: invalid task definition %q: %s", e.Input, e.Reason)
}

func arnErr(s, reason string) error {
	if len(s) > 300 {
		s = s[:300] + "…"
	}
	return &ARNError{Input: s, Reason: reason}
}

// ParseARN parses arn:PARTITION:ecs:REGION:ACCOUNT:task-definition/FAMILY:REV
// strictly: a known partition and a region of it (awsarn), a 12-digit
// account, a valid family
// (ValidFamily) and a revision 1…2147483647 without sign or leading zeros.
func ParseARN(s string) (ARN, error) {
	a, err := parseARN(s)
	if err != nil {
		return ARN{}, err
	}
	if a.Revision == 0 {
		return ARN{}, arnErr(s, "missing revision")
	}
	return a, nil
}

// parseARN parses a full ARN whose ":REV" suffix is optional.
func parseARN(s string) (ARN, error) {
	parsed, err := awsarn.Parse(s)
	switch {
	case err != nil:
		return ARN{}, arnErr(s, err.Error())
	case parsed.Service != "ecs":
		return ARN{}, arnErr(s, "not an ECS ARN")
	case parsed.Region == "":
		return ARN{}, arnErr(s, "invalid region")
	case parsed.AccountID == "":
		return ARN{}, arnErr(s, "account is not 12 digits")
	}
	res, ok := strings.CutPrefix(parsed.Resource, "task-definition/")
	if !ok {
		return ARN{}, arnErr(s, "not a task-definition resource")
	}
	fam, rev, err := parseFamilyRevision(res)
	if err != nil {
		return ARN{}, arnErr(s, err.Error())
	}
	return ARN{Partition: parsed.Partition, Region: parsed.Region, Account: parsed.AccountID, Family: fam, Revision: rev}, nil
}

// ParseRef parses a task-definition reference as the CLI accepts it:
// "family", "family:revision", or a full ARN with or without ":revision".
// Parts not given stay zero; Revision 0 means "latest ACTIVE revision".
func ParseRef(s string) (ARN, error) {
	if strings.HasPrefix(s, "arn:") {
		return parseARN(s)
	}
	fam, rev, err := parseFamilyRevision(s)
	if err != nil {
		return ARN{}, arnErr(s, err.Error())
	}
	return ARN{Family: fam, Revision: rev}, nil
}

func parseFamilyRevision(s string) (string, int32, error) {
	fam, revText, hasRev := strings.Cut(s, ":")
	if err := ValidFamily(fam); err != nil {
		return "", 0, err
	}
	if !hasRev {
		return fam, 0, nil
	}
	rev, err := parseRevision(revText)
	if err != nil {
		return "", 0, err
	}
	return fam, rev, nil
}

func parseRevision(s string) (int32, error) {
	if s == "" || s[0] < '1' || s[0] > '9' {
		return 0, errors.New("revision must be a positive integer without leading zeros")
	}
	if !allIn(s, '0', '9') {
		return 0, errors.New("revision must be a positive integer without leading zeros")
	}
	n, err := strconv.ParseInt(s, 10, 32)
	if err != nil {
		return 0, errors.New("revision out of range")
	}
	return int32(n), nil
}

// String formats the ARN. When Partition is empty it formats the short
// reference "family" or "family:revision" that DescribeTaskDefinition also
// accepts; a zero Revision is omitted. The zero ARN formats as "".
func (a ARN) String() string {
	var b strings.Builder
	if a.Partition != "" {
		b.WriteString("arn:" + a.Partition + ":ecs:" + a.Region + ":" + a.Account + ":task-definition/")
	}
	b.WriteString(a.Family)
	if a.Revision != 0 {
		b.WriteString(":" + strconv.FormatInt(int64(a.Revision), 10))
	}
	return b.String()
}

// FamilyRevision formats "family:revision" (just "family" when Revision is 0).
func (a ARN) FamilyRevision() string {
	return ARN{Family: a.Family, Revision: a.Revision}.String()
}

// ValidFamily checks ECS's family rule: 1–255 of [A-Za-z0-9_-].
func ValidFamily(s string) error {
	if s == "" {
		return errors.New("family is empty")
	}
	if len(s) > 255 {
		return fmt.Errorf("family is %d characters, more than 255", len(s))
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return fmt.Errorf("family has invalid character %q at %d (allowed: A-Z a-z 0-9 _ -)", rune(c), i)
		}
	}
	return nil
}

// allIn reports whether every byte of s is in [lo, hi].
func allIn(s string, lo, hi byte) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < lo || s[i] > hi {
			return false
		}
	}
	return true
}
