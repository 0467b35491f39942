// Package loggroup reads and changes the CloudWatch Logs groups task
// definitions write to. Find reads one group (exact name); an Observer
// reads, once per distinct group of a run, the live facts the rules and
// the decision need (awslogs.Facts), and the account's log driver mode;
// Apply carries out what the plan says of one group: create it with the
// policy's retention, KMS key, class, tags and deletion protection, or set
// the retention the policy's lifecycle asks of an existing one. Nothing
// else of an existing group is ever changed.
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
	"github.com/ecslogfix/ecslogfix/internal/policy/awslogs"
	"github.com/ecslogfix/ecslogfix/internal/taskdef"
	"github.com/ecslogfix/ecslogfix/internal/workflow"
)

// Reader is the part of the CloudWatch Logs API an observer needs.
type Reader interface {
	DescribeLogGroups(ctx context.Context, in *cloudwatchlogs.DescribeLogGroupsInput, optFns ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.DescribeLogGroupsOutput, error)
}

// Logs is the part of the CloudWatch Logs API Apply uses.
type Logs interface {
	Reader
	CreateLogGroup(ctx context.Context, in *cloudwatchlogs.CreateLogGroupInput, optFns ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.CreateLogGroupOutput, error)
	PutRetentionPolicy(ctx context.Context, in *cloudwatchlogs.PutRetentionPolicyInput, optFns ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.PutRetentionPolicyOutput, error)
	ListTagsForResource(ctx context.Context, in *cloudwatchlogs.ListTagsForResourceInput, optFns ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.ListTagsForResourceOutput, error)
}

// Found is one group as DescribeLogGroups reported it.
type Found struct {
	// Result is the group's settings as a LogGroupResult (Created false).
	Result workflow.LogGroupResult
	// ARN is the group's ARN without the ":*" suffix, for tagging calls;
	// empty when it does not exist.
	ARN    string
	Exists bool
}

// Fact is what the rules and the plan need of it.
func (f Found) Fact() awslogs.GroupFact {
	if !f.Exists {
		return awslogs.GroupFact{}
	}
	r := f.Result
	return awslogs.GroupFact{Exists: true, RetentionDays: r.RetentionDays, KMSKeyARN: r.KMSKeyARN, Class: r.Class, DeletionProtection: r.DeletionProtectionEnabled, ARN: f.ARN}
}

// Find reads one group. DescribeLogGroups matches by prefix, so only the
// exact name counts; one call unless more than a page of groups share the
// prefix.
func Find(ctx context.Context, logs Reader, name, region string) (Found, error) {
	var token *string
	for {
		out, err := logs.DescribeLogGroups(ctx, &cloudwatchlogs.DescribeLogGroupsInput{LogGroupNamePrefix: aws.String(name), NextToken: token})
		if err != nil {
			return Found{}, workflow.Classify(fmt.Errorf("describe log group %s in %s: %w", name, region, err))
		}
		for _, lg := range out.LogGroups {
			if aws.ToString(lg.LogGroupName) != name {
				continue
			}
			arn := aws.ToString(lg.LogGroupArn)
			if arn == "" {
				arn = strings.TrimSuffix(aws.ToString(lg.Arn), ":*")
			}
			return Found{Exists: true, ARN: arn, Result: workflow.LogGroupResult{
				Name:                      name,
				Region:                    region,
				RetentionDays:             aws.ToInt32(lg.RetentionInDays),
				KMSKeyARN:                 aws.ToString(lg.KmsKeyId),
				Class:                     string(lg.LogGroupClass),
				DeletionProtectionEnabled: aws.ToBool(lg.DeletionProtectionEnabled),
			}}, nil
		}
		if out.NextToken == nil || aws.ToString(out.NextToken) == aws.ToString(token) {
			break
		}
		token = out.NextToken
	}
	return Found{Result: workflow.LogGroupResult{Name: name, Region: region}}, nil
}

