package cloudformation

import (
	"bytes"
	"cmp"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ecslogfix/ecslogfix/internal/document"
	"github.com/ecslogfix/ecslogfix/internal/escape"
	"github.com/ecslogfix/ecslogfix/internal/source/taskdoc"
)

// TypeTaskDefinition is the CloudFormation resource type judged.
const TypeTaskDefinition = "AWS::ECS::TaskDefinition"

const typeLogGroup = "AWS::Logs::LogGroup"

// The awslogs option keys the policy reads (awslogs.OptGroup and friends;
// repeated here as slots so that this package does not judge).
var optionSlots = map[string]taskdoc.Slot{
	"awslogs-group":         taskdoc.SlotGroup,
	"awslogs-region":        taskdoc.SlotRegion,
	"awslogs-stream-prefix": taskdoc.SlotStreamPrefix,
}

// template reads every AWS::ECS::TaskDefinition of a CloudFormation
// template.
func Template(root *document.Node) ([]taskdoc.Resource, error) {
	resources := root.Get("Resources")
	if resources == nil || resources.Kind == document.Null {
		return nil, nil
	}
	if resources.Kind != document.Object {
		return nil, taskdoc.ErrAt(resources, "Resources", "expected an object, got %s", resources.Kind)
	}
	t := &cfnTemplate{logGroups: map[string]bool{}}
	for _, f := range resources.Fields {
		if typ, _ := f.Value.Get("Type").Str(); typ == typeLogGroup {
			t.logGroups[f.Key] = true
		}
	}
	var out []taskdoc.Resource
	for _, f := range resources.Fields {
		typ, _ := f.Value.Get("Type").Str()
		if typ != TypeTaskDefinition {
			continue
		}
		path := "Resources." + f.Key
		res, err := t.taskDefinition(f.Value.Get("Properties"), path+".Properties")
		if err != nil {
			return nil, err
		}
		// Unresolved fields are named within the resource's properties.
		trim := func(un []taskdoc.Unresolved) {
			for i := range un {
				un[i].Field = strings.TrimPrefix(strings.TrimPrefix(un[i].Field, path+".Properties"), ".")
			}
		}
		trim(res.Unresolved)
		for i := range res.Containers {
			trim(res.Containers[i].Unresolved)
		}
		res.Format = taskdoc.FormatCloudFormation
		res.ID = f.Key
		res.Line = f.KeyPos.Line
		if p, ok := f.Value.Get("Metadata").Get("aws:cdk:path").Str(); ok {
			res.ConstructPath = p
		}
		out = append(out, res)
	}
	return out, nil
}

// Properties reads the resource properties of one AWS::ECS::TaskDefinition
// as CloudFormation passes them to a Hook (resolved: no intrinsics are
// expected, and any found is reported as unresolved). data is JSON.
func Properties(data []byte) (taskdoc.Resource, error) {
	root, err := document.ParseJSON(data)
	if err != nil {
		return taskdoc.Resource{}, taskdoc.WithFile(err, "")
	}
	t := &cfnTemplate{logGroups: map[string]bool{}}
	res, err := t.taskDefinition(root, "")
	if err != nil {
		return taskdoc.Resource{}, err
	}
	res.Format = taskdoc.FormatCloudFormation
	res.Line = root.Pos.Line
	return res, nil
}

type cfnTemplate struct {
	logGroups map[string]bool // logical IDs of AWS::Logs::LogGroup resources
}

// get returns the property named key of obj. CloudFormation property names
// are case-sensitive: a spelling that differs only in case is an error,
// not an absent property.
func get(obj *document.Node, path, key string) (*document.Node, error) {
	if obj == nil || obj.Kind != document.Object {
		return nil, nil
	}
	for _, f := range obj.Fields {
		if f.Key == key {
			return f.Value, nil
		}
		if strings.EqualFold(f.Key, key) {
			return nil, taskdoc.ErrAt(f.Value, taskdoc.Join(path, f.Key), "not a CloudFormation property: it is spelled %q", key)
		}
	}
	return nil, nil
}

// property returns the property key of obj and its path when it holds a
// value of kind: an absent one is nil, an intrinsic is appended to un as
// unresolved in slot (and nil returned), a value of another kind is an
// error.
func property(obj *document.Node, path, key string, kind document.Kind, slot taskdoc.Slot, un *[]taskdoc.Unresolved) (*document.Node, string, error) {
	n, err := get(obj, path, key)
	if err != nil {
		return nil, "", err
	}
	p := taskdoc.Join(path, key)
	switch {
	case absent(n):
		return nil, p, nil
	case isIntrinsic(n):
		*un = append(*un, unresolved(slot, p, n, ""))
		return nil, p, nil
	case n.Kind != kind:
		return nil, p, taskdoc.ErrAt(n, p, "expected %s, got %s", kind, n.Kind)
	}
	return n, p, nil
}

