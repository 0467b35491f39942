package taskdef

import "reflect"

// Copy returns a deep copy of *v: pointers, slices, maps and arrays
// reachable through exported fields are duplicated, so changing the copy
// never changes v (the plan's fixed revision, the register request). Struct values are first copied whole (keeping unexported
// fields such as time.Time's), then their exported fields are copied
// deeply. nil stays nil and empty stays empty, so the copy is
// reflect.DeepEqual to v.
func Copy[T any](v *T) *T {
	if v == nil {
		return nil
	}
	out := copyValue(reflect.ValueOf(v))
	return out.Interface().(*T)
}

func copyValue(v reflect.Value) reflect.Value {
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			return v
		}
		p := reflect.New(v.Type().Elem())
		p.Elem().Set(copyValue(v.Elem()))
		return p
	case reflect.Slice:
		if v.IsNil() {
			return v
		}
		s := reflect.MakeSlice(v.Type(), v.Len(), v.Len())
		for i := 0; i < v.Len(); i++ {
			s.Index(i).Set(copyValue(v.Index(i)))
		}
		return s
	case reflect.Map:
		if v.IsNil() {
			return v
		}
		m := reflect.MakeMapWithSize(v.Type(), v.Len())
		iter := v.MapRange()
		for iter.Next() {
			m.SetMapIndex(copyValue(iter.Key()), copyValue(iter.Value()))
		}
		return m
	case reflect.Array:
		a := reflect.New(v.Type()).Elem()
		for i := 0; i < v.Len(); i++ {
			a.Index(i).Set(copyValue(v.Index(i)))
		}
		return a
	case reflect.Struct:
		s := reflect.New(v.Type()).Elem()
		s.Set(v)
		for i := 0; i < v.NumField(); i++ {
			if s.Field(i).CanSet() {
				s.Field(i).Set(copyValue(v.Field(i)))
			}
		}
		return s
	case reflect.Interface:
		if v.IsNil() {
			return v
		}
		i := reflect.New(v.Type()).Elem()
		i.Set(copyValue(v.Elem()))
		return i
	default:
		return v
	}
}
