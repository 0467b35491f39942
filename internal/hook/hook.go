// Package hook is the CloudFormation Lambda Hook: before CloudFormation or
// Cloud Control API creates or updates an AWS::ECS::TaskDefinition, it
// judges the resource's properties with the same reader (package source)
// and policy (package check, policy.Evaluate) as `ecslogfix check`, and
// answers SUCCESS or FAILED. Whether FAILED stops the operation is the
// hook's FailureMode (WARN by default, FAIL opt-in), set where the hook is
// deployed, not here. functions/hook is the Lambda adapter.
//
// The request and response shapes are the ones the CloudFormation Hooks
// User Guide documents for Lambda Hooks ("Create Lambda functions to
// evaluate resources for Lambda Hooks"): resource and Cloud Control target
// operations carry requestData.targetModel.resourceProperties; the answer
// is hookStatus, errorCode, message and clientRequestToken, with optional
// annotations.
package hook

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/ecslogfix/ecslogfix/internal/check"
	"github.com/ecslogfix/ecslogfix/internal/escape"
	"github.com/ecslogfix/ecslogfix/internal/plan"
	"github.com/ecslogfix/ecslogfix/internal/policy"
	"github.com/ecslogfix/ecslogfix/internal/source"
)

// Request is a Lambda Hook invocation for a resource or Cloud Control
// target operation.
type Request struct {
	ClientRequestToken    string          `json:"clientRequestToken"`
	AWSAccountID          string          `json:"awsAccountId"`
	StackID               string          `json:"stackId,omitempty"`
	ChangeSetID           string          `json:"changeSetId,omitempty"`
	HookTypeName          string          `json:"hookTypeName"`
	HookTypeVersion       string          `json:"hookTypeVersion"`
	HookModel             json.RawMessage `json:"hookModel,omitempty"`
	ActionInvocationPoint string          `json:"actionInvocationPoint"`
	RequestData           RequestData     `json:"requestData"`
	RequestContext        RequestContext  `json:"requestContext"`
}

// RequestData names the target and carries its properties.
type RequestData struct {
	TargetName      string      `json:"targetName"`
	TargetType      string      `json:"targetType"`
	TargetLogicalID string      `json:"targetLogicalId"`
	TargetModel     TargetModel `json:"targetModel"`
}

// TargetModel is the resource's properties, after CloudFormation resolved
// its intrinsic functions, and before an update its previous ones.
type TargetModel struct {
	ResourceProperties         json.RawMessage `json:"resourceProperties"`
	PreviousResourceProperties json.RawMessage `json:"previousResourceProperties,omitempty"`
}

// RequestContext counts invocations of one evaluation.
type RequestContext struct {
	Invocation      int             `json:"invocation"`
	CallbackContext json.RawMessage `json:"callbackContext,omitempty"`
}

// Hook statuses and error codes.
const (
	StatusSuccess        = "SUCCESS"
	StatusFailed         = "FAILED"
	CodeNonCompliant     = "NonCompliant"
	annotationPassed     = "PASSED"
	annotationFailed     = "FAILED"
	severityHigh         = "HIGH"
	severityMedium       = "MEDIUM"
	maxMessage           = 1024 // Cloud Control truncates messages to 1,024 characters, CloudFormation to 4,096
	maxAnnotations       = 20
	maxAnnotationMessage = 1024
)

// Response is the hook's answer.
type Response struct {
	HookStatus         string       `json:"hookStatus"`
	ErrorCode          string       `json:"errorCode,omitempty"`
	Message            string       `json:"message"`
	ClientRequestToken string       `json:"clientRequestToken"`
	Annotations        []Annotation `json:"annotations,omitempty"`
}

// Annotation is one finding shown with the hook's result.
type Annotation struct {
	AnnotationName     string `json:"annotationName"`
	Status             string `json:"status"`
	StatusMessage      string `json:"statusMessage"`
	RemediationMessage string `json:"remediationMessage,omitempty"`
	SeverityLevel      string `json:"severityLevel,omitempty"`
}

// Handler judges hook requests with Policy.
type Handler struct {
	Policy policy.Policy
	Logger *slog.Logger
}

