package sweep

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/ecslogfix/ecslogfix/internal/awsfake"
)

// The report is one PutObject while it fits in one part, and a multipart
// upload of 5 MiB parts (S3's minimum but for the last) beyond: memory
// holds one part, whatever the number of families.
func TestReportWriterParts(t *testing.T) {
	for _, tc := range []struct {
		lines      int
		wantCalls  []string
		wantLength int
	}{
		{lines: 10, wantCalls: []string{"PutObject"}},
		{lines: 60_000, wantCalls: []string{"CreateMultipartUpload", "UploadPart", "UploadPart", "UploadPart", "CompleteMultipartUpload"}},
	} {
		t.Run(fmt.Sprint(tc.lines), func(t *testing.T) {
			s3 := awsfake.NewS3()
			w := &reportWriter{s3: s3, bucket: bucket, key: "r.jsonl", partSize: MinPartSize}
			var want bytes.Buffer
			for i := range tc.lines {
				line := appendJSONLine(nil, Family{Account: "111122223333", Region: "eu-west-1", Family: fmt.Sprintf("svc-%06d", i), Revision: 3, Status: "compliant",
					TaskDefinitionARN: fmt.Sprintf("arn:aws:ecs:eu-west-1:111122223333:task-definition/svc-%06d:3", i)})
				want.Write(line)
				if err := w.write(context.Background(), line); err != nil {
					t.Fatal(err)
				}
				if w.buf.Len() >= MinPartSize {
					t.Fatalf("the writer holds %d bytes", w.buf.Len())
				}
			}
			if err := w.close(context.Background()); err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(s3.Calls, tc.wantCalls) {
				t.Fatalf("calls %v, want %v", s3.Calls, tc.wantCalls)
			}
			got, _ := s3.Object(bucket, "r.jsonl")
			if !bytes.Equal(got, want.Bytes()) {
				t.Fatalf("the object has %d bytes, want %d", len(got), want.Len())
			}
			fams, err := ReadReport(bytes.NewReader(got))
			if err != nil || len(fams) != tc.lines {
				t.Fatalf("%d lines read back (%v)", len(fams), err)
			}
		})
	}
}

// A failed part aborts the upload: no incomplete upload is left to pay for.
func TestReportWriterAbortsOnFailure(t *testing.T) {
	s3 := awsfake.NewS3()
	s3.FailNext("CompleteMultipartUpload", errors.New("InternalError"))
	w := &reportWriter{s3: s3, bucket: bucket, key: "r.jsonl", partSize: MinPartSize}
	if err := w.write(context.Background(), bytes.Repeat([]byte("x"), MinPartSize+1)); err != nil {
		t.Fatal(err)
	}
	if err := w.write(context.Background(), []byte("last\n")); err != nil {
		t.Fatal(err)
	}
	if err := w.close(context.Background()); err == nil {
		t.Fatal("close succeeded")
	}
	if s3.Uploads() != 0 || s3.Calls[len(s3.Calls)-1] != "AbortMultipartUpload" {
		t.Fatalf("calls %v, %d uploads left", s3.Calls, s3.Uploads())
	}
}
