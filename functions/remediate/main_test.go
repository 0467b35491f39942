package main

import (
	"testing"

	"github.com/ecslogfix/ecslogfix/internal/config/fnenv"
	"github.com/ecslogfix/ecslogfix/internal/lambdarun/lambdaruntest"
)

func TestBuild(t *testing.T) {
	lambdaruntest.Env(t, map[string]string{fnenv.EnvRegisterRate: ""})
	r := lambdaruntest.Requires(t, build, fnenv.EnvPolicy, `{"retentionDays":30}`)
	if r.Policy.RetentionDays != 30 || r.Clients == nil {
		t.Fatalf("remediator %+v", r)
	}
}
