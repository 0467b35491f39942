package harness

import (
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"reflect"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// LoadTaskDefinition reads a `describe-task-definition --include TAGS`
// document ({"taskDefinition":{…},"tags":[…]}) as a RegisterTaskDefinition
// request (output-only fields are dropped by the decoding), with its
// family replaced by family when not empty.
func LoadTaskDefinition(path, family string) (*ecs.RegisterTaskDefinitionInput, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var doc struct {
		TaskDefinition ecs.RegisterTaskDefinitionInput `json:"taskDefinition"`
		Tags           []ecstypes.Tag                  `json:"tags"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	in := &doc.TaskDefinition
	in.Tags = doc.Tags
	if family != "" {
		in.Family = aws.String(family)
	}
	return in, nil
}

// outputOnly are the TaskDefinition fields RegisterTaskDefinition does not
// take (see docs/ecs-facts: they are dropped before Register).
var outputOnly = []string{"TaskDefinitionArn", "Revision", "Status", "RequiresAttributes", "Compatibilities",
	"RegisteredAt", "RegisteredBy", "DeregisteredAt", "DeleteRequestedAt"}

// Comparable renders a described task definition and its tags as generic
// JSON for comparison: output-only fields removed, tags as a key → value
// map without the tag keys in dropTagPrefixes.
func Comparable(td *ecstypes.TaskDefinition, tags []ecstypes.Tag, dropTagPrefixes ...string) (map[string]any, error) {
	b, err := json.Marshal(td)
	if err != nil {
		return nil, err
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, err
	}
	for _, k := range outputOnly {
		delete(m, k)
	}
	t := map[string]any{}
	for _, tag := range tags {
		k := aws.ToString(tag.Key)
		if !slices.ContainsFunc(dropTagPrefixes, func(p string) bool { return strings.HasPrefix(strings.ToLower(k), strings.ToLower(p)) }) {
			t[k] = aws.ToString(tag.Value)
		}
	}
	m["Tags"] = t
	return m, nil
}

// Difference is one path whose values differ.
type Difference struct {
	Path     string
	Old, New any
}

func (d Difference) String() string {
	o, _ := json.Marshal(d.Old)
	n, _ := json.Marshal(d.New)
	return fmt.Sprintf("%s: %s → %s", d.Path, o, n)
}

// Diff lists the differences between two JSON values, by path
// (e.g. ContainerDefinitions[0].LogConfiguration), sorted.
func Diff(old, new any) []Difference {
	var out []Difference
	diff("", old, new, &out)
	slices.SortFunc(out, func(a, b Difference) int { return strings.Compare(a.Path, b.Path) })
	return out
}

func diff(path string, a, b any, out *[]Difference) {
	am, aok := a.(map[string]any)
	bm, bok := b.(map[string]any)
	if aok && bok {
		keys := maps.Clone(am) // and bm's: the union of the keys
		maps.Copy(keys, bm)
		for k := range keys {
			diff(strings.TrimPrefix(path+"."+k, "."), am[k], bm[k], out)
		}
		return
	}
	al, aok := a.([]any)
	bl, bok := b.([]any)
	if aok && bok && len(al) == len(bl) {
		for i := range al {
			diff(fmt.Sprintf("%s[%d]", path, i), al[i], bl[i], out)
		}
		return
	}
	if !reflect.DeepEqual(a, b) {
		*out = append(*out, Difference{Path: path, Old: a, New: b})
	}
}
