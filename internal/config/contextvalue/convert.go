// Package contextvalue converts CDK context values into Go values: typed
// JSON from cdk.json, or the strings `cdk -c key=value` gives, for the
// configuration table of package config (docs/configuration.md).
package contextvalue

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// String returns a string value trimmed, and a number or boolean as its
// plain text.
func String(v any) (string, error) {
	switch t := v.(type) {
	case string:
		return strings.TrimSpace(t), nil
	case float64:
		return strconv.FormatFloat(t, 'f', -1, 64), nil
	case bool:
		return strconv.FormatBool(t), nil
	}
	return "", fmt.Errorf("want a string, got %T", v)
}

// StringOr is String with def for an absent (nil) or blank value.
func StringOr(v any, def string) (string, error) {
	if v == nil {
		return def, nil
	}
	s, err := String(v)
	if err == nil && s == "" {
		s = def
	}
	return s, err
}

// Bool accepts a boolean or its text (strconv.ParseBool); def for an
// absent or blank value.
func Bool(v any, def bool) (bool, error) {
	switch t := v.(type) {
	case nil:
		return def, nil
	case bool:
		return t, nil
	case string:
		if strings.TrimSpace(t) == "" {
			return def, nil
		}
		b, err := strconv.ParseBool(strings.TrimSpace(t))
		if err != nil {
			return def, fmt.Errorf("%q is not true or false", t)
		}
		return b, nil
	}
	return def, fmt.Errorf("want a boolean, got %T", v)
}

// Float accepts a finite number or its text; def for an absent or blank
// value.
func Float(v any, def float64) (float64, error) {
	switch t := v.(type) {
	case nil:
		return def, nil
	case float64:
		return t, nil
	case int:
		return float64(t), nil
	case string:
		if strings.TrimSpace(t) == "" {
			return def, nil
		}
		f, err := strconv.ParseFloat(strings.TrimSpace(t), 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			return def, fmt.Errorf("%q is not a number", t)
		}
		return f, nil
	}
	return def, fmt.Errorf("want a number, got %T", v)
}

// Int is Float restricted to whole numbers of at most 2^31.
func Int(v any, def int) (int, error) {
	f, err := Float(v, float64(def))
	if err != nil {
		return def, err
	}
	if f != math.Trunc(f) || math.Abs(f) > 1<<31 {
		return def, fmt.Errorf("%v is not an integer", v)
	}
	return int(f), nil
}

// List accepts a JSON array (typed or as a string) or a comma-separated
// string. nil is the empty list.
func List(v any) ([]string, error) {
	switch t := v.(type) {
	case nil:
		return nil, nil
	case []any:
		out := make([]string, 0, len(t))
		for i, e := range t {
			s, ok := e.(string)
			if !ok {
				return nil, fmt.Errorf("item %d: want a string, got %T", i, e)
			}
			if s = strings.TrimSpace(s); s != "" {
				out = append(out, s)
			}
		}
		return out, nil
	case []string:
		return List(toAnySlice(t))
	case string:
		s := strings.TrimSpace(t)
		if strings.HasPrefix(s, "[") {
			var arr []any
			if err := json.Unmarshal([]byte(s), &arr); err != nil {
				return nil, fmt.Errorf("not a JSON array: %v", err)
			}
			return List(arr)
		}
		return SplitList(s), nil
	}
	return nil, fmt.Errorf("want a list, got %T", v)
}

func toAnySlice(s []string) []any {
	out := make([]any, len(s))
	for i, e := range s {
		out[i] = e
	}
	return out
}

// Object accepts a JSON object, typed or as a string.
func Object(v any) (map[string]any, error) {
	switch t := v.(type) {
	case map[string]any:
		return t, nil
	case string:
		if strings.TrimSpace(t) == "" {
			return map[string]any{}, nil
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(t), &m); err != nil {
			return nil, fmt.Errorf("not a JSON object: %v", err)
		}
		return m, nil
	}
	return nil, fmt.Errorf("want a JSON object, got %T", v)
}

// Tag accepts a tag object ({"key": …, "value": …}), typed or as a
// string, or key=value.
func Tag(v any) (map[string]any, error) {
	if s, ok := v.(string); ok && !strings.HasPrefix(strings.TrimSpace(s), "{") {
		k, val, found := strings.Cut(strings.TrimSpace(s), "=")
		if !found || k == "" {
			return nil, fmt.Errorf("%q is not key=value", s)
		}
		return map[string]any{"key": k, "value": val}, nil
	}
	return Object(v)
}

// Tags accepts a JSON object of tags, typed or as a string, or
// k=v,k2=v2.
func Tags(v any) (map[string]any, error) {
	if s, ok := v.(string); ok && !strings.HasPrefix(strings.TrimSpace(s), "{") {
		m := map[string]any{}
		for _, kv := range SplitList(s) {
			k, val, found := strings.Cut(kv, "=")
			if !found || k == "" {
				return nil, fmt.Errorf("%q is not key=value", kv)
			}
			m[k] = val
		}
		return m, nil
	}
	return Object(v)
}

// SplitList splits a comma-separated list, trimming blanks and dropping
// empty items.
func SplitList(s string) []string {
	var out []string
	for _, item := range strings.Split(s, ",") {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	return out
}
