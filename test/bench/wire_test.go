package bench

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
)

func TestWireRecordsCallsAndForwards(t *testing.T) {
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		io.WriteString(w, `{"families":["web"]}`)
	}))
	defer backend.Close()
	wire, err := StartWire("")
	if err != nil {
		t.Fatal(err)
	}
	defer wire.Close()
	c := ecs.NewFromConfig(awsConfig(wire.URL, nil), func(o *ecs.Options) { o.RetryMaxAttempts = 1 })
	ctx := context.Background()
	if _, err := c.ListTaskDefinitionFamilies(ctx, &ecs.ListTaskDefinitionFamiliesInput{}); err == nil {
		t.Error("a call before SetUpstream succeeded; want HTTP 503")
	}
	if err := wire.SetUpstream(backend.URL); err != nil {
		t.Fatal(err)
	}
	mark := wire.Mark()
	out, err := c.ListTaskDefinitionFamilies(ctx, &ecs.ListTaskDefinitionFamiliesInput{MaxResults: aws.Int32(1)})
	if err != nil || len(out.Families) != 1 {
		t.Fatalf("through the wire: %v, %v", out, err)
	}
	calls := wire.Since(mark)
	if got := CountAPIs(calls); len(got) != 1 || got["ecs:ListTaskDefinitionFamilies"] != 1 {
		t.Errorf("CountAPIs = %v", got)
	}
	if n := len(Filter(wire.Since(0), "ecs:DescribeTaskDefinition")); n != 0 {
		t.Errorf("Filter kept %d calls of another API", n)
	}
	if err := wire.SetUpstream("not a url"); err == nil {
		t.Error("SetUpstream accepted a bad URL")
	}
}

func TestRate(t *testing.T) {
	t0 := time.Unix(0, 0)
	var calls []WireCall
	for i := range 21 { // 10 per second for 2 s
		calls = append(calls, WireCall{API: "ecs:DescribeTaskDefinition", At: t0.Add(time.Duration(i) * 100 * time.Millisecond)})
	}
	r := Rate(calls)
	if r.N != 21 || r.Mean < 9.99 || r.Mean > 10.01 || r.MaxPer1s != 10 || r.MaxPer10s != 21 {
		t.Errorf("Rate = %+v", r)
	}
	if r := Rate(calls[:1]); r.N != 1 || r.Mean != 0 {
		t.Errorf("Rate of one call = %+v", r)
	}
}
