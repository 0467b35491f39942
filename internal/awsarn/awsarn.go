// Package awsarn holds the AWS naming facts ecslogfix checks and builds:
// partitions and the shape of their region names, account and organization
// IDs, and ARNs (parsed with the SDK's aws/arn). Every other package asks
// here instead of splitting strings of its own.
package awsarn

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws/arn"
)

// partition is one AWS partition and the shape of its region names: one
// of prefixes, then words lowercase words each followed by "-", then a
// number of 1–2 digits without a leading zero. The shapes follow the
// partition metadata the AWS SDKs ship (partitions.json, "regionRegex",
// e.g. ^cn\-\w+\-\d+$ for aws-cn), with the number limited to 1–2 digits.
// They are matched without regexp: Partition runs several times per task
// definition judged (its ARN, each awslogs-region), and the eight patterns
// tried in turn were a fifth of the CPU of judging one in scan and the
// sweep (not counting the AWS calls); FuzzPartition holds the two equal.
type partition struct {
	id       string
	prefixes []string
	words    int
}

// partitions is the one table of partitions. Order matters: the first
// match wins, and the commercial shape is the loosest.
var partitions = []partition{
	{"aws-cn", []string{"cn-"}, 1},
	{"aws-us-gov", []string{"us-gov-"}, 1},
	{"aws-iso", []string{"us-iso-"}, 1},
	{"aws-iso-b", []string{"us-isob-"}, 1},
	{"aws-iso-e", []string{"eu-isoe-"}, 1},
	{"aws-iso-f", []string{"us-isof-"}, 1},
	{"aws-eusc", []string{"eusc-"}, 2},
	{"aws", []string{"us-", "eu-", "ap-", "sa-", "ca-", "me-", "af-", "il-", "mx-"}, 1},
}

// matches reports whether region has p's shape.
func (p partition) matches(region string) bool {
	for _, pre := range p.prefixes {
		if rest, ok := strings.CutPrefix(region, pre); ok && regionTail(rest, p.words) {
			return true
		}
	}
	return false
}

// regionTail reports whether s is words lowercase words, each followed by
// "-", then a number 1–99: [a-z]+-…[1-9][0-9]?.
func regionTail(s string, words int) bool {
	for range words {
		word, rest, ok := strings.Cut(s, "-")
		if !ok || word == "" || strings.ContainsFunc(word, func(r rune) bool { return r < 'a' || r > 'z' }) {
			return false
		}
		s = rest
	}
	switch len(s) {
	case 1:
		return s[0] >= '1' && s[0] <= '9'
	case 2:
		return s[0] >= '1' && s[0] <= '9' && s[1] >= '0' && s[1] <= '9'
	}
	return false
}

// Partition returns the partition of a region name, and false when the
// name is not a region of a known partition ("region", "<aws_region>",
// "us-east" are not).
func Partition(region string) (string, bool) {
	for _, p := range partitions {
		if p.matches(region) {
			return p.id, true
		}
	}
	return "", false
}

// PartitionOr returns the partition of region, or fallback when region is
// not a known region name (for example empty).
func PartitionOr(region, fallback string) string {
	if p, ok := Partition(region); ok {
		return p
	}
	return fallback
}

// ValidRegion reports whether r is a region name of a known partition.
func ValidRegion(r string) bool {
	_, ok := Partition(r)
	return ok
}

// ValidPartition reports whether p is a known partition ID.
func ValidPartition(p string) bool {
	for _, known := range partitions {
		if known.id == p {
			return true
		}
	}
	return false
}

// The patterns are compiled on first use, not at start-up: a function's
// cold start pays only for those its path needs (docs/performance.md,
// "Cold start").
var (
	orgIDRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^o-[a-z0-9]{10,32}$`) })
	ouIDRE  = sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile(`^(ou-[a-z0-9]{4,32}-[a-z0-9]{8,32}|r-[a-z0-9]{4,32})$`)
	})
	// IAM role names: 1 to 64 letters, digits and +=,.@_-
	// (https://docs.aws.amazon.com/IAM/latest/APIReference/API_CreateRole.html).
	roleNameRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[\w+=,.@-]{1,64}$`) })
)

// ValidAccount reports whether s is a 12-digit account ID. (No regexp:
// every ARN parsed checks one, see partition.)
func ValidAccount(s string) bool {
	return len(s) == 12 && !strings.ContainsFunc(s, func(r rune) bool { return r < '0' || r > '9' })
}

// ValidOrganization reports whether s is an organization ID (o-…).
func ValidOrganization(s string) bool { return orgIDRE().MatchString(s) }

// ValidOU reports whether s is an organizational unit ID (ou-…) or a root
// ID (r-…).
func ValidOU(s string) bool { return ouIDRE().MatchString(s) }

// ValidRoleName reports whether s is an IAM role name (without a path).
func ValidRoleName(s string) bool { return roleNameRE().MatchString(s) }

// Parse parses an ARN with the SDK's parser and checks its partition, and
// its account and region when present.
func Parse(s string) (arn.ARN, error) {
	a, err := arn.Parse(s)
	if err != nil {
		return arn.ARN{}, fmt.Errorf("not an ARN: %w", err)
	}
	switch {
	case !ValidPartition(a.Partition):
		return arn.ARN{}, fmt.Errorf("unknown partition %q", a.Partition)
	case a.Region != "" && !ValidRegion(a.Region):
		return arn.ARN{}, fmt.Errorf("invalid region %q", a.Region)
	case a.AccountID != "" && !ValidAccount(a.AccountID):
		return arn.ARN{}, errors.New("account is not 12 digits")
	}
	return a, nil
}

// RoleARN renders the ARN of the IAM role name (which may carry a path) in
// account. Any part may be a CDK token: it is only concatenated.
func RoleARN(partition, account, name string) string {
	return "arn:" + partition + ":iam::" + account + ":role/" + strings.TrimPrefix(name, "/")
}

// Role is an IAM role named by partition, account and name. The name has
// no path: an assumed-role session ARN does not carry the role's path, so
// roles are compared by account and name.
type Role struct {
	Partition string
	Account   string
	Name      string
}

// ARN renders the role's ARN (without a path).
func (r Role) ARN() string { return RoleARN(r.Partition, r.Account, r.Name) }

// ParseRole extracts the role from an IAM role ARN
// (arn:P:iam::ACCOUNT:role/PATH/NAME) or an STS assumed-role session ARN
// (arn:P:sts::ACCOUNT:assumed-role/NAME/SESSION). The account may be "*"
// (a pattern for any account).
func ParseRole(s string) (Role, bool) {
	a, err := arn.Parse(s)
	if err != nil || !ValidPartition(a.Partition) || (a.AccountID != "*" && !ValidAccount(a.AccountID)) {
		return Role{}, false
	}
	segs := strings.Split(a.Resource, "/")
	r := Role{Partition: a.Partition, Account: a.AccountID}
	switch {
	case a.Service == "iam" && segs[0] == "role" && len(segs) >= 2:
		r.Name = segs[len(segs)-1]
	case a.Service == "sts" && segs[0] == "assumed-role" && len(segs) >= 2:
		r.Name = segs[1]
	}
	return r, r.Name != ""
}
