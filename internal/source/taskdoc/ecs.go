package taskdoc

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/schemas"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	smithy "github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/ecslogfix/ecslogfix/internal/document"
)

// The ECS API's field names and types are the SDK's schemas: the walk below
// checks a document against them (exact, case-sensitive names; JSON kinds;
// a path in every error) and writes the canonical JSON that the SDK's own
// deserializer then decodes. Nothing here restates the API.

var describeOperation = smithy.NewOperationSchema(schemas.DescribeTaskDefinition,
	schemas.DescribeTaskDefinitionRequest, schemas.DescribeTaskDefinitionResponse)

// sdkProtocol is the wire protocol an ecs.Client uses (awsJson 1.1); the
// client is never used to make a call.
var sdkProtocol = sync.OnceValue(func() smithyhttp.ClientProtocol {
	return ecs.New(ecs.Options{Region: "us-east-1"}).Options().Protocol
})

// ecsWriter checks nodes against schemas and writes canonical JSON.
type ecsWriter struct {
	buf bytes.Buffer
}

// decodeDescribe decodes the canonical body of a DescribeTaskDefinition
// response with the SDK's deserializer.
func decodeDescribe(body []byte) (*types.TaskDefinition, []types.Tag, error) {
	resp := &smithyhttp.Response{Response: &http.Response{
		StatusCode: http.StatusOK,
		Header:     http.Header{},
		Body:       io.NopCloser(bytes.NewReader(body)),
	}}
	var out ecs.DescribeTaskDefinitionOutput
	if err := sdkProtocol().DeserializeResponse(context.Background(), describeOperation, nil, resp, &out); err != nil {
		return nil, nil, err
	}
	return out.TaskDefinition, out.Tags, nil
}

// members returns the member of s named key; when there is none but one
// differs only in case, the error says how the API spells it. Unknown
// members are skipped, as the SDK skips them.
func member(s *smithy.Schema, n *document.Node, path, key string) (*smithy.Schema, error) {
	if m := s.Member(key); m != nil {
		return m, nil
	}
	for name := range s.Members() {
		if strings.EqualFold(name, key) {
			return nil, ErrAt(n, Join(path, key), "not an ECS field: the API spells it %q", name)
		}
	}
	return nil, nil
}

func Join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func Index(path string, i int) string { return path + "[" + strconv.Itoa(i) + "]" }

// skipped reports whether a value is left out of the canonical document:
// null means absent in the ECS API, and no verdict depends on timestamps,
// which tools print in several formats (ISO 8601, epoch seconds, localised
// text).
func skipped(n *document.Node, s *smithy.Schema) bool {
	return n.Kind == document.Null || s.Type() == smithy.ShapeTypeTimestamp
}

// object writes the members of n (an object) that s knows, less the member
// named skip.
func (w *ecsWriter) object(n *document.Node, s *smithy.Schema, path, skip string) error {
	return w.members(n, path, func(f document.Field) (*smithy.Schema, error) {
		if skip != "" && f.Key == skip {
			return nil, nil
		}
		m, err := member(s, f.Value, path, f.Key)
		if m == nil || err != nil || skipped(f.Value, m) {
			return nil, err
		}
		return m, nil
	})
}

// members writes an object's fields, each with the schema schemaOf gives
// (nil: left out).
func (w *ecsWriter) members(n *document.Node, path string, schemaOf func(document.Field) (*smithy.Schema, error)) error {
	if n.Kind != document.Object {
		return ErrAt(n, path, "expected an object, got %s", n.Kind)
	}
	w.buf.WriteByte('{')
	first := true
	for _, f := range n.Fields {
		m, err := schemaOf(f)
		if err != nil {
			return err
		}
		if m == nil {
			continue
		}
		if !first {
			w.buf.WriteByte(',')
		}
		first = false
		writeString(&w.buf, f.Key)
		w.buf.WriteByte(':')
		if err := w.value(f.Value, m, Join(path, f.Key)); err != nil {
			return err
		}
	}
	w.buf.WriteByte('}')
	return nil
}

