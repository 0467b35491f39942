package document

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

func TestParseJSONPositions(t *testing.T) {
	in := "{\n  \"family\": \"a\",\n  \"containerDefinitions\": [\n    {\"name\": \"x\", \"n\": 1.5, \"b\": true, \"z\": null}\n  ]\n}"
	n, err := ParseJSON([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	f, _ := n.Field("containerDefinitions")
	if f.KeyPos != (Pos{3, 3}) || f.Value.Pos != (Pos{3, 27}) {
		t.Errorf("containerDefinitions key %v value %v", f.KeyPos, f.Value.Pos)
	}
	c := f.Value.Items[0]
	if c.Pos != (Pos{4, 5}) || c.Get("name").Value != "x" || c.Get("n").Kind != Number || c.Get("n").Value != "1.5" ||
		c.Get("b").Kind != Bool || c.Get("z").Kind != Null {
		t.Errorf("container %+v", c)
	}
	if got := n.Keys(); strings.Join(got, ",") != "family,containerDefinitions" {
		t.Errorf("keys %v", got)
	}
}

func TestParseJSONBOMColumns(t *testing.T) {
	n, err := ParseJSON([]byte("\xef\xbb\xbf{\"a\": 1}"))
	if err != nil {
		t.Fatal(err)
	}
	if f, _ := n.Field("a"); f.KeyPos != (Pos{1, 5}) {
		t.Errorf("key at %v", f.KeyPos)
	}
}

func TestParseYAMLPositionsAndTags(t *testing.T) {
	in := "Resources:\n  Task:\n    Type: AWS::ECS::TaskDefinition\n    Properties:\n      Family: !Ref Name\n      Cpu: 256\n      Quoted: \"256\"\n      List: !If [c, a, b]\n"
	n, err := ParseYAML([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	props := n.Get("Resources").Get("Task").Get("Properties")
	fam := props.Get("Family")
	if fam.Tag != "!Ref" || fam.Value != "Name" || fam.Kind != String || fam.Pos != (Pos{5, 15}) {
		t.Errorf("Family %+v", fam)
	}
	if cpu := props.Get("Cpu"); cpu.Kind != Number || !cpu.Plain {
		t.Errorf("Cpu %+v", cpu)
	}
	if q := props.Get("Quoted"); q.Kind != String || q.Plain {
		t.Errorf("Quoted %+v", q)
	}
	if l := props.Get("List"); l.Tag != "!If" || l.Kind != Array || len(l.Items) != 3 {
		t.Errorf("List %+v", l)
	}
}

func TestParseErrors(t *testing.T) {
	deep := strings.Repeat("[", MaxDepth+1) + strings.Repeat("]", MaxDepth+1)
	for _, tc := range []struct{ name, in, want string }{
		{"empty", "", "empty document"},
		{"json syntax", "{\"a\": 1,", "line 1, column 9: invalid JSON: unexpected end of input, expecting a quoted object key"},
		{"json bad char", "{\n  \"a\": ]\n}", `line 2, column 8: invalid JSON: unexpected ']', expecting a value`},
		{"json duplicate", "{\"a\": 1,\n \"a\": 2}", `line 2, column 2: duplicate key "a" (first at line 1, column 2)`},
		{"json case variant", `{"logConfiguration": {}, "LogConfiguration": {}}`, `keys "LogConfiguration" and "logConfiguration" (at line 1, column 2) differ only in case`},
		{"json nested duplicate", `{"c": [{"o": {"k": 1, "K": 2}}]}`, `line 1, column 23: keys "K" and "k"`},
		{"json two values", `{} {}`, "line 1, column 4: more than one JSON value"},
		{"json fragment", `"containerDefinitions": [{}]`, "line 1, column 23: a fragment"},
		{"json depth", deep, "nested more than 128 levels deep"},
		{"latin-1", "{\"family\": \"caf\xe9\"}", "line 1, column 16: not UTF-8 (byte 0xe9)"},
		{"yaml duplicate", "a: 1\nb: 2\na: 3\n", `line 3, column 1: duplicate key "a" (first at line 1, column 1)`},
		{"yaml case variant", "Family: a\nfamily: b\n", `line 2, column 1: keys "family" and "Family"`},
		{"yaml alias", "a: &x 1\nb: *x\n", "line 1, column 4: YAML anchor &x"},
		{"yaml merge", "a:\n  <<: {b: 1}\n", "merge key"},
		{"yaml two docs", "a: 1\n---\nb: 2\n", "line 2, column 1: more than one YAML document"},
		{"yaml syntax", "a: [1, 2\nb: 3\n", "invalid YAML"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.in))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Parse(%q) = %v, want %q", tc.in, err, tc.want)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error spans lines: %q", err)
			}
		})
	}
}

