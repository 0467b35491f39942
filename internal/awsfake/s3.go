package awsfake

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
)

// S3 is an in-memory S3 of one or more buckets: objects, listing by prefix
// (ListObjectsV2, one key per page so paginators are exercised) and
// multipart uploads, which it holds to S3's 5 MiB minimum for every part
// but the last, and conditional writes (PutObject's If-None-Match "*" and
// If-Match, against the ETags it returns). It records every call.
type S3 struct {
	recorder
	Objects map[string][]byte // "bucket/key"
	uploads map[string]map[int32][]byte
	etags   map[string]string // "bucket/key" → the ETag of its last write
	writes  int
}

// MinPartSize is S3's minimum size of a multipart upload part but the last.
const MinPartSize = 5 << 20

// NewS3 returns an empty S3.
func NewS3() *S3 {
	return &S3{recorder: recorder{Errs: map[string][]error{}}, Objects: map[string][]byte{}, uploads: map[string]map[int32][]byte{}, etags: map[string]string{}}
}

// Object returns an object's content.
func (f *S3) Object(bucket, key string) ([]byte, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	b, ok := f.Objects[bucket+"/"+key]
	return b, ok
}

// Keys lists the keys under prefix in a bucket, in order.
func (f *S3) Keys(bucket, prefix string) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.keys(bucket, prefix)
}

func (f *S3) keys(bucket, prefix string) []string {
	var out []string
	for k := range f.Objects {
		if key, ok := strings.CutPrefix(k, bucket+"/"); ok && strings.HasPrefix(key, prefix) {
			out = append(out, key)
		}
	}
	slices.Sort(out)
	return out
}

func (f *S3) PutObject(_ context.Context, in *s3.PutObjectInput, _ ...func(*s3.Options)) (*s3.PutObjectOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.record("PutObject"); err != nil {
		return nil, err
	}
	b, err := io.ReadAll(in.Body)
	if err != nil {
		return nil, err
	}
	k := aws.ToString(in.Bucket) + "/" + aws.ToString(in.Key)
	_, exists := f.Objects[k]
	switch {
	case aws.ToString(in.IfNoneMatch) == "*" && exists:
		return nil, preconditionFailed("If-None-Match")
	case in.IfMatch != nil && !exists:
		return nil, &s3types.NoSuchKey{Message: aws.String("The specified key does not exist.")}
	case in.IfMatch != nil && strings.Trim(*in.IfMatch, `"`) != strings.Trim(f.etags[k], `"`):
		return nil, preconditionFailed("If-Match")
	}
	f.Objects[k] = b
	f.writes++
	f.etags[k] = fmt.Sprintf(`"%d"`, f.writes)
	return &s3.PutObjectOutput{ETag: aws.String(f.etags[k])}, nil
}

// preconditionFailed is S3's answer to a conditional write whose condition
// does not hold (HTTP 412).
func preconditionFailed(condition string) error {
	return &smithy.GenericAPIError{Code: "PreconditionFailed", Message: "At least one of the pre-conditions you specified did not hold: " + condition}
}

func (f *S3) GetObject(_ context.Context, in *s3.GetObjectInput, _ ...func(*s3.Options)) (*s3.GetObjectOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.record("GetObject"); err != nil {
		return nil, err
	}
	b, ok := f.Objects[aws.ToString(in.Bucket)+"/"+aws.ToString(in.Key)]
	if !ok {
		return nil, &s3types.NoSuchKey{Message: aws.String("The specified key does not exist.")}
	}
	return &s3.GetObjectOutput{Body: io.NopCloser(bytes.NewReader(b)), ContentLength: aws.Int64(int64(len(b))),
		ETag: aws.String(f.etags[aws.ToString(in.Bucket)+"/"+aws.ToString(in.Key)])}, nil
}

func (f *S3) ListObjectsV2(_ context.Context, in *s3.ListObjectsV2Input, _ ...func(*s3.Options)) (*s3.ListObjectsV2Output, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.record("ListObjectsV2"); err != nil {
		return nil, err
	}
	keys := f.keys(aws.ToString(in.Bucket), aws.ToString(in.Prefix))
	i := 0
	if tok := aws.ToString(in.ContinuationToken); tok != "" {
		i, _ = strconv.Atoi(tok)
	}
	out := &s3.ListObjectsV2Output{}
	if i < len(keys) {
		out.Contents = []s3types.Object{{Key: aws.String(keys[i])}}
		out.KeyCount = aws.Int32(1)
	}
	if i+1 < len(keys) {
		out.IsTruncated, out.NextContinuationToken = aws.Bool(true), aws.String(strconv.Itoa(i+1))
	}
	return out, nil
}

func (f *S3) CreateMultipartUpload(_ context.Context, in *s3.CreateMultipartUploadInput, _ ...func(*s3.Options)) (*s3.CreateMultipartUploadOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.record("CreateMultipartUpload"); err != nil {
		return nil, err
	}
	id := fmt.Sprintf("upload-%d", len(f.uploads)+1)
	f.uploads[id] = map[int32][]byte{}
	return &s3.CreateMultipartUploadOutput{UploadId: aws.String(id)}, nil
}

func (f *S3) UploadPart(_ context.Context, in *s3.UploadPartInput, _ ...func(*s3.Options)) (*s3.UploadPartOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.record("UploadPart"); err != nil {
		return nil, err
	}
	parts, ok := f.uploads[aws.ToString(in.UploadId)]
	if !ok {
		return nil, &s3types.NoSuchUpload{}
	}
	b, err := io.ReadAll(in.Body)
	if err != nil {
		return nil, err
	}
	n := aws.ToInt32(in.PartNumber)
	parts[n] = b
	return &s3.UploadPartOutput{ETag: aws.String(fmt.Sprintf(`"etag-%d"`, n))}, nil
}

func (f *S3) CompleteMultipartUpload(_ context.Context, in *s3.CompleteMultipartUploadInput, _ ...func(*s3.Options)) (*s3.CompleteMultipartUploadOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.record("CompleteMultipartUpload"); err != nil {
		return nil, err
	}
	parts, ok := f.uploads[aws.ToString(in.UploadId)]
	if !ok {
		return nil, &s3types.NoSuchUpload{}
	}
	var body []byte
	for i, p := range in.MultipartUpload.Parts {
		n := aws.ToInt32(p.PartNumber)
		if n != int32(i+1) {
			return nil, fmt.Errorf("InvalidPartOrder: part %d listed as %d", i+1, n)
		}
		b, ok := parts[n]
		if !ok || aws.ToString(p.ETag) != fmt.Sprintf(`"etag-%d"`, n) {
			return nil, fmt.Errorf("InvalidPart: %d", n)
		}
		if i < len(in.MultipartUpload.Parts)-1 && len(b) < MinPartSize {
			return nil, fmt.Errorf("EntityTooSmall: part %d has %d bytes", n, len(b))
		}
		body = append(body, b...)
	}
	delete(f.uploads, aws.ToString(in.UploadId))
	f.Objects[aws.ToString(in.Bucket)+"/"+aws.ToString(in.Key)] = body
	return &s3.CompleteMultipartUploadOutput{}, nil
}

func (f *S3) AbortMultipartUpload(_ context.Context, in *s3.AbortMultipartUploadInput, _ ...func(*s3.Options)) (*s3.AbortMultipartUploadOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.record("AbortMultipartUpload"); err != nil {
		return nil, err
	}
	delete(f.uploads, aws.ToString(in.UploadId))
	return &s3.AbortMultipartUploadOutput{}, nil
}

// Uploads is the number of multipart uploads neither completed nor aborted.
func (f *S3) Uploads() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.uploads)
}
