package awsarn

import (
	"regexp"
	"strings"
	"testing"
)

func TestPartition(t *testing.T) {
	for region, want := range map[string]string{
		"us-east-1": "aws", "eu-central-2": "aws", "ap-southeast-7": "aws", "mx-central-1": "aws", "il-central-1": "aws",
		"ap-southeast-10": "aws", "cn-north-1": "aws-cn", "cn-northwest-1": "aws-cn", "us-gov-west-1": "aws-us-gov",
		"us-iso-east-1": "aws-iso", "us-isob-east-1": "aws-iso-b", "eu-isoe-west-1": "aws-iso-e",
		"us-isof-south-1": "aws-iso-f", "eusc-de-east-1": "aws-eusc",
	} {
		got, ok := Partition(region)
		if !ok || got != want {
			t.Errorf("Partition(%q) = %q, %v; want %q", region, got, ok, want)
		}
		if !ValidRegion(region) || !ValidPartition(got) {
			t.Errorf("%q/%q not valid", region, got)
		}
	}
	for _, bad := range []string{"", "region", "<aws_region>", "not a region", "us-east", "us-east-0", "us-east-01",
		"US-EAST-1", "us-east-100", "xx-east-1", "us_east_1", "us-east-1 ", "eusc-east-1", "${AWS::Region}"} {
		if p, ok := Partition(bad); ok {
			t.Errorf("Partition(%q) = %q, want not a region", bad, p)
		}
	}
	if PartitionOr("", "aws") != "aws" || PartitionOr("cn-north-1", "aws") != "aws-cn" {
		t.Error("PartitionOr")
	}
}

// FuzzPartition holds the hand-written matcher to the region patterns it
// replaced (the SDKs' regionRegex shapes, number limited to 1–2 digits).
func FuzzPartition(f *testing.F) {
	patterns := []struct {
		id string
		re *regexp.Regexp
	}{
		{"aws-cn", regexp.MustCompile(`^cn-[a-z]+-[1-9][0-9]?$`)},
		{"aws-us-gov", regexp.MustCompile(`^us-gov-[a-z]+-[1-9][0-9]?$`)},
		{"aws-iso", regexp.MustCompile(`^us-iso-[a-z]+-[1-9][0-9]?$`)},
		{"aws-iso-b", regexp.MustCompile(`^us-isob-[a-z]+-[1-9][0-9]?$`)},
		{"aws-iso-e", regexp.MustCompile(`^eu-isoe-[a-z]+-[1-9][0-9]?$`)},
		{"aws-iso-f", regexp.MustCompile(`^us-isof-[a-z]+-[1-9][0-9]?$`)},
		{"aws-eusc", regexp.MustCompile(`^eusc-[a-z]+-[a-z]+-[1-9][0-9]?$`)},
		{"aws", regexp.MustCompile(`^(us|eu|ap|sa|ca|me|af|il|mx)-[a-z]+-[1-9][0-9]?$`)},
	}
	for _, s := range []string{"us-east-1", "us-gov-west-1", "eusc-de-east-1", "us-isob-east-1", "cn--1", "us-east-1-", "ap-x-99",
		"eu-isoe-west-10", "eusc-de-1", "us-gov-1", "me-central-0", "us-Ea-1", "il-a-b-1", "af-south-1\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, region string) {
		want := ""
		for _, p := range patterns {
			if p.re.MatchString(region) {
				want = p.id
				break
			}
		}
		if got, ok := Partition(region); got != want || ok != (want != "") {
			t.Errorf("Partition(%q) = %q, %v; the patterns say %q", region, got, ok, want)
		}
	})
}

func TestIDs(t *testing.T) {
	if !ValidAccount("123456789012") || ValidAccount("12345678901") || ValidAccount("12345678901a") || ValidAccount("１１１１２２２２３３３３") {
		t.Error("ValidAccount")
	}
	if !ValidOrganization("o-a1b2c3d4e5") || ValidOrganization("o-ABC") || ValidOrganization("a1b2c3d4e5") {
		t.Error("ValidOrganization")
	}
	if !ValidOU("ou-ab12-cdefgh34") || !ValidOU("r-ab12") || ValidOU("ou-") {
		t.Error("ValidOU")
	}
	for _, ok := range []string{"ecslogfix-member", "OrganizationAccountAccessRole", "a+b=c,d.e@f_g", strings.Repeat("r", 64)} {
		if !ValidRoleName(ok) {
			t.Errorf("ValidRoleName(%q) = false", ok)
		}
	}
	for _, bad := range []string{"", "path/role", "arn:aws:iam::111122223333:role/x", "rôle", "a b", "x\n", strings.Repeat("r", 65)} {
		if ValidRoleName(bad) {
			t.Errorf("ValidRoleName(%q) = true", bad)
		}
	}
}

func TestParse(t *testing.T) {
	if a, err := Parse("arn:aws-cn:ecs:cn-north-1:123456789012:task-definition/a:1"); err != nil || a.Service != "ecs" || a.Resource != "task-definition/a:1" {
		t.Errorf("Parse = %+v, %v", a, err)
	}
	for _, bad := range []string{"", "arn:aws", "arn:aws-moon:ecs:us-east-1:123456789012:x", "arn:aws:ecs:moon-1:123456789012:x",
		"arn:aws:ecs:us-east-1:12345:x"} {
		if _, err := Parse(bad); err == nil {
			t.Errorf("Parse(%q) accepted", bad)
		}
	}
}

func TestRoles(t *testing.T) {
	for in, want := range map[string]Role{
		"arn:aws:iam::111122223333:role/ecslogfix-remediate":                 {"aws", "111122223333", "ecslogfix-remediate"},
		"arn:aws:iam::111122223333:role/service/path/deploy":                 {"aws", "111122223333", "deploy"},
		"arn:aws-us-gov:sts::111122223333:assumed-role/ecslogfix-member/s-1": {"aws-us-gov", "111122223333", "ecslogfix-member"},
		"arn:aws:iam::*:role/ecslogfix-member":                               {"aws", "*", "ecslogfix-member"},
	} {
		got, ok := ParseRole(in)
		if !ok || got != want {
			t.Errorf("ParseRole(%q) = %+v, %v", in, got, ok)
		}
	}
	for _, bad := range []string{"", "arn:aws:iam::111122223333:user/dev", "arn:aws:iam::111122223333:role/", "arn:aws:sts::111122223333:assumed-role",
		"arn:aws:s3:::bucket", "arn:aws:iam::abc:role/x"} {
		if r, ok := ParseRole(bad); ok {
			t.Errorf("ParseRole(%q) = %+v", bad, r)
		}
	}
	if got := RoleARN("aws", "111122223333", "/path/name"); got != "arn:aws:iam::111122223333:role/path/name" {
		t.Error(got)
	}
	if (Role{"aws", "1", "n"}).ARN() != "arn:aws:iam::1:role/n" {
		t.Error("Role.ARN")
	}
}
