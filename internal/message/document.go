package message

import (
	"github.com/ecslogfix/ecslogfix/internal/backout"
	"github.com/ecslogfix/ecslogfix/internal/console"
	"github.com/ecslogfix/ecslogfix/internal/plan"
	"github.com/ecslogfix/ecslogfix/internal/policy"
	"github.com/ecslogfix/ecslogfix/internal/workflow"
)

// Schema names the structured notification document's format. Bump the
// version on any incompatible change.
const Schema = "ecslogfix.notification/v1"

// Document is the structured notification for machines (the sqs and lambda
// keys). It carries the same redacted content as the text.
type Document struct {
	Schema    string           `json:"schema"`
	Outcome   workflow.Outcome `json:"outcome"`
	Summary   string           `json:"summary"`
	Account   string           `json:"account,omitempty"`
	Region    string           `json:"region,omitempty"`
	Partition string           `json:"partition,omitempty"`
	Family    string           `json:"family,omitempty"`
	SourceARN string           `json:"sourceArn,omitempty"`
	NewARN    string           `json:"newArn,omitempty"`
	LatestARN string           `json:"latestArn,omitempty"`
	Detail    string           `json:"detail,omitempty"`
	// ExemptionNotes name the exemptions that stopped applying.
	ExemptionNotes []string            `json:"exemptionNotes,omitempty"`
	Trigger        string              `json:"trigger,omitempty"`
	EventID        string              `json:"eventId,omitempty"`
	Principal      *workflow.Principal `json:"principal,omitempty"`
	Origin         *workflow.Origin    `json:"origin,omitempty"`
	Containers     []DocumentContainer `json:"containers,omitempty"`
	Blockers       []plan.Blocker      `json:"blockers,omitempty"`
	LogGroups      []LogGroupInfo      `json:"logGroups,omitempty"`
	ExecutionRole  string              `json:"executionRoleArn,omitempty"`
	Rollout        *DocumentRollout    `json:"rollout,omitempty"`
	Backout        []BackoutStep       `json:"backout,omitempty"`
	Failure        *FailureInfo        `json:"failure,omitempty"`
	ExecutionARN   string              `json:"executionArn,omitempty"`
	Links          map[string]string   `json:"links,omitempty"`
	Truncated      bool                `json:"truncated,omitempty"`
}

// BackoutStep is one backout step as the document carries it: the sentence
// and the exact command, in the order to run them (backout.Step, without the
// fields `ecslogfix backout` executes it by).
type BackoutStep struct {
	Description string `json:"description"`
	Command     string `json:"command"`
}

// DocumentContainer is one container's findings and change.
type DocumentContainer struct {
	Name    string          `json:"name"`
	Action  plan.Action     `json:"action,omitempty"`
	Reasons []policy.Reason `json:"reasons,omitempty"`
	Before  *Settings       `json:"before,omitempty"`
	After   *Settings       `json:"after,omitempty"`
}

// document renders the structured document at a detail level.
func (v *view) document(lvl level) Document {
	d := Document{
		Schema: Schema, Outcome: v.outcome, Summary: v.summary(),
		Account: v.account, Region: v.region, Partition: v.partition, Family: v.family,
		SourceARN: v.sourceARN, NewARN: v.newARN, LatestARN: v.latestARN, Detail: v.detail, ExemptionNotes: v.exemptionNotes,
		Trigger: v.trigger, EventID: v.eventID, Principal: v.principal, Origin: v.origin,
		Blockers: v.blockers, LogGroups: v.logGroups, ExecutionRole: v.execRole,
		Rollout: v.rollout.document(), Backout: backoutSteps(v.backout), Failure: v.failure, ExecutionARN: v.execARN,
		Truncated: lvl != levelFull || v.omitted > 0,
	}
	for _, c := range v.containers {
		dc := DocumentContainer{Name: c.Name, Action: c.Action, Reasons: c.Reasons}
		if lvl == levelFull {
			dc.Before, dc.After = c.Before, c.After
		}
		d.Containers = append(d.Containers, dc)
	}
	if lvl == levelMinimal {
		d.Blockers = limit(v.blockers, lvl)
		d.LogGroups = limit(v.logGroups, lvl)
		d.Backout = backoutSteps(limit(v.backout, lvl))
		if d.Rollout != nil {
			d.Rollout.Consumers = limit(d.Rollout.Consumers, lvl)
		}
		d.Containers = nil
		for _, c := range limit(v.containers, lvl) {
			d.Containers = append(d.Containers, DocumentContainer{Name: c.Name, Action: c.Action})
		}
	}
	links := map[string]string{}
	if l := console.TaskDefinition(v.partition, v.region, v.family, v.sourceRev); l != "" && v.sourceARN != "" {
		links["source"] = l
	}
	if l := console.TaskDefinition(v.partition, v.region, v.family, v.newRev); l != "" && v.newARN != "" {
		links["newRevision"] = l
	}
	if l := console.Execution(v.execARN); l != "" {
		links["execution"] = l
	}
	if len(links) > 0 {
		d.Links = links
	}
	return d
}

func backoutSteps(steps []backout.Step) []BackoutStep {
	var out []BackoutStep
	for _, s := range steps {
		out = append(out, BackoutStep{Description: s.Description, Command: s.Command})
	}
	return out
}
