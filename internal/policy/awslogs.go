package policy

import (
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ecslogfix/ecslogfix/internal/policy/awslogs"
)

// The awslogs driver's vocabulary and rules are package awslogs'; what
// callers of Evaluate use is named here too (as package os names io/fs's).
type (
	GroupRef  = awslogs.GroupRef
	Facts     = awslogs.Facts
	GroupFact = awslogs.GroupFact
)

// Option keys, drivers and modes (package awslogs).
const (
	OptGroup             = awslogs.OptGroup
	OptRegion            = awslogs.OptRegion
	OptStreamPrefix      = awslogs.OptStreamPrefix
	OptCreateGroup       = awslogs.OptCreateGroup
	OptDatetimeFormat    = awslogs.OptDatetimeFormat
	OptMultilinePattern  = awslogs.OptMultilinePattern
	OptMode              = awslogs.OptMode
	OptMaxBufferSize     = awslogs.OptMaxBufferSize
	DriverAwslogs        = awslogs.DriverAwslogs
	DriverAwsfirelens    = awslogs.DriverAwsfirelens
	ModeBlocking         = awslogs.ModeBlocking
	ModeNonBlocking      = awslogs.ModeNonBlocking
	ModeAny              = awslogs.ModeAny
	DefaultMaxBufferSize = awslogs.DefaultMaxBufferSize
)

// Blank is awslogs.Blank.
func Blank(s string) bool { return awslogs.Blank(s) }

// ValidLogGroupName is awslogs.ValidLogGroupName.
func ValidLogGroupName(name string) bool { return awslogs.ValidLogGroupName(name) }

// ValidStreamPrefix is awslogs.ValidStreamPrefix.
func ValidStreamPrefix(s string) bool { return awslogs.ValidStreamPrefix(s) }

// ParseBufferSize is awslogs.ParseBufferSize.
func ParseBufferSize(s string) (int64, bool) { return awslogs.ParseBufferSize(s) }

// MatchPattern is awslogs.MatchPattern.
func MatchPattern(pattern, name string) bool { return awslogs.MatchPattern(pattern, name) }

// EffectiveMode is awslogs.EffectiveMode.
func EffectiveMode(opts map[string]string, accountMode string) string {
	return awslogs.EffectiveMode(opts, accountMode)
}

// CreatesGroup is awslogs.CreatesGroup.
func CreatesGroup(opts map[string]string) bool { return awslogs.CreatesGroup(opts) }

// Groups is awslogs.Groups.
func Groups(td *types.TaskDefinition) []GroupRef { return awslogs.Groups(td) }

// ShownOption is awslogs.ShownOption.
func ShownOption(driver, key string) bool { return awslogs.ShownOption(driver, key) }
