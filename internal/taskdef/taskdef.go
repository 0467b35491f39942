// Package taskdef maps ECS task definitions losslessly from what
// DescribeTaskDefinition returns to what RegisterTaskDefinition accepts, and
// parses task-definition ARNs. Pure: no AWS calls.
//
// RegisterInput is guarded by reflection tests over both SDK structs: when
// the SDK adds a field, the tests name it until it is handled here.
// RequestJSON/RequestSize run the SDK's own serializer offline, so the size
// checked against MaxRegisterBytes is exactly what a client would send.
package taskdef

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// MaxRegisterBytes is ECS's task definition size limit (64 KiB).
const MaxRegisterBytes = 64 * 1024

// MaxTags is ECS's tag limit per resource (aws:* tags do not count).
const MaxTags = 50

// ErrNilTaskDefinition is returned by RegisterInput when given no task
// definition.
var ErrNilTaskDefinition = errors.New("taskdef: nil task definition")

// TagLimitError reports that the tags to register exceed MaxTags.
type TagLimitError struct {
	Count int // number of tags after dropping aws:* tags and merging extras
}

func (e *TagLimitError) Error() string {
	return fmt.Sprintf("taskdef: %d tags exceed the limit of %d per task definition", e.Count, MaxTags)
}

// Tag limits from the ECS API reference, in Unicode characters.
const (
	MaxTagKeyLength   = 128
	MaxTagValueLength = 256
)

// InvalidTagError reports an extra tag that RegisterTaskDefinition would
// reject: no key, a key using the reserved aws: prefix (any case), or a key
// or value over MaxTagKeyLength / MaxTagValueLength characters.
type InvalidTagError struct {
	Key    string
	Reason string
}

func (e *InvalidTagError) Error() string {
	return fmt.Sprintf("taskdef: extra tag %q: %s", e.Key, e.Reason)
}

// checkExtraTag validates a tag the caller adds.
func checkExtraTag(t types.Tag) error {
	k := aws.ToString(t.Key)
	switch {
	case k == "":
		return &InvalidTagError{Key: k, Reason: "no key"}
	case IsReservedTagKey(k):
		return &InvalidTagError{Key: k, Reason: "the aws: prefix is reserved"}
	case utf8.RuneCountInString(k) > MaxTagKeyLength:
		return &InvalidTagError{Key: k, Reason: fmt.Sprintf("key longer than %d characters", MaxTagKeyLength)}
	case utf8.RuneCountInString(aws.ToString(t.Value)) > MaxTagValueLength:
		return &InvalidTagError{Key: k, Reason: fmt.Sprintf("value longer than %d characters", MaxTagValueLength)}
	}
	return nil
}

// IsReservedTagKey reports whether key uses the aws: prefix, in any case,
// which AWS reserves: such tags cannot be sent and do not count toward
// MaxTags.
func IsReservedTagKey(key string) bool {
	return len(key) >= 4 && strings.EqualFold(key[:4], "aws:")
}

// RegisterInput builds the RegisterTaskDefinition input that recreates td
// with tags: every shared field copied, output-only fields dropped, aws:*
// tags dropped, extra tags appended (replacing same-key tags) while under
// MaxTags. It does not modify td.
//
// The result is a deep copy: callers (the plan) may change any part of it,
// including nested log configuration options, without touching td. Tags
// keep their order; an extra tag whose key is already present replaces that
// tag's value in place. A result over MaxTags is a *TagLimitError; an extra
// tag ECS would reject (empty or aws: key, too long) is an *InvalidTagError.
func RegisterInput(td *types.TaskDefinition, tags []types.Tag, extra ...types.Tag) (*ecs.RegisterTaskDefinitionInput, error) {
	in, err := registerInput(td, tags, extra)
	if err != nil {
		return nil, err
	}
	// One generic deep copy of everything referenced from td, so that no
	// pointer, slice or map is shared with the caller's value.
	return Copy(in), nil
}

// RegisterSize is RequestSize(RegisterInput(td, tags, extra...)), with
// RegisterInput's errors, without its deep copy: measuring the request
// changes nothing, so it may share td's memory. The plan measures every
// fixed revision it builds with it.
func RegisterSize(td *types.TaskDefinition, tags []types.Tag, extra ...types.Tag) (int, error) {
	in, err := registerInput(td, tags, extra)
	if err != nil {
		return 0, err
	}
	return RequestSize(in), nil
}

// registerInput is RegisterInput's request, sharing td's memory.
func registerInput(td *types.TaskDefinition, tags, extra []types.Tag) (*ecs.RegisterTaskDefinitionInput, error) {
	if td == nil {
		return nil, ErrNilTaskDefinition
	}
	merged, err := mergeTags(tags, extra)
	if err != nil {
		return nil, err
	}
	return &ecs.RegisterTaskDefinitionInput{
		ContainerDefinitions: td.ContainerDefinitions,
		Family:               td.Family,
		Cpu:                  td.Cpu,
		Memory:               td.Memory,
		EnableFaultInjection: td.EnableFaultInjection,
		EphemeralStorage:     td.EphemeralStorage,
		ExecutionRoleArn:     td.ExecutionRoleArn,
		TaskRoleArn:          td.TaskRoleArn,
		//lint:ignore SA1019 deprecated by AWS ("no longer available") but still a field to copy losslessly.
		InferenceAccelerators:         td.InferenceAccelerators,
		IpcMode:                       td.IpcMode,
		PidMode:                       td.PidMode,
		NetworkMode:                   registerNetworkMode(td.NetworkMode),
		PlacementConstraints:          td.PlacementConstraints,
		ProxyConfiguration:            td.ProxyConfiguration,
		RequiresCompatibilities:       td.RequiresCompatibilities,
		RuntimePlatform:               td.RuntimePlatform,
		TrustedExecutionConfiguration: td.TrustedExecutionConfiguration,
		Volumes:                       td.Volumes,
		Tags:                          merged,
	}, nil
}

// networkModeDefault is what ECS's documentation calls the network mode of
// a Windows task definition that names none: "For Amazon ECS tasks hosted
// on Amazon EC2 Windows instances, the valid values are default, and
// awsvpc. If no network mode is specified, the default network mode is
// used" (task definition parameters, networkMode:
// https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task_definition_parameters.html#network_mode).
// It is in no ECS model (types.NetworkMode.Values() are bridge, host,
// awsvpc, none), so a request carrying it names no valid value; leaving the
// field out selects that same mode.
const networkModeDefault types.NetworkMode = "default"

// registerNetworkMode is the networkMode to register for m.
func registerNetworkMode(m types.NetworkMode) types.NetworkMode {
	if m == networkModeDefault {
		return ""
	}
	return m
}

// mergeTags drops reserved tags from tags, then applies extra: same key
// replaces the value in place, new keys are appended.
func mergeTags(tags, extra []types.Tag) ([]types.Tag, error) {
	out := make([]types.Tag, 0, len(tags)+len(extra))
	for _, t := range tags {
		if IsReservedTagKey(aws.ToString(t.Key)) {
			continue
		}
		out = append(out, t)
	}
	for _, e := range extra {
		if err := checkExtraTag(e); err != nil {
			return nil, err
		}
		k := aws.ToString(e.Key)
		replaced := false
		for i := range out {
			if aws.ToString(out[i].Key) == k {
				out[i] = e
				replaced = true
			}
		}
		if !replaced {
			out = append(out, e)
		}
	}
	if len(out) > MaxTags {
		return nil, &TagLimitError{Count: len(out)}
	}
	if len(out) == 0 {
		return nil, nil
	}
	return out, nil
}