// itemsOf is the items of an array property, none when it is nil.
func itemsOf(n *document.Node) []*document.Node {
	if n == nil {
		return nil
	}
	return n.Items
}

// absent reports whether n stands for no value (missing, null or
// Ref AWS::NoValue).
func absent(n *document.Node) bool {
	if n == nil || n.Kind == document.Null {
		return true
	}
	name, arg, ok := intrinsic(n)
	return ok && name == "Ref" && arg.Kind == document.String && arg.Value == "AWS::NoValue"
}

func (t *cfnTemplate) taskDefinition(props *document.Node, path string) (taskdoc.Resource, error) {
	res := taskdoc.Resource{TaskDefinition: &types.TaskDefinition{}}
	if absent(props) {
		return res, nil
	}
	if _, _, ok := intrinsic(props); ok {
		res.Unresolved = append(res.Unresolved, unresolved(taskdoc.SlotContainers, path, props, ""))
		return res, nil
	}
	if props.Kind != document.Object {
		return res, taskdoc.ErrAt(props, path, "expected an object, got %s", props.Kind)
	}
	if fam, err := get(props, path, "Family"); err != nil {
		return res, err
	} else if !absent(fam) {
		if _, _, ok := intrinsic(fam); !ok {
			s, err := taskdoc.Scalar(fam, taskdoc.Join(path, "Family"))
			if err != nil {
				return res, err
			}
			res.TaskDefinition.Family = aws.String(s)
		}
	}
	cds, cdPath, err := property(props, path, "ContainerDefinitions", document.Array, taskdoc.SlotContainers, &res.Unresolved)
	if err != nil {
		return res, err
	}
	for i, c := range itemsOf(cds) {
		if absent(c) {
			continue
		}
		def, pos, err := t.container(c, taskdoc.Index(cdPath, i))
		if err != nil {
			return res, err
		}
		res.TaskDefinition.ContainerDefinitions = append(res.TaskDefinition.ContainerDefinitions, def)
		res.Containers = append(res.Containers, pos)
	}
	tags, tagsPath, err := property(props, path, "Tags", document.Array, taskdoc.SlotTags, &res.Unresolved)
	if err != nil {
		return res, err
	}
	res.Tags, res.Unresolved, err = cfnTags(tags, tagsPath, res.Unresolved)
	return res, err
}

func (t *cfnTemplate) container(c *document.Node, path string) (types.ContainerDefinition, taskdoc.Container, error) {
	var def types.ContainerDefinition
	pos := taskdoc.Container{Line: c.Pos.Line}
	if isIntrinsic(c) {
		pos.Unresolved = append(pos.Unresolved, unresolved(taskdoc.SlotContainer, path, c, ""))
		return def, pos, nil
	}
	if c.Kind != document.Object {
		return def, pos, taskdoc.ErrAt(c, path, "expected an object, got %s", c.Kind)
	}
	name, err := get(c, path, "Name")
	if err != nil {
		return def, pos, err
	}
	if !absent(name) {
		if isIntrinsic(name) {
			def.Name = aws.String(render(name))
		} else if s, err := taskdoc.Scalar(name, taskdoc.Join(path, "Name")); err != nil {
			return def, pos, err
		} else {
			def.Name = aws.String(s)
		}
	}
	fl, flPath, err := property(c, path, "FirelensConfiguration", document.Object, taskdoc.SlotFirelens, &pos.Unresolved)
	if err != nil {
		return def, pos, err
	}
	if fl != nil {
		def.FirelensConfiguration = &types.FirelensConfiguration{}
		if typ, err := get(fl, flPath, "Type"); err != nil {
			return def, pos, err
		} else if !absent(typ) && !isIntrinsic(typ) {
			s, err := taskdoc.Scalar(typ, taskdoc.Join(path, "FirelensConfiguration.Type"))
			if err != nil {
				return def, pos, err
			}
			def.FirelensConfiguration.Type = types.FirelensConfigurationType(s)
		}
	}
	lc, lcPath, err := property(c, path, "LogConfiguration", document.Object, taskdoc.SlotLogConfiguration, &pos.Unresolved)
	if err != nil || lc == nil {
		return def, pos, err
	}
	def.LogConfiguration, err = t.logConfiguration(lc, lcPath, &pos)
	return def, pos, err
}

