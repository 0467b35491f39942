package policy

import (
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ecslogfix/ecslogfix/internal/awsarn"
	"github.com/ecslogfix/ecslogfix/internal/policy/awslogs"
	"github.com/ecslogfix/ecslogfix/internal/taskdef"
)

// RetentionValues are the retention periods (days) CloudWatch Logs'
// PutRetentionPolicy accepts.
var retentionValues = []int32{1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653}

// RetentionValues returns the retention periods (days) CloudWatch Logs
// accepts, ascending.
func RetentionValues() []int32 { return slices.Clone(retentionValues) }

// Log group classes a policy may name.
const (
	ClassStandard         = "STANDARD"
	ClassInfrequentAccess = "INFREQUENT_ACCESS"
)

// MaxLogGroupTags is how many logGroupTags a policy may set: CloudWatch
// Logs allows 50 tags and ecslogfix adds ecslogfix:managed.
const MaxLogGroupTags = 49

// The patterns are compiled on first use, not at start-up: a function's
// cold start pays only for those its path needs (docs/performance.md,
// "Cold start").
var (
	kmsKeyARNRE = sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile(`^arn:aws[a-z-]*:kms:[a-z]{2,4}(-[a-z]+)+-[0-9]{1,2}:[0-9]{12}:key/[A-Za-z0-9-]{1,128}$`)
	})
	roleARNRE = sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile(`^arn:aws[a-z-]*:iam::([0-9]{12}|\{account\}):role/[A-Za-z0-9+=,.@_/-]{1,512}$`)
	})
	// canonicalSizeRE is the form of the sizes ecslogfix itself writes: a
	// subset of what ParseBufferSize accepts.
	canonicalSizeRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[1-9][0-9]{0,6}[kmg]$`) })
	placeholderRE   = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`\{[^{}]*\}`) })
	tagCharsRE      = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$`) })
	worstFamily     = strings.Repeat("f", 255)
)

