package policy

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// awslogsKeys are the option keys ECS documents for awslogs (SDK
// types.LogConfiguration.Options): the only ones UnknownOptions accepts.
var awslogsKeys = []string{OptGroup, OptRegion, OptStreamPrefix, OptCreateGroup, OptDatetimeFormat, OptMultilinePattern, OptMode, OptMaxBufferSize}

// ModeAny is the RequiredMode that accepts either delivery mode.
const ModeAny = "any"

// DefaultMaxBufferSize is max-buffer-size when a container sets none (SDK
// types.LogConfiguration.Options: "Default value: 10m").
const DefaultMaxBufferSize = "10m"

// maxStreamPrefix keeps "prefix/container/task-id" within the 512-character
// log stream name limit for a 255-character container name.
const maxStreamPrefix = 512 - 255 - 32 - 2

// ValidStreamPrefix is the one rule for an awslogs-stream-prefix, the
// policy's own and a container's: non-blank, at most maxStreamPrefix
// characters, and none of ':', '*' or white space, which CloudWatch Logs
// refuses in a log stream name.
func ValidStreamPrefix(s string) bool {
	return !Blank(s) && len(s) <= maxStreamPrefix && !strings.ContainsAny(s, ":* \t\r\n")
}

// bufferSizeRE is Docker's size grammar (go-units RAMInBytes, which the
// awslogs driver uses for max-buffer-size): a number, then an optional
// unit k, m, g, t or p (any case) with an optional "i" and "b".
var bufferSizeRE = regexp.MustCompile(`^([0-9]+(?:\.[0-9]+)?) ?([kKmMgGtTpP])?[iI]?[bB]?$`)

// ParseBufferSize returns the bytes a max-buffer-size value stands for
// (binary units, as Docker counts them), and false when it is not a size
// or is zero.
func ParseBufferSize(s string) (int64, bool) {
	m := bufferSizeRE.FindStringSubmatch(strings.TrimSpace(s))
	if m == nil {
		return 0, false
	}
	n, err := strconv.ParseFloat(m[1], 64)
	if err != nil || n <= 0 {
		return 0, false
	}
	mult := map[string]float64{"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40, "p": 1 << 50}[strings.ToLower(m[2])]
	return int64(n * mult), true
}

// RetentionMode says what ecslogfix does to the retention of a log group
// that already exists.
type RetentionMode string

// Retention modes.
const (
	// RetentionKeep leaves every existing group's retention as it is.
	RetentionKeep RetentionMode = "keep"
	// RetentionSetIfNeverExpire sets RetentionDays on a group that never
	// expires (no retention policy, as awslogs-create-group and the
	// console make them) and leaves every chosen retention alone.
	RetentionSetIfNeverExpire RetentionMode = "setIfNeverExpire"
	// RetentionEnforce sets RetentionDays on every group whose retention
	// differs, except that it never shortens one unless AllowShorten.
	RetentionEnforce RetentionMode = "enforce"
)

// RetentionFor returns the retention (days) to set on an existing group
// whose retention is current (0: never expires), and whether to set one.
// Unset policy fields take their defaults.
func (p Policy) RetentionFor(current int32) (int32, bool) {
	p = p.WithDefaults()
	want := p.RetentionDays
	switch {
	case current == want:
		return 0, false
	case p.ExistingGroupRetention == RetentionKeep:
		return 0, false
	case current == 0:
		return want, true // never expires: both other modes set it
	case p.ExistingGroupRetention == RetentionEnforce && (current < want || p.AllowShorten):
		return want, true
	}
	return 0, false
}

// DeletionProtected reports whether groups ecslogfix creates get deletion
// protection (default true).
func (p Policy) DeletionProtected() bool {
	return p.DeletionProtection == nil || *p.DeletionProtection
}

// GroupPatterns returns the log group name patterns ecslogfix may create:
// LogGroupPatterns, or by default the template's literal part up to its
// first placeholder followed by "*" ("/ecs/*" for "/ecs/{family}"; a
// template without placeholders admits exactly its one name).
func (p Policy) GroupPatterns() []string {
	if len(p.LogGroupPatterns) > 0 {
		return append([]string(nil), p.LogGroupPatterns...)
	}
	t := p.LogGroupTemplate
	if t == "" {
		t = Default().LogGroupTemplate
	}
	if i := strings.IndexByte(t, '{'); i >= 0 {
		return []string{t[:i] + "*"}
	}
	return []string{t}
}

// MayCreate reports whether name matches one of GroupPatterns.
func (p Policy) MayCreate(name string) bool {
	for _, pat := range p.GroupPatterns() {
		if MatchPattern(pat, name) {
			return true
		}
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

// validPattern reports whether s is a log group name pattern: log group
// name characters and "*", 1-512 long, not starting with "aws/".
func validPattern(s string) bool {
	return s != "" && ValidLogGroupName(strings.ReplaceAll(s, "*", "x"))
}

// InputError is a task definition ecslogfix cannot judge: not a verdict
// but a problem with the input, naming its JSON path.
type InputError struct {
	Path    string // e.g. containerDefinitions[2].name
	Problem string
}

func (e *InputError) Error() string { return e.Path + ": " + e.Problem }

// CheckInput refuses a task definition whose containers cannot be judged
// one by one: none at all (ECS requires at least one), or two with the
// same name (findings, plans and notifications name containers, and ECS
// refuses duplicates).
func CheckInput(td *types.TaskDefinition) error {
	if td == nil || len(td.ContainerDefinitions) == 0 {
		return &InputError{Path: "containerDefinitions", Problem: "null or empty: a task definition has at least one container"}
	}
	first := map[string]int{}
	for i, c := range td.ContainerDefinitions {
		name := deref(c.Name)
		if name == "" {
			continue
		}
		if j, dup := first[name]; dup {
			return &InputError{Path: fmt.Sprintf("containerDefinitions[%d].name", i), Problem: fmt.Sprintf("%q is also the name of container %d; container names must be unique", name, j)}
		}
		first[name] = i
	}
	return nil
}

// NeedsLogDriverMode reports whether judging td needs the account's
// defaultLogDriverMode setting: the policy requires a delivery mode (or a
// minimum buffer) and an awslogs container sets no valid mode of its own.
func (p Policy) NeedsLogDriverMode(td *types.TaskDefinition) bool {
	p = p.WithDefaults()
	if (p.RequiredMode == ModeAny && p.MinBufferSize == "") || td == nil {
		return false
	}
	for _, c := range td.ContainerDefinitions {
		lc := c.LogConfiguration
		if lc == nil || string(lc.LogDriver) != DriverAwslogs {
			continue
		}
		if m := lc.Options[OptMode]; m != ModeBlocking && m != ModeNonBlocking {
			return true
		}
	}
	return false
}
