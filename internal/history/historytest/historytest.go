// Package historytest creates a history's bucket and table the way the
// stack does (versioning, Object Lock in compliance mode, the table's
// keys), for tests against moto.
package historytest

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/ecslogfix/ecslogfix/internal/history"
)

// Create makes bucket with Object Lock enabled (a default retention of
// lockDays in compliance mode when lockDays > 0) and table with the
// history's keys, paying per request.
func Create(ctx context.Context, c *s3.Client, d *dynamodb.Client, bucket, table string, lockDays int32) error {
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket), ObjectLockEnabledForBucket: aws.Bool(true)}); err != nil {
		return fmt.Errorf("create bucket %s: %w", bucket, err)
	}
	if lockDays > 0 {
		if _, err := c.PutObjectLockConfiguration(ctx, &s3.PutObjectLockConfigurationInput{Bucket: aws.String(bucket),
			ObjectLockConfiguration: &s3types.ObjectLockConfiguration{
				ObjectLockEnabled: s3types.ObjectLockEnabledEnabled,
				Rule:              &s3types.ObjectLockRule{DefaultRetention: &s3types.DefaultRetention{Mode: s3types.ObjectLockRetentionModeCompliance, Days: aws.Int32(lockDays)}},
			}}); err != nil {
			return fmt.Errorf("object lock on %s: %w", bucket, err)
		}
	}
	if table == "" {
		return nil
	}
	_, err := d.CreateTable(ctx, &dynamodb.CreateTableInput{
		TableName:   aws.String(table),
		BillingMode: ddbtypes.BillingModePayPerRequest,
		AttributeDefinitions: []ddbtypes.AttributeDefinition{
			{AttributeName: aws.String(history.KeyScope), AttributeType: ddbtypes.ScalarAttributeTypeS},
			{AttributeName: aws.String(history.KeyFamily), AttributeType: ddbtypes.ScalarAttributeTypeS},
		},
		KeySchema: []ddbtypes.KeySchemaElement{
			{AttributeName: aws.String(history.KeyScope), KeyType: ddbtypes.KeyTypeHash},
			{AttributeName: aws.String(history.KeyFamily), KeyType: ddbtypes.KeyTypeRange},
		},
	})
	if err != nil {
		return fmt.Errorf("create table %s: %w", table, err)
	}
	return nil
}
