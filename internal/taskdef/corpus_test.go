package taskdef

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ecslogfix/ecslogfix/test/goldenfile"
)

var update = flag.Bool("update", false, "rewrite golden files")

// corpusDir is the shared corpus of describe-task-definition outputs.
const corpusDir = "../../testdata/taskdefs"

type corpusEntry struct {
	name string
	raw  []byte
	td   *types.TaskDefinition
	tags []types.Tag
}

func loadCorpus(tb testing.TB) []corpusEntry {
	tb.Helper()
	files, err := filepath.Glob(filepath.Join(corpusDir, "*.json"))
	if err != nil || len(files) < 20 {
		tb.Fatalf("corpus: %d files, err %v", len(files), err)
	}
	var out []corpusEntry
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			tb.Fatal(err)
		}
		td, tags, err := DecodeDescribeOutput(raw)
		if err != nil {
			tb.Fatalf("%s: %v", f, err)
		}
		out = append(out, corpusEntry{name: strings.TrimSuffix(filepath.Base(f), ".json"), raw: raw, td: td, tags: tags})
	}
	return out
}

// captureClient is an ecs.Client whose HTTP client records request bodies
// and answers with a canned response; its endpoint is never contacted.
type captureTransport struct{ bodies [][]byte }

func (c *captureTransport) Do(r *http.Request) (*http.Response, error) {
	b, err := io.ReadAll(r.Body)
	if err != nil {
		return nil, err
	}
	c.bodies = append(c.bodies, b)
	return &http.Response{
		StatusCode: 200,
		Header:     http.Header{"Content-Type": []string{"application/x-amz-json-1.1"}},
		Body:       io.NopCloser(strings.NewReader(`{"taskDefinition":{"family":"x","revision":1}}`)),
		Request:    r,
	}, nil
}

func newCaptureClient(tr *captureTransport) *ecs.Client {
	return ecs.New(ecs.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String("http://127.0.0.1"),
		Credentials:  aws.AnonymousCredentials{},
		Retryer:      aws.NopRetryer{},
		HTTPClient:   tr,
	})
}

// sentBody returns what a real ecs.Client sends for in.
func sentBody(t *testing.T, in *ecs.RegisterTaskDefinitionInput) []byte {
	t.Helper()
	tr := &captureTransport{}
	if _, err := newCaptureClient(tr).RegisterTaskDefinition(context.Background(), in); err != nil {
		t.Fatalf("RegisterTaskDefinition through the capture client: %v", err)
	}
	if len(tr.bodies) != 1 {
		t.Fatalf("captured %d requests, want 1", len(tr.bodies))
	}
	return tr.bodies[0]
}

func decodeAny(t *testing.T, b []byte) any {
	t.Helper()
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("invalid JSON: %v\n%s", err, b)
	}
	return v
}

