package remediation

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"
	"golang.org/x/time/rate"

	"github.com/ecslogfix/ecslogfix/internal/cloudtrail"
	"github.com/ecslogfix/ecslogfix/internal/config"
	"github.com/ecslogfix/ecslogfix/internal/plan"
	"github.com/ecslogfix/ecslogfix/internal/policy"
	"github.com/ecslogfix/ecslogfix/internal/workflow"
)

// Reasons an event is ignored. They are stable: log lines and the Ignored
// metric's Reason dimension carry them.
const (
	IgnoreParse         = "parse"               // not a well-formed RegisterTaskDefinition CloudTrail event; the log line has the parse error kind
	IgnoreFailedCall    = "failed-call"         // the call failed (errorCode set)
	IgnoreOwnRole       = "own-role"            // registered by one of our roles (loop guard)
	IgnoreAccount       = "account-not-allowed" // the account is not in the configured allow-list
	IgnoreNotFound      = "not-found"           // the revision cannot be described any more
	IgnoreInactive      = "inactive"            // the revision is no longer ACTIVE
	IgnoreExempt        = "exempt"              // the exemption tag is set
	IgnoreUnplannable   = "unplannable"         // plan.Build refused the task definition
	IgnoreNotApplicable = "not-applicable"      // nothing to start for (e.g. no task definition in the response)
)

// Statuses of a detect response.
const (
	StatusStarted   = "started"   // a workflow execution was started
	StatusDuplicate = "duplicate" // the execution already existed (duplicate delivery, sweep overlap)
	StatusCompliant = "compliant" // the revision is compliant
	StatusIgnored   = "ignored"   // see Reason
	StatusSweep     = "sweep"     // a sweep invocation; see Sweep
)

// Response is detect's small JSON answer (the Lambda result; also useful in
// logs and tests). It carries no task definition content.
type Response struct {
	Status            string       `json:"status"`
	Reason            string       `json:"reason,omitempty"`
	TaskDefinitionARN string       `json:"taskDefinitionArn,omitempty"`
	ExecutionName     string       `json:"executionName,omitempty"`
	ExecutionARN      string       `json:"executionArn,omitempty"`
	Sweep             *SweepReport `json:"sweep,omitempty"`
}

// Detector is the detect function: it turns a CloudTrail
// RegisterTaskDefinition event (or a sweep request) into workflow
// executions for non-compliant revisions.
type Detector struct {
	// Runtime is the function's configuration (policy, state machine ARN,
	// own roles, mode, allow-list, regions, register rate).
	Runtime config.Runtime
	// Clients gives ECS clients per target.
	Clients ClientSource
	// SFN starts executions of Runtime.StateMachineARN.
	SFN SFN
	// HomeAccount is the account the function runs in. In organization
	// mode targets in other accounts are reached through the member role;
	// when empty, every target is.
	HomeAccount string
	// Partition is the AWS partition; default "aws".
	Partition string
	// Region is the function's own Region: the sweep's default.
	Region string
	// Logger receives one line per event; default slog.Default().
	Logger *slog.Logger
	// Metrics receives EMF documents; nil writes none.
	Metrics *Metrics

	// Invoker and FunctionName let the sweep continue itself
	// asynchronously when its time runs out.
	Invoker      Invoker
	FunctionName string
	// SweepMargin is the time left before the Lambda deadline at which the
	// sweep stops and continues itself. Default 30s.
	SweepMargin time.Duration
	// StartRate limits the sweep's StartExecution calls per second; default
	// Runtime.RegisterRate (each execution registers at most one revision,
	// so a backlog drains at the rate registrations may happen), else
	// DefaultRegisterRate.
	StartRate float64
	// ReadRate limits the sweep's ECS list and describe calls per second
	// (per target); 0 means inventory.DefaultReadRate.
	ReadRate float64
	// Now is the clock; default time.Now.
	Now func() time.Time

	startOnce    sync.Once
	startLimiter *rate.Limiter
}