func (t *cfnTemplate) logConfiguration(lc *document.Node, path string, pos *taskdoc.Container) (*types.LogConfiguration, error) {
	out := &types.LogConfiguration{}
	driver, err := get(lc, path, "LogDriver")
	if err != nil {
		return nil, err
	}
	switch {
	case absent(driver):
	case isIntrinsic(driver):
		pos.Unresolved = append(pos.Unresolved, unresolved(taskdoc.SlotLogDriver, taskdoc.Join(path, "LogDriver"), driver, ""))
	default:
		s, err := taskdoc.Scalar(driver, taskdoc.Join(path, "LogDriver"))
		if err != nil {
			return nil, err
		}
		out.LogDriver = types.LogDriver(s)
	}
	opts, optPath, err := property(lc, path, "Options", document.Object, taskdoc.SlotOptions, &pos.Unresolved)
	if err != nil {
		return nil, err
	}
	if opts == nil {
		return out, nil
	}
	out.Options = map[string]string{}
	for _, f := range opts.Fields {
		v := f.Value
		if absent(v) {
			continue
		}
		slot, judged := optionSlots[f.Key]
		if !isIntrinsic(v) {
			s, err := taskdoc.Scalar(v, taskdoc.Join(optPath, f.Key))
			if err != nil {
				return nil, err
			}
			out.Options[f.Key] = s
			continue
		}
		if !judged {
			if strings.HasPrefix(strings.ToLower(f.Key), "awslogs-") {
				// An undocumented awslogs-* key is a finding whatever its
				// value (UNKNOWN_AWSLOGS_OPTION): keep the key.
				out.Options[f.Key] = ""
			}
			continue // an option whose value the policy does not read
		}
		if known, ok := t.knownValue(slot, v); ok {
			out.Options[f.Key] = known
			continue
		}
		pos.Unresolved = append(pos.Unresolved, unresolved(slot, taskdoc.Join(optPath, f.Key), v, ""))
	}
	return out, nil
}

// RegionStandIn stands for the stack's own region, a region name.
const RegionStandIn = "us-east-1"

// Pseudo parameters whose value is never blank, with the longest value
// each can take, built of characters valid in a log group name.
var pseudoParameters = map[string]string{
	"AWS::AccountId": "123456789012",
	"AWS::Region":    strings.Repeat("r", 25),
	"AWS::StackName": strings.Repeat("s", 128),
	"AWS::URLSuffix": strings.Repeat("u", 25),
	"AWS::Partition": strings.Repeat("p", 10),
}

// knownValue decides the intrinsics whose value is known well enough for
// the slot's rule, returning a stand-in with the same verdict:
//   - Ref to an AWS::Logs::LogGroup of this template returns the group's
//     name, valid by construction (CloudWatch Logs refuses an invalid one);
//   - Ref to a pseudo parameter, and Fn::Sub of literal text and pseudo
//     parameters only, give a value whose every character is valid in a log
//     group name; the stand-in has each parameter's longest value, so its
//     length is the worst case. A leading ${AWS::Partition} could read
//     "aws/…", which no log group may start with: that stays unresolved.
//   - in the region slot, only the stack's own region (Ref AWS::Region,
//     Fn::Sub "${AWS::Region}") is known to be a region name: its stand-in
//     is a region of the commercial partition.
func (t *cfnTemplate) knownValue(slot taskdoc.Slot, n *document.Node) (string, bool) {
	name, arg, _ := intrinsic(n)
	if slot == taskdoc.SlotRegion {
		ref, _ := arg.Str()
		if (name == "Ref" && ref == "AWS::Region") || (name == "Fn::Sub" && ref == "${AWS::Region}") {
			return RegionStandIn, true
		}
		return "", false
	}
	switch name {
	case "Ref":
		ref, ok := arg.Str()
		if !ok {
			return "", false
		}
		if t.logGroups[ref] && slot == taskdoc.SlotGroup {
			return "/" + ref, true
		}
		if v, ok := pseudoParameters[ref]; ok {
			return v, true
		}
	case "Fn::Sub":
		tmpl, ok := arg.Str()
		if !ok && arg.Kind == document.Array && len(arg.Items) == 2 && arg.Items[1].Kind == document.Object && len(arg.Items[1].Fields) == 0 {
			tmpl, ok = arg.Items[0].Str()
		}
		if !ok || strings.HasPrefix(tmpl, "${AWS::Partition}") {
			return "", false
		}
		return substitute(tmpl)
	}
	return "", false
}

