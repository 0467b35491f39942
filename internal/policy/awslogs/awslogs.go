// Package awslogs holds the awslogs log driver's vocabulary (its option
// keys, modes and value rules as ECS and CloudWatch Logs document them) and
// the findings on one awslogs logConfiguration, with what a shell observed
// of its log group. Pure: no AWS calls.
package awslogs

import (
	"slices"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ecslogfix/ecslogfix/internal/awsarn"
	"github.com/ecslogfix/ecslogfix/internal/policy/reason"
)

// Documented awslogs option keys (SDK types.LogConfiguration.Options).
const (
	OptGroup            = "awslogs-group"
	OptRegion           = "awslogs-region"
	OptStreamPrefix     = "awslogs-stream-prefix"
	OptCreateGroup      = "awslogs-create-group"
	OptDatetimeFormat   = "awslogs-datetime-format"
	OptMultilinePattern = "awslogs-multiline-pattern"
	OptMode             = "mode"
	OptMaxBufferSize    = "max-buffer-size"
)

// DriverAwslogs and DriverAwsfirelens are the two log drivers the policy
// treats specially.
const (
	DriverAwslogs     = string(types.LogDriverAwslogs)
	DriverAwsfirelens = string(types.LogDriverAwsfirelens)
)

// Log driver modes (the "mode" option).
const (
	ModeBlocking    = "blocking"
	ModeNonBlocking = "non-blocking"
)

// awslogsKeys are the option keys ECS documents for awslogs (SDK
// types.LogConfiguration.Options): the only ones UnknownOptions accepts.
var awslogsKeys = []string{OptGroup, OptRegion, OptStreamPrefix, OptCreateGroup, OptDatetimeFormat, OptMultilinePattern, OptMode, OptMaxBufferSize}

// ShownOption reports whether the value of option key under driver may be
// printed: only documented awslogs options of an awslogs configuration.
// Every other driver's option values may hold tokens or URLs with
// credentials (a splunk token, a FireLens plugin credential), so plans and
// notifications show only their names or "(redacted)".
func ShownOption(driver, key string) bool {
	return driver == DriverAwslogs && slices.Contains(awslogsKeys, key)
}

// ModeAny is the RequiredMode that accepts either delivery mode.
const ModeAny = "any"

// DefaultMaxBufferSize is max-buffer-size when a container sets none (SDK
// types.LogConfiguration.Options: "Default value: 10m").
const DefaultMaxBufferSize = "10m"

// MaxStreamPrefix keeps "prefix/container/task-id" within the 512-character
// log stream name limit for a 255-character container name.
const MaxStreamPrefix = 512 - 255 - 32 - 2

// ValidStreamPrefix is the one rule for an awslogs-stream-prefix, the
// policy's own and a container's: non-blank, at most MaxStreamPrefix
// characters, and none of ':', '*' or white space, which CloudWatch Logs
// refuses in a log stream name.
func ValidStreamPrefix(s string) bool {
	return !Blank(s) && len(s) <= MaxStreamPrefix && !strings.ContainsAny(s, ":* \t\r\n")
}

// ParseBufferSize returns the bytes a max-buffer-size value stands for
// (binary units, as Docker counts them), and false when it is not a size
// or is zero. The grammar is Docker's (go-units RAMInBytes, which the
// awslogs driver uses for max-buffer-size): a number, then an optional
// space, then an optional unit k, m, g, t or p (any case) with an
// optional "i" and "b". It is read without regexp: policy evaluation
// parses every non-blocking container's size, for every family a sweep
// or scan judges.
func ParseBufferSize(s string) (int64, bool) {
	s = strings.TrimSpace(s)
	end := leadingDigits(s)
	if end == 0 {
		return 0, false
	}
	if end < len(s) && s[end] == '.' {
		frac := leadingDigits(s[end+1:])
		if frac == 0 {
			return 0, false
		}
		end += 1 + frac
	}
	n, err := strconv.ParseFloat(s[:end], 64)
	if err != nil || n <= 0 {
		return 0, false
	}
	unit := strings.TrimPrefix(s[end:], " ")
	mult := 1.0
	if unit != "" {
		if i := strings.IndexByte("kmgtp", unit[0]|0x20); i >= 0 {
			mult, unit = float64(int64(1)<<(10*(i+1))), unit[1:]
		}
	}
	for _, c := range "ib" {
		if unit != "" && unit[0]|0x20 == byte(c) {
			unit = unit[1:]
		}
	}
	if unit != "" {
		return 0, false
	}
	return int64(n * mult), true
}

