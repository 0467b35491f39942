package harness

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"

	"github.com/ecslogfix/ecslogfix/internal/cloudtrail"
	"github.com/ecslogfix/ecslogfix/test/localaws"
)

// IAMUser is the userIdentity of an IAM user calling through the CLI.
func IAMUser(name string) map[string]any { return AccountUser(localaws.Account, name) }

// AccountUser is IAMUser for a user of account (an organization member).
func AccountUser(account, name string) map[string]any {
	return map[string]any{
		"type":        "IAMUser",
		"principalId": "AIDAE2EEXAMPLE" + shortHash(name),
		"arn":         fmt.Sprintf("arn:%s:iam::%s:user/%s", localaws.Partition, account, name),
		"accountId":   account,
		"accessKeyId": "AKIAE2EEXAMPLE000000",
		"userName":    name,
	}
}

// AssumedRole is the userIdentity of a session of role roleName (e.g. our
// remediate function's role).
func AssumedRole(roleName, session string) map[string]any {
	roleARN := fmt.Sprintf("arn:%s:iam::%s:role/%s", localaws.Partition, localaws.Account, roleName)
	return map[string]any{
		"type":        "AssumedRole",
		"principalId": "AROAE2EEXAMPLE" + shortHash(roleName) + ":" + session,
		"arn":         fmt.Sprintf("arn:%s:sts::%s:assumed-role/%s/%s", localaws.Partition, localaws.Account, roleName, session),
		"accountId":   localaws.Account,
		"accessKeyId": "ASIAE2EEXAMPLE000000",
		"sessionContext": map[string]any{
			"sessionIssuer": map[string]any{
				"type": "Role", "principalId": "AROAE2EEXAMPLE" + shortHash(roleName),
				"arn": roleARN, "accountId": localaws.Account, "userName": roleName,
			},
			"attributes": map[string]any{"creationDate": "2026-11-12T09:42:42Z", "mfaAuthenticated": "false"},
		},
	}
}

// RegisterCall describes one successful RegisterTaskDefinition call.
type RegisterCall struct {
	EventID           string
	TaskDefinitionARN string
	Family            string
	Revision          int32
	Identity          map[string]any
	UserAgent         string
	// Request is the requestParameters object (it carries the container
	// definitions, environment values included, as CloudTrail records them).
	Request map[string]any
	// Time defaults to now.
	Time time.Time
	// Account and Region the call was made in (localaws's by default).
	Account, Region string
}

// RegisterEventDetail renders the CloudTrail record EventBridge delivers
// as the event's detail for call.
func RegisterEventDetail(call RegisterCall) map[string]any {
	at := cmp.Or(call.Time, time.Now().UTC())
	ua := cmp.Or(call.UserAgent, "aws-cli/2.22.35 md/command#ecs.register-task-definition")
	account, region := cmp.Or(call.Account, localaws.Account), cmp.Or(call.Region, localaws.Region)
	req := call.Request
	if req == nil {
		req = map[string]any{"family": call.Family}
	}
	return map[string]any{
		"eventVersion":      "1.11",
		"userIdentity":      call.Identity,
		"eventTime":         at.Format(time.RFC3339),
		"eventSource":       cloudtrail.EventSource,
		"eventName":         cloudtrail.EventName,
		"awsRegion":         region,
		"sourceIPAddress":   "198.51.100.23",
		"userAgent":         ua,
		"requestParameters": req,
		"responseElements": map[string]any{
			"taskDefinition": map[string]any{
				"taskDefinitionArn": call.TaskDefinitionARN,
				"family":            call.Family,
				"revision":          call.Revision,
				"status":            "ACTIVE",
				// CloudTrail renders timestamps in a service format that
				// does not parse as RFC 3339; consumers must not need it.
				"registeredAt": at.Format("Jan 2, 2006, 3:04:05 PM"),
			},
		},
		"requestID":          "e2e-" + shortHash(call.EventID),
		"eventID":            call.EventID,
		"readOnly":           false,
		"eventType":          "AwsApiCall",
		"managementEvent":    true,
		"recipientAccountId": account,
		"eventCategory":      "Management",
		"tlsDetails":         map[string]any{"tlsVersion": "TLSv1.3", "cipherSuite": "TLS_AES_128_GCM_SHA256", "clientProvidedHostHeader": "ecs." + region + ".amazonaws.com"},
	}
}

// RegisterEvent is the event of call as CloudTrail delivers it to the
// default bus of the call's account (RegisterCall.Account).
func RegisterEvent(call RegisterCall) ebtypes.PutEventsRequestEntry {
	b, _ := json.Marshal(RegisterEventDetail(call)) // plain values: it cannot fail
	return ebtypes.PutEventsRequestEntry{Source: aws.String(cloudtrail.Source), DetailType: aws.String(cloudtrail.DetailType),
		Detail: aws.String(string(b)), Time: aws.Time(time.Now().UTC()), Resources: []string{}}
}

// PutRegisterEvent puts the CloudTrail event of call on the default bus
// (moto does not refuse the reserved aws.* sources that AWS refuses to
// custom callers) and fails on a failed entry.
func (s *Stack) PutRegisterEvent(ctx context.Context, call RegisterCall) error {
	out, err := s.Events.PutEvents(ctx, &eventbridge.PutEventsInput{Entries: []ebtypes.PutEventsRequestEntry{RegisterEvent(call)}})
	if err == nil && out.FailedEntryCount > 0 {
		err = fmt.Errorf("%s: %s", aws.ToString(out.Entries[0].ErrorCode), aws.ToString(out.Entries[0].ErrorMessage))
	}
	if err != nil {
		return fmt.Errorf("put events: %w", err)
	}
	return nil
}

func shortHash(s string) string {
	sum := sha256.Sum256([]byte(s))
	return fmt.Sprintf("%X", sum[:3])
}

// RequestParameters is what CloudTrail records of a RegisterTaskDefinition
// request for td: the family and the container definitions, environment
// values in plain text (the pipeline must never repeat them).
func RequestParameters(td *ecstypes.TaskDefinition) map[string]any {
	var containers []map[string]any
	for _, c := range td.ContainerDefinitions {
		env := []map[string]string{}
		for _, kv := range c.Environment {
			env = append(env, map[string]string{"name": aws.ToString(kv.Name), "value": aws.ToString(kv.Value)})
		}
		containers = append(containers, map[string]any{"name": aws.ToString(c.Name), "image": aws.ToString(c.Image), "environment": env})
	}
	return map[string]any{"family": aws.ToString(td.Family), "containerDefinitions": containers}
}