// substitute expands ${AWS::…} pseudo parameters in an Fn::Sub template;
// any other variable leaves it unknown.
func substitute(tmpl string) (string, bool) {
	var b strings.Builder
	for {
		i := strings.Index(tmpl, "${")
		if i < 0 {
			b.WriteString(tmpl)
			return b.String(), true
		}
		if strings.HasPrefix(tmpl[i:], "${!") {
			b.WriteString(tmpl[:i] + "${")
			tmpl = tmpl[i+3:]
			continue
		}
		end := strings.IndexByte(tmpl[i:], '}')
		if end < 0 {
			return "", false
		}
		v, ok := pseudoParameters[tmpl[i+2:i+end]]
		if !ok {
			return "", false
		}
		b.WriteString(tmpl[:i] + v)
		tmpl = tmpl[i+end+1:]
	}
}

// cfnTags reads the Tags property, an array (or nil: see property).
func cfnTags(tags *document.Node, path string, un []taskdoc.Unresolved) ([]types.Tag, []taskdoc.Unresolved, error) {
	var out []types.Tag
	for i, tag := range itemsOf(tags) {
		p := taskdoc.Index(path, i)
		if isIntrinsic(tag) {
			un = append(un, unresolved(taskdoc.SlotTags, p, tag, ""))
			continue
		}
		key, err := get(tag, p, "Key")
		if err != nil {
			return nil, un, err
		}
		val, err := get(tag, p, "Value")
		if err != nil {
			return nil, un, err
		}
		if absent(key) || isIntrinsic(key) {
			un = append(un, unresolved(taskdoc.SlotTags, taskdoc.Join(p, "Key"), cmp.Or(key, tag), ""))
			continue
		}
		k, err := taskdoc.Scalar(key, taskdoc.Join(p, "Key"))
		if err != nil {
			return nil, un, err
		}
		if isIntrinsic(val) {
			un = append(un, unresolved(taskdoc.SlotTags, taskdoc.Join(p, "Value"), val, k))
			continue
		}
		v := ""
		if !absent(val) {
			if v, err = taskdoc.Scalar(val, taskdoc.Join(p, "Value")); err != nil {
				return nil, un, err
			}
		}
		out = append(out, types.Tag{Key: aws.String(k), Value: aws.String(v)})
	}
	return out, un, nil
}

func unresolved(slot taskdoc.Slot, path string, n *document.Node, key string) taskdoc.Unresolved {
	return taskdoc.Unresolved{Slot: slot, Field: path, Line: n.Pos.Line, Expr: render(n), Key: key}
}

// shortForms are the YAML tags of CloudFormation's short intrinsic forms
// whose long form is not "Fn::" + the tag.
var shortForms = map[string]string{"!Ref": "Ref", "!Condition": "Condition"}

// intrinsic returns the function and argument of an intrinsic function in
// long form ({"Fn::Sub": …}, {"Ref": …}) or YAML short form (!Sub …).
func intrinsic(n *document.Node) (string, *document.Node, bool) {
	if n == nil {
		return "", nil, false
	}
	if n.Tag != "" {
		name, ok := shortForms[n.Tag]
		if !ok {
			name = "Fn::" + strings.TrimPrefix(n.Tag, "!")
		}
		arg := *n
		arg.Tag = ""
		return name, &arg, true
	}
	if n.Kind == document.Object && len(n.Fields) == 1 {
		k := n.Fields[0].Key
		if k == "Ref" || k == "Condition" || strings.HasPrefix(k, "Fn::") {
			return k, n.Fields[0].Value, true
		}
	}
	return "", nil, false
}

func isIntrinsic(n *document.Node) bool {
	_, _, ok := intrinsic(n)
	return ok
}

// render shows an intrinsic in short form, at most 80 characters.
func render(n *document.Node) string {
	name, arg, ok := intrinsic(n)
	if !ok {
		var b bytes.Buffer
		taskdoc.WriteJSON(&b, n)
		return escape.Clip(b.String(), 80)
	}
	short := "!" + strings.TrimPrefix(name, "Fn::")
	var b bytes.Buffer
	if s, ok := arg.Str(); ok && !slices.Contains([]string{"Fn::Sub", "Fn::Base64"}, name) {
		b.WriteString(s)
	} else {
		taskdoc.WriteJSON(&b, arg)
	}
	return escape.Clip(short+" "+b.String(), 80)
}
