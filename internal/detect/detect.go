// Package detect is the detect function: it turns one CloudTrail
// RegisterTaskDefinition event into a remediation workflow execution when
// the registered revision is not compliant. The event is only a hint: the
// revision is read again by its exact ARN before it is judged
// (execution.Starter.Consider).
//
// Logs are JSON (log/slog) with stable keys: msg (ignored, compliant,
// started, duplicate, …), reason (the Ignore* constants here and in
// internal/execution), eventId, account, region, family, revision,
// taskDefinitionArn, executionName, executionArn. Nothing logged, returned
// or passed to Step Functions carries container environment values,
// secrets or the raw CloudTrail body.
package detect

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ecslogfix/ecslogfix/internal/awsarn"
	"github.com/ecslogfix/ecslogfix/internal/awserr"
	"github.com/ecslogfix/ecslogfix/internal/cloudtrail"
	"github.com/ecslogfix/ecslogfix/internal/execution"
	"github.com/ecslogfix/ecslogfix/internal/loggroup"
	"github.com/ecslogfix/ecslogfix/internal/metrics"
	"github.com/ecslogfix/ecslogfix/internal/workflow"
)

// Reasons an event is ignored before its revision is read. They are
// stable: log lines and the Ignored metric's Reason dimension carry them.
const (
	IgnoreParse         = "parse"               // not a well-formed RegisterTaskDefinition CloudTrail event; the log line has the parse error kind
	IgnoreFailedCall    = "failed-call"         // the call failed (errorCode set)
	IgnoreOwnRole       = "own-role"            // registered by one of our roles (loop guard)
	IgnoreAccount       = "account-not-allowed" // the account is not in the configured allow-list
	IgnoreNotFound      = "not-found"           // the revision cannot be described any more
	IgnoreNotApplicable = "not-applicable"      // nothing to start for (e.g. no task definition in the response)
)

// ECS is the part of the ECS API detect uses.
type ECS interface {
	DescribeTaskDefinition(ctx context.Context, in *ecs.DescribeTaskDefinitionInput, optFns ...func(*ecs.Options)) (*ecs.DescribeTaskDefinitionOutput, error)
}

// ECSFor returns the ECS client for a target (account, region, role).
type ECSFor func(t workflow.Target) (ECS, error)

// Detector handles events.
type Detector struct {
	// Starter considers the revision and starts its execution.
	Starter *execution.Starter
	// ECS gives the ECS client per target.
	ECS ECSFor
	// Reach says how an account is reached (organization mode).
	Reach execution.Reach
	// OwnRoleARNs are ecslogfix's roles: registrations by them are ignored
	// (the loop guard). Account "*" matches any account.
	OwnRoleARNs []string
	// AllowedAccounts, when not empty, is the only accounts acted on.
	AllowedAccounts []string
	// Logger receives one line per event; default slog.Default().
	Logger *slog.Logger
	// Metrics receives EMF documents; nil writes none.
	Metrics *metrics.Metrics
	// Observe, when set, makes the observer of one event: a compliant
	// revision's log groups are read once each (LOG_GROUP_MISSING).
	Observe func() *loggroup.Observer
}

func (d *Detector) logger() *slog.Logger {
	if d.Logger != nil {
		return d.Logger
	}
	return slog.Default()
}

// Handle processes one EventBridge CloudTrail RegisterTaskDefinition event
// and writes its metrics. Ignored events return a nil error (a retry would
// not change the verdict); AWS errors are returned classified, so the
// asynchronous invocation is retried.
func (d *Detector) Handle(ctx context.Context, raw []byte) (execution.Response, error) {
	resp, err := d.handle(ctx, raw)
	if err != nil {
		return execution.Response{}, workflow.Classify(err)
	}
	switch resp.Status {
	case execution.StatusIgnored:
		d.Metrics.Count(map[string]string{"Reason": resp.Reason}, map[string]int{metrics.Ignored: 1})
	case execution.StatusCompliant:
		d.Metrics.Count(nil, map[string]int{metrics.Compliant: 1})
	case execution.StatusStarted:
		d.Metrics.Count(nil, map[string]int{metrics.Detections: 1, metrics.Started: 1})
	case execution.StatusDuplicate:
		d.Metrics.Count(nil, map[string]int{metrics.Detections: 1, metrics.Duplicates: 1})
	}
	return resp, nil
}

