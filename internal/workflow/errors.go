package workflow

// The remediate function returns these error types; the Go Lambda runtime
// reports an error's type name as errorType, which the state machine's
// Retry and Catch match (see the Err* constants).

// ThrottledError wraps a throttling or transient server error.
type ThrottledError struct{ Err error }

func (e *ThrottledError) Error() string { return "throttled: " + e.Err.Error() }
func (e *ThrottledError) Unwrap() error { return e.Err }

// ConcurrentRevisionError wraps ECS's "Too many concurrent attempts to
// create a new revision of the specified family" ClientException, which the
// SDK does not retry.
type ConcurrentRevisionError struct{ Err error }

func (e *ConcurrentRevisionError) Error() string { return "concurrent revision: " + e.Err.Error() }
func (e *ConcurrentRevisionError) Unwrap() error { return e.Err }

// InvalidInputError marks an execution input that can never succeed.
type InvalidInputError struct{ Err error }

func (e *InvalidInputError) Error() string { return "invalid input: " + e.Err.Error() }
func (e *InvalidInputError) Unwrap() error { return e.Err }
