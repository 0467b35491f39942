package main

import (
	"context"
	"testing"

	"github.com/ecslogfix/ecslogfix/internal/config/fnenv"
	"github.com/ecslogfix/ecslogfix/internal/lambdarun/lambdaruntest"
)

func TestBuild(t *testing.T) {
	lambdaruntest.Env(t, map[string]string{fnenv.EnvRegisterRate: "", fnenv.EnvPolicy: ""})
	_, err := build(context.Background(), lambdaruntest.Logger())
	lambdaruntest.WantEnvError(t, err, fnenv.EnvPolicy)

	t.Setenv(fnenv.EnvPolicy, `{"retentionDays":30}`)
	r, err := build(context.Background(), lambdaruntest.Logger())
	if err != nil {
		t.Fatal(err)
	}
	if r.Policy.RetentionDays != 30 || r.Clients == nil {
		t.Fatalf("remediator %+v", r)
	}
}
