package document

import (
	"bytes"
	"errors"
	"io"
	"regexp"
	"strings"

	yaml "go.yaml.in/yaml/v3"
)

// ParseYAML parses one YAML document. Standard tags resolve as YAML 1.2
// does (256 is a number, "256" a string); an application tag such as
// CloudFormation's !Ref is kept in Node.Tag.
func ParseYAML(data []byte) (*Node, error) {
	if err := checkInput(data); err != nil {
		return nil, err
	}
	data = bytes.TrimPrefix(data, bom)
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, &Error{Pos: Pos{Line: 1, Col: 1}, Msg: "empty document"}
		}
		return nil, yamlError(err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		if err != nil {
			return nil, yamlError(err)
		}
		return nil, errorf(Pos{Line: extra.Line, Col: extra.Column}, "more than one YAML document: a file holds one")
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) != 1 {
		return nil, &Error{Pos: Pos{Line: 1, Col: 1}, Msg: "empty document"}
	}
	return convertYAML(doc.Content[0], 0)
}

var yamlLineRE = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// yamlError turns the library's error into one line with a position.
func yamlError(err error) error {
	msg := strings.Join(strings.Fields(err.Error()), " ")
	if m := yamlLineRE.FindStringSubmatch(msg); m != nil {
		line := 0
		for _, c := range m[1] {
			line = line*10 + int(c-'0')
		}
		return &Error{Pos: Pos{Line: line, Col: 1}, Msg: "invalid YAML: " + m[2]}
	}
	return &Error{Msg: "invalid YAML: " + strings.TrimPrefix(msg, "yaml: ")}
}

func convertYAML(y *yaml.Node, depth int) (*Node, error) {
	pos := Pos{Line: y.Line, Col: y.Column}
	if depth >= MaxDepth {
		return nil, errorf(pos, "nested more than %d levels deep", MaxDepth)
	}
	if y.Anchor != "" {
		return nil, errorf(pos, "YAML anchor &%s: anchors, aliases and merge keys are not accepted (CloudFormation rejects them)", y.Anchor)
	}
	n := &Node{Pos: pos}
	if strings.HasPrefix(y.Tag, "!") && !strings.HasPrefix(y.Tag, "!!") {
		n.Tag = y.Tag
	}
	switch y.Kind {
	case yaml.AliasNode:
		return nil, errorf(pos, "YAML alias *%s: anchors, aliases and merge keys are not accepted (CloudFormation rejects them)", y.Value)
	case yaml.SequenceNode:
		n.Kind = Array
		n.Items = make([]*Node, 0, len(y.Content))
		for _, c := range y.Content {
			item, err := convertYAML(c, depth+1)
			if err != nil {
				return nil, err
			}
			n.Items = append(n.Items, item)
		}
	case yaml.MappingNode:
		n.Kind = Object
		seen := keySet{}
		for i := 0; i+1 < len(y.Content); i += 2 {
			k, v := y.Content[i], y.Content[i+1]
			kpos := Pos{Line: k.Line, Col: k.Column}
			if k.Kind != yaml.ScalarNode {
				return nil, errorf(kpos, "a YAML key must be a scalar")
			}
			if k.Tag == "!!merge" {
				return nil, errorf(kpos, "YAML merge key <<: anchors, aliases and merge keys are not accepted (CloudFormation rejects them)")
			}
			f := Field{Key: k.Value, KeyPos: kpos}
			if err := seen.add(f); err != nil {
				return nil, err
			}
			val, err := convertYAML(v, depth+1)
			if err != nil {
				return nil, err
			}
			f.Value = val
			n.Fields = append(n.Fields, f)
		}
	case yaml.ScalarNode:
		n.Value = y.Value
		n.Plain = y.Style == 0 && n.Tag == ""
		switch {
		case n.Tag != "":
			n.Kind = String
		case y.Tag == "!!null":
			n.Kind = Null
		case y.Tag == "!!bool":
			n.Kind = Bool
			n.Value = "false"
			if strings.EqualFold(y.Value, "true") {
				n.Value = "true"
			}
		case y.Tag == "!!int" || y.Tag == "!!float":
			n.Kind = Number
		default:
			// !!str, !!timestamp, !!binary: their text.
			n.Kind = String
		}
	default:
		return nil, errorf(pos, "unexpected YAML node")
	}
	return n, nil
}

// Parse parses JSON when the document starts like JSON ({, [ or ", after
// white space), YAML otherwise: JSON that fails to parse is reported as
// broken JSON, never reread as YAML.
func Parse(data []byte) (*Node, error) {
	if LooksLikeJSON(data) {
		return ParseJSON(data)
	}
	return ParseYAML(data)
}

// LooksLikeJSON reports whether data's first significant byte opens a JSON
// value that YAML would read differently (an object, array or string).
func LooksLikeJSON(data []byte) bool {
	data = bytes.TrimLeft(bytes.TrimPrefix(data, bom), " \t\r\n")
	return len(data) > 0 && (data[0] == '{' || data[0] == '[' || data[0] == '"')
}
