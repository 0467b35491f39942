package policy

import "github.com/ecslogfix/ecslogfix/internal/policy/reason"

// Reason is a finding's reason code (package reason holds the vocabulary
// and its texts); the codes are named here too, as package os names
// io/fs's types, so that callers of Evaluate need one import.
type Reason = reason.Code

// Reason codes.
const (
	ReasonMissingLogConfiguration = reason.MissingLogConfiguration
	ReasonDriverNotAllowed        = reason.DriverNotAllowed
	ReasonFirelens                = reason.Firelens
	ReasonMissingGroup            = reason.MissingGroup
	ReasonInvalidGroup            = reason.InvalidGroup
	ReasonMissingRegion           = reason.MissingRegion
	ReasonInvalidRegion           = reason.InvalidRegion
	ReasonMissingStreamPrefix     = reason.MissingStreamPrefix
	ReasonInvalidStreamPrefix     = reason.InvalidStreamPrefix
	ReasonInvalidMode             = reason.InvalidMode
	ReasonUnknownOption           = reason.UnknownOption
	ReasonLogGroupMissing         = reason.LogGroupMissing
	ReasonRouterNotAwslogs        = reason.RouterNotAwslogs
	ReasonExecutionRoleMissing    = reason.ExecutionRoleMissing
)

// Reasons lists every reason code, in declaration order.
func Reasons() []Reason { return reason.All() }
