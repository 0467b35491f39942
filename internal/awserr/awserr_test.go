package awserr

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

func api(code, msg string) error { return &smithy.GenericAPIError{Code: code, Message: msg} }

var (
	concurrent = &types.ClientException{Message: aws.String("Too many concurrent attempts to create a new revision of the specified family.")}
	resp503    = &smithyhttp.ResponseError{Response: &smithyhttp.Response{Response: &http.Response{StatusCode: 503}}, Err: errors.New("unavailable")}
)

func TestTransient(t *testing.T) {
	for name, tc := range map[string]struct {
		err                 error
		transient, throttle bool
	}{
		"ThrottlingException":                  {api("ThrottlingException", "Rate exceeded"), true, true},
		"ECS Rate exceeded as ClientException": {&types.ClientException{Message: aws.String("Rate exceeded")}, true, true},
		"ECS ServerException":                  {&types.ServerException{Message: aws.String("boom")}, true, false},
		"HTTP 503 without a code":              {resp503, true, false},
		"after the SDK's retries":              {&retry.MaxAttemptsError{Attempt: 5, Err: api("TooManyRequestsException", "")}, true, true},
		"wrapped":                              {fmt.Errorf("register: %w", api("ServiceUnavailableException", "")), false, false},
		"SNS Throttled":                        {api("Throttled", ""), true, true},
		"Logs OperationAborted":                {api("OperationAbortedException", ""), true, true},
		"connection refused":                   {&smithyhttp.RequestSendError{Err: errors.New("dial tcp 127.0.0.1:1: connect: connection refused")}, true, false},
		"concurrent revision":                  {concurrent, true, false},
		"other client error":                   {&types.ClientException{Message: aws.String("Fargate requires task definition to have execution role ARN to support log driver awslogs.")}, false, false},
		"access denied":                        {api("AccessDeniedException", ""), false, false},
		"logs quota":                           {api("LimitExceededException", "Resource limit exceeded."), false, false},
		"cancelled":                            {fmt.Errorf("x: %w", context.Canceled), false, false},
		"plain":                                {errors.New("plain"), false, false},
		"nil":                                  {nil, false, false},
	} {
		if got := IsTransient(tc.err); got != tc.transient {
			t.Errorf("%s: IsTransient = %v", name, got)
		}
		if got := IsThrottle(tc.err); got != tc.throttle {
			t.Errorf("%s: IsThrottle = %v", name, got)
		}
	}
}

// A ServiceUnavailableException modelled as a server fault is transient
// by its fault, whatever its name.
func TestServerFaultIsTransient(t *testing.T) {
	if !IsTransient(&smithy.GenericAPIError{Code: "ServiceUnavailableException", Fault: smithy.FaultServer}) {
		t.Fatal("server fault")
	}
}

func TestRetryable(t *testing.T) {
	for err, want := range map[error]aws.Ternary{
		concurrent:                        aws.TrueTernary,
		api("Throttled", ""):              aws.TrueTernary,
		api("LimitExceededException", ""): aws.FalseTernary,
		&types.ClientException{Message: aws.String("Invalid family")}: aws.UnknownTernary,
	} {
		if got := Retryable(err); got != want {
			t.Errorf("Retryable(%v) = %v, want %v", err, got, want)
		}
	}
}

func TestPredicates(t *testing.T) {
	if !IsConcurrentRevision(fmt.Errorf("x: %w", &retry.MaxAttemptsError{Err: concurrent})) || IsConcurrentRevision(api("ClientException", "Invalid")) {
		t.Error("IsConcurrentRevision")
	}
	for _, err := range []error{
		&types.ClientException{Message: aws.String("Unable to describe task definition.")},
		api("InvalidParameterException", "The specified task definition does not exist."),
	} {
		if !IsTaskDefinitionNotFound(err) {
			t.Errorf("not found: %v", err)
		}
	}
	for _, err := range []error{concurrent, errors.New("Unable to describe task definition"), api("AccessDeniedException", "not found")} {
		if IsTaskDefinitionNotFound(err) {
			t.Errorf("false positive: %v", err)
		}
	}
	if !IsAlreadyExists(api("ResourceAlreadyExistsException", "")) || IsAlreadyExists(api("ClientException", "")) {
		t.Error("IsAlreadyExists")
	}
	for code, want := range map[string]Auth{"AccessDeniedException": AuthDenied, "AccessDenied": AuthDenied, "InvalidClientTokenId": AuthInvalid,
		"ExpiredToken": AuthExpired, "OptInRequired": AuthRegionOptOut, "ThrottlingException": AuthNone} {
		if got := AuthOf(fmt.Errorf("x: %w", api(code, ""))); got != want {
			t.Errorf("AuthOf(%s) = %q, want %q", code, got, want)
		}
	}
	if Code(errors.New("x")) != "" || Code(api("A", "m")) != "A" || Message(api("A", "m")) != "m" {
		t.Error("Code/Message")
	}
}
