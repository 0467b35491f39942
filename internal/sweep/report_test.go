package sweep

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
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

// Summarize reads a walk's result streaming its families, with the rules
// of a strict decode into Result: unknown fields are refused, in the
// result and in a family.
func TestDecodeResult(t *testing.T) {
	fams := []Family{{Account: "111122223333", Region: "eu-west-1", Family: "a", Status: "compliant"},
		{Account: "111122223333", Region: "eu-west-1", Family: "b<&>", Status: StatusError, Detail: "x\ny"}}
	whole := Result{SweepID: "s-1", Invocation: 2, Done: true, Error: "e", Families: fams}
	whole.Counts.Evaluated = 2
	line := appendJSONLine(nil, whole)
	var rows []Family
	got, err := decodeResult(bytes.NewReader(line), func(f Family) error { rows = append(rows, f); return nil })
	want := whole
	want.Families = nil
	if err != nil || fmt.Sprint(got) != fmt.Sprint(want) || fmt.Sprint(rows) != fmt.Sprint(fams) {
		t.Fatalf("decoded %+v and rows %+v (%v)", got, rows, err)
	}
	for name, body := range map[string]string{
		"unknown field":          `{"sweepId":"s","extra":1,"families":[]}`,
		"unknown field of a row": `{"sweepId":"s","families":[{"family":"a","status":"ignored","taskDefinition":{}}]}`,
		"families not an array":  `{"sweepId":"s","families":{}}`,
		"truncated":              `{"sweepId":"s","families":[{"family":"a"}`,
		"not an object":          `[]`,
		"wrong type of a field":  `{"sweepId":1,"families":[]}`,
		"wrong type of a row":    `{"families":["a"]}`,
	} {
		if _, err := decodeResult(strings.NewReader(body), func(Family) error { return nil }); err == nil {
			t.Errorf("%s: %s decoded", name, body)
		}
	}
	if got, err := decodeResult(strings.NewReader(`{"sweepId":"s","families":null}`), func(Family) error { t.Fatal("a row"); return nil }); err != nil || got.SweepID != "s" {
		t.Fatalf("null families: %+v %v", got, err)
	}
	stop := errors.New("the report failed")
	if _, err := decodeResult(bytes.NewReader(line), func(Family) error { return stop }); !errors.Is(err, stop) {
		t.Fatalf("the row's error: %v", err)
	}
}
