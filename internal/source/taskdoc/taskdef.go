package taskdoc

import (
	"github.com/aws/aws-sdk-go-v2/service/ecs/schemas"

	"github.com/ecslogfix/ecslogfix/internal/document"
)

// taskDefinitionDoc reads one of the three task definition documents:
// describe-task-definition output when root has "taskDefinition", else a
// task definition whose "tags" (a register input's) sit beside its fields.
func ReadTaskDefinition(root *document.Node) (Resource, error) {
	w := &ecsWriter{}
	res := Resource{Format: FormatTaskDef}
	td := root
	path := ""
	if f, ok := root.Field("taskDefinition"); ok {
		res.Format = FormatDescribe
		if f.Value.Kind == document.Null {
			return Resource{}, ErrAt(f.Value, "taskDefinition", "null: the output holds no task definition")
		}
		td, path = f.Value, "taskDefinition"
		// boto3 adds ResponseMetadata to every response; like any member
		// the API does not define, it is skipped.
		if err := w.object(root, schemas.DescribeTaskDefinitionResponse, "", ""); err != nil {
			return Resource{}, err
		}
	} else {
		w.buf.WriteString(`{"taskDefinition":`)
		if err := w.object(root, schemas.TaskDefinition, "", "tags"); err != nil {
			return Resource{}, err
		}
		if tags, ok := root.Field("tags"); ok && tags.Value.Kind != document.Null {
			res.Format = FormatRegister
			w.buf.WriteString(`,"tags":`)
			if err := w.value(tags.Value, schemas.RegisterTaskDefinitionRequest.Member("tags"), "tags"); err != nil {
				return Resource{}, err
			}
		}
		w.buf.WriteByte('}')
	}
	if err := requireTaskDefinitionFields(td, path); err != nil {
		return Resource{}, err
	}
	def, tags, err := decodeDescribe(w.buf.Bytes())
	if err != nil {
		// The walk above checked every kind the deserializer reads, so
		// this is a defect here, not in the input; say so plainly.
		return Resource{}, ErrAt(td, path, "the ECS deserializer refused the document: %v", err)
	}
	for i, tag := range tags {
		if tag.Key == nil {
			return Resource{}, ErrAt(root.Get("tags"), Index(Join(path, "tags"), i), `no "key"`)
		}
	}
	if res.Format == FormatTaskDef && def.TaskDefinitionArn == nil && def.Revision == 0 {
		res.Format = FormatRegister
	}
	res.Line = td.Pos.Line
	res.TaskDefinition, res.Tags = def, tags
	cds := td.Get("containerDefinitions")
	for _, c := range cds.Items {
		res.Containers = append(res.Containers, Container{Line: c.Pos.Line})
	}
	return res, nil
}

// requireTaskDefinitionFields checks the two fields every task definition
// has.
func requireTaskDefinitionFields(td *document.Node, path string) error {
	if td.Kind != document.Object {
		return ErrAt(td, path, "expected an object, got %s", td.Kind)
	}
	fam, ok := td.Field("family")
	switch {
	case !ok || fam.Value.Kind == document.Null:
		return ErrAt(td, path, `task definition with no "family"`)
	case fam.Value.Kind == document.String && fam.Value.Value == "":
		return ErrAt(fam.Value, Join(path, "family"), "empty")
	}
	cds := td.Get("containerDefinitions")
	if cds == nil || cds.Kind == document.Null {
		return ErrAt(td, path, `task definition with no "containerDefinitions"`)
	}
	return nil
}
