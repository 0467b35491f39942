package spool

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"testing"

	"github.com/ecslogfix/ecslogfix/internal/awsfake"
)

const bucket = "b"

// An Upload is one PutObject while it fits in one part, and a multipart
// upload of 5 MiB parts (S3's minimum but for the last) beyond: it holds
// one part, in its File, whatever the size of the object.
func TestUploadParts(t *testing.T) {
	for _, tc := range []struct {
		lines     int
		wantCalls []string
	}{
		{lines: 0, wantCalls: []string{"PutObject"}},
		{lines: 10, wantCalls: []string{"PutObject"}},
		{lines: 60_000, wantCalls: []string{"CreateMultipartUpload", "UploadPart", "UploadPart", "UploadPart", "CompleteMultipartUpload"}},
	} {
		t.Run(fmt.Sprint(tc.lines), func(t *testing.T) {
			s3 := awsfake.NewS3()
			u := &Upload{S3: s3, Bucket: bucket, Key: "r.jsonl", Name: "the report", ContentType: "application/x-ndjson", PartSize: MinPartSize}
			var want bytes.Buffer
			for i := range tc.lines {
				line := fmt.Appendf(nil, `{"account":"111122223333","region":"eu-west-1","family":"svc-%06d","revision":3,"taskDefinitionArn":"arn:aws:ecs:eu-west-1:111122223333:task-definition/svc-%06d:3","status":"compliant"}`+"\n", i, i)
				want.Write(line)
				if err := u.Write(context.Background(), line); err != nil {
					t.Fatal(err)
				}
				if u.Buffered() >= MinPartSize {
					t.Fatalf("the upload holds %d bytes", u.Buffered())
				}
			}
			if err := u.Close(context.Background()); err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(s3.Calls, tc.wantCalls) {
				t.Fatalf("calls %v, want %v", s3.Calls, tc.wantCalls)
			}
			got, ok := s3.Object(bucket, "r.jsonl")
			if !ok || !bytes.Equal(got, want.Bytes()) || bytes.Count(got, []byte("\n")) != tc.lines {
				t.Fatalf("the object has %d bytes, want %d", len(got), want.Len())
			}
		})
	}
}

// A failed part aborts the upload: no incomplete upload is left to pay for.
func TestUploadAbortsOnFailure(t *testing.T) {
	s3 := awsfake.NewS3()
	s3.FailNext("CompleteMultipartUpload", errors.New("InternalError"))
	u := &Upload{S3: s3, Bucket: bucket, Key: "r.jsonl", Name: "the report", PartSize: MinPartSize}
	if err := u.Write(context.Background(), bytes.Repeat([]byte("x"), MinPartSize+1)); err != nil {
		t.Fatal(err)
	}
	if err := u.Write(context.Background(), []byte("last\n")); err != nil {
		t.Fatal(err)
	}
	if err := u.Close(context.Background()); err == nil {
		t.Fatal("close succeeded")
	}
	if s3.Uploads() != 0 || s3.Calls[len(s3.Calls)-1] != "AbortMultipartUpload" {
		t.Fatalf("calls %v, %d uploads left", s3.Calls, s3.Uploads())
	}
}

// A File gives back what was written, and again after a Reset, from a
// file nobody else can see.
func TestFile(t *testing.T) {
	f, err := New()
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := os.Stat(f.f.Name()); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("the spool file %s is still linked (%v)", f.f.Name(), err)
	}
	for _, text := range []string{"first part, longer than the second", "second"} {
		if err := f.Reset(); err != nil {
			t.Fatal(err)
		}
		if _, err := f.Write([]byte(text)); err != nil {
			t.Fatal(err)
		}
		body, err := f.Body()
		if err != nil {
			t.Fatal(err)
		}
		got := make([]byte, body.Size())
		if _, err := body.ReadAt(got, 0); err != nil || string(got) != text || f.Len() != int64(len(text)) {
			t.Fatalf("read back %q (%v), length %d; want %q", got, err, f.Len(), text)
		}
	}
}
