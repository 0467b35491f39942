package message

import (
	"github.com/ecslogfix/ecslogfix/internal/backout"
	"github.com/ecslogfix/ecslogfix/internal/console"
	"github.com/ecslogfix/ecslogfix/internal/message/notice"
	"github.com/ecslogfix/ecslogfix/internal/message/words"
	"github.com/ecslogfix/ecslogfix/internal/plan"
	"github.com/ecslogfix/ecslogfix/internal/policy/reason"
	"github.com/ecslogfix/ecslogfix/internal/workflow"
)

// DocumentRollout is the structured document's rollout block.
type DocumentRollout struct {
	Mode               string            `json:"mode"`
	Settled            bool              `json:"settled"`
	SourceDeregistered bool              `json:"sourceDeregistered,omitempty"`
	Note               string            `json:"note,omitempty"`
	Error              string            `json:"error,omitempty"`
	Consumers          []notice.Consumer `json:"consumers"`
	Omitted            int               `json:"omitted,omitempty"`
}

func documentRollout(rv *notice.Rollout) *DocumentRollout {
	if rv == nil {
		return nil
	}
	return &DocumentRollout{Mode: rv.Mode, Settled: rv.Settled, SourceDeregistered: rv.SourceDeregistered, Note: rv.Note,
		Error: rv.Err, Consumers: append([]notice.Consumer{}, rv.Consumers...), Omitted: rv.Omitted}
}

// Schema names the structured notification document's format
// (notice.Schema, which the text's signature names too).
const Schema = notice.Schema

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
	ExemptionNotes []string              `json:"exemptionNotes,omitempty"`
	Trigger        string                `json:"trigger,omitempty"`
	EventID        string                `json:"eventId,omitempty"`
	Principal      *workflow.Principal   `json:"principal,omitempty"`
	Origin         *workflow.Origin      `json:"origin,omitempty"`
	Containers     []DocumentContainer   `json:"containers,omitempty"`
	Blockers       []plan.Blocker        `json:"blockers,omitempty"`
	LogGroups      []notice.LogGroupInfo `json:"logGroups,omitempty"`
	ExecutionRole  string                `json:"executionRoleArn,omitempty"`
	Rollout        *DocumentRollout      `json:"rollout,omitempty"`
	Backout        []BackoutStep         `json:"backout,omitempty"`
	Failure        *notice.FailureInfo   `json:"failure,omitempty"`
	ExecutionARN   string                `json:"executionArn,omitempty"`
	Links          map[string]string     `json:"links,omitempty"`
	Truncated      bool                  `json:"truncated,omitempty"`
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
	Name    string           `json:"name"`
	Action  plan.Action      `json:"action,omitempty"`
	Reasons []reason.Code    `json:"reasons,omitempty"`
	Before  *notice.Settings `json:"before,omitempty"`
	After   *notice.Settings `json:"after,omitempty"`
}

// document renders the structured document at a detail level.
func document(v *notice.Notice, lvl notice.Level) Document {
	d := Document{
		Schema: Schema, Outcome: v.Outcome, Summary: words.Summary(v),
		Account: v.Account, Region: v.Region, Partition: v.Partition, Family: v.Family,
		SourceARN: v.SourceARN, NewARN: v.NewARN, LatestARN: v.LatestARN, Detail: v.Detail, ExemptionNotes: v.ExemptionNotes,
		Trigger: v.Trigger, EventID: v.EventID, Principal: v.Principal, Origin: v.Origin,
		Blockers: v.Blockers, LogGroups: v.LogGroups, ExecutionRole: v.ExecutionRole,
		Rollout: documentRollout(v.Rollout), Backout: backoutSteps(v.Backout), Failure: v.Failure, ExecutionARN: v.ExecutionARN,
		Truncated: lvl != notice.Full || v.Omitted > 0,
	}
	for _, c := range v.Containers {
		dc := DocumentContainer{Name: c.Name, Action: c.Action, Reasons: c.Reasons}
		if lvl == notice.Full {
			dc.Before, dc.After = c.Before, c.After
		}
		d.Containers = append(d.Containers, dc)
	}
	if lvl == notice.Minimal {
		d.Blockers = notice.Limit(v.Blockers, lvl)
		d.LogGroups = notice.Limit(v.LogGroups, lvl)
		d.Backout = backoutSteps(notice.Limit(v.Backout, lvl))
		if d.Rollout != nil {
			d.Rollout.Consumers = notice.Limit(d.Rollout.Consumers, lvl)
		}
		d.Containers = nil
		for _, c := range notice.Limit(v.Containers, lvl) {
			d.Containers = append(d.Containers, DocumentContainer{Name: c.Name, Action: c.Action})
		}
	}
	links := map[string]string{}
	if l := console.TaskDefinition(v.Partition, v.Region, v.Family, v.SourceRev); l != "" && v.SourceARN != "" {
		links["source"] = l
	}
	if l := console.TaskDefinition(v.Partition, v.Region, v.Family, v.NewRev); l != "" && v.NewARN != "" {
		links["newRevision"] = l
	}
	if l := console.Execution(v.ExecutionARN); l != "" {
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