// leadingDigits is the number of ASCII digits s starts with.
func leadingDigits(s string) int {
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	return i
}

// ValidLogGroupName reports whether name is a valid CloudWatch Logs group
// name: 1–512 of [.\-_/#A-Za-z0-9], not starting with "aws/".
func ValidLogGroupName(name string) bool {
	if len(name) == 0 || len(name) > 512 || strings.HasPrefix(name, "aws/") {
		return false
	}
	for i := 0; i < len(name); i++ {
		if !logGroupChar(name[i]) {
			return false
		}
	}
	return true
}

func logGroupChar(c byte) bool {
	switch {
	case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		return true
	case c == '.', c == '-', c == '_', c == '/', c == '#':
		return true
	}
	return false
}

// MatchPattern matches name against pattern, where "*" stands for any
// characters ("/" included) and everything else for itself: the meaning
// "*" has in an IAM resource ARN, so the patterns the policy allows and
// the resources the remediate role may touch are the same names.
func MatchPattern(pattern, name string) bool {
	parts := strings.Split(pattern, "*")
	if len(parts) == 1 {
		return pattern == name
	}
	if !strings.HasPrefix(name, parts[0]) {
		return false
	}
	rest := name[len(parts[0]):]
	last := parts[len(parts)-1]
	for _, mid := range parts[1 : len(parts)-1] {
		i := strings.Index(rest, mid)
		if i < 0 {
			return false
		}
		rest = rest[i+len(mid):]
	}
	return len(rest) >= len(last) && strings.HasSuffix(rest, last)
}

// GroupRef names a log group in a region of the task definition's
// account (awslogs writes to its own account only).
type GroupRef struct {
	Name   string `json:"name"`
	Region string `json:"region"`
}

// Facts are what a shell observed in AWS that a rule needs. The zero Facts
// means nothing was observed (check, offline): LOG_GROUP_MISSING is not
// judged, and a container without a mode option is judged on AWS's
// default mode.
type Facts struct {
	// LogDriverMode is the account's defaultLogDriverMode setting in the
	// task definition's region; "" when unset or not read.
	LogDriverMode string
	// Groups holds what was read about each group observed. A group that
	// is not in the map was not observed.
	Groups map[GroupRef]GroupFact
}

// GroupFact is what DescribeLogGroups said about one group.
type GroupFact struct {
	Exists             bool   `json:"exists"`
	RetentionDays      int32  `json:"retentionDays,omitempty"` // 0: never expires
	KMSKeyARN          string `json:"kmsKeyArn,omitempty"`
	Class              string `json:"class,omitempty"`
	DeletionProtection bool   `json:"deletionProtection,omitempty"`
	ARN                string `json:"arn,omitempty"` // without the ":*" suffix
}

// EffectiveMode is the delivery mode a container's logs get: its mode
// option, else the account's defaultLogDriverMode setting, else
// non-blocking, ECS's default since 2025-06-25 (SDK
// types.LogConfiguration.Options, "mode").
func EffectiveMode(opts map[string]string, accountMode string) string {
	if m := opts[OptMode]; m == ModeBlocking || m == ModeNonBlocking {
		return m
	}
	if accountMode == ModeBlocking || accountMode == ModeNonBlocking {
		return accountMode
	}
	return ModeNonBlocking
}

// UnknownOptions returns, sorted, the keys of an awslogs configuration
// that look like awslogs options — "awslogs-" followed by anything, or
// mode or max-buffer-size in any case — but are not one ECS documents
// (SDK types.LogConfiguration.Options). Keys match case-sensitively, as
// Docker does when it rejects an unknown log option at container start.
func UnknownOptions(opts map[string]string) []string {
	var out []string
	for k := range opts {
		if slices.Contains(awslogsKeys, k) {
			continue
		}
		lower := strings.ToLower(k)
		if strings.HasPrefix(lower, "awslogs-") || lower == OptMode || lower == OptMaxBufferSize {
			out = append(out, k)
		}
	}
	slices.Sort(out)
	return out
}

// CreatesGroup reports whether awslogs-create-group is true: the driver
// then creates a missing group itself (parsed as Docker parses it,
// strconv.ParseBool).
func CreatesGroup(opts map[string]string) bool {
	b, err := strconv.ParseBool(strings.TrimSpace(opts[OptCreateGroup]))
	return err == nil && b
}

