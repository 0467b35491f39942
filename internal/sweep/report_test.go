package sweep

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"
)

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
