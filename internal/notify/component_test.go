package notify

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/ecslogfix/ecslogfix/internal/message"
	"github.com/ecslogfix/ecslogfix/test/localaws"
)

// snsEnvelope is the standard (non-raw) SNS notification an SQS subscriber
// receives.
type snsEnvelope struct {
	Type              string
	MessageID         string `json:"MessageId"`
	TopicArn          string
	Subject           string
	Message           string
	MessageAttributes map[string]struct{ Type, Value string }
}

// TestComponentPublishToSQSThroughMoto publishes through a real SNS API
// (moto) to an SQS subscriber and checks what the subscriber gets: the
// structured document under the sqs key, and the filter attributes.
func TestComponentPublishToSQSThroughMoto(t *testing.T) {
	cfg := localaws.Start(t, localaws.Options{}).Config()
	ctx := context.Background()
	snsc, sqsc := sns.NewFromConfig(cfg), sqs.NewFromConfig(cfg)

	topic, err := snsc.CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String("ecslogfix-notifications")})
	if err != nil {
		t.Fatal(err)
	}
	queue, err := sqsc.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("subscriber")})
	if err != nil {
		t.Fatal(err)
	}
	qattr, err := sqsc.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{
		QueueUrl: queue.QueueUrl, AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameQueueArn},
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := snsc.Subscribe(ctx, &sns.SubscribeInput{
		TopicArn: topic.TopicArn, Protocol: aws.String("sqs"), Endpoint: aws.String(qattr.Attributes["QueueArn"]),
	}); err != nil {
		t.Fatal(err)
	}

	h, err := NewHandler(Config{TopicARN: aws.ToString(topic.TopicArn)}, Deps{SNS: snsc})
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"remediated", "failed"} {
		t.Run(name, func(t *testing.T) {
			req := loadRequest(t, name)
			sum, err := h.Handle(ctx, req)
			if err != nil {
				t.Fatal(err)
			}
			want, _ := message.Render(req)
			out, err := sqsc.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
				QueueUrl: queue.QueueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 5,
			})
			if err != nil {
				t.Fatal(err)
			}
			if len(out.Messages) != 1 {
				t.Fatalf("%d messages in the subscriber queue, want 1", len(out.Messages))
			}
			defer sqsc.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: queue.QueueUrl, ReceiptHandle: out.Messages[0].ReceiptHandle})
			var env snsEnvelope
			if err := json.Unmarshal([]byte(aws.ToString(out.Messages[0].Body)), &env); err != nil {
				t.Fatalf("SQS body is not an SNS envelope: %v", err)
			}
			if env.Type != "Notification" || env.MessageID != sum.MessageID || env.Subject != want.Subject {
				t.Errorf("envelope type %q id %q (summary %q) subject %q", env.Type, env.MessageID, sum.MessageID, env.Subject)
			}
			if env.Message != string(want.DocumentJSON()) {
				t.Errorf("envelope Message is not the structured document:\n%s", env.Message)
			}
			var doc message.Document
			if err := json.Unmarshal([]byte(env.Message), &doc); err != nil || doc.Schema != message.Schema || doc.Outcome != want.Outcome {
				t.Errorf("document schema %q outcome %q: %v", doc.Schema, doc.Outcome, err)
			}
			if name == "remediated" && len(doc.Backout) == 0 {
				t.Error("the remediated document has no backout steps")
			}
			for k, v := range want.Attributes {
				if a := env.MessageAttributes[k]; a.Type != "String" || a.Value != v {
					t.Errorf("attribute %s = %+v, want String %q", k, a, v)
				}
			}
		})
	}
}