// Validate reports the first invalid field as a *FieldError naming its JSON
// field. Fields are checked in declaration order.
func (p Policy) Validate() error {
	if err := p.validateDrivers(); err != nil {
		return err
	}
	if err := p.validateTemplate(); err != nil {
		return err
	}
	if !awslogs.ValidStreamPrefix(p.StreamPrefix) {
		return &FieldError{"streamPrefix", fmt.Sprintf("must be 1-%d characters without ':', '*' or spaces", awslogs.MaxStreamPrefix)}
	}
	if p.LogRegion != "" && !awsarn.ValidRegion(p.LogRegion) {
		return &FieldError{"logRegion", fmt.Sprintf("%q is not a region of a known partition (e.g. us-east-1)", p.LogRegion)}
	}
	if !slices.Contains(retentionValues, p.RetentionDays) {
		return &FieldError{"retentionDays", fmt.Sprintf("%d is not one of CloudWatch Logs' values %v", p.RetentionDays, retentionValues)}
	}
	if p.KMSKeyARN != "" && !kmsKeyARNRE().MatchString(p.KMSKeyARN) {
		return &FieldError{"kmsKeyArn", "must be a KMS key ARN (arn:aws:kms:REGION:ACCOUNT:key/ID); aliases are not accepted by CloudWatch Logs"}
	}
	switch p.LogGroupClass {
	case "", ClassStandard, ClassInfrequentAccess:
	default:
		return &FieldError{"logGroupClass", fmt.Sprintf("%q must be %s or %s", p.LogGroupClass, ClassStandard, ClassInfrequentAccess)}
	}
	switch p.Mode {
	case "", awslogs.ModeBlocking, awslogs.ModeNonBlocking:
	default:
		return &FieldError{"mode", fmt.Sprintf("%q must be %s or %s", p.Mode, awslogs.ModeBlocking, awslogs.ModeNonBlocking)}
	}
	if p.MaxBufferSize != "" {
		if !canonicalSizeRE().MatchString(p.MaxBufferSize) {
			return &FieldError{"maxBufferSize", fmt.Sprintf("%q must be a size such as 25m (number, then k, m or g)", p.MaxBufferSize)}
		}
		if p.Mode != awslogs.ModeNonBlocking {
			return &FieldError{"maxBufferSize", "is only allowed with mode non-blocking"}
		}
	}
	if err := p.validateDelivery(); err != nil {
		return err
	}
	switch p.OtherDrivers {
	case Replace, ReportDriver:
	default:
		return &FieldError{"otherDrivers", fmt.Sprintf("%q must be %s or %s", p.OtherDrivers, Replace, ReportDriver)}
	}
	if err := validateTag("exemptionTag", p.ExemptionTag.Key, p.ExemptionTag.Value); err != nil {
		return err
	}
	switch p.Enforcement {
	case Enforce, Report:
	default:
		return &FieldError{"enforcement", fmt.Sprintf("%q must be %s or %s", p.Enforcement, Enforce, Report)}
	}
	if p.DefaultExecutionRoleARN != "" && !roleARNRE().MatchString(p.DefaultExecutionRoleARN) {
		return &FieldError{"defaultExecutionRoleArn", "must be an IAM role ARN (arn:aws:iam::ACCOUNT:role/NAME)"}
	}
	if _, err := ParseRollout(string(p.Rollout)); err != nil {
		return &FieldError{"rollout", err.Error()}
	}
	switch p.DeregisterSource {
	case DeregisterNever, DeregisterAfterRollout:
	default:
		return &FieldError{"deregisterSource", fmt.Sprintf("%q must be %s or %s", p.DeregisterSource, DeregisterNever, DeregisterAfterRollout)}
	}
	if p.RolloutTimeoutMinutes < 1 || p.RolloutTimeoutMinutes > 1440 {
		return &FieldError{"rolloutTimeoutMinutes", fmt.Sprintf("%d is not in [1, 1440]", p.RolloutTimeoutMinutes)}
	}
	if p.RolloutPollSeconds < 1 || p.RolloutPollSeconds > 300 {
		return &FieldError{"rolloutPollSeconds", fmt.Sprintf("%d is not in [1, 300]", p.RolloutPollSeconds)}
	}
	if len(p.LogGroupTags) > MaxLogGroupTags {
		return &FieldError{"logGroupTags", fmt.Sprintf("%d tags; at most %d (ecslogfix adds ecslogfix:managed)", len(p.LogGroupTags), MaxLogGroupTags)}
	}
	keys := make([]string, 0, len(p.LogGroupTags))
	for k := range p.LogGroupTags {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if err := validateTag("logGroupTags", k, p.LogGroupTags[k]); err != nil {
			return err
		}
		if k == "ecslogfix:managed" {
			return &FieldError{"logGroupTags", "ecslogfix:managed is set by ecslogfix"}
		}
	}
	if err := p.validateLifecycle(); err != nil {
		return err
	}
	if field, problem := p.Exemptions.OutOfBounds(); field != "" {
		return &FieldError{"exemptions." + field, problem}
	}
	return nil
}

// validateDelivery checks requiredMode and minBufferSize against each
// other and against the mode ecslogfix adds.
func (p Policy) validateDelivery() error {
	switch p.RequiredMode {
	case awslogs.ModeAny, awslogs.ModeBlocking, awslogs.ModeNonBlocking:
	default:
		return &FieldError{"requiredMode", fmt.Sprintf("%q must be %s, %s or %s", p.RequiredMode, awslogs.ModeAny, awslogs.ModeBlocking, awslogs.ModeNonBlocking)}
	}
	if p.Mode != "" && p.RequiredMode != awslogs.ModeAny && p.Mode != p.RequiredMode {
		return &FieldError{"mode", fmt.Sprintf("%q contradicts requiredMode %q: the fix would add a mode the policy refuses", p.Mode, p.RequiredMode)}
	}
	if p.MinBufferSize == "" {
		return nil
	}
	if !canonicalSizeRE().MatchString(p.MinBufferSize) {
		return &FieldError{"minBufferSize", fmt.Sprintf("%q must be a size such as 25m (number, then k, m or g)", p.MinBufferSize)}
	}
	if p.RequiredMode == awslogs.ModeBlocking {
		return &FieldError{"minBufferSize", "applies to non-blocking mode only, and requiredMode is blocking"}
	}
	if p.MaxBufferSize != "" {
		have, _ := awslogs.ParseBufferSize(p.MaxBufferSize)
		min, _ := awslogs.ParseBufferSize(p.MinBufferSize)
		if have < min {
			return &FieldError{"maxBufferSize", fmt.Sprintf("%s is below minBufferSize %s: the fix would add a buffer the policy refuses", p.MaxBufferSize, p.MinBufferSize)}
		}
	}
	return nil
}

