package faultproxy

import (
	"fmt"
	"net/http"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ecslogfix/ecslogfix/internal/taskdef"
)

// Stand-ins: where moto 5.2.1 accepts what AWS refuses, or lacks what AWS
// has, the proxy answers as AWS does (Config.StandIns). The table in
// docs/reliability.md ("Stand-ins") gives each one's AWS source and tests.
//
//   - CloudWatch Logs deletion protection: moto ignores it and deletes a
//     protected group. The proxy keeps which groups are protected, answers
//     PutLogGroupDeletionProtection itself, adds deletionProtectionEnabled
//     to DescribeLogGroups, and refuses DeleteLogGroup on a protected group
//     with AWS's ValidationException.
//   - ECS's defaultLogDriverMode account setting: moto refuses the name in
//     ListAccountSettings and stores it without effect. The proxy keeps it
//     per region and access key.
//   - ECS's registeredBy: moto drops it. The proxy adds to a revision's
//     answers the principal whose access key registered it through the
//     proxy (moto's GetCallerIdentity for the key); a revision registered
//     past the proxy has none.
//   - A family read answers the latest ACTIVE revision (latestActive).

// DeletionProtectionMessage is CloudWatch Logs' answer to DeleteLogGroup on
// a protected group (a ValidationException).
const DeletionProtectionMessage = "Cannot delete log group with deletion protection enabled. Disable deletion protection first."

// settingLogDriverMode is the ECS account setting the proxy stands in for.
const settingLogDriverMode = "defaultLogDriverMode"

// standIns holds the state the proxy keeps in moto's place, per caller
// scope (region and access key: moto maps access keys to accounts).
type standIns struct {
	protected sync.Map // scope + "\x00" + log group name → true
	modes     sync.Map // scope → defaultLogDriverMode
	// registrants maps a task definition revision's ARN to the
	// principal that registered it through the proxy.
	registrants sync.Map
}

// reset forgets everything, as a moto reset does.
func (s *standIns) reset() {
	s.protected.Clear()
	s.modes.Clear()
	s.registrants.Clear()
}

// serve answers the call when a stand-in covers it, and reports whether it
// did; otherwise the caller forwards the request.
func (s *standIns) serve(x *exchange) bool {
	var in struct {
		LogGroupName              string `json:"logGroupName"`
		LogGroupIdentifier        string `json:"logGroupIdentifier"`
		DeletionProtectionEnabled *bool  `json:"deletionProtectionEnabled"`
		Name                      string `json:"name"`
		Value                     string `json:"value"`
	}
	x.decode(&in)
	if strings.Contains(x.call.API, "AccountSetting") && in.Name != settingLogDriverMode {
		return false // another setting: moto's
	}
	// The caller's scope: its SigV4 credential's region and access key.
	sc := x.call.Region + "/" + x.call.AccessKey
	group := sc + "\x00" + in.LogGroupName
	switch x.call.API {
	case "logs:CreateLogGroup":
		x.forward(func(map[string]any) {
			if aws.ToBool(in.DeletionProtectionEnabled) {
				s.protected.Store(group, true)
			}
		})
	case "logs:PutLogGroupDeletionProtection":
		if in.DeletionProtectionEnabled == nil || in.LogGroupIdentifier == "" {
			x.fail(http.StatusBadRequest, "InvalidParameterException", "logGroupIdentifier and deletionProtectionEnabled are required")
			break
		}
		if group = sc + "\x00" + groupName(in.LogGroupIdentifier); *in.DeletionProtectionEnabled {
			s.protected.Store(group, true)
		} else {
			s.protected.Delete(group)
		}
		x.answer(struct{}{})
	case "logs:DescribeLogGroups":
		x.forward(func(out map[string]any) {
			groups, _ := out["logGroups"].([]any)
			for _, g := range groups {
				if m, ok := g.(map[string]any); ok {
					_, m["deletionProtectionEnabled"] = s.protected.Load(sc + "\x00" + str(m, "logGroupName"))
				}
			}
		})
	case "logs:DeleteLogGroup":
		if _, on := s.protected.Load(group); on {
			x.fail(http.StatusBadRequest, "ValidationException", DeletionProtectionMessage)
			break
		}
		x.forward(func(map[string]any) { s.protected.Delete(group) })
	case "ecs:ListAccountSettings":
		settings := []any{}
		if v, ok := s.modes.Load(sc); ok {
			settings = append(settings, map[string]any{"name": settingLogDriverMode, "value": v, "type": "user"})
		}
		x.answer(map[string]any{"settings": settings})
	case "ecs:PutAccountSettingDefault", "ecs:PutAccountSetting":
		if in.Value != "blocking" && in.Value != "non-blocking" {
			x.fail(http.StatusBadRequest, "InvalidParameterException", fmt.Sprintf("Invalid value %q for %s: blocking or non-blocking", in.Value, settingLogDriverMode))
			break
		}
		s.modes.Store(sc, in.Value)
		x.answer(map[string]any{"setting": map[string]any{"name": settingLogDriverMode, "value": in.Value, "type": "user"}})
	case "ecs:DeleteAccountSetting":
		s.modes.Delete(sc)
		x.answer(map[string]any{"setting": map[string]any{"name": settingLogDriverMode}})
	case "ecs:DescribeTaskDefinition":
		s.latestActive(x)
	case "ecs:RegisterTaskDefinition":
		x.forward(func(out map[string]any) {
			td, _ := out["taskDefinition"].(map[string]any)
			if arn := str(td, "taskDefinitionArn"); arn != "" {
				if by := aws.ToString(x.caller().Arn); by != "" {
					s.registrants.Store(arn, by)
				}
			}
			s.addRegistrant(out)
		})
	case "ecs:DeregisterTaskDefinition":
		x.forward(s.addRegistrant)
	default:
		return false
	}
	return true
}