func TestParseSizeCap(t *testing.T) {
	big := append([]byte(`{"a": "`), bytes.Repeat([]byte("x"), MaxBytes)...)
	big = append(big, `"}`...)
	for _, parse := range []func([]byte) (*Node, error){ParseJSON, ParseYAML} {
		if _, err := parse(big); err == nil || !strings.Contains(err.Error(), "larger than the 8 MiB limit") {
			t.Errorf("error %v", err)
		}
	}
}

func TestParseChoosesSyntaxByContent(t *testing.T) {
	n, err := Parse([]byte("family: web\ncontainerDefinitions:\n  - name: app\n"))
	if err != nil || n.Get("family").Value != "web" {
		t.Fatalf("yaml: %v %+v", err, n)
	}
	if _, err := Parse([]byte("  {\"family\": web}")); err == nil || !strings.Contains(err.Error(), "invalid JSON") {
		t.Errorf("broken JSON reread as YAML: %v", err)
	}
}

func TestParseJSONStrings(t *testing.T) {
	for in, want := range map[string]string{
		`"a\\b\"c\/\n\t"`:       "a\\b\"c/\n\t",
		`"\u00e9\ud83d\ude00"`:  "é😀",
		`"\ud800x"`:             "\uFFFDx",
		`"caf` + "\u00e9" + `"`: "café",
	} {
		n, err := ParseJSON([]byte(in))
		if err != nil || n.Value != want {
			t.Errorf("ParseJSON(%s) = %q, %v; want %q", in, n.Value, err, want)
		}
	}
	for _, in := range []string{`"a` + "\n" + `b"`, `"\x"`, `"\u12"`, `01`, `1.`, `-`, `1e`, `tru`, `[1,]`, `{"a":1,}`} {
		if _, err := ParseJSON([]byte(in)); err == nil {
			t.Errorf("ParseJSON(%s) accepted", in)
		}
	}
}

// FuzzParse checks the JSON parser against encoding/json: it accepts
// exactly the valid documents (less the ones this package refuses on
// purpose) and reads the same strings.
func FuzzParse(f *testing.F) {
	f.Add([]byte(`{"a": [1, "x", {"b": null}]}`))
	f.Add([]byte("a: !Ref b\nc: [1, 2]\n"))
	f.Add([]byte("\xef\xbb\xbf{}"))
	f.Fuzz(func(t *testing.T, data []byte) {
		if LooksLikeJSON(data) {
			_, jerr := ParseJSON(data)
			valid := json.Valid(data) || json.Valid(bytes.TrimPrefix(data, bom))
			if jerr == nil && !valid {
				t.Fatalf("accepted invalid JSON %q", data)
			}
			if jerr != nil && valid && strings.Contains(jerr.Error(), "invalid JSON") {
				t.Fatalf("refused valid JSON %q: %v", data, jerr)
			}
		}
		n, err := Parse(data)
		if err != nil {
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("error spans lines: %q", err)
			}
			return
		}
		var walk func(*Node, int)
		walk = func(n *Node, depth int) {
			if depth > MaxDepth {
				t.Fatalf("depth %d", depth)
			}
			seen := map[string]bool{}
			for _, f := range n.Fields {
				if seen[foldKey(f.Key)] {
					t.Fatalf("case-variant keys kept: %q", f.Key)
				}
				seen[foldKey(f.Key)] = true
				walk(f.Value, depth+1)
			}
			for _, it := range n.Items {
				walk(it, depth+1)
			}
		}
		walk(n, 0)
	})
}
