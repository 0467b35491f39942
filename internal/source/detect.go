package source

import (
	"errors"
	"strconv"
	"strings"

	"github.com/ecslogfix/ecslogfix/internal/document"
	"github.com/ecslogfix/ecslogfix/internal/escape"
	"github.com/ecslogfix/ecslogfix/internal/source/taskdoc"
)

// kind is what a document was recognised as.
type kind int

const (
	kindUnknown kind = iota
	kindTaskDefinition
	kindCloudFormation
	kindCDKManifest
	kindTerraformPlan
)

// NotRecognised reports whether err is about a document that is none of
// the formats read here (its message names what it looks like instead, so
// that the user knows what to extract from it).
func NotRecognised(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Unrecognised()
}

// recognise decides what root is from its top-level keys.
func recognise(root *document.Node) (kind, error) {
	if root.Kind != document.Object {
		return kindUnknown, taskdoc.Unrecognised(root, notObject(root))
	}
	has := func(keys ...string) bool {
		for _, k := range keys {
			if _, ok := root.Field(k); !ok {
				return false
			}
		}
		return true
	}
	switch {
	case has("taskDefinition"), has("containerDefinitions"), has("family"):
		return kindTaskDefinition, nil
	case has("Resources"), has("AWSTemplateFormatVersion"):
		return kindCloudFormation, nil
	case has("artifacts", "version"):
		return kindCDKManifest, nil
	case has("format_version") && (has("planned_values") || has("resource_changes")):
		return kindTerraformPlan, nil
	}
	return kindUnknown, taskdoc.Unrecognised(root, lookalike(root))
}

func notObject(n *document.Node) string {
	if n.Kind == document.Array && len(n.Items) > 0 && n.Items[0].Get("name") != nil &&
		(n.Items[0].Get("image") != nil || n.Items[0].Get("logConfiguration") != nil) {
		return "a list of container definitions, not a task definition: put it in one, as its \"containerDefinitions\" with a \"family\""
	}
	return "expected a JSON or YAML object, got " + n.Kind.String()
}

// lookalike names documents that are often mistaken for a task
// definition.
func lookalike(root *document.Node) string {
	has := func(k string) bool { _, ok := root.Field(k); return ok }
	str := func(k string) string { s, _ := root.Get(k).Str(); return s }
	switch {
	case has("eventSource") || has("eventName") && (has("requestParameters") || has("responseElements")):
		what := "a CloudTrail record"
		if name := str("eventName"); name != "" {
			what += " of " + strconv.Quote(name)
		}
		if str("eventName") == "RegisterTaskDefinition" && root.Get("requestParameters").Get("family") != nil {
			return what + ", not a task definition: check its requestParameters (jq .requestParameters)"
		}
		return what + ", not a task definition"
	case has("detail-type") && has("detail"):
		return "an EventBridge event (" + strconv.Quote(str("detail-type")) + "), not a task definition: for a CloudTrail event, check .detail.requestParameters"
	case has("Records"):
		return "a CloudTrail log file (Records), not a task definition"
	case has("data") && root.Get("data").Get("taskDefinition") != nil:
		what := "a recorded API response"
		if has("status_code") {
			what = "a placebo recording (status_code, data)"
		}
		return what + " wrapping describe-task-definition output: check its data member (jq .data)"
	case has("tasks"):
		return "describe-tasks output (tasks), not a task definition: use aws ecs describe-task-definition"
	case has("taskDefinitionArns"):
		return "list-task-definitions output, not a task definition"
	case has("services"):
		return "describe-services output, not a task definition"
	case has("format_version") && has("values"):
		return "a Terraform state (terraform show -json without a plan file), not a plan: run terraform plan -out=plan && terraform show -json plan"
	case has("resource") || has("terraform") || has("provider"):
		return "Terraform configuration (.tf.json), not a plan: run terraform plan -out=plan && terraform show -json plan"
	case has("taskDefinitionArn") || has("revision"):
		return `a task definition with no "family"`
	}
	return "not a task definition, CloudFormation template, CDK cloud assembly manifest or Terraform plan (top-level keys: " + keyList(root) + ")"
}

// keyList shows at most a few keys, quoted (they are the file's text).
func keyList(n *document.Node) string {
	keys := n.Keys()
	if len(keys) == 0 {
		return "none"
	}
	const most = 6
	quoted := make([]string, 0, most+1)
	for i, k := range keys {
		if i == most {
			quoted = append(quoted, "…")
			break
		}
		quoted = append(quoted, strconv.Quote(escape.Clip(k, 40)))
	}
	return strings.Join(quoted, ", ")
}
