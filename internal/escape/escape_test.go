package escape

import (
	"strings"
	"testing"
)

func TestText(t *testing.T) {
	for in, want := range map[string]string{
		"orders-api":               "orders-api",
		"café ünïcode 日本":          "café ünïcode 日本",
		"a\nb\rc\td":               `a\nb\rc\td`,
		"\x1b[2J\x1b[31mred":       `\x1b[2J\x1b[31mred`,
		"x\u202eevil\u200b\ufeff":  `x\u202eevil\u200b\ufeff`,
		"line\u2028sep":            `line\u2028sep`,
		"tag\U000e0027char":        `tag\U000e0027char`,
		"\x7f\u0085":               `\x7f\x85`,
		"bad\xe9utf8":              `bad\xe9utf8`,
		"::error::pwned":           `:\x3aerror::pwned`,
		"  ::add-mask::x":          `  :\x3aadd-mask::x`,
		"AWS::ECS::TaskDefinition": "AWS::ECS::TaskDefinition",
		"":                         "",
	} {
		if got := Text(in); got != want {
			t.Errorf("Text(%q) = %q, want %q", in, got, want)
		}
		if got := Text(Text(in)); got != Text(in) {
			t.Errorf("Text is not idempotent on %q: %q", in, got)
		}
	}
}

func TestCSV(t *testing.T) {
	for in, want := range map[string]string{
		"=HYPERLINK(\"x\")": `'=HYPERLINK("x")`,
		"+1":                "'+1",
		"-2":                "'-2",
		"@SUM(A1)":          "'@SUM(A1)",
		"a\nb":              `a\nb`,
		"plain":             "plain",
	} {
		if got := CSV(in); got != want {
			t.Errorf("CSV(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestWorkflow(t *testing.T) {
	msg := WorkflowMessage("100% done\r\n::add-mask::secret\n")
	if msg != `100%25 done\r\n::add-mask::secret\n` {
		t.Errorf("message %q", msg)
	}
	prop := WorkflowProperty("a,b:c%\nd")
	if prop != `a%2Cb%3Ac%25\nd` {
		t.Errorf("property %q", prop)
	}
	if strings.ContainsAny(msg+prop, "\r\n\x1b") {
		t.Errorf("raw control characters left")
	}
}

func FuzzText(f *testing.F) {
	f.Add("::error::x\n\x1b[1m")
	f.Fuzz(func(t *testing.T, s string) {
		out := Text(s)
		for _, r := range out {
			if unsafe(r) {
				t.Fatalf("Text(%q) = %q keeps %U", s, out, r)
			}
		}
		if strings.HasPrefix(strings.TrimLeft(out, " \t"), "::") {
			t.Fatalf("Text(%q) = %q starts a workflow command", s, out)
		}
	})
}
