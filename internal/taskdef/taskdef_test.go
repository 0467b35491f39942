package taskdef

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// copiedFields are the fields RegisterInput copies from TaskDefinition to
// RegisterTaskDefinitionInput (ecs-facts §2: the 18 shared fields).
var copiedFields = []string{
	"ContainerDefinitions", "Cpu", "EnableFaultInjection", "EphemeralStorage", "ExecutionRoleArn", "Family",
	"InferenceAccelerators", "IpcMode", "Memory", "NetworkMode", "PidMode", "PlacementConstraints",
	"ProxyConfiguration", "RequiresCompatibilities", "RuntimePlatform", "TaskRoleArn",
	"TrustedExecutionConfiguration", "Volumes",
}

// outputOnlyFields exist only in DescribeTaskDefinition output and are dropped.
var outputOnlyFields = []string{
	"Compatibilities", "DeleteRequestedAt", "DeregisteredAt", "RegisteredAt", "RegisteredBy",
	"RequiresAttributes", "Revision", "Status", "TaskDefinitionArn",
}

// inputOnlyFields exist only in RegisterTaskDefinitionInput.
var inputOnlyFields = []string{"Tags"}

func exportedFields(t reflect.Type) []string {
	var out []string
	for i := range t.NumField() {
		if f := t.Field(i); f.IsExported() {
			out = append(out, f.Name)
		}
	}
	return out
}

// TestFieldsAreAllHandled fails when the SDK adds a field to either struct
// that RegisterInput does not handle: update RegisterInput and the lists.
func TestFieldsAreAllHandled(t *testing.T) {
	out := reflect.TypeFor[types.TaskDefinition]()
	in := reflect.TypeFor[ecs.RegisterTaskDefinitionInput]()
	for _, f := range exportedFields(out) {
		if !slices.Contains(copiedFields, f) && !slices.Contains(outputOnlyFields, f) {
			t.Errorf("types.TaskDefinition has field %s that RegisterInput does not handle: copy it in RegisterInput and list it in copiedFields, or list it in outputOnlyFields", f)
		}
	}
	for _, f := range exportedFields(in) {
		if !slices.Contains(copiedFields, f) && !slices.Contains(inputOnlyFields, f) {
			t.Errorf("ecs.RegisterTaskDefinitionInput has field %s that RegisterInput does not handle: copy it in RegisterInput and list it in copiedFields, or list it in inputOnlyFields", f)
		}
	}
	for _, f := range copiedFields {
		of, ok1 := out.FieldByName(f)
		inf, ok2 := in.FieldByName(f)
		if !ok1 || !ok2 {
			t.Errorf("copied field %s is missing from TaskDefinition (%v) or RegisterTaskDefinitionInput (%v)", f, ok1, ok2)
			continue
		}
		if of.Type != inf.Type {
			t.Errorf("copied field %s has type %v in TaskDefinition but %v in RegisterTaskDefinitionInput", f, of.Type, inf.Type)
		}
	}
	for _, f := range outputOnlyFields {
		if _, ok := out.FieldByName(f); !ok {
			t.Errorf("outputOnlyFields lists %s, which TaskDefinition no longer has", f)
		}
		if _, ok := in.FieldByName(f); ok {
			t.Errorf("outputOnlyFields lists %s, but RegisterTaskDefinitionInput has it now: copy it", f)
		}
	}
	if len(copiedFields) != 18 {
		t.Errorf("copiedFields has %d entries, ecs-facts §2 lists 18", len(copiedFields))
	}
}

// unionMembers names a concrete member for each SDK union (interface)
// type reachable from TaskDefinition.
var unionMembers = map[reflect.Type]reflect.Type{
	reflect.TypeFor[types.SharingStrategy](): reflect.TypeFor[*types.SharingStrategyMemberNvidiaMps](),
}

