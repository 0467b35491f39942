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
		"AWS_CONFIG_FILE": "/dev/null", "AWS_SHARED_CREDENTIALS_FILE": "/dev/null", fnenv.EnvSlackWebhookARN: "",
	} {
		t.Setenv(k, v)
	}
	t.Setenv(fnenv.EnvTopicARN, "")
	var ee *fnenv.EnvError
	if _, err := build(context.Background(), log); !errors.As(err, &ee) || ee.Var != fnenv.EnvTopicARN {
		t.Fatalf("missing topic: %v", err)
	}
	t.Setenv(fnenv.EnvTopicARN, "arn:aws:sns:us-east-1:111122223333:ecslogfix-notifications")
	if h, err := build(context.Background(), log); err != nil || h == nil {
		t.Fatalf("handler %v, %v", h, err)
	}
}
