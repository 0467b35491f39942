// Package taskfile reads the task definition documents ecslogfix check
// accepts: describe-task-definition output, a bare task definition, or a
// register-task-definition --cli-input-json document. Pure: no AWS calls.
package taskfile

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// Document is one task definition read from a file, with its tags.
type Document struct {
	File           string
	Form           string // describe | taskdef | register
	TaskDefinition *types.TaskDefinition
	Tags           []types.Tag
}

// Input forms ParseDocument accepts.
const (
	FormDescribe = "describe" // aws ecs describe-task-definition --include TAGS output
	FormTaskDef  = "taskdef"  // a bare task definition object
	FormRegister = "register" // a register-task-definition --cli-input-json document
)

// timeKeys are the timestamp fields of a task definition. The AWS CLI
// prints them as ISO 8601, older tools as epoch seconds, CloudTrail as
// localised text; nothing ecslogfix decides depends on them, so they are
// dropped before decoding rather than failing the file.
var timeKeys = []string{"registeredAt", "deregisteredAt", "deleteRequestedAt"}

// Parse decodes one of the three accepted shapes. The error names
// the problem; the caller adds the file name.
func Parse(data []byte) (Document, error) {
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf")) // UTF-8 BOM (PowerShell redirections)
	var top map[string]json.RawMessage
	if err := json.Unmarshal(data, &top); err != nil {
		return Document{}, jsonProblem(data, err)
	}
	if top == nil {
		return Document{}, errors.New("expected a JSON object, got null")
	}
	doc := Document{Form: FormTaskDef}
	tdRaw := data
	if raw, ok := lookup(top, "taskDefinition"); ok {
		doc.Form = FormDescribe
		tdRaw = raw
		if rawTags, ok := lookup(top, "tags"); ok {
			if err := json.Unmarshal(rawTags, &doc.Tags); err != nil {
				return Document{}, fmt.Errorf("tags: %w", jsonProblem(rawTags, err))
			}
		}
	} else if rawTags, ok := lookup(top, "tags"); ok {
		// Only a register-task-definition request carries tags next to the
		// task definition's own fields.
		doc.Form = FormRegister
		if err := json.Unmarshal(rawTags, &doc.Tags); err != nil {
			return Document{}, fmt.Errorf("tags: %w", jsonProblem(rawTags, err))
		}
	}
	td, err := decodeTaskDefinition(tdRaw)
	if err != nil {
		return Document{}, err
	}
	if doc.Form == FormTaskDef && td.TaskDefinitionArn == nil && td.Revision == 0 {
		doc.Form = FormRegister
	}
	for i, tag := range doc.Tags {
		if tag.Key == nil {
			return Document{}, fmt.Errorf("tags[%d]: no key", i)
		}
	}
	doc.TaskDefinition = td
	return doc, nil
}

func decodeTaskDefinition(raw []byte) (*types.TaskDefinition, error) {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fields); err != nil {
		return nil, fmt.Errorf("taskDefinition: %w", jsonProblem(raw, err))
	}
	if fields == nil {
		return nil, errors.New("taskDefinition is null")
	}
	for k := range fields {
		for _, t := range timeKeys {
			if strings.EqualFold(k, t) {
				delete(fields, k)
			}
		}
	}
	clean, err := json.Marshal(fields)
	if err != nil {
		return nil, err
	}
	var td types.TaskDefinition
	if err := json.Unmarshal(clean, &td); err != nil {
		return nil, fmt.Errorf("not a task definition: %w", jsonProblem(clean, err))
	}
	if td.Family == nil || *td.Family == "" {
		return nil, errors.New(`not a task definition: no "family"`)
	}
	if _, ok := lookup(fields, "containerDefinitions"); !ok {
		return nil, errors.New(`not a task definition: no "containerDefinitions"`)
	}
	return &td, nil
}

// lookup finds key the way encoding/json matches fields (exact first,
// then case-insensitively).
func lookup(m map[string]json.RawMessage, key string) (json.RawMessage, bool) {
	if v, ok := m[key]; ok {
		return v, true
	}
	for k, v := range m {
		if strings.EqualFold(k, key) {
			return v, true
		}
	}
	return nil, false
}

// jsonProblem turns a decoding error into a message with a line and column.
func jsonProblem(data []byte, err error) error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		line, col := position(data, syn.Offset)
		return fmt.Errorf("invalid JSON at line %d, column %d: %s", line, col, syn.Error())
	case errors.As(err, &typ):
		field := typ.Field
		if field == "" {
			return fmt.Errorf("expected a JSON object, got JSON %s", typ.Value)
		}
		return fmt.Errorf("%s: expected %s, got JSON %s", field, typ.Type, typ.Value)
	}
	return err
}

func position(data []byte, offset int64) (line, col int) {
	line, col = 1, 1
	for i := int64(0); i < offset-1 && i < int64(len(data)); i++ {
		if data[i] == '\n' {
			line++
			col = 1
		} else {
			col++
		}
	}
	return line, col
}