// fill sets every exported field reachable from v to a non-zero value,
// deterministically (seed distinguishes values).
func fill(v reflect.Value, seed *int) {
	*seed++
	switch v.Kind() {
	case reflect.Pointer:
		v.Set(reflect.New(v.Type().Elem()))
		fill(v.Elem(), seed)
	case reflect.Struct:
		if v.Type() == reflect.TypeFor[time.Time]() {
			v.Set(reflect.ValueOf(time.Date(2026, 11, 12, 9, 0, *seed%60, 0, time.UTC)))
			return
		}
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				fill(v.Field(i), seed)
			}
		}
	case reflect.Slice:
		s := reflect.MakeSlice(v.Type(), 2, 2)
		for i := range 2 {
			fill(s.Index(i), seed)
		}
		v.Set(s)
	case reflect.Map:
		m := reflect.MakeMap(v.Type())
		k := reflect.New(v.Type().Key()).Elem()
		fill(k, seed)
		e := reflect.New(v.Type().Elem()).Elem()
		fill(e, seed)
		m.SetMapIndex(k, e)
		v.Set(m)
	case reflect.Interface:
		impl, ok := unionMembers[v.Type()]
		if !ok {
			panic("fill: unknown union (interface) type " + v.Type().String() + ": add its member types to unionMembers")
		}
		m := reflect.New(impl.Elem())
		fill(m.Elem(), seed)
		v.Set(m)
	case reflect.String:
		v.SetString(fmt.Sprintf("v%d", *seed))
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		v.SetInt(int64(*seed))
	case reflect.Float32, reflect.Float64:
		v.SetFloat(float64(*seed) + 0.5)
	default:
		panic("fill: unsupported kind " + v.Kind().String() + " at " + v.Type().String())
	}
}

// nonZeroEverywhere reports the first path under v that is the zero value.
func zeroPath(v reflect.Value, path string) string {
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return path
		}
		return zeroPath(v.Elem(), path)
	case reflect.Struct:
		if v.Type() == reflect.TypeFor[time.Time]() {
			if v.Interface().(time.Time).IsZero() {
				return path
			}
			return ""
		}
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				if p := zeroPath(v.Field(i), path+"."+v.Type().Field(i).Name); p != "" {
					return p
				}
			}
		}
		return ""
	case reflect.Slice, reflect.Map:
		if v.Len() == 0 {
			return path
		}
		if v.Kind() == reflect.Slice {
			return zeroPath(v.Index(0), path+"[0]")
		}
		it := v.MapRange()
		it.Next()
		return zeroPath(it.Value(), path+"[k]")
	default:
		if v.IsZero() {
			return path
		}
		return ""
	}
}

// pointers collects every pointer, slice and map identity reachable from v.
func pointers(v reflect.Value, path string, acc map[uintptr]string) {
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			return
		}
		acc[v.Pointer()] = path
		pointers(v.Elem(), path, acc)
	case reflect.Struct:
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				pointers(v.Field(i), path+"."+v.Type().Field(i).Name, acc)
			}
		}
	case reflect.Slice:
		if v.Len() == 0 {
			return
		}
		acc[v.Pointer()] = path
		for i := range v.Len() {
			pointers(v.Index(i), fmt.Sprintf("%s[%d]", path, i), acc)
		}
	case reflect.Map:
		if v.Len() == 0 {
			return
		}
		acc[v.Pointer()] = path
		it := v.MapRange()
		for it.Next() {
			pointers(it.Value(), path+"[k]", acc)
		}
	}
}