// Apply carries out what the plan says of one group (plan.LogGroup Create
// and SetRetention) and reports the group as it then is. Errors are
// classified for the workflow (workflow.Classify); an invalid name is an
// InvalidInputError. A group created meanwhile by someone else counts as
// existing; one tagged ecslogfix:managed=true that never expires is
// ecslogfix's own from an attempt whose retention step failed, and gets
// its retention.
func Apply(ctx context.Context, logs Logs, log *slog.Logger, g plan.LogGroup) (workflow.LogGroupResult, error) {
	if !awslogs.ValidLogGroupName(g.Name) {
		return workflow.LogGroupResult{}, &workflow.InvalidInputError{Err: fmt.Errorf("log group name %q is not valid", g.Name)}
	}
	log = log.With("region", g.Region, "logGroup", g.Name)
	existing := workflow.LogGroupResult{Name: g.Name, Region: g.Region}
	if o := g.Observed; o != nil {
		existing.RetentionDays, existing.KMSKeyARN, existing.Class, existing.DeletionProtectionEnabled = o.RetentionDays, o.KMSKeyARN, o.Class, o.DeletionProtection
	}
	switch o := g.Observed; {
	case g.Create:
		res, created, err := create(ctx, logs, log, g)
		if err != nil || created {
			return res, err
		}
		existing = res // created meanwhile: as it is
	case o != nil && o.Exists && o.RetentionDays == 0 && g.RetentionDays > 0 && o.ARN != "" && !g.OutsidePatterns:
		if res, ours, err := resume(ctx, logs, log, g, o.ARN, existing); err != nil || ours {
			return res, err
		}
	}
	if g.SetRetention > 0 && existing.RetentionDays != g.SetRetention {
		if err := putRetention(ctx, logs, g.Name, g.Region, g.SetRetention); err != nil {
			return workflow.LogGroupResult{}, err
		}
		existing.PreviousRetentionDays, existing.RetentionSet = existing.RetentionDays, true
		existing.RetentionDays = g.SetRetention
		log.Info("log group retention set", "retentionDays", g.SetRetention, "previousRetentionDays", existing.PreviousRetentionDays)
		return existing, nil
	}
	log.Info("log group exists", "retentionDays", existing.RetentionDays)
	return existing, nil
}

// create makes g exist; created is false when it existed already, and
// then the result is what Find reports (retention resumed for our own).
func create(ctx context.Context, logs Logs, log *slog.Logger, g plan.LogGroup) (workflow.LogGroupResult, bool, error) {
	tags := maps.Clone(g.Tags)
	if tags == nil {
		tags = map[string]string{}
	}
	tags[taskdef.TagManaged] = "true"
	in := &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String(g.Name), Tags: tags}
	if g.KMSKeyARN != "" {
		in.KmsKeyId = aws.String(g.KMSKeyARN)
	}
	if g.Class != "" {
		in.LogGroupClass = logtypes.LogGroupClass(g.Class)
	}
	if g.DeletionProtection {
		in.DeletionProtectionEnabled = aws.Bool(true)
	}
	_, err := logs.CreateLogGroup(ctx, in)
	var exists *logtypes.ResourceAlreadyExistsException
	switch {
	case errors.As(err, &exists):
		f, err := Find(ctx, logs, g.Name, g.Region)
		if err != nil {
			return workflow.LogGroupResult{}, false, err
		}
		if g.RetentionDays > 0 && f.Result.RetentionDays == 0 && f.ARN != "" {
			return resume(ctx, logs, log, g, f.ARN, f.Result)
		}
		return f.Result, false, nil
	case err != nil:
		return workflow.LogGroupResult{}, false, workflow.Classify(fmt.Errorf("create log group %s in %s: %w", g.Name, g.Region, err))
	}
	res := workflow.LogGroupResult{Name: g.Name, Region: g.Region, Created: true, KMSKeyARN: g.KMSKeyARN, Class: g.Class, DeletionProtectionEnabled: g.DeletionProtection}
	if res.Class == "" {
		res.Class = string(logtypes.LogGroupClassStandard)
	}
	if g.RetentionDays > 0 {
		if err := putRetention(ctx, logs, g.Name, g.Region, g.RetentionDays); err != nil {
			return workflow.LogGroupResult{}, false, err
		}
		res.RetentionDays = g.RetentionDays
	}
	log.Info("log group created", "retentionDays", res.RetentionDays, "class", res.Class, "kms", res.KMSKeyARN != "", "deletionProtection", res.DeletionProtectionEnabled)
	return res, true, nil
}

// resume finishes a never-expiring group that is ecslogfix's own: made by
// an earlier attempt whose retention step failed (the workflow retried).
// Never-expiring is also the owner's choice for theirs; only our tag
// tells them apart. ours is false, and res unchanged, for theirs.
func resume(ctx context.Context, logs Logs, log *slog.Logger, g plan.LogGroup, arn string, res workflow.LogGroupResult) (workflow.LogGroupResult, bool, error) {
	ours, err := managed(ctx, logs, arn)
	if err != nil || !ours {
		return res, false, err
	}
	if err := putRetention(ctx, logs, g.Name, g.Region, g.RetentionDays); err != nil {
		return workflow.LogGroupResult{}, false, err
	}
	res.Created, res.RetentionDays = true, g.RetentionDays
	log.Info("log group created", "retentionDays", res.RetentionDays, "class", res.Class, "kms", res.KMSKeyARN != "", "resumed", true)
	return res, true, nil
}

func putRetention(ctx context.Context, logs Logs, name, region string, days int32) error {
	if _, err := logs.PutRetentionPolicy(ctx, &cloudwatchlogs.PutRetentionPolicyInput{
		LogGroupName:    aws.String(name),
		RetentionInDays: aws.Int32(days),
	}); err != nil {
		return workflow.Classify(fmt.Errorf("put retention policy on %s in %s: %w", name, region, err))
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
