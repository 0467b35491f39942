// Package workflow holds the data contract of the remediation state machine:
// the execution input that detect starts it with, the result that remediate
// returns, and the names (actions, outcomes, error types) that the Lambdas,
// the CDK definition and the notifications share. It is pure data: no AWS
// calls, no behaviour beyond naming.
//
// Nothing in these types may carry container environment values, secrets,
// log-driver option values other than the documented awslogs keys, or the raw
// CloudTrail body: they are written to Step Functions history and to
// notifications.
package workflow

import (
	"time"

	"github.com/ecslogfix/ecslogfix/internal/plan"
	"github.com/ecslogfix/ecslogfix/internal/policy"
)

// Version is the schema version of Input, Result and the structured
// notification document. Bump it on any incompatible change.
const Version = "1"

// Action selects what one invocation of the remediate function does.
type Action string

// Actions of the remediate function, one per state of the workflow.
const (
	ActionEnsureLogGroup Action = "ensure-log-group"
	ActionRegister       Action = "register"
	ActionRollout        Action = "rollout" // find the source's consumers, move those the policy allows
	ActionWatch          Action = "watch"   // watch the moved services' deployments, put back failed ones
)

// Trigger says what started a workflow execution.
type Trigger string

// Triggers.
const (
	TriggerEvent Trigger = "event" // a CloudTrail RegisterTaskDefinition event
	TriggerSweep Trigger = "sweep" // the scheduled sweep
	TriggerCLI   Trigger = "cli"   // ecslogfix fix
)

// Outcome is the stable, machine-readable result of one execution. It is
// used as an SNS message attribute, so subscribers can filter on it.
type Outcome string

// Outcomes.
const (
	OutcomeRemediated        Outcome = "REMEDIATED"         // a compliant revision was registered
	OutcomePartlyRemediated  Outcome = "PARTLY_REMEDIATED"  // registered with what may be fixed; REPORT containers still need a human (not rolled out)
	OutcomeLogGroupCreated   Outcome = "LOG_GROUP_CREATED"  // the only problem was missing log groups: created, no new revision
	OutcomeReportOnly        Outcome = "REPORT_ONLY"        // enforcement mode "report": plan shown, nothing changed
	OutcomeBlocked           Outcome = "BLOCKED"            // the plan cannot be applied safely; a human must act
	OutcomeNeedsHuman        Outcome = "NEEDS_HUMAN"        // nothing we may change (e.g. FireLens), but not compliant
	OutcomeAlreadyCompliant  Outcome = "ALREADY_COMPLIANT"  // the source is compliant when re-read
	OutcomeAlreadyRemediated Outcome = "ALREADY_REMEDIATED" // our remediation of this source already exists
	OutcomeSuperseded        Outcome = "SUPERSEDED"         // a newer revision exists; its own event covers it
	OutcomeInactive          Outcome = "INACTIVE"           // the source revision was deregistered
	OutcomeExempt            Outcome = "EXEMPT"             // the exemption tag is set
	OutcomeFailed            Outcome = "FAILED"             // a step failed after its retries
)

// Error type names a Lambda returns so the state machine's Retry and Catch
// can match them (the Go runtime reports the error's type name as
// errorType). The remediate function wraps its errors in these.
const (
	ErrThrottled          = "ThrottledError"          // ThrottlingException, Rate exceeded, 5xx
	ErrConcurrentRevision = "ConcurrentRevisionError" // ECS "Too many concurrent attempts to create a new revision"
	ErrInvalidInput       = "InvalidInputError"       // the execution input is malformed: never retried
)

// Target names the account and region a task definition lives in, and the
// role to assume there (empty in single-account mode).
type Target struct {
	Account string `json:"account"`
	Region  string `json:"region"`
	RoleARN string `json:"roleArn,omitempty"`
}

// Principal is the non-secret summary of who registered the source revision.
type Principal struct {
	Type      string `json:"type"`                // IAMUser, AssumedRole, AWSService, Root, ...
	ARN       string `json:"arn,omitempty"`       // the caller's ARN
	RoleARN   string `json:"roleArn,omitempty"`   // for AssumedRole: the role (session issuer)
	UserName  string `json:"userName,omitempty"`  // IAM user name or role session name
	InvokedBy string `json:"invokedBy,omitempty"` // e.g. cloudformation.amazonaws.com
}

