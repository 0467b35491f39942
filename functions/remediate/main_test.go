package main

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"testing"

	"github.com/ecslogfix/ecslogfix/internal/config/fnenv"
)

func TestBuild(t *testing.T) {
	log := slog.New(slog.NewJSONHandler(io.Discard, nil))
	for k, v := range map[string]string{
		"AWS_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test",
		"AWS_CONFIG_FILE": "/dev/null", "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
		fnenv.EnvRegisterRate: "",
	} {
		t.Setenv(k, v)
	}
	t.Setenv(fnenv.EnvPolicy, "")
	var ee *fnenv.EnvError
	if _, err := build(context.Background(), log); !errors.As(err, &ee) || ee.Var != fnenv.EnvPolicy {
		t.Fatalf("missing policy: %v", err)
	}
	t.Setenv(fnenv.EnvPolicy, `{"retentionDays":30}`)
	r, err := build(context.Background(), log)
	if err != nil {
		t.Fatal(err)
	}
	if r.Policy.RetentionDays != 30 || r.Clients == nil {
		t.Fatalf("remediator %+v", r)
	}
}
