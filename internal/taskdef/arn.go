package taskdef

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
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
// strictly: a known partition (aws, aws-cn, aws-us-gov, aws-iso*, aws-eusc),
// a region of the usual shape, a 12-digit account, a valid family
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
	parts := strings.SplitN(s, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" {
		return ARN{}, arnErr(s, "not an ARN")
	}
	a := ARN{Partition: parts[1], Region: parts[3], Account: parts[4]}
	if !ValidPartition(a.Partition) {
		return ARN{}, arnErr(s, "unknown partition")
	}
	if parts[2] != "ecs" {
		return ARN{}, arnErr(s, "not an ECS ARN")
	}
	if !ValidRegion(a.Region) {
		return ARN{}, arnErr(s, "invalid region")
	}
	if !ValidAccount(a.Account) {
		return ARN{}, arnErr(s, "account is not 12 digits")
	}
	res, ok := strings.CutPrefix(parts[5], "task-definition/")
	if !ok {
		return ARN{}, arnErr(s, "not a task-definition resource")
	}
	fam, rev, err := parseFamilyRevision(res)
	if err != nil {
		return ARN{}, arnErr(s, err.Error())
	}
	a.Family, a.Revision = fam, rev
	return a, nil
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

// ValidPartition reports whether p is an AWS partition this project
// recognises: aws, aws-cn, aws-us-gov, aws-iso, aws-iso-X (one letter) and
// aws-eusc.
func ValidPartition(p string) bool {
	switch p {
	case "aws", "aws-cn", "aws-us-gov", "aws-iso", "aws-eusc":
		return true
	}
	rest, ok := strings.CutPrefix(p, "aws-iso-")
	return ok && len(rest) == 1 && rest[0] >= 'a' && rest[0] <= 'z'
}

// ValidRegion reports whether r has the shape of an AWS region name:
// lowercase words separated by hyphens, ending in a 1–2 digit number, such
// as us-east-1, us-gov-west-1, cn-north-1, us-isob-east-1, eusc-de-east-1.
func ValidRegion(r string) bool {
	if len(r) < 4 || len(r) > 32 {
		return false
	}
	words := strings.Split(r, "-")
	if len(words) < 3 {
		return false
	}
	num := words[len(words)-1]
	if len(num) < 1 || len(num) > 2 || num[0] == '0' && len(num) > 1 || !allIn(num, '0', '9') {
		return false
	}
	for _, w := range words[:len(words)-1] {
		if w == "" || !allIn(w, 'a', 'z') {
			return false
		}
	}
	return true
}

// ValidAccount reports whether s is a 12-digit AWS account ID.
func ValidAccount(s string) bool {
	return len(s) == 12 && allIn(s, '0', '9')
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

// PartitionForRegion returns the partition of a region name by its prefix:
// cn- → aws-cn, us-gov- → aws-us-gov, us-iso- → aws-iso, us-isob- →
// aws-iso-b, eu-isoe- → aws-iso-e, us-isof- → aws-iso-f, eusc- → aws-eusc,
// anything else → aws.
func PartitionForRegion(region string) string {
	switch {
	case strings.HasPrefix(region, "cn-"):
		return "aws-cn"
	case strings.HasPrefix(region, "us-gov-"):
		return "aws-us-gov"
	case strings.HasPrefix(region, "us-iso-"):
		return "aws-iso"
	case strings.HasPrefix(region, "us-isob-"):
		return "aws-iso-b"
	case strings.HasPrefix(region, "eu-isoe-"):
		return "aws-iso-e"
	case strings.HasPrefix(region, "us-isof-"):
		return "aws-iso-f"
	case strings.HasPrefix(region, "eusc-"):
		return "aws-eusc"
	default:
		return "aws"
	}
}
