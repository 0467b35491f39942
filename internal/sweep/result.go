package sweep

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/ecslogfix/ecslogfix/internal/spool"
)

// putBody writes one object from a seekable body in a single PutObject, so
// it appears whole or not at all.
func (s *Sweeper) putBody(ctx context.Context, key string, body *io.SectionReader) error {
	_, err := s.S3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(s.Bucket), Key: aws.String(key), Body: body,
		ContentLength: aws.Int64(body.Size()), ContentType: aws.String("application/json")})
	if err != nil {
		return fmt.Errorf("put s3://%s/%s: %w", s.Bucket, key, err)
	}
	return nil
}

// walkResult is one walk invocation's Result while the walk runs: the
// counts and the rest in memory, the rows (Families) spooled to a
// temporary file as they come, so the walk's memory stays flat in the
// number of families (docs/performance.md, "Memory flat in the number of
// families"). Its object is byte for byte the JSON line of the whole
// Result.
type walkResult struct {
	Result
	rows  *spool.File
	count int
}

func newWalkResult(res Result) (*walkResult, error) {
	rows, err := spool.New()
	if err != nil {
		return nil, err
	}
	res.Families = []Family{}
	return &walkResult{Result: res, rows: rows}, nil
}

// add appends one family's row, as encoding/json writes a slice's elements.
func (r *walkResult) add(f Family) error {
	line, err := json.Marshal(f)
	if err != nil { // our own type: strings and numbers
		panic(err)
	}
	if r.count > 0 {
		if _, err := r.rows.Write([]byte{','}); err != nil {
			return err
		}
	}
	r.count++
	_, err = r.rows.Write(line)
	return err
}

// emptyFamilies is how the Result's JSON line ends when it has no rows:
// the rows go between its brackets.
const emptyFamilies = `"families":[]}` + "\n"

// object writes the Result's JSON line, the spooled rows in their place,
// into a spool of its own and returns it; the caller closes it.
func (r *walkResult) object() (*spool.File, error) {
	head := appendJSONLine(nil, r.Result)
	if !bytes.HasSuffix(head, []byte(emptyFamilies)) { // the families are the Result's last field
		panic(fmt.Sprintf("sweep: a result's JSON ends %q", head[max(0, len(head)-len(emptyFamilies)):]))
	}
	split := len(head) - len("]}\n")
	rows, err := r.rows.Body()
	if err != nil {
		return nil, err
	}
	obj, err := spool.New()
	if err != nil {
		return nil, err
	}
	_, err = obj.Write(head[:split])
	if err == nil {
		_, err = io.Copy(obj, rows)
	}
	if err == nil {
		_, err = obj.Write(head[split:])
	}
	if err != nil {
		obj.Close()
		return nil, fmt.Errorf("spool: %w", err)
	}
	return obj, nil
}

func (r *walkResult) close() { r.rows.Close() }

// writeResult writes one walk invocation's result object.
func (s *Sweeper) writeResult(ctx context.Context, r *walkResult) error {
	obj, err := r.object()
	if err != nil {
		return fmt.Errorf("write the result of %s/%s: %w", r.Target.Account, r.Target.Region, err)
	}
	defer obj.Close()
	body, err := obj.Body()
	if err != nil {
		return err
	}
	return s.putBody(ctx, keysOf(r.SweepID).result(r.Target, r.Invocation), body)
}

// readResult reads one walk invocation's result object as get would decode
// it into a Result (unknown fields refused), but hands each family's row
// to row as it is decoded instead of holding them: the Result returned has
// no Families.
func (s *Sweeper) readResult(ctx context.Context, key string, row func(Family) error) (Result, error) {
	out, err := s.S3.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(s.Bucket), Key: aws.String(key)})
	if err != nil {
		return Result{}, fmt.Errorf("get s3://%s/%s: %w", s.Bucket, key, err)
	}
	defer out.Body.Close()
	res, err := decodeResult(out.Body, row)
	if err != nil {
		var rowErr rowError
		if errors.As(err, &rowErr) {
			return Result{}, rowErr.err
		}
		return Result{}, fmt.Errorf("read s3://%s/%s: %w", s.Bucket, key, err)
	}
	return res, nil
}

// rowError is an error of readResult's row function, passed through as it is.
type rowError struct{ err error }

func (e rowError) Error() string { return e.err.Error() }
func (e rowError) Unwrap() error { return e.err }

// decodeResult decodes a Result object, streaming its families to row. The
// other fields are small: they are collected and decoded as one object
// with encoding/json's own rules (unknown fields refused).
func decodeResult(r io.Reader, row func(Family) error) (Result, error) {
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	if err := delim(dec, '{'); err != nil {
		return Result{}, err
	}
	rest := []byte{'{'}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return Result{}, err
		}
		key, _ := t.(string)
		if !strings.EqualFold(key, "families") { // encoding/json matches names without case
			var v json.RawMessage
			if err := dec.Decode(&v); err != nil {
				return Result{}, err
			}
			if len(rest) > 1 {
				rest = append(rest, ',')
			}
			rest = append(append(appendJSON(rest, key), ':'), v...)
			continue
		}
		if err := families(dec, row); err != nil {
			return Result{}, err
		}
	}
	if err := delim(dec, '}'); err != nil {
		return Result{}, err
	}
	var res Result
	strict := json.NewDecoder(bytes.NewReader(append(rest, '}')))
	strict.DisallowUnknownFields()
	if err := strict.Decode(&res); err != nil {
		return Result{}, err
	}
	res.Families = nil
	return res, nil
}

// families decodes the families array (or null) element by element.
func families(dec *json.Decoder, row func(Family) error) error {
	t, err := dec.Token()
	if err != nil || t == nil {
		return err
	}
	if d, ok := t.(json.Delim); !ok || d != '[' {
		return fmt.Errorf("json: families: %v is not an array", t)
	}
	for dec.More() {
		var f Family
		if err := dec.Decode(&f); err != nil {
			return err
		}
		if err := row(f); err != nil {
			return rowError{err}
		}
	}
	return delim(dec, ']')
}

func delim(dec *json.Decoder, want json.Delim) error {
	t, err := dec.Token()
	if err != nil {
		return err
	}
	if d, ok := t.(json.Delim); !ok || d != want {
		return fmt.Errorf("json: %v where %v was expected", t, want)
	}
	return nil
}

func appendJSON(b []byte, v any) []byte {
	line := appendJSONLine(nil, v)
	return append(b, line[:len(line)-1]...)
}
