package document

import (
	"bytes"
	"fmt"
	"sort"
	"unicode/utf16"
	"unicode/utf8"
)

// bom is the UTF-8 byte order mark some Windows tools write.
var bom = []byte("\xef\xbb\xbf")

// lines maps byte offsets to positions.
type lines struct {
	starts []int // offset of the first byte of each line
	base   int   // bytes removed before parsing (a BOM)
}

func newLines(data []byte, base int) *lines {
	l := &lines{starts: []int{0}, base: base}
	for i, c := range data {
		if c == '\n' {
			l.starts = append(l.starts, i+1)
		}
	}
	return l
}

func (l *lines) pos(off int) Pos {
	i := sort.Search(len(l.starts), func(i int) bool { return l.starts[i] > off }) - 1
	col := off - l.starts[i] + 1
	if i == 0 {
		col += l.base
	}
	return Pos{Line: i + 1, Col: col}
}

// checkInput enforces the size cap and UTF-8.
func checkInput(data []byte) error {
	if len(data) > MaxBytes {
		return &Error{Msg: "larger than the " + sizeText + " limit per file"}
	}
	if !utf8.Valid(data) {
		off := 0
		for off < len(data) {
			r, n := utf8.DecodeRune(data[off:])
			if r == utf8.RuneError && n <= 1 {
				break
			}
			off += n
		}
		l := newLines(data, 0)
		return errorf(l.pos(off), "not UTF-8 (byte 0x%02x); save the file as UTF-8", data[off])
	}
	return nil
}

const sizeText = "8 MiB"

// ParseJSON parses one JSON value (RFC 8259; a leading UTF-8 BOM is
// ignored).
func ParseJSON(data []byte) (*Node, error) {
	if err := checkInput(data); err != nil {
		return nil, err
	}
	base := 0
	if bytes.HasPrefix(data, bom) {
		data, base = data[len(bom):], len(bom)
	}
	p := &jsonParser{data: data, lines: newLines(data, base)}
	p.space()
	if p.i == len(p.data) {
		return nil, p.fail(p.i, "empty document")
	}
	n, err := p.value(0)
	if err != nil {
		return nil, err
	}
	p.space()
	if p.i < len(p.data) {
		if n.Kind == String && p.data[p.i] == ':' {
			return nil, p.fail(p.i, `a fragment ("key": value with no object around it), not a JSON document`)
		}
		return nil, p.fail(p.i, "more than one JSON value: a file holds one")
	}
	return n, nil
}

// jsonParser is a recursive-descent parser: the standard library's
// tokenizer knows no positions of its own and is several times slower.
type jsonParser struct {
	data  []byte
	i     int
	lines *lines
}

func (p *jsonParser) fail(off int, format string, args ...any) error {
	return errorf(p.lines.pos(off), format, args...)
}

func (p *jsonParser) syntax(off int, what string) error {
	if off >= len(p.data) {
		return p.fail(off, "invalid JSON: unexpected end of input, expecting %s", what)
	}
	return p.fail(off, "invalid JSON: unexpected %s, expecting %s", quoteByte(p.data[off]), what)
}

func quoteByte(c byte) string {
	if c < 0x20 || c >= 0x7f {
		return fmt.Sprintf("byte 0x%02x", c)
	}
	return "'" + string(c) + "'"
}

func (p *jsonParser) space() {
	for p.i < len(p.data) {
		switch p.data[p.i] {
		case ' ', '\t', '\r', '\n':
			p.i++
		default:
			return
		}
	}
}

func (p *jsonParser) value(depth int) (*Node, error) {
	start := p.i
	pos := p.lines.pos(start)
	if p.i >= len(p.data) {
		return nil, p.syntax(p.i, "a value")
	}
	switch c := p.data[p.i]; {
	case c == '{' || c == '[':
		if depth >= MaxDepth {
			return nil, p.fail(start, "nested more than %d levels deep", MaxDepth)
		}
		p.i++
		if c == '{' {
			return p.object(pos, depth+1)
		}
		return p.array(pos, depth+1)
	case c == '"':
		s, err := p.str()
		if err != nil {
			return nil, err
		}
		return &Node{Kind: String, Pos: pos, Value: s}, nil
	case c == '-' || (c >= '0' && c <= '9'):
		return p.number(pos)
	case c == 't':
		return p.literal(pos, "true", Bool)
	case c == 'f':
		return p.literal(pos, "false", Bool)
	case c == 'n':
		return p.literal(pos, "null", Null)
	}
	return nil, p.syntax(p.i, "a value")
}

func (p *jsonParser) literal(pos Pos, word string, k Kind) (*Node, error) {
	if !bytes.HasPrefix(p.data[p.i:], []byte(word)) {
		return nil, p.syntax(p.i, "a value")
	}
	p.i += len(word)
	n := &Node{Kind: k, Pos: pos}
	if k == Bool {
		n.Value = word
	}
	return n, nil
}

func (p *jsonParser) digits() int {
	n := 0
	for p.i < len(p.data) && p.data[p.i] >= '0' && p.data[p.i] <= '9' {
		p.i++
		n++
	}
	return n
}

