package policy

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"sigs.k8s.io/yaml"

	"github.com/ecslogfix/ecslogfix/internal/document"
	"github.com/ecslogfix/ecslogfix/internal/policy/awslogs"
	"github.com/ecslogfix/ecslogfix/internal/policy/exemption"
)

// Default returns the SOP's policy: awslogs only, log group "/ecs/{family}",
// stream prefix "ecs", 365 days retention (also set on referenced groups
// that never expire), deletion protection on created groups, either
// delivery mode, other drivers replaced, exemption tag
// ecslogfix:exempt=true, enforcement on.
func Default() Policy {
	return Policy{
		AllowedDrivers:         []string{awslogs.DriverAwslogs},
		LogGroupTemplate:       "/ecs/{family}",
		StreamPrefix:           "ecs",
		RetentionDays:          365,
		OtherDrivers:           Replace,
		ExemptionTag:           exemption.Tag{Key: "ecslogfix:exempt", Value: "true"},
		Enforcement:            Enforce,
		ExistingGroupRetention: RetentionSetIfNeverExpire,
		DeletionProtection:     boolPtr(true),
		RequiredMode:           awslogs.ModeAny,
		Rollout:                RolloutNone,
		DeregisterSource:       DeregisterNever,
		// A service's rolling update replaces every task, each waiting
		// for the load balancer's deregistration delay (300 s by default).
		RolloutTimeoutMinutes: 30,
		RolloutPollSeconds:    30,
	}
}

func boolPtr(b bool) *bool { return &b }

// WithDefaults returns p with every unset (zero) field taken from Default.
// The zero Policy therefore means the SOP's policy. Maps and slices are
// copied, so the result shares no memory with p.
func (p Policy) WithDefaults() Policy {
	d := Default()
	if len(p.AllowedDrivers) == 0 {
		p.AllowedDrivers = d.AllowedDrivers
	} else {
		p.AllowedDrivers = append([]string(nil), p.AllowedDrivers...)
	}
	p.LogGroupTemplate = cmp.Or(p.LogGroupTemplate, d.LogGroupTemplate)
	p.StreamPrefix = cmp.Or(p.StreamPrefix, d.StreamPrefix)
	p.RetentionDays = cmp.Or(p.RetentionDays, d.RetentionDays)
	p.OtherDrivers = cmp.Or(p.OtherDrivers, d.OtherDrivers)
	if p.ExemptionTag.Key == "" {
		p.ExemptionTag = d.ExemptionTag
	}
	p.Enforcement = cmp.Or(p.Enforcement, d.Enforcement)
	p.ExistingGroupRetention = cmp.Or(p.ExistingGroupRetention, d.ExistingGroupRetention)
	if p.DeletionProtection == nil {
		p.DeletionProtection = d.DeletionProtection
	} else {
		p.DeletionProtection = boolPtr(*p.DeletionProtection)
	}
	p.RequiredMode = cmp.Or(p.RequiredMode, d.RequiredMode)
	if p.LogGroupPatterns != nil {
		p.LogGroupPatterns = append([]string(nil), p.LogGroupPatterns...)
	}
	p.Rollout = cmp.Or(p.Rollout, d.Rollout)
	p.DeregisterSource = cmp.Or(p.DeregisterSource, d.DeregisterSource)
	p.RolloutTimeoutMinutes = cmp.Or(p.RolloutTimeoutMinutes, d.RolloutTimeoutMinutes)
	p.RolloutPollSeconds = cmp.Or(p.RolloutPollSeconds, d.RolloutPollSeconds)
	p.Exemptions.Register = slices.Clone(p.Exemptions.Register)
	p.LogGroupTags = maps.Clone(p.LogGroupTags)
	return p
}

// Parse reads a policy from JSON or YAML, applies defaults to unset fields
// and validates it. Unknown and duplicate fields are an error, and so is an
// empty document. A field given explicitly is taken as given (an explicit
// "retentionDays: 0" is invalid, not the default); fields of exemptionTag
// that are not given keep their default.
func Parse(data []byte) (Policy, error) {
	if len(bytes.TrimSpace(data)) == 0 {
		return Policy{}, errors.New("policy: empty document")
	}
	if err := checkFieldNames(data); err != nil {
		return Policy{}, err
	}
	p := Default()
	if err := yaml.UnmarshalStrict(data, &p); err != nil {
		return Policy{}, fmt.Errorf("policy: %s", oneLine(err))
	}
	if len(p.LogGroupTags) == 0 {
		p.LogGroupTags = nil
	}
	if len(p.LogGroupPatterns) == 0 {
		p.LogGroupPatterns = nil
	}
	if p.DeletionProtection == nil { // null: the default
		p.DeletionProtection = boolPtr(true)
	}
	if err := p.Validate(); err != nil {
		return Policy{}, err
	}
	return p, nil
}

// oneLine joins the lines of a YAML decoding error ("unmarshal errors:"
// then one indented line per problem), so that it prints as one line.
func oneLine(err error) string { return strings.Join(strings.Fields(err.Error()), " ") }

// FieldError names the invalid policy field by its JSON name.
type FieldError struct {
	Field   string
	Problem string
}

func (e *FieldError) Error() string { return "policy: " + e.Field + ": " + e.Problem }

// Placeholders LogGroupTemplate may contain.
const (
	PlaceholderFamily    = "{family}"
	PlaceholderAccount   = "{account}"
	PlaceholderRegion    = "{region}"
	PlaceholderContainer = "{container}"
)

// LogGroupName expands LogGroupTemplate (the default template when unset).
// region is the task definition's region. The result is not validated:
// check it with ValidLogGroupName.
func (p Policy) LogGroupName(family, container, account, region string) string {
	return strings.NewReplacer(
		PlaceholderFamily, family,
		PlaceholderContainer, container,
		PlaceholderAccount, account,
		PlaceholderRegion, region,
	).Replace(cmp.Or(p.LogGroupTemplate, Default().LogGroupTemplate))
}

// IsExempt reports whether tags carry the exemption tag (the default one when
// unset): the key must match exactly, the value ignoring case and
// surrounding spaces.
func (p Policy) IsExempt(tags []types.Tag) bool { return p.exemptionTag().Carried(tags) }

// UntilKey is the key of the end-date tag.
func (p Policy) UntilKey() string { return p.exemptionTag().UntilKey() }

// exemptionTag is ExemptionTag, or the default one when unset.
func (p Policy) exemptionTag() exemption.Tag {
	if p.ExemptionTag.Key == "" {
		return Default().ExemptionTag
	}
	return p.ExemptionTag
}

// checkFieldNames rejects field names that differ from the JSON names in
// case only: encoding/json would accept "AllowedDrivers" or "logGroupTAgs"
// silently.
func checkFieldNames(data []byte) error {
	js, err := yaml.YAMLToJSONStrict(data)
	if err != nil {
		return fmt.Errorf("policy: %s", oneLine(err))
	}
	if err := document.CheckFieldNames(js, reflect.TypeFor[Policy]()); err != nil {
		return fmt.Errorf("policy: %w", err)
	}
	return nil
}