func (w *ecsWriter) value(n *document.Node, s *smithy.Schema, path string) error {
	switch s.Type() {
	case smithy.ShapeTypeStructure, smithy.ShapeTypeUnion:
		return w.object(n, s, path, "")
	case smithy.ShapeTypeList, smithy.ShapeTypeSet:
		if n.Kind != document.Array {
			return ErrAt(n, path, "expected an array, got %s", n.Kind)
		}
		item := s.ListMember()
		w.buf.WriteByte('[')
		for i, it := range n.Items {
			if it.Kind == document.Null {
				return ErrAt(it, Index(path, i), "null in a list")
			}
			if i > 0 {
				w.buf.WriteByte(',')
			}
			if err := w.value(it, item, Index(path, i)); err != nil {
				return err
			}
		}
		w.buf.WriteByte(']')
		return nil
	case smithy.ShapeTypeMap:
		val := s.MapValue()
		return w.members(n, path, func(f document.Field) (*smithy.Schema, error) {
			if f.Value.Kind == document.Null {
				return nil, nil
			}
			return val, nil
		})
	case smithy.ShapeTypeString, smithy.ShapeTypeEnum, smithy.ShapeTypeBlob:
		if n.Kind != document.String && !(n.Plain && n.Kind != document.Null) {
			return ErrAt(n, path, "expected a string, got %s", n.Kind)
		}
		writeString(&w.buf, n.Value)
		return nil
	case smithy.ShapeTypeBoolean:
		if n.Kind != document.Bool {
			return ErrAt(n, path, "expected true or false, got %s", n.Kind)
		}
		w.buf.WriteString(n.Value)
		return nil
	case smithy.ShapeTypeByte, smithy.ShapeTypeShort, smithy.ShapeTypeInteger, smithy.ShapeTypeIntEnum:
		return w.integer(n, path, 32)
	case smithy.ShapeTypeLong, smithy.ShapeTypeBigInteger:
		return w.integer(n, path, 64)
	case smithy.ShapeTypeFloat, smithy.ShapeTypeDouble, smithy.ShapeTypeBigDecimal:
		if n.Kind != document.Number {
			return ErrAt(n, path, "expected a number, got %s", n.Kind)
		}
		if _, err := strconv.ParseFloat(n.Value, 64); err != nil {
			return ErrAt(n, path, "number %s is out of range", n.Value)
		}
		w.buf.WriteString(n.Value)
		return nil
	case smithy.ShapeTypeDocument:
		WriteJSON(&w.buf, n)
		return nil
	}
	return ErrAt(n, path, "unsupported field type")
}

func (w *ecsWriter) integer(n *document.Node, path string, bits int) error {
	if n.Kind != document.Number {
		return ErrAt(n, path, "expected an integer, got %s", n.Kind)
	}
	if _, err := strconv.ParseInt(n.Value, 10, bits); err != nil {
		return ErrAt(n, path, "expected an integer of at most %d bits, got %s", bits, n.Value)
	}
	w.buf.WriteString(n.Value)
	return nil
}

// WriteJSON writes n as canonical JSON.
func WriteJSON(b *bytes.Buffer, n *document.Node) {
	switch n.Kind {
	case document.Null:
		b.WriteString("null")
	case document.Bool:
		b.WriteString(n.Value)
	case document.Number:
		b.WriteString(n.Value)
	case document.String:
		writeString(b, n.Value)
	case document.Array:
		b.WriteByte('[')
		for i, it := range n.Items {
			if i > 0 {
				b.WriteByte(',')
			}
			WriteJSON(b, it)
		}
		b.WriteByte(']')
	case document.Object:
		b.WriteByte('{')
		for i, f := range n.Fields {
			if i > 0 {
				b.WriteByte(',')
			}
			writeString(b, f.Key)
			b.WriteByte(':')
			WriteJSON(b, f.Value)
		}
		b.WriteByte('}')
	}
}

const hexDigits = "0123456789abcdef"

// writeString writes s as a JSON string (s is valid UTF-8: document
// guarantees it).
func writeString(b *bytes.Buffer, s string) {
	b.WriteByte('"')
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' && c < utf8.RuneSelf {
			b.WriteByte(c)
			i++
			continue
		}
		if c >= utf8.RuneSelf {
			_, size := utf8.DecodeRuneInString(s[i:])
			b.WriteString(s[i : i+size])
			i += size
			continue
		}
		switch c {
		case '"', '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		default:
			b.WriteString(`\u00`)
			b.WriteByte(hexDigits[c>>4])
			b.WriteByte(hexDigits[c&0xf])
		}
		i++
	}
	b.WriteByte('"')
}

// ContainerDefinitions decodes a JSON string holding a list (Terraform's
// container_definitions): a list of ECS container definitions, with the API's names and types.
func ContainerDefinitions(s string) ([]types.ContainerDefinition, error) {
	list, err := document.ParseJSON([]byte(s))
	if err != nil {
		return nil, err
	}
	w := &ecsWriter{}
	w.buf.WriteString(`{"taskDefinition":{"containerDefinitions":`)
	if err := w.value(list, schemas.TaskDefinition.Member("containerDefinitions"), ""); err != nil {
		return nil, err
	}
	w.buf.WriteString(`}}`)
	td, _, err := decodeDescribe(w.buf.Bytes())
	if err != nil {
		return nil, err
	}
	return td.ContainerDefinitions, nil
}
