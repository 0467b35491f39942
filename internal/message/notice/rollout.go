package notice

import (
	"cmp"
	"fmt"
	"strings"

	"github.com/ecslogfix/ecslogfix/internal/backout"
	"github.com/ecslogfix/ecslogfix/internal/escape"
	"github.com/ecslogfix/ecslogfix/internal/workflow"
)

// Rollout is what a notification shows of the rollout: each consumer
// by name and ARN, its status and revisions, and the command that moves
// one ecslogfix left alone. Never a target's Input or overrides (the
// result carries none).
type Rollout struct {
	Mode               string
	Consumers          []Consumer
	Omitted            int
	Settled            bool
	SourceDeregistered bool
	Note               string
	Err                string // the rollout step's error, sanitised
}

// Consumer is one consumer of the source revision and what the
// rollout did with it.
type Consumer struct {
	Kind       workflow.ConsumerKind   `json:"kind"`
	ARN        string                  `json:"arn"`
	Name       string                  `json:"name"`
	Cluster    string                  `json:"cluster,omitempty"`
	Controller string                  `json:"controller,omitempty"`
	EventBus   string                  `json:"eventBus,omitempty"`
	TargetID   string                  `json:"targetId,omitempty"`
	Group      string                  `json:"group,omitempty"`
	Status     workflow.ConsumerStatus `json:"status"`
	Before     string                  `json:"before"`
	After      string                  `json:"after"`
	Reason     string                  `json:"reason,omitempty"`
	// Command moves a consumer ecslogfix did not move (NOT_MOVED,
	// NEEDS_HUMAN) to the new revision.
	Command string `json:"command,omitempty"`
}

// Rollout summaries (the values of message.AttrRollout).
const (
	RolloutComplete   = "COMPLETE"
	RolloutIncomplete = "INCOMPLETE"
	RolloutFailed     = string(workflow.ConsumerRolloutFailed)
)

func cleanRollout(r workflow.Result, region string) *Rollout {
	if r.Rollout == nil && r.RolloutError == nil {
		return nil
	}
	rv := &Rollout{}
	if r.RolloutError != nil {
		rv.Err = cmp.Or(escape.Cause(r.RolloutError.Cause, MaxCause), escape.Line(r.RolloutError.Error, capError), "unknown error")
	}
	ro := r.Rollout
	if ro == nil {
		return rv
	}
	rv.Mode, rv.Settled, rv.SourceDeregistered = escape.Line(string(ro.Mode), MaxName), ro.Settled, ro.SourceDeregistered
	rv.Note, rv.Omitted = escape.Line(ro.Note, MaxDetail), ro.Omitted
	for i, c := range ro.Consumers {
		if i == capList {
			rv.Omitted += len(ro.Consumers) - capList
			break
		}
		dc := Consumer{
			Kind: workflow.ConsumerKind(escape.Line(string(c.Kind), MaxName)), ARN: escape.Line(c.ARN, MaxARN), Name: escape.Line(c.Name, MaxName),
			Cluster: escape.Line(clusterName(c.Cluster), MaxName), Controller: escape.Line(c.Controller, MaxName),
			EventBus: escape.Line(c.EventBus, MaxName), TargetID: escape.Line(c.TargetID, MaxName), Group: escape.Line(c.Group, MaxName),
			Status: workflow.ConsumerStatus(escape.Line(string(c.Status), MaxName)), Before: escape.Line(c.Before, MaxARN), After: escape.Line(c.After, MaxARN),
			Reason: escape.Line(c.Reason, MaxDetail),
		}
		switch dc.Status {
		case workflow.ConsumerNotMoved:
			dc.Command = escape.Line(backout.MoveStep(moved(dc), r.NewARN, region).Command, capCommand)
		case workflow.ConsumerNeedsHuman:
			dc.Command = escape.Line(backout.ManualRollout(backout.Manual{
				Controller: c.Controller, Cluster: clusterName(c.Cluster), Service: c.Name, NewARN: r.NewARN, Region: region,
				Container: c.LoadBalancerContainer, Port: c.LoadBalancerPort,
			}), capCommand)
		}
		rv.Consumers = append(rv.Consumers, dc)
	}
	return rv
}

// clusterName is the cluster's name in its ARN, or s itself.
func clusterName(s string) string {
	if i := strings.LastIndex(s, ":cluster/"); i >= 0 {
		return s[i+len(":cluster/"):]
	}
	return s
}

func moved(c Consumer) backout.Moved {
	return backout.Moved{Kind: string(c.Kind), Name: c.Name, Cluster: c.Cluster, EventBus: c.EventBus, TargetID: c.TargetID,
		Group: c.Group, Before: c.Before, After: c.After}
}

// MovedConsumers are the consumers backout must point back: those that
// run (as far as the record goes) the new revision. A consumer someone
// else moved on is theirs.
func (rv *Rollout) MovedConsumers() []backout.Moved {
	if rv == nil {
		return nil
	}
	var out []backout.Moved
	for _, c := range rv.Consumers {
		if c.After != c.Before && c.Status != workflow.ConsumerSuperseded {
			out = append(out, moved(c))
		}
	}
	return out
}

// Summary is the rollout attribute's value (message.AttrRollout).
func (rv *Rollout) Summary() string {
	if rv.Err != "" {
		return RolloutFailed
	}
	out := RolloutComplete
	for _, c := range rv.Consumers {
		switch c.Status {
		case workflow.ConsumerRolloutFailed:
			return RolloutFailed
		case workflow.ConsumerNotMoved, workflow.ConsumerNeedsHuman, workflow.ConsumerDeploying, workflow.ConsumerTimedOut, workflow.ConsumerToMove:
			out = RolloutIncomplete
		}
	}
	if rv.Omitted > 0 {
		out = RolloutIncomplete
	}
	return out
}

// Counts says how many consumers are in each status, in a fixed order.
func (rv *Rollout) Counts() string {
	n := map[workflow.ConsumerStatus]int{}
	for _, c := range rv.Consumers {
		n[c.Status]++
	}
	var parts []string
	for _, s := range []struct {
		status workflow.ConsumerStatus
		text   string
	}{
		{workflow.ConsumerMoved, "moved"}, {workflow.ConsumerToMove, "to move"}, {workflow.ConsumerFollowsLatest, "follow the latest revision"},
		{workflow.ConsumerDeploying, "still deploying"}, {workflow.ConsumerTimedOut, "timed out"},
		{workflow.ConsumerRolloutFailed, "failed and run the source again"}, {workflow.ConsumerNeedsHuman, "need a human"},
		{workflow.ConsumerNotMoved, "not moved"}, {workflow.ConsumerSuperseded, "changed by someone else"},
	} {
		if n[s.status] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n[s.status], s.text))
		}
	}
	if rv.Omitted > 0 {
		parts = append(parts, fmt.Sprintf("%d more not handled", rv.Omitted))
	}
	if len(parts) == 0 {
		return "no consumer found"
	}
	return strings.Join(parts, ", ")
}
