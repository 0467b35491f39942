package policy

// reasonTexts explains each reason code: a few words for messages, and
// what makes the container compliant, for code-scanning rules and hooks.
var reasonTexts = map[Reason]struct{ summary, help string }{
	ReasonMissingLogConfiguration: {
		"no logConfiguration at all: its output is lost",
		"Add a logConfiguration with logDriver awslogs and the options awslogs-group, awslogs-region and awslogs-stream-prefix.",
	},
	ReasonDriverNotAllowed: {
		"uses a log driver the policy does not allow",
		"Use an allowed log driver (by default only awslogs, with awslogs-group, awslogs-region and awslogs-stream-prefix).",
	},
	ReasonFirelens: {
		"logs through FireLens (awsfirelens), which ecslogfix never rewrites",
		"Send this container's logs to CloudWatch Logs with the awslogs driver, or allow awsfirelens in the policy if the FireLens route is the intended destination.",
	},
	ReasonMissingGroup: {
		"awslogs without an awslogs-group",
		"Set the awslogs-group option to the log group the container writes to (and create the group before the task starts).",
	},
	ReasonInvalidGroup: {
		"awslogs-group is not a valid log group name",
		"Use a log group name of 1 to 512 characters from A-Z, a-z, 0-9, '.', '-', '_', '/' and '#', not starting with \"aws/\".",
	},
	ReasonMissingRegion: {
		"awslogs without an awslogs-region",
		"Set the awslogs-region option to the region of the log group.",
	},
	ReasonInvalidRegion: {
		"awslogs-region is not a region name",
		"Set the awslogs-region option to the name of the log group's region (e.g. us-east-1), not a placeholder such as \"region\" or \"<aws_region>\".",
	},
	ReasonMissingStreamPrefix: {
		"awslogs without an awslogs-stream-prefix",
		"Set the awslogs-stream-prefix option, so that each task's log stream is named after the prefix, the container and the task ID.",
	},
	ReasonInvalidStreamPrefix: {
		"awslogs-stream-prefix is not a valid stream prefix",
		"Use an awslogs-stream-prefix without ':', '*' or white space, of at most 223 characters (CloudWatch Logs refuses those in a log stream name).",
	},
	ReasonInvalidMode: {
		"its log delivery mode is not one the policy accepts",
		"Set mode to blocking or non-blocking as the policy requires (without one, the account's defaultLogDriverMode applies, else non-blocking), and a max-buffer-size that is a size (e.g. 25m) of at least the policy's minimum.",
	},
	ReasonUnknownOption: {
		"an awslogs option ECS does not document (a misspelt key?)",
		"Remove or correct the option: awslogs accepts only awslogs-group, awslogs-region, awslogs-stream-prefix, awslogs-create-group, awslogs-datetime-format, awslogs-multiline-pattern, mode and max-buffer-size, spelt exactly so (Docker refuses an unknown log option when the container starts).",
	},
	ReasonLogGroupMissing: {
		"its log group does not exist",
		"Create the log group in its awslogs-region before a task starts (or set awslogs-create-group to true): without it the task fails with ResourceInitializationError.",
	},
	ReasonRouterNotAwslogs: {
		"the FireLens router itself does not log through awslogs",
		"Give the FireLens log router container (the one with firelensConfiguration) an awslogs logConfiguration, so that the router's own errors are kept.",
	},
	ReasonExecutionRoleMissing: {
		"awslogs on Fargate or ECS Anywhere without an execution role",
		"Set the task definition's executionRoleArn to a role that may write to CloudWatch Logs (logs:CreateLogStream, logs:PutLogEvents): awslogs needs it on Fargate and ECS Anywhere.",
	},
}

// Reasons lists every reason code, in declaration order.
func Reasons() []Reason {
	return []Reason{
		ReasonMissingLogConfiguration, ReasonDriverNotAllowed, ReasonFirelens, ReasonMissingGroup,
		ReasonInvalidGroup, ReasonMissingRegion, ReasonInvalidRegion, ReasonMissingStreamPrefix,
		ReasonInvalidStreamPrefix, ReasonInvalidMode, ReasonUnknownOption, ReasonLogGroupMissing,
		ReasonRouterNotAwslogs, ReasonExecutionRoleMissing,
	}
}

// Summary says in a few words what the reason means; the code itself for
// an unknown one.
func (r Reason) Summary() string {
	if t, ok := reasonTexts[r]; ok {
		return t.summary
	}
	return string(r)
}

// Help says what makes the container compliant.
func (r Reason) Help() string {
	return reasonTexts[r].help
}