func (d *Detector) logger() *slog.Logger {
	if d.Logger != nil {
		return d.Logger
	}
	return slog.Default()
}

func (d *Detector) now() time.Time {
	if d.Now != nil {
		return d.Now()
	}
	return time.Now()
}

// envelope tells a sweep request from an EventBridge event by shape.
type envelope struct {
	Sweep      *SweepRequest `json:"sweep"`
	DetailType string        `json:"detail-type"`
	Source     string        `json:"source"`
}

// Handle processes one invocation: a sweep request ({"sweep":{…}}) or an
// EventBridge CloudTrail event. Ignored events return a nil error (a retry
// would not change the verdict); AWS errors are returned classified so the
// asynchronous invocation is retried.
func (d *Detector) Handle(ctx context.Context, raw json.RawMessage) (Response, error) {
	var env envelope
	if err := json.Unmarshal(raw, &env); err == nil && env.Sweep != nil && env.DetailType == "" && env.Source == "" {
		return d.Sweep(ctx, *env.Sweep)
	}
	return d.HandleEvent(ctx, raw)
}

// HandleEvent processes one EventBridge CloudTrail RegisterTaskDefinition
// event and writes its metrics.
func (d *Detector) HandleEvent(ctx context.Context, raw []byte) (Response, error) {
	resp, err := d.handleEvent(ctx, raw)
	if err == nil {
		d.eventMetrics(resp)
	}
	return resp, err
}

// eventMetrics writes one EMF document for an event's response.
func (d *Detector) eventMetrics(resp Response) {
	switch resp.Status {
	case StatusIgnored:
		d.Metrics.Count(map[string]string{"Reason": resp.Reason}, map[string]int{MetricIgnored: 1})
	case StatusCompliant:
		d.Metrics.Count(nil, map[string]int{MetricCompliant: 1})
	case StatusStarted:
		d.Metrics.Count(nil, map[string]int{config.MetricDetections: 1, MetricStarted: 1})
	case StatusDuplicate:
		d.Metrics.Count(nil, map[string]int{config.MetricDetections: 1, MetricDuplicates: 1})
	}
}

func (d *Detector) handleEvent(ctx context.Context, raw []byte) (Response, error) {
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
		return d.ignored(IgnoreParse, ""), nil
	}
	log = log.With("eventId", reg.EventID, "account", reg.Account, "region", reg.Region, "family", reg.Family, "revision", reg.Revision)
	switch {
	case reg.Failed():
		log.Info("ignored", "reason", IgnoreFailedCall, "errorCode", reg.ErrorCode)
		return d.ignored(IgnoreFailedCall, reg.TaskDefinitionARN), nil
	case d.ownPrincipal(reg.Principal):
		log.Info("ignored", "reason", IgnoreOwnRole, "principal", firstNonEmpty(reg.Principal.RoleARN, reg.Principal.ARN))
		return d.ignored(IgnoreOwnRole, reg.TaskDefinitionARN), nil
	case !d.accountAllowed(reg.Account):
		log.Info("ignored", "reason", IgnoreAccount)
		return d.ignored(IgnoreAccount, reg.TaskDefinitionARN), nil
	}

	target := d.target(reg.Account, reg.Region)
	c, err := d.Clients.Clients(ctx, target)
	if err != nil {
		return Response{}, fmt.Errorf("clients for %s/%s: %w", reg.Account, reg.Region, err)
	}
	// Never trust the event body: read the revision by its exact ARN (a
	// newer one may exist already). An event without a revision names the
	// family only: read its latest ACTIVE revision.
	ref := reg.TaskDefinitionARN
	if reg.Revision == 0 || ref == "" {
		ref = reg.Family
	}
	out, err := c.ECS.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{
		TaskDefinition: aws.String(ref),
		Include:        []types.TaskDefinitionField{types.TaskDefinitionFieldTags},
	})
	if err != nil {
		if isTaskDefinitionNotFound(err) {
			log.Info("ignored", "reason", IgnoreNotFound, "taskDefinition", ref)
			return d.ignored(IgnoreNotFound, reg.TaskDefinitionARN), nil
		}
		return Response{}, workflow.Classify(fmt.Errorf("describe task definition %s: %w", ref, err))
	}
	if out.TaskDefinition == nil {
		log.Info("ignored", "reason", IgnoreNotApplicable, "taskDefinition", ref)
		return d.ignored(IgnoreNotApplicable, reg.TaskDefinitionARN), nil
	}
	cand := candidate{
		target:    target,
		td:        out.TaskDefinition,
		tags:      out.Tags,
		trigger:   workflow.TriggerEvent,
		eventID:   reg.EventID,
		principal: principalOf(reg.Principal),
		origin:    originOf(reg.Origin),
	}
	resp, err := d.consider(ctx, log, cand, nil)
	if err != nil {
		return Response{}, workflow.Classify(err)
	}
	return resp, nil
}

