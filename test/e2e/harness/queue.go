package harness

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/ecslogfix/ecslogfix/test/localaws"
)

// Drain receives and deletes every message now in the queue and returns
// their bodies in the order received. It does not wait for new messages:
// moto delivers SNS and EventBridge messages to SQS before the publishing
// call returns.
func Drain(ctx context.Context, client *sqs.Client, queueURL string) ([]string, error) {
	var bodies []string
	for {
		out, err := client.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
			QueueUrl:            aws.String(queueURL),
			MaxNumberOfMessages: 10,
		})
		if err != nil {
			return bodies, fmt.Errorf("receive from %s: %w", queueURL, err)
		}
		if len(out.Messages) == 0 {
			return bodies, nil
		}
		for _, m := range out.Messages {
			bodies = append(bodies, aws.ToString(m.Body))
			if _, err := client.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(queueURL), ReceiptHandle: m.ReceiptHandle}); err != nil {
				return bodies, fmt.Errorf("delete from %s: %w", queueURL, err)
			}
		}
	}
}

// SNSEnvelope is the standard SNS notification an SQS subscriber (without
// raw delivery) receives.
type SNSEnvelope struct {
	Type              string                                  `json:"Type"`
	MessageID         string                                  `json:"MessageId"`
	TopicArn          string                                  `json:"TopicArn"`
	Subject           string                                  `json:"Subject"`
	Message           string                                  `json:"Message"`
	MessageAttributes map[string]struct{ Type, Value string } `json:"MessageAttributes"`
}

// ParseSNSEnvelope decodes an SQS body delivered by an SNS subscription.
func ParseSNSEnvelope(body string) (SNSEnvelope, error) {
	var e SNSEnvelope
	if err := json.Unmarshal([]byte(body), &e); err != nil {
		return e, fmt.Errorf("not an SNS envelope: %w: %.200s", err, body)
	}
	if e.Type != "Notification" {
		return e, fmt.Errorf("SNS envelope of type %q: %.200s", e.Type, body)
	}
	return e, nil
}

// Subscribe creates a queue, subscribes it to topicARN with protocol sqs
// and returns the queue URL. moto does not check the queue policy.
func Subscribe(ctx context.Context, snsClient *sns.Client, sqsClient *sqs.Client, topicARN, queueName string) (string, error) {
	q, err := sqsClient.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(queueName)})
	if err != nil {
		return "", fmt.Errorf("create queue %s: %w", queueName, err)
	}
	arn := QueueARN(queueName)
	if _, err := snsClient.Subscribe(ctx, &sns.SubscribeInput{
		TopicArn: aws.String(topicARN), Protocol: aws.String("sqs"), Endpoint: aws.String(arn),
	}); err != nil {
		return "", fmt.Errorf("subscribe %s to %s: %w", arn, topicARN, err)
	}
	return aws.ToString(q.QueueUrl), nil
}

// QueueARN is the ARN of a queue in the harness's account and region.
func QueueARN(name string) string {
	return fmt.Sprintf(resourceTypes["AWS::SQS::Queue"].arn, localaws.Partition, localaws.Region, localaws.Account, name)
}
