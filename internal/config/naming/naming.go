// Package naming holds the names of ecslogfix's functions, as the
// repository spells them, and the physical names of its resources (Names).
package naming

// Function names as the repository spells them (functions/<name>).
const (
	FunctionDetect    = "detect"
	FunctionRemediate = "remediate"
	FunctionNotify    = "notify"
	FunctionSweep     = "sweep"
)

// FunctionHook is the CloudFormation Lambda Hook, deployed only when
// ecslogfix:hook is set; it is not one of Functions, the pipeline's.
const FunctionHook = "hook"

// FunctionReport writes the monthly compliance report, deployed only with
// ecslogfix:history and a reportSchedule; it is not one of Functions.
const FunctionReport = "report"

// Functions lists the pipeline's functions in build order.
func Functions() []string {
	return []string{FunctionDetect, FunctionRemediate, FunctionNotify, FunctionSweep}
}

// Names derives the physical names of ecslogfix's resources from the
// resource name prefix, so the infrastructure, the functions and the CLI
// agree on them. Role names are global in an account, so none of them
// contains a region: deploy one stack per account (see the README).
type Names struct {
	Prefix string
}

// Function is the Lambda function name of fn (one of the Function* names).
func (n Names) Function(fn string) string { return n.Prefix + "-" + fn }

// FunctionRole is the IAM role name of fn's execution role.
func (n Names) FunctionRole(fn string) string { return n.Prefix + "-" + fn }

// StateMachine is the remediation state machine's name.
func (n Names) StateMachine() string { return n.Prefix + "-remediation" }

// StateMachineLogGroup is the state machine's log group.
func (n Names) StateMachineLogGroup() string {
	return "/aws/vendedlogs/states/" + n.StateMachine()
}

// SweepStateMachine is the sweep state machine's name.
func (n Names) SweepStateMachine() string { return n.Prefix + "-sweep" }

// SweepStateMachineLogGroup is the sweep state machine's log group.
func (n Names) SweepStateMachineLogGroup() string {
	return "/aws/vendedlogs/states/" + n.SweepStateMachine()
}

// FunctionLogGroup is fn's log group.
func (n Names) FunctionLogGroup(fn string) string { return "/aws/lambda/" + n.Function(fn) }

// Topic is the SNS notification topic's name.
func (n Names) Topic() string { return n.Prefix + "-notifications" }

// EventBus is the hub's custom event bus in organization mode.
func (n Names) EventBus() string { return n.Prefix + "-hub" }

// MemberRole is the role the hub's functions assume in member accounts.
func (n Names) MemberRole() string { return n.Prefix + "-member" }

// MemberForwarderRole is the role member EventBridge rules use to put events
// on the hub bus.
func (n Names) MemberForwarderRole() string { return n.Prefix + "-forwarder" }

// DefaultExecutionRole is the ECS task execution role ecslogfix creates for
// Fargate/EXTERNAL task definitions that have none.
func (n Names) DefaultExecutionRole() string { return n.Prefix + "-task-execution" }

// StackSet is the organization mode member StackSet of every region (the
// forwarding rule).
func (n Names) StackSet() string { return n.Prefix + "-member" }

// StackSetIAM is the member StackSet of the IAM region (the member and
// forwarder roles).
func (n Names) StackSetIAM() string { return n.Prefix + "-member-iam" }

// StackSetExecutionRole is the member StackSet holding the default ECS task
// execution role, which outlives ecslogfix.
func (n Names) StackSetExecutionRole() string { return n.Prefix + "-member-execution-role" }

// Rule is the name of the EventBridge rule for what ("register", "sweep",
// "forward").
func (n Names) Rule(what string) string { return n.Prefix + "-" + what }
