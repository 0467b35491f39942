package policy

import (
	"cmp"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ecslogfix/ecslogfix/internal/policy/awslogs"
)

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
	t := cmp.Or(p.LogGroupTemplate, Default().LogGroupTemplate)
	if i := strings.IndexByte(t, '{'); i >= 0 {
		return []string{t[:i] + "*"}
	}
	return []string{t}
}

// MayCreate reports whether name matches one of GroupPatterns.
func (p Policy) MayCreate(name string) bool {
	for _, pat := range p.GroupPatterns() {
		if awslogs.MatchPattern(pat, name) {
			return true
		}
	}
	return false
}

// validPattern reports whether s is a log group name pattern: log group
// name characters and "*", 1-512 long, not starting with "aws/".
func validPattern(s string) bool {
	return s != "" && awslogs.ValidLogGroupName(strings.ReplaceAll(s, "*", "x"))
}

// NeedsLogDriverMode reports whether judging td needs the account's
// defaultLogDriverMode setting: the policy requires a delivery mode (or a
// minimum buffer) and an awslogs container sets no valid mode of its own.
func (p Policy) NeedsLogDriverMode(td *types.TaskDefinition) bool {
	p = p.WithDefaults()
	if (p.RequiredMode == awslogs.ModeAny && p.MinBufferSize == "") || td == nil {
		return false
	}
	for _, c := range td.ContainerDefinitions {
		lc := c.LogConfiguration
		if lc == nil || string(lc.LogDriver) != awslogs.DriverAwslogs {
			continue
		}
		if m := lc.Options[awslogs.OptMode]; m != awslogs.ModeBlocking && m != awslogs.ModeNonBlocking {
			return true
		}
	}
	return false
}
