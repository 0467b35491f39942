// Package loggroup ensures that the CloudWatch Logs groups a task
// definition writes to exist, with the policy's retention, KMS key, class
// and tags, and describes existing ones. A group that exists already is
// left as it is — the owner's retention, key and class are never
// overwritten — with one exception: a never-expiring group tagged
// ecslogfix:managed=true is ecslogfix's own, made by an earlier attempt
// whose retention step failed, and gets its retention.
package loggroup

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	logtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"

	"github.com/ecslogfix/ecslogfix/internal/plan"
	"github.com/ecslogfix/ecslogfix/internal/policy"
	"github.com/ecslogfix/ecslogfix/internal/taskdef"
	"github.com/ecslogfix/ecslogfix/internal/workflow"
)

// Logs is the part of the CloudWatch Logs API this package uses.
type Logs interface {
	CreateLogGroup(ctx context.Context, in *cloudwatchlogs.CreateLogGroupInput, optFns ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.CreateLogGroupOutput, error)
	PutRetentionPolicy(ctx context.Context, in *cloudwatchlogs.PutRetentionPolicyInput, optFns ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.PutRetentionPolicyOutput, error)
	DescribeLogGroups(ctx context.Context, in *cloudwatchlogs.DescribeLogGroupsInput, optFns ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.DescribeLogGroupsOutput, error)
	ListTagsForResource(ctx context.Context, in *cloudwatchlogs.ListTagsForResourceInput, optFns ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.ListTagsForResourceOutput, error)
}

// Ensure makes g exist in region and reports what it found or did. Errors
// are classified for the workflow (workflow.Classify); an invalid name is
// an InvalidInputError.
func Ensure(ctx context.Context, logs Logs, log *slog.Logger, g plan.LogGroup, region string) (workflow.LogGroupResult, error) {
	if !policy.ValidLogGroupName(g.Name) {
		return workflow.LogGroupResult{}, &workflow.InvalidInputError{Err: fmt.Errorf("log group name %q is not valid", g.Name)}
	}
	log = log.With("region", region, "logGroup", g.Name)
	tags := maps.Clone(g.Tags)
	if tags == nil {
		tags = map[string]string{}
	}
	tags[taskdef.TagManaged] = "true"
	create := &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String(g.Name), Tags: tags}
	if g.KMSKeyARN != "" {
		create.KmsKeyId = aws.String(g.KMSKeyARN)
	}
	if g.Class != "" {
		create.LogGroupClass = logtypes.LogGroupClass(g.Class)
	}
	_, err := logs.CreateLogGroup(ctx, create)
	var exists *logtypes.ResourceAlreadyExistsException
	switch {
	case errors.As(err, &exists):
		res, arn, err := Describe(ctx, logs, g.Name, region)
		if err != nil {
			return workflow.LogGroupResult{}, err
		}
		if g.RetentionDays > 0 && res.RetentionDays == 0 && arn != "" {
			// Never-expiring: the owner's choice, or our own group whose
			// retention step failed on an earlier attempt (the workflow
			// retried). Only our tag tells them apart.
			ours, err := managed(ctx, logs, arn)
			if err != nil {
				return workflow.LogGroupResult{}, err
			}
			if ours {
				if err := putRetention(ctx, logs, g, region); err != nil {
					return workflow.LogGroupResult{}, err
				}
				res.Created, res.RetentionDays = true, g.RetentionDays
				log.Info("log group created", "retentionDays", res.RetentionDays, "class", res.Class, "kms", res.KMSKeyARN != "", "resumed", true)
				return res, nil
			}
		}
		log.Info("log group exists", "retentionDays", res.RetentionDays, "class", res.Class, "kms", res.KMSKeyARN != "")
		return res, nil
	case err != nil:
		return workflow.LogGroupResult{}, workflow.Classify(fmt.Errorf("create log group %s in %s: %w", g.Name, region, err))
	}
	res := workflow.LogGroupResult{Name: g.Name, Region: region, Created: true, KMSKeyARN: g.KMSKeyARN, Class: g.Class}
	if res.Class == "" {
		res.Class = string(logtypes.LogGroupClassStandard)
	}
	if g.RetentionDays > 0 {
		if err := putRetention(ctx, logs, g, region); err != nil {
			return workflow.LogGroupResult{}, err
		}
		res.RetentionDays = g.RetentionDays
	}
	log.Info("log group created", "retentionDays", res.RetentionDays, "class", res.Class, "kms", res.KMSKeyARN != "")
	return res, nil
}

func putRetention(ctx context.Context, logs Logs, g plan.LogGroup, region string) error {
	if _, err := logs.PutRetentionPolicy(ctx, &cloudwatchlogs.PutRetentionPolicyInput{
		LogGroupName:    aws.String(g.Name),
		RetentionInDays: aws.Int32(g.RetentionDays),
	}); err != nil {
		return workflow.Classify(fmt.Errorf("put retention policy on %s in %s: %w", g.Name, region, err))
	}
	return nil
}

// managed reports whether the group carries ecslogfix:managed=true.
func managed(ctx context.Context, logs Logs, arn string) (bool, error) {
	out, err := logs.ListTagsForResource(ctx, &cloudwatchlogs.ListTagsForResourceInput{ResourceArn: aws.String(arn)})
	if err != nil {
		return false, workflow.Classify(fmt.Errorf("list tags of %s: %w", arn, err))
	}
	return out.Tags[taskdef.TagManaged] == "true", nil
}

// Describe reports an existing group's settings, and its ARN (without the
// ":*" suffix) for tagging calls. DescribeLogGroups matches by prefix, so
// only the exact name counts; a group that does not exist gives the zero
// ARN.
func Describe(ctx context.Context, logs Logs, name, region string) (workflow.LogGroupResult, string, error) {
	var token *string
	for {
		out, err := logs.DescribeLogGroups(ctx, &cloudwatchlogs.DescribeLogGroupsInput{LogGroupNamePrefix: aws.String(name), NextToken: token})
		if err != nil {
			return workflow.LogGroupResult{}, "", workflow.Classify(fmt.Errorf("describe log group %s in %s: %w", name, region, err))
		}
		for _, lg := range out.LogGroups {
			if aws.ToString(lg.LogGroupName) != name {
				continue
			}
			arn := aws.ToString(lg.LogGroupArn)
			if arn == "" {
				arn = strings.TrimSuffix(aws.ToString(lg.Arn), ":*")
			}
			return workflow.LogGroupResult{
				Name:                      name,
				Region:                    region,
				RetentionDays:             aws.ToInt32(lg.RetentionInDays),
				KMSKeyARN:                 aws.ToString(lg.KmsKeyId),
				Class:                     string(lg.LogGroupClass),
				DeletionProtectionEnabled: aws.ToBool(lg.DeletionProtectionEnabled),
			}, arn, nil
		}
		if out.NextToken == nil || aws.ToString(out.NextToken) == aws.ToString(token) {
			break
		}
		token = out.NextToken
	}
	// Deleted between the create and the describe: report what we know.
	return workflow.LogGroupResult{Name: name, Region: region}, "", nil
}
