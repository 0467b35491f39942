package stacks

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"

	"github.com/ecslogfix/ecslogfix/internal/config"
)

// Synthesized is the result of Synth: the cloud assembly directory and the
// deployable stack's template.
type Synthesized struct {
	// Dir is the cloud assembly (cdk.out) directory.
	Dir string
	// Stack is the stack object (for assertions and cdk-nag annotations).
	Stack awscdk.Stack
	// Template is the stack's CloudFormation template.
	Template Template
}

// Synth synthesizes the stacks of cfg (single or hub) into outdir, as the
// CDK app does, and reads the template back. root is the module root
// (functions are bundled from root/functions). The end-to-end harness uses
// it with Template.StateMachineDefinition, Template.FunctionEnvironment and
// Synthesized.AssetDir.
func Synth(cfg config.Config, root, outdir string) (*Synthesized, error) {
	app := awscdk.NewApp(&awscdk.AppProps{Outdir: jsii.String(outdir)})
	built := Build(app, cfg, Options{Root: root})
	app.Synth(nil)
	stack := built[0]
	data, err := os.ReadFile(filepath.Join(outdir, *stack.TemplateFile()))
	if err != nil {
		return nil, err
	}
	var t Template
	if err := json.Unmarshal(data, &t); err != nil {
		return nil, err
	}
	return &Synthesized{Dir: outdir, Stack: stack, Template: t}, nil
}

// Template is a CloudFormation template as parsed JSON.
type Template map[string]any

// Resources returns the logical IDs of the resources of type typ, sorted,
// with their Properties.
func (t Template) Resources(typ string) map[string]map[string]any {
	out := map[string]map[string]any{}
	res, _ := t["Resources"].(map[string]any)
	for id, r := range res {
		m, _ := r.(map[string]any)
		if m["Type"] == typ {
			props, _ := m["Properties"].(map[string]any)
			out[id] = props
		}
	}
	return out
}

// Resource returns the resource with the given logical ID.
func (t Template) Resource(id string) map[string]any {
	res, _ := t["Resources"].(map[string]any)
	m, _ := res[id].(map[string]any)
	return m
}

// StateMachineDefinition returns the DefinitionString of the state machine
// named name (Names.StateMachine, Names.SweepStateMachine) as plain ASL
// JSON for partition: the definitions name the functions by name, so their
// only CloudFormation token is the stack's AWS::Partition (in the
// integration ARNs), which is replaced by partition. Any other token is an
// error.
func (t Template) StateMachineDefinition(name, partition string) (string, error) {
	for _, props := range t.Resources("AWS::StepFunctions::StateMachine") {
		if props["StateMachineName"] != name {
			continue
		}
		s := strings.ReplaceAll(Flatten(props["DefinitionString"]), "${AWS::Partition}", partition)
		if i := strings.Index(s, "${"); i >= 0 {
			return "", fmt.Errorf("DefinitionString has a token besides AWS::Partition: %.60s", s[i:])
		}
		return s, nil
	}
	return "", fmt.Errorf("no state machine named %s in the template", name)
}

// FunctionLogicalID returns the logical ID of the function named name.
func (t Template) FunctionLogicalID(name string) (string, error) {
	for id, props := range t.Resources("AWS::Lambda::Function") {
		if props["FunctionName"] == name {
			return id, nil
		}
	}
	return "", fmt.Errorf("no function named %s", name)
}

// FunctionEnvironment returns the environment variables of the function
// named name, with CloudFormation intrinsics rendered by Flatten (e.g.
// "arn:${AWS::Partition}:states:${AWS::Region}:..."): substitute the
// pseudo parameters and "${LogicalId}"/"${LogicalId.Attr}" references to
// run the function outside AWS.
func (t Template) FunctionEnvironment(name string) (map[string]string, error) {
	id, err := t.FunctionLogicalID(name)
	if err != nil {
		return nil, err
	}
	props, _ := t.Resource(id)["Properties"].(map[string]any)
	env, _ := props["Environment"].(map[string]any)
	vars, _ := env["Variables"].(map[string]any)
	out := map[string]string{}
	for k, v := range vars {
		out[k] = Flatten(v)
	}
	return out, nil
}

// AssetDir returns the directory holding the bundled code ("bootstrap") of
// the function named name.
func (s *Synthesized) AssetDir(name string) (string, error) {
	id, err := s.Template.FunctionLogicalID(name)
	if err != nil {
		return "", err
	}
	props, _ := s.Template.Resource(id)["Properties"].(map[string]any)
	code, _ := props["Code"].(map[string]any)
	key, _ := code["S3Key"].(string)
	if !strings.HasSuffix(key, ".zip") {
		return "", fmt.Errorf("function %s: S3Key %v is not <hash>.zip", name, code["S3Key"])
	}
	return filepath.Join(s.Dir, "asset."+strings.TrimSuffix(key, ".zip")), nil
}

// Flatten renders a CloudFormation value as a string: Fn::Join is
// concatenated, {"Ref": X} becomes "${X}", {"Fn::GetAtt": [X, A]} becomes
// "${X.A}", Fn::If "${If:cond:a|b}", anything else its JSON.
func Flatten(v any) string {
	switch t := v.(type) {
	case string:
		return t
	case map[string]any:
		if r, ok := t["Ref"].(string); ok {
			return "${" + r + "}"
		}
		if ga, ok := t["Fn::GetAtt"].([]any); ok && len(ga) == 2 {
			return fmt.Sprintf("${%v.%v}", ga[0], ga[1])
		}
		if j, ok := t["Fn::Join"].([]any); ok && len(j) == 2 {
			sep, _ := j[0].(string)
			parts, _ := j[1].([]any)
			ss := make([]string, len(parts))
			for i, p := range parts {
				ss[i] = Flatten(p)
			}
			return strings.Join(ss, sep)
		}
		if f, ok := t["Fn::If"].([]any); ok && len(f) == 3 {
			return fmt.Sprintf("${If:%v:%s|%s}", f[0], Flatten(f[1]), Flatten(f[2]))
		}
	case []any:
		ss := make([]string, len(t))
		for i, e := range t {
			ss[i] = Flatten(e)
		}
		sort.Strings(ss)
		return strings.Join(ss, ",")
	}
	b, _ := json.Marshal(v)
	return string(b)
}
