package cloudtrail

import (
	"bytes"
	"cmp"
	"encoding/json"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/ecslogfix/ecslogfix/internal/awsarn"
	"github.com/ecslogfix/ecslogfix/internal/taskdef"
)

// envelope is the part of the EventBridge event Parse reads.
type envelope struct {
	DetailType *string `json:"detail-type"`
	Source     *string `json:"source"`
	Account    string  `json:"account"`
	Region     string  `json:"region"`
	Detail     *detail `json:"detail"`
}

// detail is the part of the CloudTrail record Parse reads.
type detail struct {
	EventVersion                 *string            `json:"eventVersion"`
	UserIdentity                 *userIdentity      `json:"userIdentity"`
	EventSource                  *string            `json:"eventSource"`
	EventName                    *string            `json:"eventName"`
	AWSRegion                    string             `json:"awsRegion"`
	SourceIPAddress              string             `json:"sourceIPAddress"`
	UserAgent                    string             `json:"userAgent"`
	ErrorCode                    string             `json:"errorCode"`
	ErrorMessage                 string             `json:"errorMessage"`
	RequestParameters            *requestParameters `json:"requestParameters"`
	ResponseElements             *responseElements  `json:"responseElements"`
	EventID                      string             `json:"eventID"`
	EventTime                    string             `json:"eventTime"`
	RecipientAccountID           string             `json:"recipientAccountId"`
	SessionCredentialFromConsole flexBool           `json:"sessionCredentialFromConsole"`
}

type userIdentity struct {
	Type           string          `json:"type"`
	ARN            string          `json:"arn"`
	AccountID      string          `json:"accountId"`
	UserName       string          `json:"userName"`
	InvokedBy      string          `json:"invokedBy"`
	SessionContext *sessionContext `json:"sessionContext"`
}

type sessionContext struct {
	SessionIssuer *sessionIssuer `json:"sessionIssuer"`
}

type sessionIssuer struct {
	Type     string `json:"type"`
	ARN      string `json:"arn"`
	UserName string `json:"userName"`
}

type requestParameters struct {
	Family *string `json:"family"`
	Tags   []tag   `json:"tags"`
}

type responseElements struct {
	TaskDefinition *struct {
		TaskDefinitionArn *string `json:"taskDefinitionArn"`
	} `json:"taskDefinition"`
	Tags []tag `json:"tags"`
}

type tag struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// flexBool accepts CloudTrail's "true"/"false" strings as well as JSON
// booleans; anything else is false.
type flexBool bool

func (b *flexBool) UnmarshalJSON(data []byte) error {
	s := strings.Trim(string(data), `"`)
	*b = flexBool(strings.EqualFold(s, "true"))
	return nil
}

// Parse parses an EventBridge event carrying a CloudTrail record of an ECS
// RegisterTaskDefinition call. It checks, in order: size (MaxEventBytes),
// JSON shape, detail-type, source, detail.eventSource (exactly
// "ecs.amazonaws.com"), eventName, eventVersion (major 1, any minor),
// account (12 digits), region, eventID, and that detail.awsRegion,
// detail.recipientAccountId and the task-definition ARN agree with the
// envelope. A failed call (errorCode set) parses without an ARN. Errors are
// *Error; Parse never panics.
func Parse(data []byte) (Registration, error) {
	if len(data) > MaxEventBytes {
		return Registration{}, newError(KindTooLarge, "", "event is %d bytes, more than %d", len(data), MaxEventBytes)
	}
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) == 0 || trimmed[0] != '{' {
		return Registration{}, newError(KindMalformed, "", "event is not a JSON object")
	}
	var env envelope
	if err := json.Unmarshal(trimmed, &env); err != nil {
		return Registration{}, malformed(err)
	}
	if err := checkEnvelope(&env); err != nil {
		return Registration{}, err
	}
	d := env.Detail
	r := Registration{
		EventID:   d.EventID,
		Account:   env.Account,
		Region:    env.Region,
		UserAgent: d.UserAgent,
		Principal: principal(d.UserIdentity),
	}
	// Only for the registration-to-remediation time: a time CloudTrail did
	// not write in its format is left out, never guessed.
	if t, err := time.Parse(time.RFC3339, d.EventTime); err == nil {
		r.EventTime = t.UTC()
	}
	r.Origin = detectOrigin(d)
	if d.ErrorCode != "" {
		r.ErrorCode, r.ErrorMessage = truncate(d.ErrorCode, 128), truncate(d.ErrorMessage, MaxErrorMessageBytes)
		if p := d.RequestParameters; p != nil && p.Family != nil && taskdef.ValidFamily(*p.Family) == nil {
			r.Family = *p.Family
		}
		return r, nil
	}
	if err := resolveTaskDefinition(&r, d); err != nil {
		return Registration{}, err
	}
	return r, nil
}

