package escape

import (
	"strings"
	"testing"
)

func TestCause(t *testing.T) {
	cases := []struct{ in, want string }{
		{`{"errorType":"ThrottledError","errorMessage":"throttled: Rate exceeded","stackTrace":[]}`, "ThrottledError: throttled: Rate exceeded"},
		{`bad {"value":"x","name":"y"}`, `bad {"value":"[redacted]","name":"y"}`},
		{`bad {\"Value\":\"x\\\"y\",\"name\":\"n\"}`, `bad {\"Value\":"[redacted]",\"name\":\"n\"}`},
		{`truncated {"environment":[{"name":"A","value":"B"`, `truncated {"environment":"[redacted]" …`},
		{`key AKIAIOSFODNN7EXAMPLE and token=abc123`, `key [redacted] and token=[redacted]`},
		{"line1\n\x00line2", "line1\nline2"},
		{strings.Repeat("a", 5000), strings.Repeat("a", 1000-1) + "…"},
	}
	for _, c := range cases {
		if got := Cause(c.in, 1000); got != c.want {
			t.Errorf("Cause(%q, 1000)\n got %q\nwant %q", c.in, got, c.want)
		}
	}
}

func TestLine(t *testing.T) {
	for _, c := range []struct {
		in   string
		n    int
		want string
	}{
		{"  a\n\r\tb\u2028c\ufeff ", 10, "a b c"},
		{"bad\xe9utf8", 20, "bad\ufffdutf8"},
		{"abcdef", 4, "abc…"},
		{"abcd", 4, "abcd"},
	} {
		if got := Line(c.in, c.n); got != c.want {
			t.Errorf("Line(%q, %d) = %q, want %q", c.in, c.n, got, c.want)
		}
	}
	if got, want := Lines("one\r\n\n two\x00x\n", 100), "one\ntwo x"; got != want {
		t.Errorf("Lines: %q, want %q", got, want)
	}
}