// TestRegisterInputCopiesEveryField fills every field of a TaskDefinition
// (recursively) and checks that every shared field arrives equal, so a
// forgotten copy fails even if the lists above were updated.
func TestRegisterInputCopiesEveryField(t *testing.T) {
	var td types.TaskDefinition
	seed := 0
	fill(reflect.ValueOf(&td).Elem(), &seed)
	if p := zeroPath(reflect.ValueOf(td), "td"); p != "" {
		t.Fatalf("fill left %s zero", p)
	}
	before := fmt.Sprintf("%#v", td)
	snapshot := *Copy(&td)

	in, err := RegisterInput(&td, nil)
	if err != nil {
		t.Fatal(err)
	}
	iv, ov := reflect.ValueOf(in).Elem(), reflect.ValueOf(td)
	for _, f := range exportedFields(iv.Type()) {
		if slices.Contains(inputOnlyFields, f) {
			continue
		}
		got, want := iv.FieldByName(f), ov.FieldByName(f)
		if !want.IsValid() {
			t.Errorf("input field %s has no counterpart in TaskDefinition", f)
			continue
		}
		if !reflect.DeepEqual(got.Interface(), want.Interface()) {
			t.Errorf("field %s was not copied: got %#v, want %#v", f, got.Interface(), want.Interface())
		}
	}
	if in.Tags != nil {
		t.Errorf("Tags = %v, want nil without tags", in.Tags)
	}

	// Deep copy: nothing reachable from the input aliases the original.
	orig := map[uintptr]string{}
	pointers(reflect.ValueOf(td), "td", orig)
	got := map[uintptr]string{}
	pointers(reflect.ValueOf(in).Elem(), "in", got)
	for p, path := range got {
		if op, ok := orig[p]; ok {
			t.Errorf("%s shares memory with %s", path, op)
		}
	}
	// Mutating the result leaves td as it was.
	in.ContainerDefinitions[0].LogConfiguration.Options["awslogs-group"] = "changed"
	*in.Family = "changed"
	in.Volumes[0].Name = aws.String("changed")
	if !reflect.DeepEqual(td, snapshot) || fmt.Sprintf("%#v", td) != before {
		t.Error("mutating the RegisterInput result changed the source task definition")
	}
}

func tag(k, v string) types.Tag { return types.Tag{Key: aws.String(k), Value: aws.String(v)} }

func tagList(ts []types.Tag) string {
	var b []string
	for _, t := range ts {
		b = append(b, aws.ToString(t.Key)+"="+aws.ToString(t.Value))
	}
	return strings.Join(b, ",")
}

