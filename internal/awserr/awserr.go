// Package awserr tells what an AWS error means for ecslogfix: transient
// (retry later), throttling, a concurrent ECS revision, a task definition
// that cannot be described, or a credential problem. It builds on the SDK's
// own lists (retry.DefaultThrottles, retry.DefaultRetryables) and adds only
// the documented cases the SDK does not know; every function and the CLI
// ask here.
package awserr

import (
	"context"
	"errors"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/smithy-go"
)

// Code returns the API error code of err, or "".
func Code(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

// Message returns the API error message of err, or "".
func Message(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorMessage()
	}
	return ""
}

// Codes the SDK's lists do not hold, each a documented transient answer.
var extraTransient = map[string]bool{
	"Throttled":                 true, // SNS (query protocol) throttling
	"OperationAbortedException": true, // CloudWatch Logs: a conflicting operation on the same resource
	"KMSThrottlingException":    true, // a service throttled by KMS on our behalf (log group keys)
}

// quota are codes the SDK counts as throttling that mean a resource quota
// in the services ecslogfix calls (CloudWatch Logs: too many log groups;
// EventBridge, ECS: a resource limit): no retry can succeed.
var quota = map[string]bool{"LimitExceededException": true}

// concurrentRevision is the message of ECS's ClientException when
// registrations of one family overlap ("Too many concurrent attempts to
// create a new revision of the specified family"); nothing was registered.
const concurrentRevision = "Too many concurrent attempts"

// IsConcurrentRevision reports whether err is ECS's concurrent-revision
// ClientException, which the SDK does not retry.
func IsConcurrentRevision(err error) bool {
	return Code(err) == "ClientException" && strings.Contains(Message(err), concurrentRevision)
}

// IsQuota reports whether err is a resource quota (never transient).
func IsQuota(err error) bool { return quota[Code(err)] }

// IsThrottle reports whether err is throttling: the SDK's throttle checks,
// ECS's "Rate exceeded" ClientException, and the extra codes above.
func IsThrottle(err error) bool {
	if err == nil || IsQuota(err) {
		return false
	}
	if retry.IsErrorThrottles(retry.DefaultThrottles).IsErrorThrottle(err) == aws.TrueTernary {
		return true
	}
	return extraTransient[Code(err)] || strings.Contains(Message(err), "Rate exceeded")
}

// IsTransient reports whether err may succeed when tried again later:
// throttling, a server-side fault, a timeout, a connection that failed or
// got no answer, ECS's concurrent revision, or any of these after the SDK's
// retries were spent. A cancelled context and a quota are not.
func IsTransient(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) || IsQuota(err) {
		return false
	}
	var me *retry.MaxAttemptsError
	if errors.As(err, &me) {
		return IsTransient(me.Err)
	}
	if IsThrottle(err) || IsConcurrentRevision(err) {
		return true
	}
	var ae smithy.APIError
	if errors.As(err, &ae) && ae.ErrorFault() == smithy.FaultServer {
		return true
	}
	var te interface{ Timeout() bool }
	if errors.As(err, &te) && te.Timeout() {
		return true
	}
	return retry.IsErrorRetryables(retry.DefaultRetryables).IsErrorRetryable(err) == aws.TrueTernary
}

// Retryable is the attempt-level rule the SDK retryer adds in front of its
// own (awsclient): retry ECS's concurrent revision and the extra transient
// codes; never retry a quota.
func Retryable(err error) aws.Ternary {
	switch {
	case IsQuota(err):
		return aws.FalseTernary
	case IsConcurrentRevision(err), extraTransient[Code(err)]:
		return aws.TrueTernary
	}
	return aws.UnknownTernary
}

// IsTaskDefinitionNotFound reports whether err is ECS's answer to a
// Describe or Deregister of a family or revision it cannot find (deleted,
// INACTIVE with nothing referencing it, or a family without ACTIVE
// revisions): "ClientException: Unable to describe task definition.", or
// the "does not exist" / "not found" wordings of the same answer.
func IsTaskDefinitionNotFound(err error) bool {
	switch Code(err) {
	case "ClientException", "InvalidParameterException":
	default:
		return false
	}
	m := strings.ToLower(Message(err))
	return strings.Contains(m, "unable to describe task definition") || strings.Contains(m, "does not exist") || strings.Contains(m, "not found")
}

// IsAlreadyExists reports whether err says the resource exists already
// (CloudWatch Logs' ResourceAlreadyExistsException, Step Functions'
// ExecutionAlreadyExists).
func IsAlreadyExists(err error) bool {
	switch Code(err) {
	case "ResourceAlreadyExistsException", "ExecutionAlreadyExists":
		return true
	}
	return false
}

// Auth is the kind of a credential or permission problem.
type Auth string

// Kinds of Auth.
const (
	AuthNone         Auth = ""
	AuthDenied       Auth = "denied"        // the credentials lack a permission (or an SCP denies it)
	AuthInvalid      Auth = "invalid"       // the credentials are not valid
	AuthExpired      Auth = "expired"       // the credentials have expired
	AuthRegionOptOut Auth = "region-opt-in" // the region is not enabled for the account
)

// AuthOf classifies a credential or permission error; AuthNone for any
// other error.
func AuthOf(err error) Auth {
	switch Code(err) {
	case "AccessDeniedException", "AccessDenied", "UnauthorizedOperation", "UnauthorizedException", "AuthorizationError":
		return AuthDenied
	case "UnrecognizedClientException", "InvalidClientTokenId", "InvalidSignatureException", "SignatureDoesNotMatch", "IncompleteSignature":
		return AuthInvalid
	case "ExpiredToken", "ExpiredTokenException", "RequestExpired":
		return AuthExpired
	case "OptInRequired":
		return AuthRegionOptOut
	}
	return AuthNone
}
