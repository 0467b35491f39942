package workflow

import (
	"errors"

	"github.com/ecslogfix/ecslogfix/internal/awserr"
)

// Classification of AWS errors (awserr) into the error types above, shared
// by every function so the state machine's Retry sees one vocabulary.

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
	case awserr.IsConcurrentRevision(err):
		return &ConcurrentRevisionError{Err: err}
	case awserr.IsTransient(err):
		return &ThrottledError{Err: err}
	}
	return err
}
