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

// partition is one AWS partition and the shape of its region names. The
// region patterns follow the partition metadata the AWS SDKs ship
// (partitions.json, "regionRegex"), with the number limited to 1–2 digits.
type partition struct {
	id      string
	regions *regexp.Regexp
}

// partitions is the one table of partitions. Order matters: the first
// match wins, and the commercial pattern is the loosest.
var partitions = []partition{
	{"aws-cn", regexp.MustCompile(`^cn-[a-z]+-[1-9][0-9]?$`)},
	{"aws-us-gov", regexp.MustCompile(`^us-gov-[a-z]+-[1-9][0-9]?$`)},
	{"aws-iso", regexp.MustCompile(`^us-iso-[a-z]+-[1-9][0-9]?$`)},
	{"aws-iso-b", regexp.MustCompile(`^us-isob-[a-z]+-[1-9][0-9]?$`)},
	{"aws-iso-e", regexp.MustCompile(`^eu-isoe-[a-z]+-[1-9][0-9]?$`)},
	{"aws-iso-f", regexp.MustCompile(`^us-isof-[a-z]+-[1-9][0-9]?$`)},
	{"aws-eusc", regexp.MustCompile(`^eusc-[a-z]+-[a-z]+-[1-9][0-9]?$`)},
	{"aws", regexp.MustCompile(`^(us|eu|ap|sa|ca|me|af|il|mx)-[a-z]+-[1-9][0-9]?$`)},
}

// Partition returns the partition of a region name, and false when the
// name is not a region of a known partition ("region", "<aws_region>",
// "us-east" are not).
func Partition(region string) (string, bool) {
	for _, p := range partitions {
		if p.regions.MatchString(region) {
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
	accountRE = regexp.MustCompile(`^[0-9]{12}$`)
	orgIDRE   = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^o-[a-z0-9]{10,32}$`) })
	ouIDRE    = sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile(`^(ou-[a-z0-9]{4,32}-[a-z0-9]{8,32}|r-[a-z0-9]{4,32})$`)
	})
	// IAM role names: 1 to 64 letters, digits and +=,.@_-
	// (https://docs.aws.amazon.com/IAM/latest/APIReference/API_CreateRole.html).
	roleNameRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[\w+=,.@-]{1,64}$`) })
)

// ValidAccount reports whether s is a 12-digit account ID.
func ValidAccount(s string) bool { return accountRE.MatchString(s) }

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
