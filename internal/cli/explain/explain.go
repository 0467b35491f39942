// Package explain words AWS errors for the people running the command line:
// one line they can act on.
package explain

import (
	"errors"
	"fmt"
	"strings"

	"github.com/ecslogfix/ecslogfix/internal/awserr"
)

// AWS turns an AWS error into one line a user can act on.
func AWS(err error) error {
	if err == nil {
		return nil
	}
	switch awserr.AuthOf(err) {
	case awserr.AuthDenied:
		return fmt.Errorf("access denied: %s", FirstLine(awserr.Message(err)))
	case awserr.AuthInvalid:
		return fmt.Errorf("the AWS credentials are not valid (%s): check AWS_PROFILE / --profile", awserr.Code(err))
	case awserr.AuthExpired:
		return errors.New("the AWS credentials have expired: refresh them (e.g. aws sso login)")
	case awserr.AuthRegionOptOut:
		return fmt.Errorf("the region is not enabled for this account (%s)", awserr.Code(err))
	}
	return err
}

// FirstLine is the first line of s.
func FirstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}
