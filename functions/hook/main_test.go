package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/ecslogfix/ecslogfix/internal/config/fnenv"
	"github.com/ecslogfix/ecslogfix/internal/hook"
	"github.com/ecslogfix/ecslogfix/internal/lambdarun/lambdaruntest"
	"github.com/ecslogfix/ecslogfix/test/localaws"
)

func TestBuild(t *testing.T) {
	log := lambdaruntest.Logger()
	_, err := build(func(string) string { return "" }, log)
	lambdaruntest.WantEnvError(t, err, fnenv.EnvPolicy)
	h, err := build(func(k string) string {
		if k == fnenv.EnvPolicy {
			return `{"streamPrefix": "svc"}`
		}
		return ""
	}, log)
	if err != nil || h.Policy.StreamPrefix != "svc" {
		t.Fatalf("%v %+v", err, h)
	}
}

// TestUnderTheEmulator runs the real bootstrap under the Lambda Runtime
// Interface Emulator with the documented requests of internal/hook's
// testdata, and compares each answer with the golden response there.
func TestUnderTheEmulator(t *testing.T) {
	localaws.RequireTools(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	fn := localaws.NewFunction(t, localaws.FunctionOptions{
		Name:      "ecslogfix-hook",
		Bootstrap: localaws.Bootstrap(t, "./functions/hook"),
		Env:       map[string]string{fnenv.EnvPolicy: "{}"},
		Timeout:   30 * time.Second, // Hooks wait up to 30 seconds for the function
	})
	testdata := filepath.Join("..", "..", "internal", "hook", "testdata")
	for _, name := range []string{"create-compliant.json", "update-noncompliant.json", "cloudcontrol-create.json", "other-type.json"} {
		req, err := os.ReadFile(filepath.Join(testdata, name))
		if err != nil {
			t.Fatal(err)
		}
		inv, err := fn.Invoke(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		if err := inv.Err(fn.Name); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		want, err := os.ReadFile(filepath.Join(testdata, "golden", name))
		if err != nil {
			t.Fatal(err)
		}
		var got, exp hook.Response
		if err := json.Unmarshal(inv.Payload, &got); err != nil {
			t.Fatalf("%s: %v: %s", name, err, inv.Payload)
		}
		if err := json.Unmarshal(want, &exp); err != nil {
			t.Fatal(err)
		}
		g, _ := json.Marshal(got)
		e, _ := json.Marshal(exp)
		if string(g) != string(e) {
			t.Errorf("%s:\n got %s\nwant %s", name, g, e)
		}
	}
}
