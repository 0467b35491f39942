package history

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// MaxLine bounds one stored line (a record is a few KiB at most).
const MaxLine = 1 << 20

// Parse reads the JSON lines of one history object. name (the object's
// key or file) and the line number are in every error.
func Parse(r io.Reader, name string) ([]Record, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), MaxLine)
	var out []Record
	for n := 1; sc.Scan(); n++ {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		var rec Record
		if err := json.Unmarshal(line, &rec); err != nil {
			return nil, fmt.Errorf("%s:%d: %w", name, n, err)
		}
		switch {
		case rec.Schema != Schema:
			return nil, fmt.Errorf("%s:%d: schema %q, want %q", name, n, rec.Schema, Schema)
		case rec.ID == "" || rec.Decision == "" || rec.Time.IsZero() || rec.Account == "" || rec.Region == "":
			return nil, fmt.Errorf("%s:%d: a record needs id, time, decision, account and region", name, n)
		}
		out = append(out, rec)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return out, nil
}

// S3Reader is the part of the S3 API the history is read with.
type S3Reader interface {
	ListObjectsV2(ctx context.Context, in *s3.ListObjectsV2Input, optFns ...func(*s3.Options)) (*s3.ListObjectsV2Output, error)
	GetObject(ctx context.Context, in *s3.GetObjectInput, optFns ...func(*s3.Options)) (*s3.GetObjectOutput, error)
}

// Period is the UTC days [From, To] records are read for; zero ends are
// open.
type Period struct{ From, To time.Time }

// containsKey reports whether the day of key's date= partition is in p.
func (p Period) containsKey(key string) bool {
	_, rest, ok := strings.Cut(key, "/date=")
	if !ok {
		return false
	}
	day, _, _ := strings.Cut(rest, "/")
	d, err := time.Parse(time.DateOnly, day)
	if err != nil {
		return false
	}
	return p.containsDay(d)
}

func (p Period) containsDay(d time.Time) bool {
	d = d.UTC().Truncate(24 * time.Hour)
	return (p.From.IsZero() || !d.Before(p.From.UTC().Truncate(24*time.Hour))) &&
		(p.To.IsZero() || !d.After(p.To.UTC().Truncate(24*time.Hour)))
}

// readers bounds the objects read at once.
const readers = 8

// ReadS3 reads every record of loc in p, sorted by time.
func ReadS3(ctx context.Context, c S3Reader, loc Location, p Period) ([]Record, error) {
	var keys []string
	pages := s3.NewListObjectsV2Paginator(c, &s3.ListObjectsV2Input{Bucket: aws.String(loc.Bucket), Prefix: aws.String(loc.Root())})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("history: list s3://%s/%s: %w", loc.Bucket, loc.Root(), err)
		}
		for _, o := range page.Contents {
			if k := aws.ToString(o.Key); strings.HasSuffix(k, ".jsonl") && p.containsKey(k) {
				keys = append(keys, k)
			}
		}
	}
	results := make([][]Record, len(keys))
	errs := make([]error, len(keys))
	var wg sync.WaitGroup
	next := make(chan int)
	for range min(readers, len(keys)) {
		wg.Go(func() {
			for i := range next {
				results[i], errs[i] = readObject(ctx, c, loc.Bucket, keys[i])
			}
		})
	}
	for i := range keys {
		next <- i
	}
	close(next)
	wg.Wait()
	var out []Record
	for i := range keys {
		if errs[i] != nil {
			return nil, errs[i]
		}
		out = append(out, results[i]...)
	}
	return Sorted(out), nil
}

func readObject(ctx context.Context, c S3Reader, bucket, key string) ([]Record, error) {
	obj, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		return nil, fmt.Errorf("history: get s3://%s/%s: %w", bucket, key, err)
	}
	defer obj.Body.Close()
	return Parse(obj.Body, "s3://"+bucket+"/"+key)
}

// ReadDir reads every *.jsonl file under dir (a copy of the bucket, e.g.
// from `aws s3 sync`) whose date= partition is in p, sorted by time.
func ReadDir(dir string, p Period) ([]Record, error) {
	var out []Record
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".jsonl") || !p.containsKey(filepath.ToSlash(path)) {
			return err
		}
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		defer f.Close()
		recs, err := Parse(f, path)
		out = append(out, recs...)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("history: %w", err)
	}
	return Sorted(out), nil
}

// Sorted sorts records by time, then ID (stable across runs), and drops
// repeated IDs (a retried write on another day).
func Sorted(recs []Record) []Record {
	slices.SortStableFunc(recs, func(a, b Record) int {
		return cmp.Or(a.Time.Compare(b.Time), cmp.Compare(a.ID, b.ID))
	})
	seen := map[string]bool{}
	return slices.DeleteFunc(recs, func(r Record) bool {
		dup := seen[r.ID]
		seen[r.ID] = true
		return dup
	})
}

// Scanner is the part of the DynamoDB API the state is read with.
type Scanner interface {
	Scan(ctx context.Context, in *dynamodb.ScanInput, optFns ...func(*dynamodb.Options)) (*dynamodb.ScanOutput, error)
}

// States reads every family's item, sorted by scope and family.
func States(ctx context.Context, c Scanner, table string) ([]Item, error) {
	var out []Item
	pages := dynamodb.NewScanPaginator(c, &dynamodb.ScanInput{TableName: aws.String(table)})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("history: scan %s: %w", table, err)
		}
		for _, av := range page.Items {
			var it Item
			if err := attributevalue.UnmarshalMapWithOptions(av, &it, func(o *attributevalue.DecoderOptions) { o.TagKey = "json" }); err != nil {
				return nil, fmt.Errorf("history: %s: %w", table, err)
			}
			out = append(out, it)
		}
	}
	slices.SortFunc(out, func(a, b Item) int {
		return cmp.Or(cmp.Compare(a.Account, b.Account), cmp.Compare(a.Region, b.Region), cmp.Compare(a.Family, b.Family))
	})
	return out, nil
}
