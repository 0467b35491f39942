// Package document parses JSON and YAML strictly into one tree of nodes
// that remember their line and column. Every reader of files a pull-request
// author controls (task definitions, CloudFormation templates, CDK cloud
// assemblies, Terraform plans, the policy) goes through it, so that the same
// rules hold everywhere:
//
//   - the input is UTF-8 and at most MaxBytes;
//   - nesting is at most MaxDepth;
//   - an object may not hold the same key twice, nor two keys that differ
//     only in case: ECS field names are case-sensitive, and a tool that
//     matched them loosely would let "LogConfiguration" shadow
//     "logConfiguration" or pick one of the two at random;
//   - a YAML file holds one document, with no anchors, aliases or merge keys
//     (JSON cannot express them and CloudFormation does not accept them).
//
// Errors are *Error values naming the position ("line 3, column 7: ...").
// Pure: no I/O.
package document

import (
	"fmt"
	"strings"
)

// MaxBytes caps one input file. ECS accepts 64 KiB per task definition and
// CloudFormation 1 MB per template; 8 MiB leaves room for the Terraform plan
// of a large configuration while bounding memory and time.
const MaxBytes = 8 << 20

// MaxDepth caps the nesting of arrays and objects (a Terraform plan of
// nested modules is the deepest real input, at a few dozen levels).
const MaxDepth = 128

// Kind is the JSON kind of a node.
type Kind uint8

// Kinds.
const (
	Null Kind = iota
	Bool
	Number
	String
	Array
	Object
)

func (k Kind) String() string {
	switch k {
	case Null:
		return "null"
	case Bool:
		return "a boolean"
	case Number:
		return "a number"
	case String:
		return "a string"
	case Array:
		return "an array"
	case Object:
		return "an object"
	}
	return "an unknown value"
}

// Pos is a 1-based line and column (columns count bytes).
type Pos struct {
	Line, Col int
}

func (p Pos) String() string { return fmt.Sprintf("line %d, column %d", p.Line, p.Col) }

// Node is one value.
type Node struct {
	Kind Kind
	Pos  Pos
	// Value is the text of a scalar: a string's value, a number's literal,
	// "true" or "false".
	Value string
	// Tag is a YAML application tag such as "!Ref" (CloudFormation's short
	// intrinsic forms); empty for JSON and for YAML's standard tags.
	Tag string
	// Plain marks a YAML scalar written without quotes or tag, whose type
	// YAML guessed (256 is a number, true a boolean): readers that expect a
	// string may take its text.
	Plain  bool
	Items  []*Node // Array
	Fields []Field // Object, in document order
}

// Field is one member of an object.
type Field struct {
	Key    string
	KeyPos Pos
	Value  *Node
}

// Get returns the value of key (exact match), or nil.
func (n *Node) Get(key string) *Node {
	if n == nil || n.Kind != Object {
		return nil
	}
	for i := range n.Fields {
		if n.Fields[i].Key == key {
			return n.Fields[i].Value
		}
	}
	return nil
}

// Field returns the member named key (exact match).
func (n *Node) Field(key string) (Field, bool) {
	if n == nil || n.Kind != Object {
		return Field{}, false
	}
	for _, f := range n.Fields {
		if f.Key == key {
			return f, true
		}
	}
	return Field{}, false
}

// Keys returns the object's keys in document order.
func (n *Node) Keys() []string {
	if n == nil || n.Kind != Object {
		return nil
	}
	keys := make([]string, len(n.Fields))
	for i, f := range n.Fields {
		keys[i] = f.Key
	}
	return keys
}

// Str returns the value of a string node.
func (n *Node) Str() (string, bool) {
	if n == nil || n.Kind != String {
		return "", false
	}
	return n.Value, true
}

// Error is a problem at a position of the input.
type Error struct {
	Pos Pos
	Msg string
}

func (e *Error) Error() string {
	if e.Pos.Line == 0 {
		return e.Msg
	}
	return e.Pos.String() + ": " + e.Msg
}

func errorf(p Pos, format string, args ...any) *Error {
	return &Error{Pos: p, Msg: fmt.Sprintf(format, args...)}
}

// foldKey is the key two field names share when they differ only in case.
func foldKey(s string) string { return strings.ToLower(strings.ToUpper(s)) }

// keySet detects duplicate and case-variant keys of one object.
type keySet map[string]Field

func (ks keySet) add(f Field) error {
	fk := foldKey(f.Key)
	prev, ok := ks[fk]
	if !ok {
		ks[fk] = f
		return nil
	}
	if prev.Key == f.Key {
		return errorf(f.KeyPos, "duplicate key %q (first at %s)", f.Key, prev.KeyPos)
	}
	return errorf(f.KeyPos, "keys %q and %q (at %s) differ only in case; field names are case-sensitive", f.Key, prev.Key, prev.KeyPos)
}
