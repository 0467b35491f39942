package main

import (
	"context"
	"testing"

	"github.com/ecslogfix/ecslogfix/internal/config/fnenv"
	"github.com/ecslogfix/ecslogfix/internal/lambdarun/lambdaruntest"
)

func TestBuild(t *testing.T) {
	lambdaruntest.Env(t, map[string]string{fnenv.EnvSlackWebhookARN: "", fnenv.EnvTopicARN: ""})
	_, err := build(context.Background(), lambdaruntest.Logger())
	lambdaruntest.WantEnvError(t, err, fnenv.EnvTopicARN)

	t.Setenv(fnenv.EnvTopicARN, "arn:aws:sns:us-east-1:111122223333:ecslogfix-notifications")
	if h, err := build(context.Background(), lambdaruntest.Logger()); err != nil || h == nil {
		t.Fatalf("handler %v, %v", h, err)
	}
}