// Origin says through what tool the source revision was registered, so the
// notification can say where to fix the source.
type Origin struct {
	Tool   string `json:"tool"`             // cloudformation, terraform, cdk, copilot, pulumi, cli, console, sdk, unknown
	Detail string `json:"detail,omitempty"` // e.g. the CloudFormation stack name
}

// Input is the execution input detect (or the sweep, or the CLI) starts the
// state machine with. It is small and carries no secrets.
type Input struct {
	Version           string             `json:"version"`
	Trigger           Trigger            `json:"trigger"`
	EventID           string             `json:"eventId,omitempty"`
	Target            Target             `json:"target"`
	TaskDefinitionARN string             `json:"taskDefinitionArn"`
	Family            string             `json:"family"`
	Revision          int32              `json:"revision"`
	Enforcement       policy.Enforcement `json:"enforcement"`
	Reasons           []ContainerReasons `json:"reasons"`
	LogGroups         []plan.LogGroup    `json:"logGroups"`
	Principal         *Principal         `json:"principal,omitempty"`
	Origin            *Origin            `json:"origin,omitempty"`
	// Rollout, when set (ecslogfix fix --rollout), overrides the policy's
	// rollout mode and the task definition's ecslogfix:rollout tag.
	Rollout policy.RolloutMode `json:"rollout,omitempty"`
	// RegisteredAt is when the source revision was registered, as far as
	// known (the CloudTrail event's time, or ECS's registeredAt): the start
	// of the registration-to-remediation time the report measures.
	RegisteredAt *time.Time `json:"registeredAt,omitempty"`
	// SweepID names the sweep that started the execution (Trigger sweep):
	// its outcome goes into that sweep's digest instead of a message of
	// its own.
	SweepID string `json:"sweepId,omitempty"`
	// ExecutionToken names this remediation (the execution series' name):
	// Register tags its revision with it (taskdef.TagExecution), so that a
	// retry after a lost response — the SDK's, the state machine's, or the
	// next execution of the series — reports that revision as its own.
	ExecutionToken string `json:"executionToken,omitempty"`
}

// State is the execution's state document as it flows through the
// definition: the Input it was started with, plus what each state adds at
// its ResultPath (see the Path* constants). EnsureLogGroups and Register
// receive it whole; NotifyFailure receives it inside Failure. Every field a
// state may add is named here, so the functions can decode it strictly.
type State struct {
	Input
	Ensured     *Ensured     `json:"ensured,omitempty"`     // asl.PathEnsured
	Registered  *Registered  `json:"registered,omitempty"`  // asl.PathRegistered
	FailedState string       `json:"failedState,omitempty"` // asl.PathFailedState
	Error       *CaughtError `json:"error,omitempty"`       // asl.PathError
}

// Registered is what the Register state stores at asl.PathRegistered.
type Registered struct {
	Result Result `json:"result"`
}

// CaughtError is what a Catch stores at asl.PathError: the error type name and
// its message, as Step Functions reports them.
type CaughtError struct {
	Error string `json:"Error"`
	Cause string `json:"Cause"`
}

// Ensured is what the ensure-log-group action returns.
type Ensured struct {
	LogGroups []LogGroupResult `json:"logGroups"`
}

// Request is the remediate function's input: the action and the execution
// state (Input, plus what earlier states added).
type Request struct {
	Action Action `json:"action"`
	Input  State  `json:"input"`
}

// ContainerReasons lists the reason codes of one non-compliant container:
// the plan's Finding, as the contract carries it.
type ContainerReasons = plan.Finding

// LogGroupResult is what ensuring one log group found or did.
type LogGroupResult struct {
	Name                      string `json:"name"`
	Region                    string `json:"region"`
	Created                   bool   `json:"created"`
	RetentionDays             int32  `json:"retentionDays,omitempty"` // 0 = never expire
	KMSKeyARN                 string `json:"kmsKeyArn,omitempty"`
	Class                     string `json:"class,omitempty"`
	DeletionProtectionEnabled bool   `json:"deletionProtectionEnabled,omitempty"`
	// RetentionSet is true when ecslogfix changed an existing group's
	// retention (the policy's existingGroupRetention); it was
	// PreviousRetentionDays before (0 = never expire).
	RetentionSet          bool  `json:"retentionSet,omitempty"`
	PreviousRetentionDays int32 `json:"previousRetentionDays,omitempty"`
}