func (p *jsonParser) number(pos Pos) (*Node, error) {
	start := p.i
	if p.data[p.i] == '-' {
		p.i++
	}
	if !p.eat('0') && p.digits() == 0 {
		return nil, p.syntax(p.i, "a digit")
	}
	if p.eat('.') {
		if p.digits() == 0 {
			return nil, p.syntax(p.i, "a digit")
		}
	}
	if p.i < len(p.data) && (p.data[p.i] == 'e' || p.data[p.i] == 'E') {
		p.i++
		if p.i < len(p.data) && (p.data[p.i] == '+' || p.data[p.i] == '-') {
			p.i++
		}
		if p.digits() == 0 {
			return nil, p.syntax(p.i, "a digit")
		}
	}
	return &Node{Kind: Number, Pos: pos, Value: string(p.data[start:p.i])}, nil
}

// str reads a string at p.i (its opening quote).
func (p *jsonParser) str() (string, error) {
	p.i++
	start := p.i
	// Fast path: no escapes.
	for p.i < len(p.data) {
		c := p.data[p.i]
		if c == '"' {
			s := string(p.data[start:p.i])
			p.i++
			return s, nil
		}
		if c == '\\' {
			break
		}
		if c < 0x20 {
			return "", p.fail(p.i, "invalid JSON: control character %s in a string (escape it)", quoteByte(c))
		}
		p.i++
	}
	b := append([]byte(nil), p.data[start:p.i]...)
	for p.i < len(p.data) {
		c := p.data[p.i]
		switch {
		case c == '"':
			p.i++
			return string(b), nil
		case c < 0x20:
			return "", p.fail(p.i, "invalid JSON: control character %s in a string (escape it)", quoteByte(c))
		case c != '\\':
			b = append(b, c)
			p.i++
			continue
		}
		p.i++
		if p.i >= len(p.data) {
			break
		}
		switch e := p.data[p.i]; e {
		case '"', '\\', '/':
			b = append(b, e)
		case 'b':
			b = append(b, '\b')
		case 'f':
			b = append(b, '\f')
		case 'n':
			b = append(b, '\n')
		case 'r':
			b = append(b, '\r')
		case 't':
			b = append(b, '\t')
		case 'u':
			r, ok := p.hex4(p.i + 1)
			if !ok {
				return "", p.fail(p.i-1, "invalid JSON: bad \\u escape")
			}
			p.i += 4
			if utf16.IsSurrogate(r) {
				r2, ok := rune(-1), false
				if p.i+2 < len(p.data) && p.data[p.i+1] == '\\' && p.data[p.i+2] == 'u' {
					r2, ok = p.hex4(p.i + 3)
				}
				if d := utf16.DecodeRune(r, r2); ok && d != utf8.RuneError {
					r = d
					p.i += 6
				} else {
					r = utf8.RuneError
				}
			}
			b = utf8.AppendRune(b, r)
		default:
			return "", p.fail(p.i-1, "invalid JSON: bad escape \\%s", string(e))
		}
		p.i++
	}
	return "", p.syntax(len(p.data), `the closing '"' of a string`)
}

func (p *jsonParser) hex4(at int) (rune, bool) {
	if at+4 > len(p.data) {
		return 0, false
	}
	var r rune
	for _, c := range p.data[at : at+4] {
		switch {
		case c >= '0' && c <= '9':
			r = r<<4 | rune(c-'0')
		case c >= 'a' && c <= 'f':
			r = r<<4 | rune(c-'a'+10)
		case c >= 'A' && c <= 'F':
			r = r<<4 | rune(c-'A'+10)
		default:
			return 0, false
		}
	}
	return r, true
}

func (p *jsonParser) array(pos Pos, depth int) (*Node, error) {
	n := &Node{Kind: Array, Pos: pos}
	err := p.elements(']', "',' or ']' after an array element", func() error {
		item, err := p.value(depth)
		n.Items = append(n.Items, item)
		return err
	})
	if err != nil {
		return nil, err
	}
	return n, nil
}

func (p *jsonParser) object(pos Pos, depth int) (*Node, error) {
	n := &Node{Kind: Object, Pos: pos}
	seen := keySet{}
	err := p.elements('}', "',' or '}' after an object member", func() error {
		if p.i >= len(p.data) || p.data[p.i] != '"' {
			return p.syntax(p.i, "a quoted object key")
		}
		f := Field{KeyPos: p.lines.pos(p.i)}
		var err error
		if f.Key, err = p.str(); err != nil {
			return err
		}
		if err := seen.add(f); err != nil {
			return err
		}
		p.space()
		if !p.eat(':') {
			return p.syntax(p.i, "':' after an object key")
		}
		p.space()
		if f.Value, err = p.value(depth); err != nil {
			return err
		}
		n.Fields = append(n.Fields, f)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return n, nil
}

// elements parses what follows the opening byte of an array or an object:
// nothing up to close, or elements (each read by element, with the white
// space around it skipped) separated by ',' up to close; anything else
// after an element is a syntax error that names want.
func (p *jsonParser) elements(close byte, want string, element func() error) error {
	p.space()
	if p.eat(close) {
		return nil
	}
	for {
		p.space()
		if err := element(); err != nil {
			return err
		}
		p.space()
		switch {
		case p.eat(close):
			return nil
		case !p.eat(','):
			return p.syntax(p.i, want)
		}
	}
}

// eat skips c if it is the next byte, and says whether it was.
func (p *jsonParser) eat(c byte) bool {
	if p.i < len(p.data) && p.data[p.i] == c {
		p.i++
		return true
	}
	return false
}
