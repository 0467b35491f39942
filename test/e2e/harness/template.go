package harness

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"

	"github.com/ecslogfix/ecslogfix/test/localaws"
)

// Template is a synthesized CloudFormation template whose references
// resolve to the names and ARNs the harness creates in moto.
type Template struct {
	StackName string
	// Account and Region the template is resolved in: the harness's
	// (Account, Region) unless set otherwise (a member account's template).
	Account, Region string
	// Parameters are the values of the template's parameters; a parameter
	// not given takes its default.
	Parameters map[string]string
	doc        map[string]any
	resources  map[string]map[string]any
}

// NewTemplate wraps a parsed template (JSON) for stack stackName.
func NewTemplate(stackName string, doc map[string]any) *Template {
	t := &Template{StackName: stackName, Account: localaws.Account, Region: localaws.Region, doc: doc, resources: map[string]map[string]any{}}
	res, _ := doc["Resources"].(map[string]any)
	for id, r := range res {
		if m, ok := r.(map[string]any); ok {
			t.resources[id] = m
		}
	}
	return t
}

// Resource is one resource of the template (of the type asked for).
type Resource struct {
	LogicalID  string
	Properties map[string]any
}

// Resources returns the resources of type typ, sorted by logical ID.
func (t *Template) Resources(typ string) []Resource {
	var out []Resource
	for id, r := range t.resources {
		if r["Type"] == typ {
			props, _ := r["Properties"].(map[string]any)
			out = append(out, Resource{LogicalID: id, Properties: props})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].LogicalID < out[j].LogicalID })
	return out
}

// resourceTypes are the types the harness names and resolves: the
// property holding the physical name, what Ref returns when not the name,
// and the ARN, of partition, region, account and physical name (explicit
// argument indexes: global services skip some).
var resourceTypes = map[string]struct{ nameProperty, ref, arn string }{
	"AWS::Lambda::Function":            {"FunctionName", "", "arn:%[1]s:lambda:%[2]s:%[3]s:function:%[4]s"},
	"AWS::IAM::Role":                   {"RoleName", "", "arn:%[1]s:iam::%[3]s:role/%[4]s"},
	"AWS::SNS::Topic":                  {"TopicName", "Arn", "arn:%[1]s:sns:%[2]s:%[3]s:%[4]s"},
	"AWS::SQS::Queue":                  {"QueueName", "QueueUrl", "arn:%[1]s:sqs:%[2]s:%[3]s:%[4]s"},
	"AWS::StepFunctions::StateMachine": {"StateMachineName", "Arn", "arn:%[1]s:states:%[2]s:%[3]s:stateMachine:%[4]s"},
	"AWS::Logs::LogGroup":              {"LogGroupName", "", "arn:%[1]s:logs:%[2]s:%[3]s:log-group:%[4]s:*"},
	"AWS::KMS::Key":                    {"", "", "arn:%[1]s:kms:%[2]s:%[3]s:key/%[4]s"},
	"AWS::Events::Rule":                {"Name", "", "arn:%[1]s:events:%[2]s:%[3]s:rule/%[4]s"},
	"AWS::Events::EventBus":            {"Name", "", "arn:%[1]s:events:%[2]s:%[3]s:event-bus/%[4]s"},
	"AWS::S3::Bucket":                  {"BucketName", "", "arn:%[1]s:s3:::%[4]s"},
	"AWS::DynamoDB::Table":             {"TableName", "", "arn:%[1]s:dynamodb:%[2]s:%[3]s:table/%[4]s"},
}

// PhysicalName is the name the harness gives a resource: its name
// property when set (and a plain string), else "<stack>-<id>-<hash>" as
// CloudFormation generates one.
func (t *Template) PhysicalName(logicalID string) string {
	r := t.resources[logicalID]
	typ, _ := r["Type"].(string)
	props, _ := r["Properties"].(map[string]any)
	if s, err := t.ResolveString(props[resourceTypes[typ].nameProperty]); err == nil && s != "" {
		return s
	}
	sum := sha256.Sum256([]byte(t.StackName + "/" + logicalID))
	name := t.StackName + "-" + logicalID + "-" + strings.ToUpper(hex.EncodeToString(sum[:])[:12])
	switch typ {
	case "AWS::KMS::Key":
		return fmt.Sprintf("%x-%x-%x-%x-%x", sum[0:4], sum[4:6], sum[6:8], sum[8:10], sum[10:16])
	case "AWS::S3::Bucket": // bucket names are lower case, at most 63 characters
		name = strings.ToLower(name)
		return name[max(0, len(name)-63):]
	}
	return name
}