// malformed converts a JSON decoding error into an *Error naming the field
// when encoding/json reports one. The message never quotes the body.
func malformed(err error) *Error {
	if te, ok := err.(*json.UnmarshalTypeError); ok {
		field := te.Field
		if field == "" {
			field = "(root)"
		}
		return newError(KindMalformed, field, "JSON %s where %s was expected", te.Value, te.Type)
	}
	if se, ok := err.(*json.SyntaxError); ok {
		return newError(KindMalformed, "", "invalid JSON at byte %d", se.Offset)
	}
	return newError(KindMalformed, "", "invalid JSON")
}

func checkEnvelope(env *envelope) error {
	if err := fixed("detail-type", env.DetailType, DetailType, KindNotCloudTrail); err != nil {
		return err
	}
	if s := env.Source; s != nil && *s != Source && isAWSServiceSource(*s) {
		return newError(KindWrongEvent, "source", "%s is another service's event", quote(*s))
	}
	if err := fixed("source", env.Source, Source, KindSpoofed); err != nil {
		return err
	}
	if env.Detail == nil {
		return newError(KindMissingField, "detail", "absent")
	}
	d := env.Detail
	if err := cmp.Or(fixed("detail.eventSource", d.EventSource, EventSource, KindSpoofed),
		fixed("detail.eventName", d.EventName, EventName, KindWrongEvent), checkVersion(d.EventVersion)); err != nil {
		return err
	}
	switch {
	case env.Account == "":
		return newError(KindMissingField, "account", "absent")
	case !awsarn.ValidAccount(env.Account):
		return newError(KindInvalidField, "account", "%s is not a 12-digit account ID", quote(env.Account))
	case env.Region == "":
		return newError(KindMissingField, "region", "absent")
	case !awsarn.ValidRegion(env.Region):
		return newError(KindInvalidField, "region", "%s is not a region name", quote(env.Region))
	case d.EventID == "":
		return newError(KindMissingField, "detail.eventID", "absent")
	case !validEventID(d.EventID):
		return newError(KindInvalidField, "detail.eventID", "%s is not an event ID", quote(d.EventID))
	case d.AWSRegion != "" && d.AWSRegion != env.Region:
		return newError(KindSpoofed, "detail.awsRegion", "%s differs from the event region %s", quote(d.AWSRegion), quote(env.Region))
	case d.RecipientAccountID != "" && d.RecipientAccountID != env.Account:
		return newError(KindSpoofed, "detail.recipientAccountId", "%s differs from the event account %s", quote(d.RecipientAccountID), quote(env.Account))
	}
	return nil
}

// isAWSServiceSource reports whether s looks like a genuine AWS service
// source "aws.<service>" (one lowercase word, no further dots).
// fixed checks a field that must be present and hold the one value want:
// absent or empty is KindMissingField, any other value is kind.
func fixed(field string, v *string, want, kind string) error {
	switch {
	case v == nil || *v == "":
		return newError(KindMissingField, field, "absent")
	case *v != want:
		return newError(kind, field, "%s is not %q", quote(*v), want)
	}
	return nil
}