func (d *Detector) handle(ctx context.Context, raw []byte) (execution.Response, error) {
	log := d.logger()
	reg, err := cloudtrail.Parse(raw)
	if err != nil {
		kind, field := "malformed", ""
		var pe *cloudtrail.Error
		if errors.As(err, &pe) {
			kind, field = pe.Kind, pe.Field
		}
		// Only the kind and the field: the message may quote event content.
		log.Info("ignored", "reason", IgnoreParse, "kind", kind, "field", field)
		return execution.Ignored(IgnoreParse, ""), nil
	}
	log = log.With("eventId", reg.EventID, "account", reg.Account, "region", reg.Region, "family", reg.Family, "revision", reg.Revision)
	switch {
	case reg.Failed():
		log.Info("ignored", "reason", IgnoreFailedCall, "errorCode", reg.ErrorCode)
		return execution.Ignored(IgnoreFailedCall, reg.TaskDefinitionARN), nil
	case d.own(reg.Principal):
		log.Info("ignored", "reason", IgnoreOwnRole, "principal", cmp.Or(reg.Principal.RoleARN, reg.Principal.ARN))
		return execution.Ignored(IgnoreOwnRole, reg.TaskDefinitionARN), nil
	case len(d.AllowedAccounts) > 0 && !slices.Contains(d.AllowedAccounts, reg.Account):
		// Organization membership itself is enforced before detect runs:
		// the hub bus's resource policy admits PutEvents only from
		// principals of the organization (aws:PrincipalOrgID).
		log.Info("ignored", "reason", IgnoreAccount)
		return execution.Ignored(IgnoreAccount, reg.TaskDefinitionARN), nil
	}

	target := d.Reach.Target(reg.Account, reg.Region)
	client, err := d.ECS(target)
	if err != nil {
		return execution.Response{}, fmt.Errorf("clients for %s/%s: %w", reg.Account, reg.Region, err)
	}
	// Never trust the event body: read the revision by its exact ARN (a
	// newer one may exist already). An event without a revision names the
	// family only: read its latest ACTIVE revision.
	ref := reg.TaskDefinitionARN
	if reg.Revision == 0 || ref == "" {
		ref = reg.Family
	}
	out, err := client.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{
		TaskDefinition: aws.String(ref),
		Include:        []types.TaskDefinitionField{types.TaskDefinitionFieldTags},
	})
	switch {
	case err != nil && awserr.IsTaskDefinitionNotFound(err):
		log.Info("ignored", "reason", IgnoreNotFound, "taskDefinition", ref)
		return execution.Ignored(IgnoreNotFound, reg.TaskDefinitionARN), nil
	case err != nil:
		return execution.Response{}, fmt.Errorf("describe task definition %s: %w", ref, err)
	case out.TaskDefinition == nil:
		log.Info("ignored", "reason", IgnoreNotApplicable, "taskDefinition", ref)
		return execution.Ignored(IgnoreNotApplicable, reg.TaskDefinitionARN), nil
	}
	var obs *loggroup.Observer
	if d.Observe != nil {
		obs = d.Observe()
	}
	c := execution.Candidate{
		Target:         target,
		TaskDefinition: out.TaskDefinition,
		Tags:           out.Tags,
		Trigger:        workflow.TriggerEvent,
		EventID:        reg.EventID,
		Principal:      principalOf(reg.Principal),
		Origin:         originOf(reg.Origin),
		Observer:       obs,
	}
	if !reg.EventTime.IsZero() {
		c.RegisteredAt = &reg.EventTime
	}
	return d.Starter.Consider(ctx, log, c)
}

// own reports whether p is one of our roles: one of OwnRoleARNs (account
// "*" matches any account), or in organization mode the member role in
// any account. Both the session issuer's role ARN and the caller's
// (assumed-role session) ARN are compared, by account and name.
func (d *Detector) own(p cloudtrail.Principal) bool {
	member := d.Reach.MemberRoleName
	if i := strings.LastIndex(member, "/"); i >= 0 {
		member = member[i+1:] // session ARNs carry no path
	}
	for _, s := range []string{p.RoleARN, p.ARN} {
		r, ok := awsarn.ParseRole(s)
		if !ok {
			continue
		}
		if d.Reach.Organization && member != "" && r.Name == member {
			return true
		}
		for _, arn := range d.OwnRoleARNs {
			o, ok := awsarn.ParseRole(arn)
			if ok && o.Name == r.Name && (o.Account == r.Account || o.Account == "*") {
				return true
			}
		}
	}
	return false
}

func principalOf(p cloudtrail.Principal) *workflow.Principal {
	if p == (cloudtrail.Principal{}) {
		return nil
	}
	return &workflow.Principal{Type: p.Type, ARN: p.ARN, RoleARN: p.RoleARN, UserName: p.UserName, InvokedBy: p.InvokedBy}
}

func originOf(o cloudtrail.Origin) *workflow.Origin {
	if o == (cloudtrail.Origin{}) {
		return nil
	}
	return &workflow.Origin{Tool: o.Tool, Detail: o.Detail}
}