func (t *Template) ref(id string) (any, error) {
	pseudo := map[string]any{"AWS::Region": t.Region, "AWS::AccountId": t.Account, "AWS::Partition": localaws.Partition,
		"AWS::URLSuffix": "amazonaws.com", "AWS::StackName": t.StackName}
	if v, ok := pseudo[id]; ok {
		return v, nil
	}
	params, _ := t.doc["Parameters"].(map[string]any)
	if v, ok := t.Parameters[id]; ok && params[id] != nil {
		return v, nil
	}
	if p, ok := params[id].(map[string]any); ok {
		if d, ok := p["Default"]; ok {
			return d, nil
		}
		return nil, fmt.Errorf("parameter %s has no default", id)
	}
	r, ok := t.resources[id]
	if !ok {
		return nil, fmt.Errorf("reference to unknown %s", id)
	}
	typ, _ := r["Type"].(string)
	if attr := resourceTypes[typ].ref; attr != "" {
		return t.getAtt(id, attr)
	}
	return t.PhysicalName(id), nil
}

func (t *Template) getAtt(id, attr string) (any, error) {
	r, ok := t.resources[id]
	if !ok {
		return nil, fmt.Errorf("Fn::GetAtt of unknown %s", id)
	}
	name := t.PhysicalName(id)
	typ, _ := r["Type"].(string)
	switch attr {
	case "Arn", "TopicArn":
		if f := resourceTypes[typ].arn; f != "" {
			return fmt.Sprintf(f, localaws.Partition, t.Region, t.Account, name), nil
		}
	case "Name", "TopicName", "QueueName", "KeyId":
		return name, nil
	case "QueueUrl":
		return fmt.Sprintf("http://sqs.%s.localhost:4566/%s/%s", t.Region, t.Account, name), nil
	}
	return nil, fmt.Errorf("Fn::GetAtt %s.%s (%s) is not supported by the harness", id, attr, typ)
}

var subVar = regexp.MustCompile(`\$\{([^}!][^}]*)\}`)

// Resolve evaluates the intrinsic functions in v (Ref, Fn::GetAtt,
// Fn::Join, Fn::Sub: the ones the synthesized templates use) against the
// harness's account, region and physical names. Unsupported functions are
// an error.
func (t *Template) Resolve(v any) (any, error) {
	switch x := v.(type) {
	case []any:
		out := make([]any, 0, len(x))
		for _, e := range x {
			r, err := t.Resolve(e)
			if err != nil {
				return nil, err
			}
			out = append(out, r)
		}
		return out, nil
	case map[string]any:
		if len(x) == 1 {
			for k, arg := range x {
				if k == "Ref" || strings.HasPrefix(k, "Fn::") {
					return t.intrinsic(k, arg)
				}
			}
		}
		out := make(map[string]any, len(x))
		for k, e := range x {
			r, err := t.Resolve(e)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", k, err)
			}
			out[k] = r
		}
		return out, nil
	}
	return v, nil
}

// Decode resolves r's properties and decodes them into out, a struct
// whose fields are named as the properties it needs (often an SDK type:
// CloudFormation spells most properties as the API does).
func (t *Template) Decode(r Resource, out any) error {
	v, err := t.Resolve(r.Properties)
	if err != nil {
		return err
	}
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, out)
}

// ResolveString resolves v and requires a string.
func (t *Template) ResolveString(v any) (string, error) {
	r, err := t.Resolve(v)
	if err != nil {
		return "", err
	}
	s, ok := r.(string)
	if !ok {
		return "", fmt.Errorf("resolved to %T, want a string: %v", r, r)
	}
	return s, nil
}

func (t *Template) intrinsic(fn string, arg any) (any, error) {
	arg, err := t.Resolve(arg)
	if err != nil {
		return nil, err
	}
	a, _ := arg.([]any)
	switch fn {
	case "Ref":
		id, _ := arg.(string)
		return t.ref(id)
	case "Fn::GetAtt": // [id, attribute], as the CDK writes it
		var id, attr string
		if len(a) == 2 {
			id, _ = a[0].(string)
			attr, _ = a[1].(string)
		}
		return t.getAtt(id, attr)
	case "Fn::Join":
		if len(a) != 2 {
			return nil, fmt.Errorf("Fn::Join: %v", arg)
		}
		sep, _ := a[0].(string)
		list, _ := a[1].([]any)
		ss := make([]string, len(list))
		for i, p := range list {
			s, ok := p.(string)
			if !ok {
				return nil, fmt.Errorf("Fn::Join of %T", p)
			}
			ss[i] = s
		}
		return strings.Join(ss, sep), nil
	case "Fn::Sub": // of a string, as the CDK writes it: no variables map
		tmpl, ok := arg.(string)
		if !ok {
			return nil, fmt.Errorf("Fn::Sub of %T", arg)
		}
		var errs []error
		out := subVar.ReplaceAllStringFunc(tmpl, func(m string) string {
			// ${X} is {"Ref": X}, ${X.A} {"Fn::GetAtt": [X, A]}.
			v := map[string]any{"Ref": m[2 : len(m)-1]}
			if id, attr, ok := strings.Cut(m[2:len(m)-1], "."); ok && !strings.HasPrefix(id, "AWS::") {
				v = map[string]any{"Fn::GetAtt": []any{id, attr}}
			}
			r, err := t.Resolve(v)
			errs = append(errs, err)
			return fmt.Sprint(r)
		})
		return strings.ReplaceAll(out, "${!", "${"), errors.Join(errs...)
	}
	return nil, fmt.Errorf("%s is not supported by the harness", fn)
}
