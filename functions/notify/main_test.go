package main

import (
	"testing"

	"github.com/ecslogfix/ecslogfix/internal/config/fnenv"
	"github.com/ecslogfix/ecslogfix/internal/lambdarun/lambdaruntest"
)

func TestBuild(t *testing.T) {
	lambdaruntest.Env(t, map[string]string{fnenv.EnvSlackWebhookARN: ""})
	if h := lambdaruntest.Requires(t, build, fnenv.EnvTopicARN, "arn:aws:sns:us-east-1:111122223333:ecslogfix-notifications"); h == nil {
		t.Fatal("no handler")
	}
}
