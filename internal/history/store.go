package history

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// Table key attributes: the partition key is "ACCOUNT/REGION", the sort
// key the family.
const (
	KeyScope  = "scope"
	KeyFamily = "family"
)

// S3 is the part of the S3 API the store writes with.
type S3 interface {
	PutObject(ctx context.Context, in *s3.PutObjectInput, optFns ...func(*s3.Options)) (*s3.PutObjectOutput, error)
}

// DynamoDB is the part of the DynamoDB API the store keeps the state with.
type DynamoDB interface {
	GetItem(ctx context.Context, in *dynamodb.GetItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
	PutItem(ctx context.Context, in *dynamodb.PutItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
}

// Publisher receives the changes of family state (Security Hub findings).
type Publisher interface {
	Publish(ctx context.Context, changes []Change) error
}

// Store is the history's one writer: the S3 lines, the DynamoDB state and,
// through Publisher, the findings. The S3 bucket's default Object Lock
// retention (when configured) protects every line; the store never deletes.
type Store struct {
	S3     S3
	Bucket string
	Prefix string // may be empty
	// DynamoDB and Table keep the state per family; without them only the
	// lines are written.
	DynamoDB DynamoDB
	Table    string
	// Findings, when set, receives the changes the records made.
	Findings Publisher
}

// Location is where a history lives: s3://BUCKET/PREFIX.
type Location struct{ Bucket, Prefix string }

// ParseLocation reads an s3://BUCKET[/PREFIX] URI.
func ParseLocation(uri string) (Location, error) {
	rest, ok := strings.CutPrefix(uri, "s3://")
	if !ok {
		return Location{}, fmt.Errorf("history %q: not an s3://BUCKET/PREFIX location", uri)
	}
	bucket, prefix, _ := strings.Cut(rest, "/")
	if !validBucket(bucket) {
		return Location{}, fmt.Errorf("history %q: %q is not an S3 bucket name", uri, bucket)
	}
	return Location{Bucket: bucket, Prefix: strings.Trim(prefix, "/")}, nil
}

func validBucket(b string) bool {
	if len(b) < 3 || len(b) > 63 || strings.Contains(b, "..") {
		return false
	}
	for i := 0; i < len(b); i++ {
		c := b[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '.') {
			return false
		}
	}
	return b[0] != '-' && b[0] != '.' && b[len(b)-1] != '-' && b[len(b)-1] != '.'
}

// Root is the key prefix of the records of this schema version.
func (l Location) Root() string { return path.Join(l.Prefix, "v1") + "/" }

// Partition is the key prefix of one account, region and UTC day.
func (l Location) Partition(account, region string, t time.Time) string {
	return fmt.Sprintf("%saccount=%s/region=%s/date=%s/", l.Root(), account, region, t.UTC().Format(time.DateOnly))
}

// Record writes recs: one S3 object of JSON lines per partition, then the
// state of each family, each change passed to Findings first. A retry of
// the same records writes the same keys and changes nothing more.
func (s *Store) Record(ctx context.Context, recs ...Record) error {
	loc := Location{Bucket: s.Bucket, Prefix: s.Prefix}
	type group struct {
		key  string
		recs []Record
	}
	var groups []*group
	for _, r := range recs {
		if r.Schema != Schema || r.ID == "" || r.Account == "" || r.Region == "" {
			return fmt.Errorf("history: record %q is not finished (schema, ID, account and region)", r.ID)
		}
		key := loc.Partition(r.Account, r.Region, r.Time)
		i := slices.IndexFunc(groups, func(g *group) bool { return g.key == key })
		if i < 0 {
			groups = append(groups, &group{key: key})
			i = len(groups) - 1
		}
		groups[i].recs = append(groups[i].recs, r)
	}
	for _, g := range groups {
		var body bytes.Buffer
		ids := make([]string, 0, len(g.recs))
		for _, r := range g.recs {
			line, err := json.Marshal(r)
			if err != nil {
				return fmt.Errorf("history: %w", err)
			}
			body.Write(line)
			body.WriteByte('\n')
			ids = append(ids, r.ID)
		}
		name := ids[0]
		if len(ids) > 1 {
			sum := sha256.Sum256([]byte(strings.Join(ids, ",")))
			name = hex.EncodeToString(sum[:10])
		}
		key := g.key + name + ".jsonl"
		if _, err := s.S3.PutObject(ctx, &s3.PutObjectInput{
			Bucket: aws.String(s.Bucket), Key: aws.String(key), Body: bytes.NewReader(body.Bytes()),
			ContentType: aws.String("application/x-ndjson"),
			// S3 accepts an object into a bucket with a default Object
			// Lock retention only with an integrity checksum (PutObject:
			// "Content-MD5 or x-amz-sdk-checksum-algorithm header required").
			ChecksumAlgorithm: s3types.ChecksumAlgorithmSha256,
		}); err != nil {
			return fmt.Errorf("history: put s3://%s/%s: %w", s.Bucket, key, err)
		}
	}
	if s.DynamoDB == nil || s.Table == "" {
		return nil
	}
	for _, r := range recs {
		if err := s.apply(ctx, r); err != nil {
			return err
		}
	}
	return nil
}

// jsonTags makes the item's attribute names the JSON names of Item.
func jsonTags(o *attributevalue.EncoderOptions) { o.TagKey = "json" }

// maxStateAttempts bounds the optimistic writes of one family's item when
// others write it at the same time.
const maxStateAttempts = 5

// apply moves one family's item to Next(item, r) with an optimistic
// conditional write: the item must still be the one read. A change is
// published before the item is written, so that a failed publish is
// retried with the whole record (the item still says "before").
func (s *Store) apply(ctx context.Context, r Record) error {
	if _, ok := StateOf(r.Decision); !ok || r.Family == "" {
		return nil
	}
	for range maxStateAttempts {
		before, err := s.get(ctx, r.Account, r.Region, r.Family)
		if err != nil {
			return err
		}
		after, changed := Next(before, r)
		if before != nil && after.RecordID == before.RecordID {
			return nil // this record written before, or a newer one stored
		}
		if changed && s.Findings != nil {
			if err := s.Findings.Publish(ctx, []Change{{Record: r, Before: before, After: after}}); err != nil {
				return err
			}
		}
		item, err := attributevalue.MarshalMapWithOptions(after, jsonTags)
		if err != nil {
			return fmt.Errorf("history: %w", err)
		}
		item[KeyScope] = &ddbtypes.AttributeValueMemberS{Value: r.Account + "/" + r.Region}
		in := &dynamodb.PutItemInput{TableName: aws.String(s.Table), Item: item}
		if before == nil {
			in.ConditionExpression = aws.String("attribute_not_exists(#scope)")
			in.ExpressionAttributeNames = map[string]string{"#scope": KeyScope}
		} else {
			in.ConditionExpression = aws.String("#rid = :rid")
			in.ExpressionAttributeNames = map[string]string{"#rid": "recordId"}
			in.ExpressionAttributeValues = map[string]ddbtypes.AttributeValue{":rid": &ddbtypes.AttributeValueMemberS{Value: before.RecordID}}
		}
		_, err = s.DynamoDB.PutItem(ctx, in)
		var cond *ddbtypes.ConditionalCheckFailedException
		switch {
		case errors.As(err, &cond):
			continue // written meanwhile: read again
		case err != nil:
			return fmt.Errorf("history: put state of %s/%s/%s: %w", r.Account, r.Region, r.Family, err)
		}
		return nil
	}
	return fmt.Errorf("history: state of %s/%s/%s: still written by others after %d attempts", r.Account, r.Region, r.Family, maxStateAttempts)
}

func (s *Store) get(ctx context.Context, account, region, family string) (*Item, error) {
	out, err := s.DynamoDB.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: aws.String(s.Table), ConsistentRead: aws.Bool(true),
		Key: map[string]ddbtypes.AttributeValue{
			KeyScope:  &ddbtypes.AttributeValueMemberS{Value: account + "/" + region},
			KeyFamily: &ddbtypes.AttributeValueMemberS{Value: family},
		},
	})
	if err != nil {
		return nil, fmt.Errorf("history: get state of %s/%s/%s: %w", account, region, family, err)
	}
	if len(out.Item) == 0 {
		return nil, nil
	}
	var it Item
	if err := attributevalue.UnmarshalMapWithOptions(out.Item, &it, func(o *attributevalue.DecoderOptions) { o.TagKey = "json" }); err != nil {
		return nil, fmt.Errorf("history: state of %s/%s/%s: %w", account, region, family, err)
	}
	return &it, nil
}