// Handle is the Lambda handler. It never returns an error: a request it
// cannot judge is answered FAILED, so that FailureMode decides.
func (h *Handler) Handle(_ context.Context, req Request) (Response, error) {
	resp := Decide(req, h.Policy)
	if h.Logger != nil {
		// Stable keys; the message names containers and reason codes only.
		h.Logger.Info("hook", "target", req.RequestData.TargetType, "logicalId", req.RequestData.TargetLogicalID,
			"invocationPoint", req.ActionInvocationPoint, "status", resp.HookStatus, "errorCode", resp.ErrorCode)
	}
	return resp, nil
}

// Decide is the hook's pure decision.
func Decide(req Request, pol policy.Policy) Response {
	resp := Response{HookStatus: StatusSuccess, ClientRequestToken: req.ClientRequestToken}
	target := req.RequestData.TargetType
	if target == "" {
		target = req.RequestData.TargetName
	}
	if target != source.TypeTaskDefinition {
		resp.Message = "ecslogfix judges AWS::ECS::TaskDefinition only; " + escape.Clip(escape.Text(target), 100) + " passes"
		return resp
	}
	if strings.HasPrefix(req.ActionInvocationPoint, "DELETE") {
		resp.Message = "ecslogfix: nothing to judge when a task definition is deleted"
		return resp
	}
	props := req.RequestData.TargetModel.ResourceProperties
	if len(props) == 0 || string(props) == "null" {
		props = []byte("{}")
	}
	res, err := source.Properties(props)
	if err != nil {
		resp.HookStatus, resp.ErrorCode = StatusFailed, CodeNonCompliant
		resp.Message = escape.Clip("ecslogfix cannot read the task definition's properties: "+escape.Text(err.Error()), maxMessage)
		return resp
	}
	res.ID = req.RequestData.TargetLogicalID
	r := check.Evaluate(res, pol, plan.Context{Today: time.Now()})
	name := escape.Text(cmp.Or(res.ID, r.Family, "the task definition"))
	if !r.Failing() {
		resp.Message = name + ": every container logs as the policy requires"
		if r.Exempt && r.Verdict != check.Compliant {
			resp.Message = name + ": exempt by its tag (" + string(r.Verdict) + ")"
		}
		resp.Annotations = []Annotation{{AnnotationName: "ecslogfix", Status: annotationPassed, StatusMessage: resp.Message}}
		return resp
	}
	resp.HookStatus, resp.ErrorCode = StatusFailed, CodeNonCompliant
	var findings []string
	for i, c := range r.Containers {
		cname := escape.Text(c.Name)
		if cname == "" {
			cname = fmt.Sprintf("#%d", i+1)
		}
		for _, rc := range c.Reasons {
			findings = append(findings, fmt.Sprintf("container %s: %s (%s)", cname, rc.Summary(), rc))
			resp.Annotations = append(resp.Annotations, Annotation{
				AnnotationName: string(rc), Status: annotationFailed,
				StatusMessage:      escape.Clip(fmt.Sprintf("container %s: %s", cname, rc.Summary()), maxAnnotationMessage),
				RemediationMessage: rc.Help(), SeverityLevel: severityHigh,
			})
		}
		if c.Verdict == check.Unresolved {
			for _, u := range c.Unresolved {
				findings = append(findings, fmt.Sprintf("container %s: %s is %s (%s)", cname, escape.Text(u.Field), escape.Text(u.Expr), u.CompliantWhen))
				resp.Annotations = append(resp.Annotations, Annotation{
					AnnotationName: check.RuleUnresolved, Status: annotationFailed,
					StatusMessage:      escape.Clip(fmt.Sprintf("container %s: %s is %s", cname, escape.Text(u.Field), escape.Text(u.Expr)), maxAnnotationMessage),
					RemediationMessage: u.CompliantWhen, SeverityLevel: severityMedium,
				})
			}
		}
	}
	if len(resp.Annotations) > maxAnnotations {
		resp.Annotations = resp.Annotations[:maxAnnotations]
	}
	resp.Message = escape.Clip(fmt.Sprintf("%s is %s: %s", name, r.Verdict, strings.Join(findings, "; ")), maxMessage)
	return resp
}
