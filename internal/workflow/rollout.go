package workflow

import "github.com/ecslogfix/ecslogfix/internal/policy"

// The rollout part of the contract: what runs a task definition revision
// (its consumers) and what the Rollout and Watch states did with each.
// Like the rest of the contract it carries names and ARNs only: never a
// rule target's Input, a schedule's input or any container override.

// ConsumerKind names what kind of thing runs a task definition.
type ConsumerKind string

// Consumer kinds.
const (
	KindService    ConsumerKind = "SERVICE"     // an ECS service
	KindRuleTarget ConsumerKind = "RULE_TARGET" // an EventBridge rule's ECS target
	KindSchedule   ConsumerKind = "SCHEDULE"    // an EventBridge Scheduler schedule with an ECS target
)

// Deployment controllers of ECS services (types.DeploymentControllerType).
const (
	ControllerECS        = "ECS"
	ControllerCodeDeploy = "CODE_DEPLOY"
	ControllerExternal   = "EXTERNAL"
)

// Consumer is one thing that runs a task definition, as observed.
type Consumer struct {
	Kind ConsumerKind `json:"kind"`
	// ARN is the service's, the rule's or the schedule's ARN.
	ARN string `json:"arn"`
	// Name is the service's, the rule's or the schedule's name.
	Name string `json:"name"`
	// Cluster is the cluster ARN: the service's, or the one the target
	// runs tasks in.
	Cluster string `json:"cluster,omitempty"`
	// Controller is a service's deployment controller (ECS, CODE_DEPLOY,
	// EXTERNAL).
	Controller string `json:"controller,omitempty"`
	// TaskDefinition is the task definition the consumer names: a revision
	// ARN, or for a rule target or schedule possibly the family's ARN
	// without a revision (it then runs the latest ACTIVE revision).
	TaskDefinition string `json:"taskDefinition"`
	// Revision is TaskDefinition's revision; 0 when it names the family.
	Revision int32 `json:"revision"`
	// EventBus and TargetID name a rule target (with Name, the rule).
	EventBus string `json:"eventBus,omitempty"`
	TargetID string `json:"targetId,omitempty"`
	// Group is a schedule's group.
	Group string `json:"group,omitempty"`
	// LoadBalancerContainer and LoadBalancerPort are a CODE_DEPLOY
	// service's first load balancer target, for the AppSpec a human needs.
	LoadBalancerContainer string `json:"loadBalancerContainer,omitempty"`
	LoadBalancerPort      int32  `json:"loadBalancerPort,omitempty"`
}

// ConsumerStatus is what became of one consumer.
type ConsumerStatus string

// Consumer statuses.
const (
	// ConsumerToMove: Plan decided to move it (a dry run shows this; the
	// Rollout step replaces it with what the move did).
	ConsumerToMove ConsumerStatus = "TO_MOVE"
	// ConsumerMoved: it runs the new revision (a service's deployment
	// completed; a target or schedule was updated).
	ConsumerMoved ConsumerStatus = "MOVED"
	// ConsumerDeploying: UpdateService was accepted; Watch follows the
	// deployment. Never final.
	ConsumerDeploying ConsumerStatus = "DEPLOYING"
	// ConsumerRolloutFailed: the move failed (the deployment failed or the
	// circuit breaker rolled it back, or the update was refused); it runs
	// the source revision again.
	ConsumerRolloutFailed ConsumerStatus = "ROLLOUT_FAILED"
	// ConsumerTimedOut: the deployment was still in progress when the
	// watch budget ended; ECS carries on (its circuit breaker, where on,
	// rolls back a failure).
	ConsumerTimedOut ConsumerStatus = "TIMED_OUT"
	// ConsumerNeedsHuman: ecslogfix never moves it (a CODE_DEPLOY or
	// EXTERNAL service); the notification gives the command.
	ConsumerNeedsHuman ConsumerStatus = ConsumerStatus(OutcomeNeedsHuman)
	// ConsumerFollowsLatest: it names the family without a revision and
	// runs the latest ACTIVE revision by itself; not touched.
	ConsumerFollowsLatest ConsumerStatus = "FOLLOWS_LATEST"
	// ConsumerNotMoved: the rollout mode does not move this kind.
	ConsumerNotMoved ConsumerStatus = "NOT_MOVED"
	// ConsumerSuperseded: it was moved to another revision meanwhile (not
	// by ecslogfix); left alone.
	ConsumerSuperseded ConsumerStatus = ConsumerStatus(OutcomeSuperseded)
)

// ConsumerRollout is one consumer and what the rollout did with it: the
// revision it ran before and runs after this execution, which the
// notification's backout steps and `ecslogfix backout` restore.
type ConsumerRollout struct {
	Consumer
	Status ConsumerStatus `json:"status"`
	// Before is the revision it ran when found; After the one it runs
	// now (Before unless it was moved and stayed).
	Before string `json:"before"`
	After  string `json:"after"`
	// Deployment is the ECS deployment ID Watch follows (services).
	Deployment string `json:"deployment,omitempty"`
	// Reason is one human sentence: why it was not moved, or the failed
	// deployment's reason as ECS gave it.
	Reason string `json:"reason,omitempty"`
}

// Rollout is what the Rollout and Watch states store in the Result.
type Rollout struct {
	Mode      policy.RolloutMode `json:"mode"`
	Consumers []ConsumerRollout  `json:"consumers"`
	// Omitted counts consumers beyond MaxConsumers: found, not handled.
	Omitted int `json:"omitted,omitempty"`
	// Settled is true when nothing is left to watch (asl.PathRolloutSettled).
	Settled bool `json:"settled"`
	// WaitSeconds is the wait before the next Watch (asl.PathRolloutWait);
	// at least 1 whenever Settled is false, the only time RolloutWait
	// reads it.
	WaitSeconds int `json:"waitSeconds,omitempty"`
	// Deadline (RFC 3339) is when the watch budget ends.
	Deadline string `json:"deadline,omitempty"`
	// SourceDeregistered is set when policy deregisterSource afterRollout
	// deregistered the source revision after every consumer moved.
	SourceDeregistered bool `json:"sourceDeregistered,omitempty"`
	// Note is one human sentence about the rollout as a whole (a tag that
	// is not a mode, a new revision no longer ACTIVE, a source that could
	// not be deregistered).
	Note string `json:"note,omitempty"`
}

// MaxConsumers bounds the consumers one execution records: the result
// stays well under Step Functions' 256 KiB payload limit.
const MaxConsumers = 100