// validateLifecycle checks the log group patterns and the retention of
// existing groups.
func (p Policy) validateLifecycle() error {
	for _, pat := range p.LogGroupPatterns {
		if !validPattern(pat) {
			return &FieldError{"logGroupPatterns", fmt.Sprintf("%q is not a log group name pattern (1-512 of [.-_/#A-Za-z0-9] and *, not starting with aws/)", pat)}
		}
	}
	// The names the template yields must be names ecslogfix may create,
	// or every container it adds awslogs to would need a human.
	for _, name := range []string{p.LogGroupName(worstFamily, "container", "111122223333", "ap-southeast-7"), p.LogGroupName("f", "c", "111122223333", "us-east-1")} {
		if !p.MayCreate(name) {
			return &FieldError{"logGroupPatterns", fmt.Sprintf("%v does not admit %q, a name logGroupTemplate %q yields", p.GroupPatterns(), name, p.LogGroupTemplate)}
		}
	}
	switch p.ExistingGroupRetention {
	case RetentionKeep, RetentionSetIfNeverExpire, RetentionEnforce:
	default:
		return &FieldError{"existingGroupRetention", fmt.Sprintf("%q must be %s, %s or %s", p.ExistingGroupRetention, RetentionKeep, RetentionSetIfNeverExpire, RetentionEnforce)}
	}
	if p.AllowShorten && p.ExistingGroupRetention != RetentionEnforce {
		return &FieldError{"allowShorten", "applies to existingGroupRetention enforce only"}
	}
	return nil
}

func (p Policy) validateDrivers() error {
	if len(p.AllowedDrivers) == 0 {
		return &FieldError{"allowedDrivers", "must list at least awslogs"}
	}
	known := types.LogDriver("").Values()
	seen := map[string]bool{}
	for _, d := range p.AllowedDrivers {
		if !slices.Contains(known, types.LogDriver(d)) {
			return &FieldError{"allowedDrivers", fmt.Sprintf("%q is not an ECS log driver %v", d, known)}
		}
		if seen[d] {
			return &FieldError{"allowedDrivers", fmt.Sprintf("%q is listed twice", d)}
		}
		seen[d] = true
	}
	if !seen[awslogs.DriverAwslogs] {
		return &FieldError{"allowedDrivers", "must include awslogs (the fix writes awslogs)"}
	}
	return nil
}

func (p Policy) validateTemplate() error {
	t := p.LogGroupTemplate
	if t == "" {
		return &FieldError{"logGroupTemplate", "must not be empty"}
	}
	for _, ph := range placeholderRE().FindAllString(t, -1) {
		switch ph {
		case PlaceholderFamily, PlaceholderAccount, PlaceholderRegion, PlaceholderContainer:
		default:
			return &FieldError{"logGroupTemplate", fmt.Sprintf("unknown placeholder %s (known: {family}, {account}, {region}, {container})", ph)}
		}
	}
	// The longest family (255 characters), a 12-digit account and a long
	// region name. Container names are checked per plan: the plan is
	// blocked (INVALID_LOG_GROUP) when a real name overflows.
	name := p.LogGroupName(worstFamily, "container", "111122223333", "ap-southeast-7")
	if !awslogs.ValidLogGroupName(name) {
		return &FieldError{"logGroupTemplate", fmt.Sprintf("%q does not always expand to a valid log group name (1-512 of [.-_/#A-Za-z0-9], not starting with aws/, even with a 255-character family)", t)}
	}
	return nil
}

func validateTag(field, key, value string) error {
	switch {
	case key == "" || utf8.RuneCountInString(key) > taskdef.MaxTagKeyLength:
		return &FieldError{field, fmt.Sprintf("tag key %q must be 1-%d characters", key, taskdef.MaxTagKeyLength)}
	case utf8.RuneCountInString(value) > taskdef.MaxTagValueLength:
		return &FieldError{field, fmt.Sprintf("tag %q: value must be at most %d characters", key, taskdef.MaxTagValueLength)}
	case taskdef.IsReservedTagKey(key):
		return &FieldError{field, fmt.Sprintf("tag key %q: the aws: prefix is reserved", key)}
	case !utf8.ValidString(key) || !utf8.ValidString(value) || !tagCharsRE().MatchString(key) || !tagCharsRE().MatchString(value):
		return &FieldError{field, fmt.Sprintf("tag %q: only letters, digits, spaces and _.:/=+-@ are allowed", key)}
	}
	return nil
}
