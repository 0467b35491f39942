package workflow

import (
	"errors"
	"net/http"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// Classification of AWS errors into the error types above, shared by every
// function so the state machine's Retry sees one vocabulary.

// concurrentRevisionMessage is the text of ECS's ClientException when
// registrations to one family overlap.
const concurrentRevisionMessage = "Too many concurrent attempts"

// throttleCodes are API error codes that mean "slow down" or "the service
// had a transient problem": the workflow retries them with backoff.
var throttleCodes = map[string]bool{
	"Throttling":                  true,
	"ThrottlingException":         true,
	"ThrottledException":          true,
	"RequestThrottled":            true,
	"RequestThrottledException":   true,
	"TooManyRequestsException":    true,
	"RequestLimitExceeded":        true,
	"ServerException":             true, // ECS's 5xx
	"ServiceUnavailable":          true,
	"ServiceUnavailableException": true,
	"InternalFailure":             true,
	"InternalServerError":         true,
	"InternalServerException":     true,
	"OperationAbortedException":   true, // CloudWatch Logs: concurrent conflicting request
	"RequestTimeout":              true,
	"RequestTimeoutException":     true,
	"Throttled":                   true, // SNS (query protocol); the SDK does not retry it
	"KMSThrottlingException":      true,
	"InternalError":               true,
	"InternalErrorException":      true,
}

// IsConcurrentRevision reports whether err is ECS's "Too many concurrent
// attempts to create a new revision of the specified family".
func IsConcurrentRevision(err error) bool {
	var ae smithy.APIError
	return errors.As(err, &ae) && ae.ErrorCode() == "ClientException" &&
		strings.Contains(ae.ErrorMessage(), concurrentRevisionMessage)
}

// IsThrottle reports whether err is throttling or a transient server error
// (after the SDK's own retries).
func IsThrottle(err error) bool {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		if throttleCodes[ae.ErrorCode()] || strings.Contains(ae.ErrorMessage(), "Rate exceeded") {
			return true
		}
	}
	var re *smithyhttp.ResponseError
	if errors.As(err, &re) && re.HTTPStatusCode() >= http.StatusInternalServerError {
		return true
	}
	var te interface{ Timeout() bool }
	if errors.As(err, &te) && te.Timeout() {
		return true
	}
	// The request never got an answer (connection refused or reset):
	// transient, and the SDK's retries are spent.
	var se *smithyhttp.RequestSendError
	if errors.As(err, &se) {
		return true
	}
	var me *retry.MaxAttemptsError
	return errors.As(err, &me) && IsThrottle(me.Err)
}

// Classify wraps err in the workflow error type the state machine's Retry
// and Catch match: ConcurrentRevisionError, ThrottledError, or err itself
// (already typed errors are returned unchanged). The wrapper must be the
// outermost error a handler returns: the Lambda runtime reports the
// outermost type's name as errorType.
func Classify(err error) error {
	if err == nil {
		return nil
	}
	var (
		te *ThrottledError
		ce *ConcurrentRevisionError
		ie *InvalidInputError
	)
	switch {
	case errors.As(err, &ce):
		return ce
	case errors.As(err, &ie):
		return ie
	case errors.As(err, &te):
		return te
	case IsConcurrentRevision(err):
		return &ConcurrentRevisionError{Err: err}
	case IsThrottle(err):
		return &ThrottledError{Err: err}
	}
	return err
}
