package message

import (
	"cmp"
	"fmt"
	"strings"

	"github.com/ecslogfix/ecslogfix/internal/escape"

	"github.com/ecslogfix/ecslogfix/internal/backout"
	"github.com/ecslogfix/ecslogfix/internal/workflow"
)

// rolloutView is what a notification shows of the rollout: each consumer
// by name and ARN, its status and revisions, and the command that moves
// one ecslogfix left alone. Never a target's Input or overrides (the
// result carries none).
type rolloutView struct {
	mode               string
	consumers          []DocumentConsumer
	omitted            int
	settled            bool
	sourceDeregistered bool
	note               string
	err                string // the rollout step's error, sanitised
}

// DocumentConsumer is one consumer of the source revision and what the
// rollout did with it.
type DocumentConsumer struct {
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

// DocumentRollout is the structured document's rollout block.
type DocumentRollout struct {
	Mode               string             `json:"mode"`
	Settled            bool               `json:"settled"`
	SourceDeregistered bool               `json:"sourceDeregistered,omitempty"`
	Note               string             `json:"note,omitempty"`
	Error              string             `json:"error,omitempty"`
	Consumers          []DocumentConsumer `json:"consumers"`
	Omitted            int                `json:"omitted,omitempty"`
}

// AttrRollout is the SNS attribute that sums a rollout up: COMPLETE (every
// consumer ecslogfix may move runs the new revision), INCOMPLETE (some
// consumers still run the source: not moved, a human must move them, or
// still deploying) or ROLLOUT_FAILED (a move failed, or the step did).
const AttrRollout = "rollout"

// Rollout summaries (AttrRollout values).
const (
	RolloutComplete   = "COMPLETE"
	RolloutIncomplete = "INCOMPLETE"
	RolloutFailed     = string(workflow.ConsumerRolloutFailed)
)

func cleanRollout(r workflow.Result, region string) *rolloutView {
	if r.Rollout == nil && r.RolloutError == nil {
		return nil
	}
	rv := &rolloutView{}
	if r.RolloutError != nil {
		rv.err = cmp.Or(escape.Cause(r.RolloutError.Cause, capCause), escape.Line(r.RolloutError.Error, capError), "unknown error")
	}
	ro := r.Rollout
	if ro == nil {
		return rv
	}
	rv.mode, rv.settled, rv.sourceDeregistered = escape.Line(string(ro.Mode), capName), ro.Settled, ro.SourceDeregistered
	rv.note, rv.omitted = escape.Line(ro.Note, capDetail), ro.Omitted
	for i, c := range ro.Consumers {
		if i == capList {
			rv.omitted += len(ro.Consumers) - capList
			break
		}
		dc := DocumentConsumer{
			Kind: workflow.ConsumerKind(escape.Line(string(c.Kind), capName)), ARN: escape.Line(c.ARN, capARN), Name: escape.Line(c.Name, capName),
			Cluster: escape.Line(clusterName(c.Cluster), capName), Controller: escape.Line(c.Controller, capName),
			EventBus: escape.Line(c.EventBus, capName), TargetID: escape.Line(c.TargetID, capName), Group: escape.Line(c.Group, capName),
			Status: workflow.ConsumerStatus(escape.Line(string(c.Status), capName)), Before: escape.Line(c.Before, capARN), After: escape.Line(c.After, capARN),
			Reason: escape.Line(c.Reason, capDetail),
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
		rv.consumers = append(rv.consumers, dc)
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

func moved(c DocumentConsumer) backout.Moved {
	return backout.Moved{Kind: string(c.Kind), Name: c.Name, Cluster: c.Cluster, EventBus: c.EventBus, TargetID: c.TargetID,
		Group: c.Group, Before: c.Before, After: c.After}
}

// MovedConsumers are the consumers of r's rollout record that backout
// points back (see movedConsumers): what the notification lists and
// `ecslogfix backout --execution` executes.
func MovedConsumers(r workflow.Result) []backout.Moved {
	return cleanRollout(r, r.Target.Region).movedConsumers()
}

// movedConsumers are the consumers backout must point back: those that
// run (as far as the record goes) the new revision. A consumer someone
// else moved on is theirs.
func (rv *rolloutView) movedConsumers() []backout.Moved {
	if rv == nil {
		return nil
	}
	var out []backout.Moved
	for _, c := range rv.consumers {
		if c.After != c.Before && c.Status != workflow.ConsumerSuperseded {
			out = append(out, moved(c))
		}
	}
	return out
}

// summary is AttrRollout's value.
func (rv *rolloutView) summary() string {
	if rv.err != "" {
		return RolloutFailed
	}
	out := RolloutComplete
	for _, c := range rv.consumers {
		switch c.Status {
		case workflow.ConsumerRolloutFailed:
			return RolloutFailed
		case workflow.ConsumerNotMoved, workflow.ConsumerNeedsHuman, workflow.ConsumerDeploying, workflow.ConsumerTimedOut, workflow.ConsumerToMove:
			out = RolloutIncomplete
		}
	}
	if rv.omitted > 0 {
		out = RolloutIncomplete
	}
	return out
}

// counts says how many consumers are in each status, in a fixed order.
func (rv *rolloutView) counts() string {
	n := map[workflow.ConsumerStatus]int{}
	for _, c := range rv.consumers {
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
	if rv.omitted > 0 {
		parts = append(parts, fmt.Sprintf("%d more not handled", rv.omitted))
	}
	if len(parts) == 0 {
		return "no consumer found"
	}
	return strings.Join(parts, ", ")
}

// consumerName names a consumer for a person: cluster/service, bus/rule
// (target ID), group/schedule.
func consumerName(c DocumentConsumer) string {
	switch c.Kind {
	case workflow.KindService:
		return "service " + c.Cluster + "/" + c.Name
	case workflow.KindRuleTarget:
		return "rule target " + c.EventBus + "/" + c.Name + " (" + c.TargetID + ")"
	case workflow.KindSchedule:
		return "schedule " + c.Group + "/" + c.Name
	}
	return strings.ToLower(string(c.Kind)) + " " + c.Name
}

// rolloutText is the ROLLOUT section of the text body.
func (v *view) rolloutText(w func(string, ...any), lvl level) {
	rv := v.rollout
	if rv.mode != "" {
		w("Mode: %s. %s.\n", rv.mode, capitalize(rv.counts()))
	}
	if rv.err != "" {
		w("The rollout did not finish: %s\nWhat it recorded before is below; the new revision stays registered.\n", rv.err)
	}
	if rv.note != "" {
		w("Note: %s\n", rv.note)
	}
	if rv.sourceDeregistered {
		w("The source revision was deregistered after every consumer moved (policy deregisterSource afterRollout).\n")
	}
	for _, c := range limit(rv.consumers, lvl) {
		w("- %s: %s, %s → %s\n", consumerName(c), c.Status, revText(c.Before), revText(c.After))
		if c.Reason != "" && lvl != levelMinimal {
			w("  %s\n", c.Reason)
		}
		if c.Command != "" && lvl == levelFull {
			w("  To move it: %s\n", c.Command)
		}
	}
	if n := len(rv.consumers) - len(limit(rv.consumers, lvl)); n > 0 {
		w("(%d more consumer(s) left out)\n", n)
	}
}

// revText is family:rev of a task definition ARN, or the ARN.
func revText(arn string) string {
	if fam, rev := taskDefRef(arn); fam != "" && rev > 0 {
		return ref(fam, rev)
	}
	if fam, _ := taskDefRef(arn); fam != "" {
		return fam + " (latest)"
	}
	return arn
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

func (rv *rolloutView) document() *DocumentRollout {
	if rv == nil {
		return nil
	}
	return &DocumentRollout{Mode: rv.mode, Settled: rv.settled, SourceDeregistered: rv.sourceDeregistered, Note: rv.note,
		Error: rv.err, Consumers: append([]DocumentConsumer{}, rv.consumers...), Omitted: rv.omitted}
}
