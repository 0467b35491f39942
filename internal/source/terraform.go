package source

import (
	"sort"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ecslogfix/ecslogfix/internal/document"
	"github.com/ecslogfix/ecslogfix/internal/source/taskdoc"
)

// TypeTerraformTaskDefinition is the Terraform resource type judged.
const TypeTerraformTaskDefinition = "aws_ecs_task_definition"

// knownAfterApply is how Terraform shows a value the plan cannot know.
const knownAfterApply = "known after apply"

// plan reads every aws_ecs_task_definition a Terraform plan
// (`terraform show -json PLANFILE`) will leave in place: each change with
// an "after" value (creates, updates, replacements, no-ops; deletes have
// none), then any resource of planned_values no change names.
func plan(root *document.Node) ([]Resource, error) {
	var out []Resource
	seen := map[string]bool{}
	if rcs := root.Get("resource_changes"); rcs != nil && rcs.Kind == document.Array {
		for i, rc := range rcs.Items {
			if !isTaskDefinitionResource(rc) {
				continue
			}
			path := taskdoc.Index("resource_changes", i) + ".change"
			change := rc.Get("change")
			after := change.Get("after")
			if after == nil || after.Kind != document.Object {
				continue
			}
			res, err := terraformResource(rc, after, change.Get("after_unknown"), taskdoc.Join(path, "after"))
			if err != nil {
				return nil, err
			}
			seen[res.ID] = true
			out = append(out, res)
		}
	}
	var walk func(mod *document.Node, path string) error
	walk = func(mod *document.Node, path string) error {
		if rs := mod.Get("resources"); rs != nil && rs.Kind == document.Array {
			for i, r := range rs.Items {
				if !isTaskDefinitionResource(r) {
					continue
				}
				addr, _ := r.Get("address").Str()
				if seen[addr] {
					continue
				}
				values := r.Get("values")
				if values == nil || values.Kind != document.Object {
					continue
				}
				res, err := terraformResource(r, values, nil, taskdoc.Index(taskdoc.Join(path, "resources"), i)+".values")
				if err != nil {
					return err
				}
				seen[addr] = true
				out = append(out, res)
			}
		}
		if cms := mod.Get("child_modules"); cms != nil && cms.Kind == document.Array {
			for i, cm := range cms.Items {
				if err := walk(cm, taskdoc.Index(taskdoc.Join(path, "child_modules"), i)); err != nil {
					return err
				}
			}
		}
		return nil
	}
	if rm := root.Get("planned_values").Get("root_module"); rm != nil {
		if err := walk(rm, "planned_values.root_module"); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func isTaskDefinitionResource(r *document.Node) bool {
	typ, _ := r.Get("type").Str()
	mode, _ := r.Get("mode").Str()
	return typ == TypeTerraformTaskDefinition && (mode == "" || mode == "managed")
}

// unknown reports whether after_unknown marks key as known after apply.
func unknown(afterUnknown *document.Node, key string) bool {
	v := afterUnknown.Get(key)
	return v != nil && v.Kind == document.Bool && v.Value == "true"
}

// terraformResource reads one resource's planned values. In planned_values
// (afterUnknown nil) a value known only after apply is simply absent.
func terraformResource(r, values, afterUnknown *document.Node, path string) (Resource, error) {
	addr, _ := r.Get("address").Str()
	res := Resource{Format: taskdoc.FormatTerraform, ID: addr, Line: r.Pos.Line, TaskDefinition: &types.TaskDefinition{}}
	if fam, ok := values.Get("family").Str(); ok {
		res.TaskDefinition.Family = aws.String(fam)
	}
	cdPath := taskdoc.Join(path, "container_definitions")
	cd := values.Get("container_definitions")
	switch {
	case unknown(afterUnknown, "container_definitions") || (afterUnknown == nil && cd == nil):
		line := r.Pos.Line
		if cd != nil {
			line = cd.Pos.Line
		}
		res.Unresolved = append(res.Unresolved, Unresolved{Slot: taskdoc.SlotContainers, Field: "container_definitions", Line: line, Expr: knownAfterApply})
	case cd == nil || cd.Kind == document.Null:
	default:
		s, ok := cd.Str()
		if !ok {
			return res, taskdoc.ErrAt(cd, cdPath, "expected a JSON string, got %s", cd.Kind)
		}
		defs, err := taskdoc.ContainerDefinitions(s)
		if err != nil {
			return res, &Error{Pos: cd.Pos, Path: cdPath, Msg: "in its JSON: " + err.Error()}
		}
		res.TaskDefinition.ContainerDefinitions = defs
		for range defs {
			res.Containers = append(res.Containers, Container{Line: cd.Pos.Line})
		}
	}
	if unknown(afterUnknown, "tags") {
		res.Unresolved = append(res.Unresolved, Unresolved{Slot: taskdoc.SlotTags, Field: "tags", Line: r.Pos.Line, Expr: knownAfterApply})
	}
	tags := values.Get("tags")
	if tags != nil && tags.Kind == document.Object {
		keys := tags.Keys()
		sort.Strings(keys)
		for _, k := range keys {
			if au := afterUnknown.Get("tags"); unknown(au, k) {
				res.Unresolved = append(res.Unresolved, Unresolved{Slot: taskdoc.SlotTags, Field: "tags." + k, Line: r.Pos.Line, Expr: knownAfterApply, Key: k})
				continue
			}
			v, err := taskdoc.Scalar(tags.Get(k), taskdoc.Join(taskdoc.Join(path, "tags"), k))
			if err != nil {
				return res, err
			}
			res.Tags = append(res.Tags, types.Tag{Key: aws.String(k), Value: aws.String(v)})
		}
	}
	return res, nil
}
