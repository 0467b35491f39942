// Package cloudtrail parses EventBridge-wrapped CloudTrail records of ECS
// RegisterTaskDefinition calls, strictly. Pure: no AWS calls.
package cloudtrail

import "errors"

// CONTRACT STUBS — replaced by the real implementation.

// Principal is who made the call.
type Principal struct {
	Type      string // IAMUser, AssumedRole, AWSService, Root, FederatedUser, ...
	ARN       string
	RoleARN   string // AssumedRole: sessionContext.sessionIssuer.arn
	AccountID string
	UserName  string // IAM user name, or the role session name
	InvokedBy string
}

// Origin is the tool that registered the task definition.
type Origin struct {
	Tool   string // cloudformation, terraform, cdk, copilot, pulumi, cli, console, sdk, unknown
	Detail string
}

// Registration is one parsed RegisterTaskDefinition call.
type Registration struct {
	EventID           string
	Account           string // the event's account (recipient)
	Region            string
	TaskDefinitionARN string // from responseElements; built from family when omitted (then Revision is 0)
	Family            string
	Revision          int32
	ErrorCode         string
	ErrorMessage      string
	Principal         Principal
	Origin            Origin
	UserAgent         string
}

// Failed reports whether the call failed.
func (r Registration) Failed() bool { return r.ErrorCode != "" }

// Error is a typed parse error.
type Error struct {
	Kind  string // e.g. "malformed", "not-cloudtrail", "spoofed", "wrong-event", "missing-field"
	Field string
	Msg   string
}

func (e *Error) Error() string { return "cloudtrail: " + e.Kind + ": " + e.Field + ": " + e.Msg }

// Parse parses an EventBridge event.
func Parse(data []byte) (Registration, error) { return Registration{}, errors.New("not implemented") }