// Result is what the register action returns and notify renders.
type Result struct {
	Version      string           `json:"version"`
	Outcome      Outcome          `json:"outcome"`
	Target       Target           `json:"target"`
	Family       string           `json:"family"`
	SourceARN    string           `json:"sourceArn"`
	NewARN       string           `json:"newArn,omitempty"`
	LatestARN    string           `json:"latestArn,omitempty"` // the family's latest ACTIVE revision when read
	Detail       string           `json:"detail,omitempty"`    // one human sentence on why this outcome
	Plan         *plan.Plan       `json:"plan,omitempty"`
	LogGroups    []LogGroupResult `json:"logGroups,omitempty"`
	Principal    *Principal       `json:"principal,omitempty"`
	Origin       *Origin          `json:"origin,omitempty"`
	Trigger      Trigger          `json:"trigger,omitempty"`
	EventID      string           `json:"eventId,omitempty"`
	ExecutionARN string           `json:"executionArn,omitempty"`
	// Rollout is what the Rollout and Watch states found and did with the
	// source's consumers; nil until Rollout ran.
	Rollout *Rollout `json:"rollout,omitempty"`
	// RolloutError is what the Catch of Rollout or Watch caught
	// (asl.PathRolloutError): the revision stays registered, the notification
	// says the rollout did not finish.
	RolloutError *CaughtError `json:"rolloutError,omitempty"`
	RegisteredAt *time.Time   `json:"registeredAt,omitempty"` // Input.RegisteredAt
	SweepID      string       `json:"sweepId,omitempty"`      // Input.SweepID
}

// Failure is what the state machine's Catch hands to notify when a step
// failed after its retries.
type Failure struct {
	Input        State  `json:"input"`
	State        string `json:"state"` // the state that failed
	Error        string `json:"error"`
	Cause        string `json:"cause"`
	ExecutionARN string `json:"executionArn"`
}

// NotifyRequest is the notify function's input: exactly one of Result,
// Failure and Summary is set. For report-only executions Result carries
// the plan; Summary is a sweep's (the digest's request, DigestRequest).
type NotifyRequest struct {
	Result  *Result       `json:"result,omitempty"`
	Failure *Failure      `json:"failure,omitempty"`
	Summary *SweepSummary `json:"summary,omitempty"`
	// DigestError, only with Summary, is the error PublishDigest failed
	// with after its retries: notify publishes a notice of the failure
	// instead of the digest.
	DigestError  *CaughtError `json:"digestError,omitempty"`
	ExecutionARN string       `json:"executionArn,omitempty"`
}

// SweepOf is the sweep that started the execution a Result or a Failure
// is of ("" for an event's, the CLI's): its outcome belongs in that
// sweep's digest.
func (r NotifyRequest) SweepOf() string {
	switch {
	case r.Result != nil && r.Result.Trigger == TriggerSweep:
		return r.Result.SweepID
	case r.Failure != nil && r.Failure.Input.Trigger == TriggerSweep:
		return r.Failure.Input.SweepID
	}
	return ""
}

// State names of the workflow. The CDK definition, the tests and the
// failure notifications use these.
const (
	StateCheckMode             = "CheckMode"
	StateEnsureLogGroups       = "EnsureLogGroups"
	StateRegister              = "Register"
	StateNotify                = "Notify"
	StateRolloutChoice         = "RolloutChoice" // Choice: a registered revision goes to Rollout
	StateRollout               = "Rollout"
	StateRolloutSettled        = "RolloutSettled" // Choice: Notify once nothing is left to watch
	StateRolloutWait           = "RolloutWait"    // Wait: Rollout.WaitSeconds
	StateWatch                 = "Watch"
	StateEnsureLogGroupsFailed = "EnsureLogGroupsFailed" // Pass: records the failed state, then NotifyFailure
	StateRegisterFailed        = "RegisterFailed"
	StateNotifyFailed          = "NotifyFailed"
	StateNotifyFailure         = "NotifyFailure"
	StateDone                  = "Done"   // Succeed
	StateFailed                = "Failed" // Fail
)
