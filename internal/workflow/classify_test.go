package workflow

import (
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// typeName is the name the Lambda runtime reports as errorType.
func typeName(err error) string {
	t := reflect.TypeOf(err)
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t.Name()
}

func TestClassify(t *testing.T) {
	resp503 := &smithyhttp.ResponseError{Response: &smithyhttp.Response{Response: &http.Response{StatusCode: 503}}, Err: errors.New("unavailable")}
	tests := []struct {
		name string
		err  error
		want string // type name of the result
	}{
		{"ThrottlingException", &smithy.GenericAPIError{Code: "ThrottlingException", Message: "Rate exceeded"}, ErrThrottled},
		{"ECS Rate exceeded as ClientException", &types.ClientException{Message: aws.String("Rate exceeded")}, ErrThrottled},
		{"ECS ServerException", &types.ServerException{Message: aws.String("boom")}, ErrThrottled},
		{"HTTP 503 without a code", resp503, ErrThrottled},
		{"after the SDK's retries", &retry.MaxAttemptsError{Attempt: 5, Err: &smithy.GenericAPIError{Code: "TooManyRequestsException"}}, ErrThrottled},
		{"wrapped server fault", fmt.Errorf("register: %w", &smithy.GenericAPIError{Code: "ServiceUnavailableException", Fault: smithy.FaultServer}), ErrThrottled},
		{"concurrent revision", &types.ClientException{Message: aws.String("Too many concurrent attempts to create a new revision of the specified family.")}, ErrConcurrentRevision},
		{"concurrent revision after retries", fmt.Errorf("x: %w", &retry.MaxAttemptsError{Err: &types.ClientException{Message: aws.String("Too many concurrent attempts to create a new revision of the specified family.")}}), ErrConcurrentRevision},
		{"already classified", fmt.Errorf("x: %w", &InvalidInputError{Err: errors.New("bad")}), ErrInvalidInput},
		{"other client error", &types.ClientException{Message: aws.String("Fargate requires task definition to have execution role ARN to support log driver awslogs.")}, "ClientException"},
		{"access denied", &smithy.GenericAPIError{Code: "AccessDeniedException"}, "GenericAPIError"},
		{"logs limit", &smithy.GenericAPIError{Code: "LimitExceededException"}, "GenericAPIError"},
		{"plain", errors.New("plain"), "errorString"},
		{"SNS Throttled", &smithy.GenericAPIError{Code: "Throttled"}, ErrThrottled},
		{"connection refused", &smithyhttp.RequestSendError{Err: errors.New("dial tcp 127.0.0.1:1: connect: connection refused")}, ErrThrottled},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := Classify(tc.err)
			if typeName(got) != tc.want {
				t.Fatalf("Classify = %T (%v), want %s", got, got, tc.want)
			}
			if !errors.Is(got, tc.err) && !errors.Is(tc.err, got) {
				t.Errorf("classification lost the cause: %v", got)
			}
		})
	}
	if Classify(nil) != nil {
		t.Fatal("nil")
	}
}

func TestErrorTypesWrapTheirCause(t *testing.T) {
	cause := errors.New("cause")
	for _, err := range []error{&ThrottledError{Err: cause}, &ConcurrentRevisionError{Err: cause}, &InvalidInputError{Err: cause}} {
		if !errors.Is(err, cause) {
			t.Errorf("%T does not unwrap to its cause", err)
		}
		if got := err.Error(); got == "" || got == "cause" {
			t.Errorf("%T.Error() = %q: want a prefix naming the kind", err, got)
		}
	}
	// The names the state machine matches are the types' own names.
	for name, err := range map[string]error{
		ErrThrottled: &ThrottledError{}, ErrConcurrentRevision: &ConcurrentRevisionError{}, ErrInvalidInput: &InvalidInputError{},
	} {
		if typeName(err) != name {
			t.Errorf("%T is reported as %q, the state machine matches %q", err, typeName(err), name)
		}
	}
}