// Groups returns the distinct log groups the awslogs containers of td
// write to, in order: what a shell observes for LOG_GROUP_MISSING. Only
// valid names in valid regions are listed.
func Groups(td *types.TaskDefinition) []GroupRef {
	var out []GroupRef
	if td == nil {
		return out
	}
	for _, c := range td.ContainerDefinitions {
		lc := c.LogConfiguration
		if lc == nil || string(lc.LogDriver) != DriverAwslogs {
			continue
		}
		g := GroupRef{Name: lc.Options[OptGroup], Region: lc.Options[OptRegion]}
		if ValidLogGroupName(g.Name) && awsarn.ValidRegion(g.Region) && !slices.Contains(out, g) {
			out = append(out, g)
		}
	}
	return out
}

// Blank reports whether an option value is empty or only white space: such
// a value counts as missing.
func Blank(s string) bool { return strings.TrimSpace(s) == "" }

// Requirement is what the policy asks of an awslogs container's delivery
// (policy.Policy's requiredMode and minBufferSize).
type Requirement struct {
	Mode          string // "", ModeAny, ModeBlocking or ModeNonBlocking
	MinBufferSize string // "" for none
}

// Check judges the options of one awslogs logConfiguration against req
// and what was observed: the group present, non-blank and valid, region
// and stream prefix present, non-blank and valid, mode and max-buffer-size
// valid and as required, no undocumented awslogs key, and the group
// existing when it was observed. Reasons come in declaration order; keys
// names the options a reason is about, in order.
func Check(opts map[string]string, req Requirement, facts Facts) (reasons []reason.Code, keys []string) {
	add := func(r reason.Code, key string) {
		reasons = append(reasons, r)
		if key != "" && !slices.Contains(keys, key) {
			keys = append(keys, key)
		}
	}
	group := opts[OptGroup]
	switch {
	case Blank(group):
		add(reason.MissingGroup, "")
	case !ValidLogGroupName(group):
		add(reason.InvalidGroup, OptGroup)
	}
	region := opts[OptRegion]
	switch {
	case Blank(region):
		add(reason.MissingRegion, "")
	case !awsarn.ValidRegion(region):
		add(reason.InvalidRegion, OptRegion)
	}
	switch prefix := opts[OptStreamPrefix]; {
	case Blank(prefix):
		add(reason.MissingStreamPrefix, "")
	case !ValidStreamPrefix(prefix):
		add(reason.InvalidStreamPrefix, OptStreamPrefix)
	}
	if key := req.problem(opts, facts.LogDriverMode); key != "" {
		add(reason.InvalidMode, key)
	}
	for _, k := range UnknownOptions(opts) {
		if !slices.Contains(reasons, reason.UnknownOption) {
			reasons = append(reasons, reason.UnknownOption)
		}
		keys = append(keys, k)
	}
	if ValidLogGroupName(group) && awsarn.ValidRegion(region) && !CreatesGroup(opts) {
		if g, seen := facts.Groups[GroupRef{group, region}]; seen && !g.Exists {
			add(reason.LogGroupMissing, "")
		}
	}
	return reasons, keys
}

// problem returns the option key at fault when the container's
// delivery mode is invalid or not what the policy requires, else "".
// Invalid values are judged whatever the policy; the requirement on the
// effective mode (EffectiveMode) only when the policy sets one.
func (req Requirement) problem(opts map[string]string, accountMode string) string {
	mode, explicit := opts[OptMode]
	explicit = explicit && !Blank(mode)
	if explicit && mode != ModeBlocking && mode != ModeNonBlocking {
		return OptMode
	}
	size, sized := opts[OptMaxBufferSize]
	sized = sized && !Blank(size)
	if sized {
		if _, ok := ParseBufferSize(size); !ok {
			return OptMaxBufferSize
		}
	}
	effective := EffectiveMode(opts, accountMode)
	if req := req.Mode; req != "" && req != ModeAny && effective != req {
		return OptMode
	}
	if req.MinBufferSize != "" && effective == ModeNonBlocking {
		min, _ := ParseBufferSize(req.MinBufferSize)
		if !sized {
			size = DefaultMaxBufferSize
		}
		if n, _ := ParseBufferSize(size); n < min {
			return OptMaxBufferSize
		}
	}
	return ""
}