// canonical renders JSON with sorted keys and indentation (the SDK
// serializes maps in random order, so bytes are compared canonically).
func canonical(t *testing.T, b []byte) []byte {
	t.Helper()
	out, err := json.MarshalIndent(decodeAny(t, b), "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return append(out, '\n')
}

// TestRequestJSONMatchesClient: RequestJSON is what a real client sends,
// for every corpus task definition.
func TestRequestJSONMatchesClient(t *testing.T) {
	for _, c := range loadCorpus(t) {
		t.Run(c.name, func(t *testing.T) {
			in, err := RegisterInput(c.td, c.tags)
			if err != nil {
				t.Fatal(err)
			}
			got, err := RequestJSON(in)
			if err != nil {
				t.Fatal(err)
			}
			sent := sentBody(t, in)
			if len(got) != len(sent) {
				t.Errorf("RequestJSON is %d bytes, client sent %d", len(got), len(sent))
			}
			if !reflect.DeepEqual(decodeAny(t, got), decodeAny(t, sent)) {
				t.Errorf("RequestJSON differs from the client body:\n%s\n%s", got, sent)
			}
			if !json.Valid(got) || bytes.ContainsAny(got, "\n\t") {
				t.Errorf("body is not compact JSON")
			}
			if RequestSize(in) != len(sent) {
				t.Errorf("RequestSize = %d, client sent %d", RequestSize(in), len(sent))
			}
		})
	}
}

// TestGolden pins the register request of every corpus task definition.
func TestGolden(t *testing.T) {
	var sizes strings.Builder
	for _, c := range loadCorpus(t) {
		t.Run(c.name, func(t *testing.T) {
			in, err := RegisterInput(c.td, c.tags)
			if err != nil {
				// td45 has 50 tags: fine alone; only extras can overflow.
				t.Fatal(err)
			}
			body, err := RequestJSON(in)
			if err != nil {
				t.Fatal(err)
			}
			fmt.Fprintf(&sizes, "%s %d\n", c.name, len(body))
			goldenfile.Check(t, filepath.Join("testdata", "golden", c.name+".json"), canonical(t, body), *update)
		})
	}
	goldenfile.Check(t, filepath.Join("testdata", "golden", "sizes.txt"), []byte(sizes.String()), *update)
}

// outputOnlyJSON are the JSON keys of the output-only fields.
var outputOnlyJSON = []string{"taskDefinitionArn", "revision", "status", "requiresAttributes", "compatibilities",
	"registeredAt", "registeredBy", "deregisteredAt", "deleteRequestedAt"}

// TestRoundTrip: describe output → RegisterInput → body the client sends
// equals the describe output's taskDefinition minus output-only keys, with
// aws: tags dropped. The only expected differences: a container "cpu": 0,
// which the serializer omits (ContainerDefinition.Cpu is a plain int32),
// and networkMode "default", registered by leaving the field out.
func TestRoundTrip(t *testing.T) {
	for _, c := range loadCorpus(t) {
		t.Run(c.name, func(t *testing.T) {
			var doc struct {
				TaskDefinition map[string]any `json:"taskDefinition"`
				Tags           []any          `json:"tags"`
			}
			if err := json.Unmarshal(c.raw, &doc); err != nil {
				t.Fatal(err)
			}
			want := doc.TaskDefinition
			for _, k := range outputOnlyJSON {
				delete(want, k)
			}
			if want["networkMode"] == "default" {
				delete(want, "networkMode")
			}
			if cds, ok := want["containerDefinitions"].([]any); ok {
				for _, cd := range cds {
					if m := cd.(map[string]any); m["cpu"] == float64(0) {
						delete(m, "cpu")
					}
				}
			}
			var tags []any
			for _, tg := range doc.Tags {
				if !IsReservedTagKey(tg.(map[string]any)["key"].(string)) {
					tags = append(tags, tg)
				}
			}
			if len(tags) > 0 {
				want["tags"] = tags
			}
			in, err := RegisterInput(c.td, c.tags)
			if err != nil {
				t.Fatal(err)
			}
			got := decodeAny(t, sentBody(t, in))
			if !reflect.DeepEqual(got, any(want)) {
				gb, _ := json.MarshalIndent(got, "", " ")
				wb, _ := json.MarshalIndent(want, "", " ")
				t.Errorf("round trip differs:\n got: %s\nwant: %s", gb, wb)
			}
		})
	}
}

// TestNear64K: td42 is generated to be just under the limit; one awslogs
// block on its last container crosses it.
func TestNear64K(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(corpusDir, "td42-near-64k.json"))
	if err != nil {
		t.Fatal(err)
	}
	td, tags, err := DecodeDescribeOutput(raw)
	if err != nil {
		t.Fatal(err)
	}
	in, err := RegisterInput(td, tags)
	if err != nil {
		t.Fatal(err)
	}
	if n := RequestSize(in); n != 65480 || n >= MaxRegisterBytes {
		t.Fatalf("td42 register size = %d, want 65480 (< %d)", n, MaxRegisterBytes)
	}
	last := &in.ContainerDefinitions[len(in.ContainerDefinitions)-1]
	if last.LogConfiguration != nil {
		t.Fatal("td42's last container should lack logConfiguration")
	}
	last.LogConfiguration = &types.LogConfiguration{LogDriver: types.LogDriverAwslogs, Options: map[string]string{
		"awslogs-group": "/ecs/storefront-monolith", "awslogs-region": "us-east-1", "awslogs-stream-prefix": "ecs"}}
	if n := RequestSize(in); n <= MaxRegisterBytes {
		t.Errorf("with awslogs added, size = %d, want > %d", n, MaxRegisterBytes)
	}
}

// TestRegisterSize: RegisterSize is RequestSize of RegisterInput, with its
// errors, for every corpus task definition with and without extra tags
// (one over the limit for td45's 50), and leaves the input as it was.
func TestRegisterSize(t *testing.T) {
	extras := [][]types.Tag{nil, append(ProvenanceTags(7), ExecutionTag(strings.Repeat("x", MaxExecutionToken))...), {{Key: aws.String("aws:x")}}}
	for _, c := range loadCorpus(t) {
		for i, extra := range extras {
			t.Run(fmt.Sprintf("%s/%d", c.name, i), func(t *testing.T) {
				before := Copy(c.td)
				in, wantErr := RegisterInput(c.td, c.tags, extra...)
				n, err := RegisterSize(c.td, c.tags, extra...)
				if !reflect.DeepEqual(err, wantErr) {
					t.Fatalf("RegisterSize error %v, RegisterInput's %v", err, wantErr)
				}
				if wantErr == nil && n != RequestSize(in) {
					t.Errorf("RegisterSize = %d, RequestSize(RegisterInput) = %d", n, RequestSize(in))
				}
				if !reflect.DeepEqual(c.td, before) {
					t.Error("RegisterSize changed the task definition")
				}
			})
		}
	}
	if _, err := RegisterSize(nil, nil); !errors.Is(err, ErrNilTaskDefinition) {
		t.Errorf("RegisterSize(nil) error = %v", err)
	}
}