// latestActive answers DescribeTaskDefinition of a family (no revision)
// as ECS does, with the family's latest ACTIVE revision ("If a revision
// isn't specified, the latest ACTIVE revision is used", ECS API reference)
// or ECS's ClientException when there is none; moto 5.2.1 answers the
// newest revision of any status. Other references go to moto unchanged.
// Either answer gets its registrant.
func (s *standIns) latestActive(x *exchange) {
	var req struct {
		TaskDefinition string   `json:"taskDefinition"`
		Include        []string `json:"include,omitempty"`
	}
	x.decode(&req)
	if family, err := taskdef.ParseRef(req.TaskDefinition); err == nil && family.Revision == 0 {
		list, err := ecs.NewFromConfig(x.aws()).ListTaskDefinitions(x.r.Context(), &ecs.ListTaskDefinitionsInput{
			FamilyPrefix: &family.Family, Status: ecstypes.TaskDefinitionStatusActive})
		if err != nil {
			x.fail(http.StatusInternalServerError, "ServerException", "stand-in: list the family's ACTIVE revisions: "+err.Error())
			return
		}
		var latest taskdef.ARN
		for _, a := range list.TaskDefinitionArns {
			if td, err := taskdef.ParseARN(a); err == nil && td.Family == family.Family && td.Revision > latest.Revision {
				latest, req.TaskDefinition = td, a
			}
		}
		if latest.Revision == 0 {
			x.fail(http.StatusBadRequest, "ClientException", "Unable to describe task definition.")
			return
		}
		x.setBody(req)
	}
	x.forward(s.addRegistrant)
}

// addRegistrant adds registeredBy to the task definition of an ECS
// answer when the proxy saw who registered it.
func (s *standIns) addRegistrant(out map[string]any) {
	td, _ := out["taskDefinition"].(map[string]any)
	if by, ok := s.registrants.Load(str(td, "taskDefinitionArn")); ok {
		td["registeredBy"] = by
	}
}

// groupName is a log group's name from its name or ARN
// ("arn:aws:logs:REGION:ACCOUNT:log-group:NAME", optionally ":*").
func groupName(identifier string) string {
	if _, name, ok := strings.Cut(identifier, ":log-group:"); ok {
		return strings.TrimSuffix(name, ":*")
	}
	return identifier
}
