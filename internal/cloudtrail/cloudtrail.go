// Package cloudtrail parses EventBridge-wrapped CloudTrail records of ECS
// RegisterTaskDefinition calls, strictly. Pure: no AWS calls.
//
// Only the few fields the pipeline needs are decoded, into small local
// structs: never the SDK's task-definition types (the timestamps inside
// responseElements are not ISO 8601), and never the container definitions,
// whose environment values must not travel further. Unknown fields are
// ignored; a field the parser needs that is missing, of the wrong type or of
// the wrong shape is a typed *Error.
package cloudtrail

import (
	"fmt"
	"strings"
	"time"
)

// The envelope values Parse requires.
const (
	// Source is the EventBridge source of ECS events.
	Source = "aws.ecs"
	// DetailType is the EventBridge detail-type of CloudTrail API calls.
	DetailType = "AWS API Call via CloudTrail"
	// EventSource is CloudTrail's eventSource for ECS.
	EventSource = "ecs.amazonaws.com"
	// EventName is the only API call Parse accepts.
	EventName = "RegisterTaskDefinition"
	// SupportedMajorVersion is the CloudTrail eventVersion major Parse
	// accepts; any minor is accepted.
	SupportedMajorVersion = 1
)

// MaxEventBytes is the largest body Parse decodes (1 MiB, four times
// EventBridge's 256 KiB event limit). Larger bodies are rejected unread.
const MaxEventBytes = 1 << 20

// MaxErrorMessageBytes caps Registration.ErrorMessage (the service's error
// text); longer messages are cut at a UTF-8 boundary.
const MaxErrorMessageBytes = 1024

// Kind values of *Error: stable strings, safe to log and to match on.
const (
	// KindTooLarge: the body exceeds MaxEventBytes.
	KindTooLarge = "too-large"
	// KindMalformed: not JSON, not an object, or a needed field has the
	// wrong JSON type.
	KindMalformed = "malformed"
	// KindNotCloudTrail: detail-type is not DetailType (e.g. a native ECS
	// state-change event).
	KindNotCloudTrail = "not-cloudtrail"
	// KindSpoofed: the event claims to be an ECS CloudTrail record but its
	// origin fields are inconsistent: custom or look-alike source, wrong
	// eventSource, account or region disagreeing with the envelope.
	KindSpoofed = "spoofed"
	// KindWrongEvent: a genuine-looking CloudTrail event for another AWS
	// service or another ECS API call.
	KindWrongEvent = "wrong-event"
	// KindUnsupportedVersion: eventVersion's major is not
	// SupportedMajorVersion.
	KindUnsupportedVersion = "unsupported-version"
	// KindMissingField: a required field is absent, null or empty.
	KindMissingField = "missing-field"
	// KindInvalidField: a required field is present but has the wrong
	// shape (account, region, ARN, family, event ID).
	KindInvalidField = "invalid-field"
)

// Tool values of Origin.
const (
	ToolCloudFormation = "cloudformation"
	ToolTerraform      = "terraform"
	ToolCDK            = "cdk"
	ToolCopilot        = "copilot"
	ToolPulumi         = "pulumi"
	ToolCLI            = "cli"
	ToolConsole        = "console"
	ToolSDK            = "sdk"
	ToolUnknown        = "unknown"
)

// Principal is who made the call.
type Principal struct {
	Type      string // IAMUser, AssumedRole, AWSService, Root, FederatedUser, ...
	ARN       string
	RoleARN   string // AssumedRole: sessionContext.sessionIssuer.arn
	AccountID string
	UserName  string // IAM user name, or the role session name
	InvokedBy string
}

// Name is a short human-readable name for the principal: the user or
// session name, else the role name, else the calling service, else the
// type (e.g. "Root").
func (p Principal) Name() string {
	switch {
	case p.UserName != "":
		return p.UserName
	case p.RoleARN != "":
		return lastSegment(p.RoleARN)
	case p.InvokedBy != "":
		return p.InvokedBy
	default:
		return p.Type
	}
}

// IsSSO reports whether the principal is an IAM Identity Center (SSO)
// session: an assumed role named AWSReservedSSO_*.
func (p Principal) IsSSO() bool {
	return p.Type == "AssumedRole" && strings.HasPrefix(lastSegment(p.RoleARN), "AWSReservedSSO_")
}

// Origin is the tool that registered the task definition.
type Origin struct {
	Tool   string // cloudformation, terraform, cdk, copilot, pulumi, cli, console, sdk, unknown
	Detail string // e.g. the stack name, or the user-agent token "terraform-provider-aws/5.80.0"
}

// Registration is one parsed RegisterTaskDefinition call.
type Registration struct {
	EventID string
	Account string // the event's account (recipient)
	Region  string
	// TaskDefinitionARN comes from responseElements. When CloudTrail
	// omitted the response it is built from requestParameters.family
	// without a revision (arn:…:task-definition/FAMILY) and Revision is 0:
	// resolve the latest revision with DescribeTaskDefinition. Empty for
	// failed calls.
	TaskDefinitionARN string
	Family            string // empty for a failed call whose request was omitted
	Revision          int32
	ErrorCode         string
	ErrorMessage      string
	Principal         Principal
	Origin            Origin
	UserAgent         string
	// EventTime is when the call was made (zero when CloudTrail's
	// eventTime is missing or not RFC 3339).
	EventTime time.Time
}

// Failed reports whether the call failed.
func (r Registration) Failed() bool { return r.ErrorCode != "" }

// Error is a typed parse error. Its text never contains request or response
// bodies, only field names and short envelope values.
type Error struct {
	Kind  string // one of the Kind* constants
	Field string // JSON path of the offending field, e.g. "detail.eventSource"
	Msg   string
}

func (e *Error) Error() string {
	if e.Field == "" {
		return "cloudtrail: " + e.Kind + ": " + e.Msg
	}
	return "cloudtrail: " + e.Kind + ": " + e.Field + ": " + e.Msg
}

// Is makes errors.Is(err, &Error{Kind: k}) match any *Error of kind k (and
// of field f when the target names one).
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	if !ok {
		return false
	}
	return t.Kind == e.Kind && (t.Field == "" || t.Field == e.Field)
}

func newError(kind, field, format string, args ...any) *Error {
	return &Error{Kind: kind, Field: field, Msg: fmt.Sprintf(format, args...)}
}

// quote formats an untrusted value for an error message: quoted, at most
// 64 bytes.
func quote(s string) string {
	if len(s) > 64 {
		s = s[:64] + "…"
	}
	return fmt.Sprintf("%q", s)
}