func TestRequestSizeNil(t *testing.T) {
	if n := RequestSize(nil); n != 0 {
		t.Errorf("RequestSize(nil) = %d", n)
	}
	if b, err := RequestJSON(nil); b != nil || err != nil {
		t.Errorf("RequestJSON(nil) = %q, %v", b, err)
	}
	if n := RequestSize(&ecs.RegisterTaskDefinitionInput{}); n != 2 {
		t.Errorf("RequestSize(empty) = %d, want 2 ({})", n)
	}
}

func TestDecodeDescribeOutput(t *testing.T) {
	for name, in := range map[string]string{
		"not json":             `{`,
		"unknown field":        `{"taskDefinition":{"family":"x","brandNewField":1},"tags":[]}`,
		"no td":                `{"tags":[]}`,
		"trailing":             `{"taskDefinition":{"family":"x"}} {}`,
		"cloudtrail time":      `{"taskDefinition":{"family":"x","registeredAt":"Nov 12, 2026, 9:41:07 AM"}}`,
		"union unknown member": `{"taskDefinition":{"family":"x","containerDefinitions":[{"resourceRequirements":[{"type":"GPU","value":"1","sharingStrategy":{"timeSlicing":{}}}]}]}}`,
		"union two members":    `{"taskDefinition":{"family":"x","containerDefinitions":[{"resourceRequirements":[{"sharingStrategy":{"nvidiaMps":{},"other":{}}}]}]}}`,
		"union unknown field":  `{"taskDefinition":{"family":"x","containerDefinitions":[{"resourceRequirements":[{"sharingStrategy":{"nvidiaMps":{"memory":1,"cores":2}}}]}]}}`,
		"union not object":     `{"taskDefinition":{"family":"x","containerDefinitions":[{"resourceRequirements":[{"sharingStrategy":[1]}]}]}}`,
		"union in bad json":    `{"sharingStrategy": `,
	} {
		if _, _, err := DecodeDescribeOutput([]byte(in)); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	// Union members land on the right container and requirement; null is nil.
	td, _, err := DecodeDescribeOutput([]byte(`{"taskDefinition":{"family":"x","containerDefinitions":[{"name":"a"},{"name":"b","resourceRequirements":[{"type":"GPU","value":"1","sharingStrategy":null},{"type":"GPU","value":"1","sharingStrategy":{"nvidiaMps":{"memory":512}}}]}]}}`))
	if err != nil {
		t.Fatal(err)
	}
	rr := td.ContainerDefinitions[1].ResourceRequirements
	if m, ok := rr[1].SharingStrategy.(*types.SharingStrategyMemberNvidiaMps); !ok || aws.ToInt32(m.Value.Memory) != 512 || rr[0].SharingStrategy != nil {
		t.Errorf("sharing strategies = %#v", rr)
	}
	// Shapes the union pass does not understand are left to the strict decoder.
	for _, in := range []string{`{"taskDefinition":7,"sharingStrategy":1}`, `{"taskDefinition":{"containerDefinitions":7},"sharingStrategy":1}`} {
		if _, _, err := DecodeDescribeOutput([]byte(in)); err == nil {
			t.Errorf("%s: no error", in)
		}
	}
	td, tags, err := DecodeDescribeOutput([]byte(`{"taskDefinition":{"family":"x","revision":3}}`))
	if err != nil || aws.ToString(td.Family) != "x" || td.Revision != 3 || tags != nil {
		t.Errorf("minimal: %v %v %v", td, tags, err)
	}
}

func BenchmarkRegisterInput(b *testing.B) {
	for _, name := range []string{"td13-ec2-bridge-kitchen-sink", "td42-near-64k"} {
		c := findCorpus(b, name)
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := RegisterInput(c.td, c.tags); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkRequestSize(b *testing.B) {
	for _, name := range []string{"td13-ec2-bridge-kitchen-sink", "td42-near-64k"} {
		c := findCorpus(b, name)
		in, err := RegisterInput(c.td, c.tags)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if RequestSize(in) == 0 {
					b.Fatal("zero size")
				}
			}
		})
	}
}

// BenchmarkClientRegister measures the full client path (capture
// transport), for comparison with RequestSize.
func BenchmarkClientRegister(b *testing.B) {
	c := findCorpus(b, "td13-ec2-bridge-kitchen-sink")
	in, err := RegisterInput(c.td, c.tags)
	if err != nil {
		b.Fatal(err)
	}
	tr := &captureTransport{}
	client := newCaptureClient(tr)
	b.ReportAllocs()
	for b.Loop() {
		tr.bodies = tr.bodies[:0]
		if _, err := client.RegisterTaskDefinition(context.Background(), in); err != nil {
			b.Fatal(err)
		}
	}
}

func findCorpus(tb testing.TB, name string) corpusEntry {
	for _, c := range loadCorpus(tb) {
		if c.name == name {
			return c
		}
	}
	tb.Fatalf("corpus entry %s not found", name)
	return corpusEntry{}
}
