package spool

import (
	"bytes"
	"context"
	"fmt"
	"io"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// S3 is the part of the S3 API an Upload uses.
type S3 interface {
	PutObject(ctx context.Context, in *s3.PutObjectInput, optFns ...func(*s3.Options)) (*s3.PutObjectOutput, error)
	CreateMultipartUpload(ctx context.Context, in *s3.CreateMultipartUploadInput, optFns ...func(*s3.Options)) (*s3.CreateMultipartUploadOutput, error)
	UploadPart(ctx context.Context, in *s3.UploadPartInput, optFns ...func(*s3.Options)) (*s3.UploadPartOutput, error)
	CompleteMultipartUpload(ctx context.Context, in *s3.CompleteMultipartUploadInput, optFns ...func(*s3.Options)) (*s3.CompleteMultipartUploadOutput, error)
	AbortMultipartUpload(ctx context.Context, in *s3.AbortMultipartUploadInput, optFns ...func(*s3.Options)) (*s3.AbortMultipartUploadOutput, error)
}

// MinPartSize is S3's smallest multipart part but the last: an Upload is
// written in parts of this size, each spooled to a File while it fills.
const MinPartSize = 5 << 20

// Upload writes one object: a single PutObject while it fits in one part,
// a multipart upload once it does not. The object appears when Close
// succeeds, whole; Abort (or a failed Close) gives up a multipart upload.
type Upload struct {
	S3          S3
	Bucket, Key string
	// Name is what the object is called in errors ("the report").
	Name        string
	ContentType string
	PartSize    int // MinPartSize or more

	buf      *File // the part being filled; made on the first Write
	uploadID string
	parts    []s3types.CompletedPart
}

func (u *Upload) Write(ctx context.Context, p []byte) error {
	if u.buf == nil {
		var err error
		if u.buf, err = New(); err != nil {
			return fmt.Errorf("%s s3://%s/%s: %w", u.Name, u.Bucket, u.Key, err)
		}
	}
	if _, err := u.buf.Write(p); err != nil {
		return fmt.Errorf("%s s3://%s/%s: %w", u.Name, u.Bucket, u.Key, err)
	}
	if u.buf.Len() < int64(u.PartSize) {
		return nil
	}
	if u.uploadID == "" {
		out, err := u.S3.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String(u.Bucket), Key: aws.String(u.Key),
			ContentType: aws.String(u.ContentType)})
		if err != nil {
			return fmt.Errorf("start %s s3://%s/%s: %w", u.Name, u.Bucket, u.Key, err)
		}
		u.uploadID = aws.ToString(out.UploadId)
	}
	return u.part(ctx)
}

// Buffered is the number of bytes waiting for the next part.
func (u *Upload) Buffered() int64 {
	if u.buf == nil {
		return 0
	}
	return u.buf.Len()
}

func (u *Upload) part(ctx context.Context) error {
	n := int32(len(u.parts) + 1)
	body, err := u.buf.Body()
	if err != nil {
		return fmt.Errorf("write part %d of %s s3://%s/%s: %w", n, u.Name, u.Bucket, u.Key, err)
	}
	out, err := u.S3.UploadPart(ctx, &s3.UploadPartInput{Bucket: aws.String(u.Bucket), Key: aws.String(u.Key), UploadId: aws.String(u.uploadID),
		PartNumber: aws.Int32(n), Body: body, ContentLength: aws.Int64(body.Size())})
	if err != nil {
		return fmt.Errorf("write part %d of %s s3://%s/%s: %w", n, u.Name, u.Bucket, u.Key, err)
	}
	u.parts = append(u.parts, s3types.CompletedPart{PartNumber: aws.Int32(n), ETag: out.ETag})
	return u.buf.Reset()
}

// Close writes what is left and completes the object.
func (u *Upload) Close(ctx context.Context) error {
	defer u.release()
	if u.uploadID == "" {
		body := io.NewSectionReader(bytes.NewReader(nil), 0, 0) // nothing written: an empty object
		if u.buf != nil {
			var err error
			if body, err = u.buf.Body(); err != nil {
				return fmt.Errorf("put %s s3://%s/%s: %w", u.Name, u.Bucket, u.Key, err)
			}
		}
		_, err := u.S3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(u.Bucket), Key: aws.String(u.Key), Body: body,
			ContentLength: aws.Int64(body.Size()), ContentType: aws.String(u.ContentType)})
		if err != nil {
			return fmt.Errorf("put %s s3://%s/%s: %w", u.Name, u.Bucket, u.Key, err)
		}
		return nil
	}
	if u.buf.Len() > 0 {
		if err := u.part(ctx); err != nil {
			u.Abort(ctx)
			return err
		}
	}
	_, err := u.S3.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: aws.String(u.Bucket), Key: aws.String(u.Key),
		UploadId: aws.String(u.uploadID), MultipartUpload: &s3types.CompletedMultipartUpload{Parts: u.parts}})
	if err != nil {
		u.Abort(ctx)
		return fmt.Errorf("complete %s s3://%s/%s: %w", u.Name, u.Bucket, u.Key, err)
	}
	return nil
}

// Abort gives up a multipart upload (a bucket's lifecycle rule for
// incomplete uploads removes one that even this could not abort).
func (u *Upload) Abort(ctx context.Context) {
	defer u.release()
	if u.uploadID == "" {
		return
	}
	_, _ = u.S3.AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{Bucket: aws.String(u.Bucket), Key: aws.String(u.Key), UploadId: aws.String(u.uploadID)})
	u.uploadID = ""
}

func (u *Upload) release() {
	if u.buf != nil {
		u.buf.Close()
		u.buf = nil
	}
}