func TestRegisterInputTags(t *testing.T) {
	fifty := make([]types.Tag, 0, 50)
	for i := range 50 {
		fifty = append(fifty, tag(fmt.Sprintf("k%02d", i), "v"))
	}
	tests := []struct {
		name    string
		tags    []types.Tag
		extra   []types.Tag
		want    string
		wantErr any
	}{
		{name: "none", want: ""},
		{name: "kept in order", tags: []types.Tag{tag("b", "2"), tag("a", "1")}, want: "b=2,a=1"},
		{name: "aws any case dropped",
			tags: []types.Tag{tag("aws:cloudformation:stack-name", "s"), tag("AWS:x", "y"), tag("Aws:z", "1"), tag("aWs:q", "1"), tag("awsome", "yes"), tag("aws", "bare")},
			want: "awsome=yes,aws=bare"},
		{name: "extra appended", tags: []types.Tag{tag("Team", "a")}, extra: []types.Tag{tag("ecslogfix:source", "orders:14")}, want: "Team=a,ecslogfix:source=orders:14"},
		{name: "extra replaces same key in place", tags: []types.Tag{tag("ecslogfix:source", "old"), tag("Team", "a")}, extra: []types.Tag{tag("ecslogfix:source", "new")}, want: "ecslogfix:source=new,Team=a"},
		{name: "keys are case sensitive", tags: []types.Tag{tag("team", "a")}, extra: []types.Tag{tag("Team", "b")}, want: "team=a,Team=b"},
		{name: "repeated extra: last wins", extra: []types.Tag{tag("x", "1"), tag("x", "2")}, want: "x=2"},
		{name: "50 plus aws fits", tags: append(slices.Clone(fifty), tag("aws:cloudformation:stack-id", "s")), want: tagList(fifty)},
		{name: "50 plus replacement fits", tags: fifty, extra: []types.Tag{tag("k00", "new")}, want: "k00=new," + tagList(fifty[1:])},
		{name: "51 fails", tags: fifty, extra: []types.Tag{tag("ecslogfix:source", "x")}, wantErr: &TagLimitError{}},
		{name: "extra aws fails", extra: []types.Tag{tag("AWS:foo", "x")}, wantErr: &InvalidTagError{}},
		{name: "extra without key fails", extra: []types.Tag{{Value: aws.String("x")}}, wantErr: &InvalidTagError{}},
		{name: "extra key 128 chars fits", extra: []types.Tag{tag(strings.Repeat("é", 128), strings.Repeat("é", 256))}, want: strings.Repeat("é", 128) + "=" + strings.Repeat("é", 256)},
		{name: "extra key too long", extra: []types.Tag{tag(strings.Repeat("k", 129), "v")}, wantErr: &InvalidTagError{}},
		{name: "extra value too long", extra: []types.Tag{tag("k", strings.Repeat("v", 257))}, wantErr: &InvalidTagError{}},
		{name: "extra nil value fits", extra: []types.Tag{{Key: aws.String("k")}}, want: "k="},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			td := &types.TaskDefinition{Family: aws.String("f")}
			orig := slices.Clone(tc.tags)
			in, err := RegisterInput(td, tc.tags, tc.extra...)
			if tc.wantErr != nil {
				switch tc.wantErr.(type) {
				case *TagLimitError:
					var e *TagLimitError
					if !errors.As(err, &e) || e.Count != 51 || !strings.Contains(e.Error(), "51") {
						t.Fatalf("err = %v, want *TagLimitError with 51", err)
					}
				case *InvalidTagError:
					var e *InvalidTagError
					if !errors.As(err, &e) || e.Reason == "" || !strings.Contains(e.Error(), e.Reason) {
						t.Fatalf("err = %v, want *InvalidTagError", err)
					}
				}
				if in != nil {
					t.Error("input returned with an error")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := tagList(in.Tags); got != tc.want {
				t.Errorf("tags = %q, want %q", got, tc.want)
			}
			if tc.want == "" && in.Tags != nil {
				t.Errorf("Tags = %#v, want nil", in.Tags)
			}
			if !reflect.DeepEqual(orig, tc.tags) {
				t.Error("RegisterInput modified the tags argument")
			}
		})
	}
}

// "default" (Windows on EC2, no mode named) is in no ECS model: it is
// registered by leaving networkMode out, which selects that mode; every
// value of the model is copied as it is.
func TestRegisterInputNetworkModeDefault(t *testing.T) {
	for _, m := range append(types.NetworkMode("").Values(), "default", "") {
		in, err := RegisterInput(&types.TaskDefinition{Family: aws.String("f"), NetworkMode: m}, nil)
		if err != nil {
			t.Fatal(err)
		}
		want := m
		if m == "default" {
			want = ""
		}
		if in.NetworkMode != want {
			t.Errorf("networkMode %q registers as %q, want %q", m, in.NetworkMode, want)
		}
	}
}

func TestRegisterInputNil(t *testing.T) {
	if _, err := RegisterInput(nil, nil); !errors.Is(err, ErrNilTaskDefinition) {
		t.Errorf("err = %v, want ErrNilTaskDefinition", err)
	}
}

func TestIsReservedTagKey(t *testing.T) {
	for k, want := range map[string]bool{"aws:": true, "AWS:x": true, "aWs:y": true, "aws": false, "awsx:": false, "": false, "x-aws:": false} {
		if got := IsReservedTagKey(k); got != want {
			t.Errorf("IsReservedTagKey(%q) = %v, want %v", k, got, want)
		}
	}
}

func TestCopyInterface(t *testing.T) {
	type holder struct{ V any }
	src := holder{V: &types.Tag{Key: aws.String("k")}}
	cp := *Copy(&src)
	if cp.V.(*types.Tag) == src.V.(*types.Tag) || aws.ToString(cp.V.(*types.Tag).Key) != "k" {
		t.Error("interface value not deep-copied")
	}
	var nilIface holder
	if Copy(&nilIface).V != nil {
		t.Error("nil interface not preserved")
	}
}
