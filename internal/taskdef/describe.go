package taskdef

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// describeOutput is the JSON shape of `aws ecs describe-task-definition
// --include TAGS`.
type describeOutput struct {
	TaskDefinition *types.TaskDefinition `json:"taskDefinition"`
	Tags           []types.Tag           `json:"tags"`
}

// DecodeDescribeOutput decodes the JSON that `aws ecs describe-task-definition
// --include TAGS` prints ({"taskDefinition":{…},"tags":[…]}) into SDK types,
// as used by the CLI's file input and by tests over the shared corpus.
//
// Decoding is strict: a field the SDK types do not know is an error, since
// registering from such a value would silently lose that field. Timestamps
// must be ISO 8601 as the CLI prints them (CloudTrail's responseElements use
// another format and are not accepted here). The SDK's union fields, which
// encoding/json cannot fill (resourceRequirements[].sharingStrategy), are
// decoded separately; an unknown union member is an error.
func DecodeDescribeOutput(data []byte) (*types.TaskDefinition, []types.Tag, error) {
	var unions map[[2]int]types.SharingStrategy
	if bytes.Contains(data, []byte(`"sharingStrategy"`)) {
		var err error
		if data, unions, err = extractSharingStrategies(data); err != nil {
			return nil, nil, fmt.Errorf("taskdef: decode describe-task-definition output: %w", err)
		}
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var out describeOutput
	if err := dec.Decode(&out); err != nil {
		return nil, nil, fmt.Errorf("taskdef: decode describe-task-definition output: %w", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, nil, errors.New("taskdef: decode describe-task-definition output: trailing data")
	}
	if out.TaskDefinition == nil {
		return nil, nil, errors.New("taskdef: decode describe-task-definition output: no taskDefinition")
	}
	for at, s := range unions {
		cds := out.TaskDefinition.ContainerDefinitions
		if at[0] < len(cds) && at[1] < len(cds[at[0]].ResourceRequirements) {
			cds[at[0]].ResourceRequirements[at[1]].SharingStrategy = s
		}
	}
	return out.TaskDefinition, out.Tags, nil
}

// extractSharingStrategies removes every
// taskDefinition.containerDefinitions[i].resourceRequirements[j].sharingStrategy
// from data, decoding each into its SDK union member, keyed by {i, j}.
func extractSharingStrategies(data []byte) ([]byte, map[[2]int]types.SharingStrategy, error) {
	var doc map[string]json.RawMessage
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, nil, err
	}
	var td map[string]json.RawMessage
	if err := json.Unmarshal(doc["taskDefinition"], &td); err != nil || td == nil {
		return data, nil, nil // let the strict decoder report it
	}
	var cds []map[string]json.RawMessage
	if err := json.Unmarshal(td["containerDefinitions"], &cds); err != nil {
		return data, nil, nil
	}
	found := map[[2]int]types.SharingStrategy{}
	for i, cd := range cds {
		var rrs []map[string]json.RawMessage
		if err := json.Unmarshal(cd["resourceRequirements"], &rrs); err != nil {
			continue
		}
		for j, rr := range rrs {
			raw, ok := rr["sharingStrategy"]
			if !ok {
				continue
			}
			s, err := decodeSharingStrategy(raw)
			if err != nil {
				return nil, nil, fmt.Errorf("containerDefinitions[%d].resourceRequirements[%d].sharingStrategy: %w", i, j, err)
			}
			delete(rr, "sharingStrategy")
			if s != nil {
				found[[2]int{i, j}] = s
			}
		}
		b, err := json.Marshal(rrs)
		if err != nil {
			return nil, nil, err
		}
		cd["resourceRequirements"] = b
	}
	b, err := json.Marshal(cds)
	if err != nil {
		return nil, nil, err
	}
	td["containerDefinitions"] = b
	if doc["taskDefinition"], err = json.Marshal(td); err != nil {
		return nil, nil, err
	}
	out, err := json.Marshal(doc)
	return out, found, err
}

// decodeSharingStrategy decodes the union {"nvidiaMps":{…}}; null is nil.
func decodeSharingStrategy(raw json.RawMessage) (types.SharingStrategy, error) {
	if bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
		return nil, nil
	}
	var u map[string]json.RawMessage
	if err := json.Unmarshal(raw, &u); err != nil {
		return nil, err
	}
	if len(u) != 1 {
		return nil, fmt.Errorf("a union needs exactly one member, got %d", len(u))
	}
	for name, v := range u {
		if name != "nvidiaMps" {
			return nil, fmt.Errorf("unknown member %q", name)
		}
		dec := json.NewDecoder(bytes.NewReader(v))
		dec.DisallowUnknownFields()
		var m types.SharingStrategyMemberNvidiaMps
		if err := dec.Decode(&m.Value); err != nil {
			return nil, err
		}
		return &m, nil
	}
	return nil, nil
}