func isAWSServiceSource(s string) bool {
	svc, ok := strings.CutPrefix(s, "aws.")
	if !ok || svc == "" {
		return false
	}
	for i := 0; i < len(svc); i++ {
		c := svc[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// checkVersion accepts "1.<minor>" for any decimal minor.
func checkVersion(v *string) error {
	if v == nil || *v == "" {
		return newError(KindMissingField, "detail.eventVersion", "absent")
	}
	major, minor, ok := strings.Cut(*v, ".")
	if !ok || !isDigits(major) || !isDigits(minor) {
		return newError(KindInvalidField, "detail.eventVersion", "%s is not MAJOR.MINOR", quote(*v))
	}
	if n, err := strconv.Atoi(major); err != nil || n != SupportedMajorVersion {
		return newError(KindUnsupportedVersion, "detail.eventVersion", "%s: only major version %d is supported", quote(*v), SupportedMajorVersion)
	}
	return nil
}

func isDigits(s string) bool {
	if s == "" || len(s) > 9 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// validEventID accepts up to 128 printable ASCII characters (CloudTrail
// uses GUIDs); the ID is used as a deduplication key.
func validEventID(s string) bool {
	if len(s) > 128 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] > '~' {
			return false
		}
	}
	return true
}

// resolveTaskDefinition fills the ARN, family and revision of a successful
// call from responseElements, else from requestParameters.family.
func resolveTaskDefinition(r *Registration, d *detail) error {
	if re := d.ResponseElements; re != nil && re.TaskDefinition != nil && re.TaskDefinition.TaskDefinitionArn != nil {
		const field = "detail.responseElements.taskDefinition.taskDefinitionArn"
		a, err := taskdef.ParseARN(*re.TaskDefinition.TaskDefinitionArn)
		if err != nil {
			return newError(KindInvalidField, field, "not a task-definition ARN")
		}
		if a.Account != r.Account || a.Region != r.Region {
			return newError(KindSpoofed, field, "ARN account/region %s/%s differ from the event's %s/%s", a.Account, a.Region, r.Account, r.Region)
		}
		if p := d.RequestParameters; p != nil && p.Family != nil && *p.Family != a.Family {
			return newError(KindSpoofed, "detail.requestParameters.family", "family %s differs from the registered ARN's", quote(*p.Family))
		}
		r.TaskDefinitionARN, r.Family, r.Revision = a.String(), a.Family, a.Revision
		return nil
	}
	const field = "detail.requestParameters.family"
	p := d.RequestParameters
	if p == nil || p.Family == nil || *p.Family == "" {
		return newError(KindMissingField, field, "responseElements omitted and no family in requestParameters")
	}
	if err := taskdef.ValidFamily(*p.Family); err != nil {
		return newError(KindInvalidField, field, "%v", err)
	}
	a := taskdef.ARN{Partition: awsarn.PartitionOr(r.Region, "aws"), Region: r.Region, Account: r.Account, Family: *p.Family}
	r.TaskDefinitionARN, r.Family, r.Revision = a.String(), a.Family, 0
	return nil
}

// principal maps userIdentity, guarding every optional part.
func principal(u *userIdentity) Principal {
	if u == nil {
		return Principal{}
	}
	p := Principal{Type: u.Type, ARN: u.ARN, AccountID: u.AccountID, UserName: u.UserName, InvokedBy: u.InvokedBy}
	switch u.Type {
	case "AssumedRole":
		if sc := u.SessionContext; sc != nil && sc.SessionIssuer != nil {
			p.RoleARN = sc.SessionIssuer.ARN
		}
		// arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION
		if _, res, ok := strings.Cut(u.ARN, ":assumed-role/"); ok {
			if _, session, ok := strings.Cut(res, "/"); ok {
				p.UserName = session
			}
		}
	case "FederatedUser":
		if _, name, ok := strings.Cut(u.ARN, ":federated-user/"); ok {
			p.UserName = name
		}
	case "AWSService":
		// Only invokedBy is meaningful; ignore anything else.
		p = Principal{Type: u.Type, InvokedBy: u.InvokedBy}
	}
	return p
}

// cfnTags returns the tags in the response, else in the request.
func cfnTags(d *detail) []tag {
	var out []tag
	if d.ResponseElements != nil {
		out = append(out, d.ResponseElements.Tags...)
	}
	if d.RequestParameters != nil {
		out = append(out, d.RequestParameters.Tags...)
	}
	return out
}

// truncate cuts s to at most n bytes without splitting a UTF-8 sequence.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

func lastSegment(arn string) string {
	if i := strings.LastIndexByte(arn, '/'); i >= 0 {
		return arn[i+1:]
	}
	return arn
}
