package escape

import (
	"encoding/json"
	"regexp"
	"strings"
	"unicode"
)

// Line returns s as one line of plain text for a notification or a record
// of one: valid UTF-8, no control characters (each run of them, and of line
// and paragraph separators and byte order marks, becomes one space),
// surrounding space trimmed, at most n runes (Clip). Unlike Text, which
// shows each invisible character as an escape for a terminal or a CI log,
// Line drops them: people read a notification in a mail client or a chat,
// where an escape is noise and the line structure is the renderer's.
func Line(s string, n int) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	var b strings.Builder
	space := false
	count := 0
	for _, r := range s {
		if unicode.IsControl(r) || r == '\u2028' || r == '\u2029' || r == '\uFEFF' {
			if !space {
				b.WriteByte(' ')
				space = true
				count++
			}
			continue
		}
		space = false
		b.WriteRune(r)
		count++
	}
	return Clip(strings.TrimSpace(b.String()), n)
}

// Lines is Line for text that keeps its line breaks (a cause, a chat
// message): each line as Line, empty ones dropped, at most n runes in all.
func Lines(s string, n int) string {
	lines := strings.Split(strings.ReplaceAll(s, "\r\n", "\n"), "\n")
	kept := make([]string, 0, len(lines))
	for _, l := range lines {
		if l = Line(l, n); l != "" {
			kept = append(kept, l)
		}
	}
	return Clip(strings.Join(kept, "\n"), n)
}

// sensitiveKeys name JSON members whose values must never be forwarded from
// an error cause: container environment and secrets, log driver options,
// registry credentials, whole container definitions and raw CloudTrail
// bodies. Matched case-insensitively, quoted or backslash-quoted.
var sensitiveKeys = []string{
	"environment", "environmentFiles", "secrets", "secretOptions", "value",
	"options", "repositoryCredentials", "credentialsParameter",
	"containerDefinitions", "requestParameters", "responseElements",
	"dockerLabels", "command", "entryPoint", "input", "output",
	"password", "token", "secret", "secretString", "webhookUrl", "url",
}

var sensitiveKeyRE = regexp.MustCompile(`(?i)(\\*")(` + strings.Join(sensitiveKeys, "|") + `)\\*"\s*:\s*`)

// accessKeyRE matches AWS access key IDs; secretLikeRE matches key=value
// pairs whose key says it is a secret.
var (
	accessKeyRE  = regexp.MustCompile(`\b(AKIA|ASIA|AROA|AIDA)[A-Z0-9]{12,}\b`)
	secretLikeRE = regexp.MustCompile(`(?i)\b(password|passwd|secret|token|api[_-]?key|authorization)(\s*[=:]\s*)[^\s,;&"'}\]]+`)
	hookURLRE    = regexp.MustCompile(`(?i)https://hooks\.slack\.com/\S+`)
)

// Cause turns a Step Functions error cause into text that is safe to
// publish: a Lambda error document is reduced to its type and message (no
// stack trace); the values of sensitive JSON members, access key IDs,
// secret-looking key=value pairs and Slack webhook URLs are replaced with
// [redacted]; the result is Lines of at most n runes. Notifications and the
// history both use it: one redaction rule for every record of an outcome.
func Cause(cause string, n int) string {
	cause = strings.ToValidUTF8(cause, "\uFFFD")
	var lambdaErr struct {
		ErrorType    string `json:"errorType"`
		ErrorMessage string `json:"errorMessage"`
	}
	if json.Unmarshal([]byte(cause), &lambdaErr) == nil && lambdaErr.ErrorMessage != "" {
		cause = lambdaErr.ErrorMessage
		if lambdaErr.ErrorType != "" {
			cause = lambdaErr.ErrorType + ": " + cause
		}
	}
	cause = redactJSONMembers(cause)
	cause = accessKeyRE.ReplaceAllString(cause, "[redacted]")
	cause = secretLikeRE.ReplaceAllString(cause, "$1$2[redacted]")
	cause = hookURLRE.ReplaceAllString(cause, "[redacted]")
	return Lines(cause, n)
}

// redactJSONMembers replaces the value of every sensitive member in s,
// which may be JSON, escaped JSON inside a string, or truncated JSON. An
// object or array value is skipped by bracket counting; when its end is not
// found the rest of s is dropped, erring on the side of saying less.
func redactJSONMembers(s string) string {
	var b strings.Builder
	for {
		loc := sensitiveKeyRE.FindStringSubmatchIndex(s)
		if loc == nil {
			b.WriteString(s)
			return b.String()
		}
		b.WriteString(s[:loc[1]])
		b.WriteString(`"[redacted]"`)
		quote := s[loc[2]:loc[3]] // the key's opening quote with its escapes
		rest := s[loc[1]:]
		end := valueEnd(rest, quote)
		if end < 0 {
			b.WriteString(" …")
			return b.String()
		}
		s = rest[end:]
	}
}

// valueEnd returns the length of the JSON value at the start of s, or -1
// when it does not end within s. quote is how strings are quoted at this
// level (`"` or `\"` for escaped JSON).
func valueEnd(s, quote string) int {
	switch {
	case strings.HasPrefix(s, quote):
		// A string at this escaping level (n backslashes before its
		// quotes) closes at a quote preceded by n backslashes modulo the
		// next level's escaping, 2(n+1).
		n := len(quote) - 1
		for i := len(quote); i < len(s); i++ {
			if s[i] != '"' {
				continue
			}
			bs := 0
			for p := i - 1; p >= 0 && s[p] == '\\'; p-- {
				bs++
			}
			if bs%(2*(n+1)) == n {
				return i + 1
			}
		}
		return -1
	case strings.HasPrefix(s, "{") || strings.HasPrefix(s, "["):
		depth := 0
		for i := 0; i < len(s); i++ {
			switch s[i] {
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return i + 1
				}
			}
		}
		return -1
	default:
		// A number, literal or unquoted text: up to the next delimiter.
		i := strings.IndexAny(s, ",}] \n")
		if i < 0 {
			return len(s)
		}
		return i
	}
}
