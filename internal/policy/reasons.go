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
	ReasonMissingStreamPrefix: {
		"awslogs without an awslogs-stream-prefix",
		"Set the awslogs-stream-prefix option, so that each task's log stream is named after the prefix, the container and the task ID.",
	},
	ReasonRouterNotAwslogs: {
		"the FireLens router itself does not log through awslogs",
		"Give the FireLens log router container (the one with firelensConfiguration) an awslogs logConfiguration, so that the router's own errors are kept.",
	},
}

// Reasons lists every reason code, in declaration order.
func Reasons() []Reason {
	return []Reason{
		ReasonMissingLogConfiguration, ReasonDriverNotAllowed, ReasonFirelens, ReasonMissingGroup,
		ReasonInvalidGroup, ReasonMissingRegion, ReasonMissingStreamPrefix, ReasonRouterNotAwslogs,
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
