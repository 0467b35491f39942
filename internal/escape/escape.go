// Package escape makes strings from untrusted input safe to print where
// people and CI systems read them: a terminal, a CI log, a CSV file, a
// GitHub Actions workflow command. A task definition or template under
// review is written by whoever opened the pull request; printed raw, a
// container name could move the cursor, forge a "COMPLIANT" line, or issue
// a workflow command (::add-mask::, ::error::) in the CI log.
//
// Notifications and their records take the same input through Line and
// Lines (plain text, invisible characters dropped instead of shown) and
// Cause (an error cause with its secrets redacted); all of them cut with
// Clip.
package escape

import (
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Text returns s with every character that is not plain printable text
// shown as a Go-style escape (\n, \r, \t, \x1b, \u202e, \U000e0027): control
// characters, invisible formatting characters (bidirectional overrides,
// zero-width spaces, the byte order mark), line and paragraph separators,
// and bytes that are not UTF-8. Printable text in any script is kept as it
// is ("café" stays "café"). A "::" at the start (after blanks), where a CI
// runner would take the line for a workflow command, becomes ":\x3a".
func Text(s string) string {
	clean := true
	for _, r := range s {
		if unsafe(r) {
			clean = false
			break
		}
	}
	if clean && !strings.HasPrefix(strings.TrimLeft(s, " \t"), "::") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size <= 1:
			b.WriteString(`\x`)
			b.WriteString(hex2(s[i]))
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case unsafe(r) && r < 0x100:
			b.WriteString(`\x`)
			b.WriteString(hex2(byte(r)))
		case unsafe(r):
			// Go's own spelling: \u and four digits in the Basic
			// Multilingual Plane, \U and eight beyond it (the tag
			// characters U+E0000–U+E007F are invisible formatting too).
			hex := strconv.FormatInt(int64(r), 16)
			width, prefix := 4, `\u`
			if r > 0xffff {
				width, prefix = 8, `\U`
			}
			b.WriteString(prefix)
			b.WriteString(strings.Repeat("0", width-len(hex)))
			b.WriteString(hex)
		default:
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	out := b.String()
	if t := strings.TrimLeft(out, " \t"); strings.HasPrefix(t, "::") {
		lead := len(out) - len(t)
		out = out[:lead] + `:\x3a` + t[2:]
	}
	return out
}

func unsafe(r rune) bool {
	return r == utf8.RuneError || unicode.IsControl(r) || unicode.Is(unicode.Cf, r) ||
		r == '\u2028' || r == '\u2029'
}

func hex2(c byte) string {
	const digits = "0123456789abcdef"
	return string([]byte{digits[c>>4], digits[c&0xf]})
}

// CSV returns s made safe for one CSV cell: escaped as Text, and with a
// leading =, +, - or @ (which spreadsheet programs run as a formula)
// guarded by a single quote. Quoting is the CSV writer's job.
func CSV(s string) string {
	s = Text(s)
	if s != "" && strings.ContainsRune("=+-@", rune(s[0])) {
		return "'" + s
	}
	return s
}

// WorkflowMessage escapes the message of a GitHub Actions workflow command
// (the text after the second "::"): Text first, so that nothing invisible
// reaches the log, then the runner's own escapes for %, CR and LF.
func WorkflowMessage(s string) string {
	return workflowData.Replace(Text(s))
}

// WorkflowProperty escapes a property value of a workflow command
// (file=…,title=…): as WorkflowMessage, and ":" and "," too, which end a
// property.
func WorkflowProperty(s string) string {
	return workflowProperty.Replace(Text(s))
}

var (
	workflowData     = strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A")
	workflowProperty = strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A", ":", "%3A", ",", "%2C")
)

// Clip cuts s to at most n characters (runes), marking a cut with "…", so
// that one value cannot flood a message.
func Clip(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	i := 0
	for pos := range s {
		if i == n-1 {
			return s[:pos] + "…"
		}
		i++
	}
	return s
}
