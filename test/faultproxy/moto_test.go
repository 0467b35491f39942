package faultproxy

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// Through the proxy at a 30 % fault rate on every API, an SDK client with
// enough retries still registers every revision exactly once per successful
// call, and moto agrees with the proxy's count of forwarded registrations.
func TestAgainstMoto(t *testing.T) {
	moto := StartMoto(t)
	srv, err := Start(Config{Upstream: moto, Seed: 3, Rules: []Rule{{API: "*", Rates: map[Kind]float64{
		Throttle: 0.1, InternalError: 0.05, Unavailable: 0.05, Reset: 0.1,
	}}}}, "")
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	ctx := context.Background()
	viaProxy := ecs.NewFromConfig(sdkConfig(srv.URL, 20))
	const n = 20
	for i := range n {
		if err := register(ctx, viaProxy); err != nil {
			t.Fatalf("register %d: %v", i, err)
		}
	}
	direct := ecs.NewFromConfig(sdkConfig(moto, 1))
	out, err := direct.ListTaskDefinitions(ctx, &ecs.ListTaskDefinitionsInput{FamilyPrefix: aws.String("web"), Status: ecstypes.TaskDefinitionStatusActive})
	if err != nil {
		t.Fatal(err)
	}
	st := srv.Stats().APIs[registerAPI]
	t.Logf("RegisterTaskDefinition: %d requests, %d forwarded, faults %v", st.Requests, st.Forwarded, st.Faults)
	if len(out.TaskDefinitionArns) != n || st.Forwarded != n {
		t.Errorf("moto holds %d revisions, proxy forwarded %d; want %d", len(out.TaskDefinitionArns), st.Forwarded, n)
	}
	if st.FaultCount() == 0 {
		t.Error("no fault injected")
	}
}
