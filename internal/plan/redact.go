package plan

import (
	"maps"
	"slices"
	"strconv"
	"strings"
	"unicode"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ecslogfix/ecslogfix/internal/policy/awslogs"
)

// Redacted replaces the value of an option that is not a documented awslogs
// option: other drivers' options may hold tokens or URLs with credentials.
const Redacted = "(redacted)"

// Redact returns the printable view of lc (nil for nil): the driver, the
// values of the options awslogs.ShownOption allows (documented awslogs options
// under the awslogs driver only), "(redacted)" for every other option
// value, and only the names of secret options.
func Redact(lc *types.LogConfiguration) *LogSettings {
	if lc == nil {
		return nil
	}
	s := &LogSettings{Driver: string(lc.LogDriver)}
	for k, v := range lc.Options {
		if s.Options == nil {
			s.Options = make(map[string]string, len(lc.Options))
		}
		if awslogs.ShownOption(string(lc.LogDriver), k) {
			s.Options[k] = v
		} else {
			s.Options[k] = Redacted
		}
	}
	for _, so := range lc.SecretOptions {
		s.SecretOptions = append(s.SecretOptions, aws.ToString(so.Name))
	}
	return s
}

// lines renders s as sorted "key: value" lines for Diff.
func (s *LogSettings) lines() []diffLine {
	if s == nil {
		return nil
	}
	out := []diffLine{{"logDriver", s.Driver}}
	for _, k := range slices.Sorted(maps.Keys(s.Options)) {
		out = append(out, diffLine{"options." + k, s.Options[k]})
	}
	for _, n := range slices.Sorted(slices.Values(s.SecretOptions)) {
		out = append(out, diffLine{"secretOptions." + n, "(secret)"})
	}
	return out
}

type diffLine struct{ key, value string }

// String renders the line; a value that is empty, has surrounding spaces
// or unprintable characters is shown Go-quoted so blanks are visible.
func (l diffLine) String() string {
	v := l.value
	if v == "" || v != strings.TrimSpace(v) || strings.ContainsFunc(v, func(r rune) bool { return !unicode.IsPrint(r) }) {
		v = strconv.Quote(v)
	}
	return l.key + ": " + v
}
