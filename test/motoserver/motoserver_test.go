package motoserver

import (
	"context"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"
)

// A started server answers the SDK through Config, and after Stop nothing
// listens on its port any more.
func TestStartServesUntilStop(t *testing.T) {
	s, err := Start(30 * time.Second)
	if err != nil {
		fail(t, err)
	}
	defer s.Stop()
	ctx := context.Background()
	c := sns.NewFromConfig(Config(s.URL))
	if _, err := c.CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String("t")}); err != nil {
		t.Fatal(err)
	}
	s.Stop()
	s.Stop() // a second Stop is harmless
	if resp, err := http.Post(s.URL+"/moto-api/reset", "application/json", nil); err == nil {
		resp.Body.Close()
		t.Fatalf("moto still answers after Stop: %s", resp.Status)
	}
}

// Shared starts one server per test binary.
func TestSharedIsOne(t *testing.T) {
	a := Shared(t, 30*time.Second)
	if b := Shared(t, 30*time.Second); a != b {
		t.Fatalf("two shared servers: %s, %s", a, b)
	}
}

func TestMain(m *testing.M) {
	code := m.Run()
	StopShared()
	os.Exit(code)
}