// candidate is one revision detect considers.
type candidate struct {
	target    workflow.Target
	td        *types.TaskDefinition
	tags      []types.Tag
	trigger   workflow.Trigger
	eventID   string
	principal *workflow.Principal
	origin    *workflow.Origin
}

// consider evaluates one revision and starts the workflow for a violation.
// limiter, when set, paces StartExecution.
func (d *Detector) consider(ctx context.Context, log *slog.Logger, c candidate, limiter *rate.Limiter) (Response, error) {
	td := c.td
	arn := aws.ToString(td.TaskDefinitionArn)
	family := aws.ToString(td.Family)
	log = log.With("taskDefinitionArn", arn)
	pol := d.Runtime.Policy.WithDefaults()
	if td.Status != types.TaskDefinitionStatusActive {
		log.Info("ignored", "reason", IgnoreInactive, "status", string(td.Status))
		return d.ignored(IgnoreInactive, arn), nil
	}
	if pol.IsExempt(c.tags) {
		log.Info("ignored", "reason", IgnoreExempt)
		return d.ignored(IgnoreExempt, arn), nil
	}
	ev := pol.Evaluate(td, c.tags)
	if ev.Exempt {
		log.Info("ignored", "reason", IgnoreExempt)
		return d.ignored(IgnoreExempt, arn), nil
	}
	if ev.Compliant {
		level := slog.LevelInfo
		if c.trigger == workflow.TriggerSweep {
			level = slog.LevelDebug // one line per family would flood a sweep's log
		}
		log.Log(ctx, level, "compliant")
		return Response{Status: StatusCompliant, TaskDefinitionARN: arn}, nil
	}
	p, err := plan.Build(td, c.tags, pol, plan.Context{Partition: d.partition(), Account: c.target.Account, Region: c.target.Region})
	if err != nil {
		log.Warn("ignored", "reason", IgnoreUnplannable, "error", err.Error())
		return d.ignored(IgnoreUnplannable, arn), nil
	}
	in := workflow.Input{
		Version:           workflow.Version,
		Trigger:           c.trigger,
		EventID:           c.eventID,
		Target:            c.target,
		TaskDefinitionARN: arn,
		Family:            family,
		Revision:          td.Revision,
		Enforcement:       enforcement(pol),
		Reasons:           reasonsOf(ev),
		LogGroups:         p.LogGroups,
		Principal:         c.principal,
		Origin:            c.origin,
	}
	if in.LogGroups == nil {
		in.LogGroups = []plan.LogGroup{}
	}
	body, err := json.Marshal(in)
	if err != nil {
		return Response{}, fmt.Errorf("marshal execution input: %w", err)
	}
	// The execution name makes duplicate deliveries (and the sweep meeting
	// a live event) harmless. A failed execution does not block the
	// revision for the 90 days Step Functions keeps names: the next
	// delivery or sweep starts the next attempt's name.
	var name string
	for attempt := 1; ; attempt++ {
		name = ExecutionNameAttempt(c.target.Account, c.target.Region, family, td.Revision, attempt)
		if limiter != nil {
			if err := limiter.Wait(ctx); err != nil {
				// The context ends before the next start may happen.
				return Response{}, fmt.Errorf("%w: %w", errStop, err)
			}
		}
		out, err := d.SFN.StartExecution(ctx, &sfn.StartExecutionInput{
			StateMachineArn: aws.String(d.Runtime.StateMachineARN),
			Name:            aws.String(name),
			Input:           aws.String(string(body)),
		})
		var exists *sfntypes.ExecutionAlreadyExists
		switch {
		case errors.As(err, &exists):
			status, err := d.executionStatus(ctx, name)
			if err != nil {
				return Response{}, err
			}
			if attempt < MaxExecutionAttempts && (status == sfntypes.ExecutionStatusFailed || status == sfntypes.ExecutionStatusTimedOut || status == sfntypes.ExecutionStatusAborted) {
				log.Info("retrying after a failed execution", "executionName", name, "status", string(status))
				continue
			}
			log.Info("duplicate", "executionName", name, "status", string(status), "reasons", reasonCodes(ev))
			return Response{Status: StatusDuplicate, TaskDefinitionARN: arn, ExecutionName: name}, nil
		case err != nil:
			return Response{}, fmt.Errorf("start execution %s: %w", name, err)
		}
		log.Info("started", "executionName", name, "executionArn", aws.ToString(out.ExecutionArn), "reasons", reasonCodes(ev), "enforcement", string(in.Enforcement))
		return Response{Status: StatusStarted, TaskDefinitionARN: arn, ExecutionName: name, ExecutionARN: aws.ToString(out.ExecutionArn)}, nil
	}
}

