// Package reason holds the stable reason codes of a finding (why a
// container is not compliant) and their texts: the vocabulary of the
// public JSON, the notifications, code-scanning rules and the Hook.
package reason

// Code is a stable, machine-readable code for why a container is not
// compliant. The strings are part of the public JSON and notification
// format: never rename one.
type Code string

// Reason codes.
const (
	MissingLogConfiguration Code = "MISSING_LOG_CONFIGURATION" // no logConfiguration at all
	DriverNotAllowed        Code = "DRIVER_NOT_ALLOWED"        // a driver the policy does not allow
	Firelens                Code = "FIRELENS_NOT_AWSLOGS"      // awsfirelens: never rewritten, needs a human
	MissingGroup            Code = "MISSING_AWSLOGS_GROUP"     // awslogs-group absent or blank
	InvalidGroup            Code = "INVALID_AWSLOGS_GROUP"     // awslogs-group not a valid log group name
	MissingRegion           Code = "MISSING_AWSLOGS_REGION"    // awslogs-region absent or blank
	InvalidRegion           Code = "INVALID_AWSLOGS_REGION"    // awslogs-region not a region of a known partition
	MissingStreamPrefix     Code = "MISSING_AWSLOGS_STREAM_PREFIX"
	InvalidStreamPrefix     Code = "INVALID_AWSLOGS_STREAM_PREFIX" // fails the rule the policy's own streamPrefix follows
	InvalidMode             Code = "INVALID_AWSLOGS_MODE"          // mode or max-buffer-size invalid, or the effective mode not what the policy requires
	UnknownOption           Code = "UNKNOWN_AWSLOGS_OPTION"        // an awslogs-*, mode or max-buffer-size key ECS does not document
	LogGroupMissing         Code = "LOG_GROUP_MISSING"             // live fact: the group does not exist in its region (and awslogs-create-group is not true)
	RouterNotAwslogs        Code = "FIRELENS_ROUTER_NOT_AWSLOGS"   // the FireLens router itself does not log through awslogs
	ExecutionRoleMissing    Code = "EXECUTION_ROLE_MISSING"        // awslogs (or the fix's) where Fargate or ECS Anywhere needs executionRoleArn, and there is none
)

// reasonTexts explains each reason code: a few words for messages, and
// what makes the container compliant, for code-scanning rules and hooks.
var reasonTexts = map[Code]struct{ summary, help string }{
	MissingLogConfiguration: {
		"no logConfiguration at all: its output is lost",
		"Add a logConfiguration with logDriver awslogs and the options awslogs-group, awslogs-region and awslogs-stream-prefix.",
	},
	DriverNotAllowed: {
		"uses a log driver the policy does not allow",
		"Use an allowed log driver (by default only awslogs, with awslogs-group, awslogs-region and awslogs-stream-prefix).",
	},
	Firelens: {
		"logs through FireLens (awsfirelens), which ecslogfix never rewrites",
		"Send this container's logs to CloudWatch Logs with the awslogs driver, or allow awsfirelens in the policy if the FireLens route is the intended destination.",
	},
	MissingGroup: {
		"awslogs without an awslogs-group",
		"Set the awslogs-group option to the log group the container writes to (and create the group before the task starts).",
	},
	InvalidGroup: {
		"awslogs-group is not a valid log group name",
		"Use a log group name of 1 to 512 characters from A-Z, a-z, 0-9, '.', '-', '_', '/' and '#', not starting with \"aws/\".",
	},
	MissingRegion: {
		"awslogs without an awslogs-region",
		"Set the awslogs-region option to the region of the log group.",
	},
	InvalidRegion: {
		"awslogs-region is not a region name",
		"Set the awslogs-region option to the name of the log group's region (e.g. us-east-1), not a placeholder such as \"region\" or \"<aws_region>\".",
	},
	MissingStreamPrefix: {
		"awslogs without an awslogs-stream-prefix",
		"Set the awslogs-stream-prefix option, so that each task's log stream is named after the prefix, the container and the task ID.",
	},
	InvalidStreamPrefix: {
		"awslogs-stream-prefix is not a valid stream prefix",
		"Use an awslogs-stream-prefix without ':', '*' or white space, of at most 223 characters (CloudWatch Logs refuses those in a log stream name).",
	},
	InvalidMode: {
		"its log delivery mode is not one the policy accepts",
		"Set mode to blocking or non-blocking as the policy requires (without one, the account's defaultLogDriverMode applies, else non-blocking), and a max-buffer-size that is a size (e.g. 25m) of at least the policy's minimum.",
	},
	UnknownOption: {
		"an awslogs option ECS does not document (a misspelt key?)",
		"Remove or correct the option: awslogs accepts only awslogs-group, awslogs-region, awslogs-stream-prefix, awslogs-create-group, awslogs-datetime-format, awslogs-multiline-pattern, mode and max-buffer-size, spelt exactly so (Docker refuses an unknown log option when the container starts).",
	},
	LogGroupMissing: {
		"its log group does not exist",
		"Create the log group in its awslogs-region before a task starts (or set awslogs-create-group to true): without it the task fails with ResourceInitializationError.",
	},
	RouterNotAwslogs: {
		"the FireLens router itself does not log through awslogs",
		"Give the FireLens log router container (the one with firelensConfiguration) an awslogs logConfiguration, so that the router's own errors are kept.",
	},
	ExecutionRoleMissing: {
		"awslogs on Fargate or ECS Anywhere without an execution role",
		"Set the task definition's executionRoleArn to a role that may write to CloudWatch Logs (logs:CreateLogStream, logs:PutLogEvents): awslogs needs it on Fargate and ECS Anywhere.",
	},
}

// All lists every reason code, in declaration order.
func All() []Code {
	return []Code{
		MissingLogConfiguration, DriverNotAllowed, Firelens, MissingGroup,
		InvalidGroup, MissingRegion, InvalidRegion, MissingStreamPrefix,
		InvalidStreamPrefix, InvalidMode, UnknownOption, LogGroupMissing,
		RouterNotAwslogs, ExecutionRoleMissing,
	}
}

// Summary says in a few words what the reason means; the code itself for
// an unknown one.
func (r Code) Summary() string {
	if t, ok := reasonTexts[r]; ok {
		return t.summary
	}
	return string(r)
}

// Help says what makes the container compliant.
func (r Code) Help() string {
	return reasonTexts[r].help
}
