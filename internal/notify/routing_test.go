package notify

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/ecslogfix/ecslogfix/internal/message"
	"github.com/ecslogfix/ecslogfix/internal/workflow"
	"github.com/ecslogfix/ecslogfix/test/localaws"
)

// The two example rules of docs/notifications.md ("The neutral event"),
// and its example filter policy ("Routing by attributes"), verbatim.
const (
	ruleOnCall  = `{"source":["ecslogfix"],"detail-type":["ecslogfix BLOCKED","ecslogfix NEEDS_HUMAN","ecslogfix FAILED"]}`
	ruleOrders  = `{"source":["ecslogfix"],"detail":{"account":["111122223333"],"family":[{"prefix":"orders-"}]}}`
	filterTeam  = `{"account":["111122223333"],"family":[{"prefix":"orders-"}],"outcome":["REMEDIATED","BLOCKED","NEEDS_HUMAN","FAILED"]}`
	filterOther = `{"family":[{"prefix":"billing-"}]}`
)

type queue struct{ url, arn string }

func newQueue(t *testing.T, ctx context.Context, c *sqs.Client, name string) queue {
	t.Helper()
	q, err := c.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(name)})
	if err != nil {
		t.Fatal(err)
	}
	a, err := c.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: q.QueueUrl, AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameQueueArn}})
	if err != nil {
		t.Fatal(err)
	}
	return queue{aws.ToString(q.QueueUrl), a.Attributes["QueueArn"]}
}

// drain receives every message in q: SQS in moto delivers synchronously.
func drain(t *testing.T, ctx context.Context, c *sqs.Client, q queue) []string {
	t.Helper()
	var out []string
	for {
		r, err := c.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(q.url), MaxNumberOfMessages: 10})
		if err != nil {
			t.Fatal(err)
		}
		if len(r.Messages) == 0 {
			return out
		}
		for _, m := range r.Messages {
			out = append(out, aws.ToString(m.Body))
			if _, err := c.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(q.url), ReceiptHandle: m.ReceiptHandle}); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// In moto: every published notification is also an event on the bus
// (source ecslogfix, detail-type "ecslogfix OUTCOME", detail the versioned
// document); the documented rules route it to SQS by outcome and by
// account and family prefix; the documented filter policy routes the SNS
// messages of one team's families, and moto enforces it.
func TestNeutralEventAndFilterPoliciesRouteInMoto(t *testing.T) {
	cfg := localaws.Start(t, localaws.Options{}).Config()
	ctx := context.Background()
	snsc, sqsc, ebc := sns.NewFromConfig(cfg), sqs.NewFromConfig(cfg), eventbridge.NewFromConfig(cfg)
	topic, err := snsc.CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String("ecslogfix-notifications")})
	if err != nil {
		t.Fatal(err)
	}
	queues := map[string]queue{}
	for name, pattern := range map[string]string{"on-call": ruleOnCall, "orders": ruleOrders} {
		q := newQueue(t, ctx, sqsc, "rule-"+name)
		queues["rule-"+name] = q
		if _, err := ebc.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String(name), EventPattern: aws.String(pattern)}); err != nil {
			t.Fatal(err)
		}
		if _, err := ebc.PutTargets(ctx, &eventbridge.PutTargetsInput{Rule: aws.String(name), Targets: []ebtypes.Target{{Id: aws.String("q"), Arn: aws.String(q.arn)}}}); err != nil {
			t.Fatal(err)
		}
	}
	for name, policy := range map[string]string{"team-orders": filterTeam, "team-billing": filterOther} {
		q := newQueue(t, ctx, sqsc, name)
		queues[name] = q
		if _, err := snsc.Subscribe(ctx, &sns.SubscribeInput{TopicArn: topic.TopicArn, Protocol: aws.String("sqs"), Endpoint: aws.String(q.arn),
			Attributes: map[string]string{"FilterPolicy": policy, "RawMessageDelivery": "true"}}); err != nil {
			t.Fatal(err)
		}
	}
	h, err := NewHandler(Config{TopicARN: aws.ToString(topic.TopicArn), EventBus: "default"}, Deps{SNS: snsc, Events: ebc})
	if err != nil {
		t.Fatal(err)
	}
	req := loadRequest(t, "remediated") // orders-api in 111122223333: REMEDIATED
	if sum, err := h.Handle(ctx, req); err != nil || sum.Event != "sent" {
		t.Fatalf("%+v %v", sum, err)
	}
	blocked := loadRequest(t, "remediated")
	res := *blocked.Result
	res.Outcome, res.Family, res.NewARN, res.Detail = workflow.OutcomeBlocked, "billing-api", "", "The splunk driver may not be replaced."
	blocked.Result = &res
	if sum, err := h.Handle(ctx, blocked); err != nil || sum.Event != "sent" {
		t.Fatalf("%+v %v", sum, err)
	}

	got := map[string][]string{}
	for name, q := range queues {
		got[name] = drain(t, ctx, sqsc, q)
	}
	// The rules: on-call gets the BLOCKED one only, orders the orders-api one.
	for name, want := range map[string]workflow.Outcome{"rule-on-call": workflow.OutcomeBlocked, "rule-orders": workflow.OutcomeRemediated} {
		if len(got[name]) != 1 {
			t.Fatalf("%s received %d events, want 1", name, len(got[name]))
		}
		var ev struct {
			Source     string           `json:"source"`
			DetailType string           `json:"detail-type"`
			Detail     message.Document `json:"detail"`
		}
		if err := json.Unmarshal([]byte(got[name][0]), &ev); err != nil {
			t.Fatal(err)
		}
		if ev.Source != EventSource || ev.DetailType != EventDetailTypePrefix+string(want) || ev.Detail.Schema != message.Schema || ev.Detail.Outcome != want {
			t.Errorf("%s: %s %s %s %s", name, ev.Source, ev.DetailType, ev.Detail.Schema, ev.Detail.Outcome)
		}
	}
	// The filter policies: each team gets its own family's message.
	for name, family := range map[string]string{"team-orders": "orders-api", "team-billing": "billing-api"} {
		if len(got[name]) != 1 {
			t.Fatalf("%s received %d messages, want 1", name, len(got[name]))
		}
		var doc message.Document
		if err := json.Unmarshal([]byte(got[name][0]), &doc); err != nil || doc.Family != family {
			t.Errorf("%s received %s (%v)", name, got[name][0], err)
		}
	}
}