// MaxExecutionAttempts bounds the executions started for one revision:
// the first, and a new one after each failed one.
const MaxExecutionAttempts = 3

// ExecutionDescriber is the optional part of SFN that lets detect tell a
// failed earlier execution from a running or successful one. Without it
// (a client that cannot describe), an existing name is a duplicate.
type ExecutionDescriber interface {
	DescribeExecution(ctx context.Context, in *sfn.DescribeExecutionInput, optFns ...func(*sfn.Options)) (*sfn.DescribeExecutionOutput, error)
}

// executionStatus is the status of the execution named name, or "" when
// it cannot be told.
func (d *Detector) executionStatus(ctx context.Context, name string) (sfntypes.ExecutionStatus, error) {
	desc, ok := d.SFN.(ExecutionDescriber)
	if !ok {
		return "", nil
	}
	arn := strings.Replace(d.Runtime.StateMachineARN, ":stateMachine:", ":execution:", 1) + ":" + name
	out, err := desc.DescribeExecution(ctx, &sfn.DescribeExecutionInput{ExecutionArn: aws.String(arn)})
	if err != nil {
		return "", workflow.Classify(fmt.Errorf("describe execution %s: %w", name, err))
	}
	return out.Status, nil
}

func (d *Detector) ignored(reason, arn string) Response {
	return Response{Status: StatusIgnored, Reason: reason, TaskDefinitionARN: arn}
}

func (d *Detector) partition() string {
	if d.Partition != "" {
		return d.Partition
	}
	return "aws"
}

// target is where account/region is reached: in organization mode through
// the member role, unless it is the function's own account.
func (d *Detector) target(account, region string) workflow.Target {
	t := workflow.Target{Account: account, Region: region}
	if d.Runtime.Mode == config.ModeOrganization && d.Runtime.MemberRoleName != "" && (d.HomeAccount == "" || account != d.HomeAccount) {
		t.RoleARN = MemberRoleARN(d.partition(), account, d.Runtime.MemberRoleName)
	}
	return t
}

