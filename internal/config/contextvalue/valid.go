package contextvalue

import (
	"regexp"
	"sync"
)

// One validator per value kind of the deployment configuration that no
// other package owns (regions, accounts, organizations and OUs are
// awsarn's; rates awsclient's; retention values policy's).
// The patterns are compiled on first use, not at start-up: a function's
// cold start pays only for those its path needs (docs/performance.md,
// "Cold start").
var (
	emailRE  = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[^@\s,]+@[^@\s,]+\.[^@\s,]+$`) })
	secretRE = sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile(`^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:[0-9]{12}:secret:.+$`)
	})
	slackIDRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[A-Z0-9]{1,255}$`) })
	// Microsoft Entra tenant and team IDs are GUIDs; a Teams channel ID is
	// URL-encoded ("19%3a…%40thread.tacv2"), as AWS::Chatbot::
	// MicrosoftTeamsChannelConfiguration's TeamsChannelId pattern requires.
	guidRE = sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile(`^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$`)
	})
	teamsChannelRE = sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile(`^[A-Za-z0-9_=+/.,-]*%3[aA][A-Za-z0-9_=+/.,-]*%40[A-Za-z0-9_=+/.,-]*$`)
	})
	subnetRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^subnet-[0-9a-f]{8,17}$`) })
	sgRE     = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^sg-[0-9a-f]{8,17}$`) })
	// S3 general purpose bucket names ("Bucket naming rules",
	// https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html).
	bucketRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$`) })
)

// ValidEmail reports whether s is one email address.
func ValidEmail(s string) bool { return emailRE().MatchString(s) }

// ValidSecretARN reports whether s is a Secrets Manager secret ARN.
func ValidSecretARN(s string) bool { return secretRE().MatchString(s) }

// ValidSlackID reports whether s is a Slack workspace or channel ID.
func ValidSlackID(s string) bool { return slackIDRE().MatchString(s) }

// ValidGUID reports whether s is a Microsoft Entra tenant or team ID.
func ValidGUID(s string) bool { return guidRE().MatchString(s) }

// ValidTeamsChannel reports whether s is a URL-encoded Microsoft Teams
// channel ID.
func ValidTeamsChannel(s string) bool { return teamsChannelRE().MatchString(s) }

// ValidSubnet reports whether s is a VPC subnet ID.
func ValidSubnet(s string) bool { return subnetRE().MatchString(s) }

// ValidSecurityGroup reports whether s is a VPC security group ID.
func ValidSecurityGroup(s string) bool { return sgRE().MatchString(s) }

// ValidBucket reports whether s is an S3 general purpose bucket name.
func ValidBucket(s string) bool { return bucketRE().MatchString(s) }
