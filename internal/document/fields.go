package document

import (
	"encoding/json"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"
)

// CheckFieldNames checks the member names of the JSON object js against the
// JSON names (struct tags) of struct type t's fields, recursing into nested
// objects and lists of objects: a member that matches no field, such as one
// that differs from a field's name in case only, is an error naming its
// path. encoding/json would accept "AllowedDrivers" for "allowedDrivers"
// silently.
func CheckFieldNames(js []byte, t reflect.Type) error {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(js, &top); err != nil {
		return fmt.Errorf("the document must be an object: %w", err)
	}
	return checkNames("", top, t)
}

// checkNames compares the members of one object with the JSON names of t's
// fields, and recurses into nested objects and lists of objects.
func checkNames(path string, obj map[string]json.RawMessage, t reflect.Type) error {
	fields := map[string]reflect.Type{}
	for i := 0; i < t.NumField(); i++ {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		fields[name] = t.Field(i).Type
	}
	for _, k := range slices.Sorted(maps.Keys(obj)) {
		v := obj[k]
		ft, ok := fields[k]
		if !ok {
			return fmt.Errorf("unknown field %q", path+k)
		}
		if ft.Kind() == reflect.Slice && ft.Elem().Kind() == reflect.Struct {
			var items []map[string]json.RawMessage
			if json.Unmarshal(v, &items) == nil {
				for i, item := range items {
					if err := checkNames(fmt.Sprintf("%s%s[%d].", path, k, i), item, ft.Elem()); err != nil {
						return err
					}
				}
			}
			continue
		}
		if ft.Kind() != reflect.Struct {
			continue
		}
		var nested map[string]json.RawMessage
		if json.Unmarshal(v, &nested) == nil {
			if err := checkNames(path+k+".", nested, ft); err != nil {
				return err
			}
		}
	}
	return nil
}