// accountAllowed applies the optional allow-list. Organization membership
// itself is enforced before detect runs: the hub event bus's resource
// policy admits PutEvents only from principals of the organization
// (aws:PrincipalOrgID), so events from other organizations never arrive.
func (d *Detector) accountAllowed(account string) bool {
	if len(d.Runtime.AllowedAccounts) == 0 {
		return true
	}
	for _, a := range d.Runtime.AllowedAccounts {
		if a == account {
			return true
		}
	}
	return false
}

// roleRef is an IAM role named by account and name (paths dropped: an
// assumed-role session ARN does not carry the role's path).
type roleRef struct{ account, name string }

// parseRole extracts the role from an IAM role ARN
// (arn:P:iam::ACCT:role/PATH/NAME) or an STS assumed-role session ARN
// (arn:P:sts::ACCT:assumed-role/NAME/SESSION).
func parseRole(arn string) (roleRef, bool) {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" {
		return roleRef{}, false
	}
	svc, account, res := parts[2], parts[4], parts[5]
	switch {
	case svc == "iam" && strings.HasPrefix(res, "role/"):
		segs := strings.Split(res, "/")
		return roleRef{account, segs[len(segs)-1]}, segs[len(segs)-1] != ""
	case svc == "sts" && strings.HasPrefix(res, "assumed-role/"):
		segs := strings.Split(res, "/")
		if len(segs) < 2 || segs[1] == "" {
			return roleRef{}, false
		}
		return roleRef{account, segs[1]}, true
	}
	return roleRef{}, false
}

// ownPrincipal reports whether p is one of our roles: one of
// Runtime.OwnRoleARNs (account "*" matches any account), or in
// organization mode the member role in any account. Both the session
// issuer's role ARN and the caller's (assumed-role session) ARN are
// compared.
func (d *Detector) ownPrincipal(p cloudtrail.Principal) bool {
	member := d.Runtime.MemberRoleName
	if i := strings.LastIndex(member, "/"); i >= 0 {
		member = member[i+1:]
	}
	for _, s := range []string{p.RoleARN, p.ARN} {
		r, ok := parseRole(s)
		if !ok {
			continue
		}
		if d.Runtime.Mode == config.ModeOrganization && member != "" && r.name == member {
			return true
		}
		for _, own := range d.Runtime.OwnRoleARNs {
			o, ok := parseRole(own)
			if ok && o.name == r.name && (o.account == r.account || o.account == "*") {
				return true
			}
		}
	}
	return false
}

func enforcement(p policy.Policy) policy.Enforcement {
	if p.Enforcement == "" {
		return policy.Enforce
	}
	return p.Enforcement
}

func reasonsOf(ev policy.Evaluation) []workflow.ContainerReasons {
	out := []workflow.ContainerReasons{}
	for _, c := range ev.Containers {
		if !c.Compliant {
			out = append(out, workflow.ContainerReasons{Container: c.Name, Reasons: c.Reasons})
		}
	}
	return out
}

func reasonCodes(ev policy.Evaluation) []string {
	var out []string
	seen := map[policy.Reason]bool{}
	for _, c := range ev.Containers {
		for _, r := range c.Reasons {
			if !seen[r] {
				seen[r] = true
				out = append(out, string(r))
			}
		}
	}
	return out
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

// principalFromARN is the best summary of a registeredBy ARN (the sweep
// has no CloudTrail record).
func principalFromARN(arn string) *workflow.Principal {
	if arn == "" {
		return nil
	}
	p := &workflow.Principal{Type: "Unknown", ARN: arn}
	switch {
	case strings.Contains(arn, ":assumed-role/"):
		p.Type = "AssumedRole"
		if r, ok := parseRole(arn); ok {
			parts := strings.SplitN(arn, ":", 6)
			p.RoleARN = "arn:" + parts[1] + ":iam::" + r.account + ":role/" + r.name
		}
	case strings.Contains(arn, ":user/"):
		p.Type = "IAMUser"
	case strings.HasSuffix(arn, ":root"):
		p.Type = "Root"
	case strings.Contains(arn, ":role/"):
		p.Type = "Role"
	}
	return p
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}
