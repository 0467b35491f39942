// Package lambdaruntest is what the functions' build tests share: the
// environment a build step runs in without AWS, and the check that a
// build refuses its environment by naming the variable (fnenv.EnvError).
package lambdaruntest

import (
	"context"
	"errors"
	"log/slog"
	"testing"

	"github.com/ecslogfix/ecslogfix/internal/config/fnenv"
	"github.com/ecslogfix/ecslogfix/internal/lambdarun"
)

// Env sets, for the test, the environment of a build step offline: a
// region, dummy credentials, no shared config or credentials file, and
// an endpoint on loopback that nothing listens on (a build makes no call
// at startup), then env on top; an empty value is an unset variable.
func Env(t testing.TB, env map[string]string) {
	t.Helper()
	for k, v := range map[string]string{
		"AWS_REGION":                  "us-east-1",
		"AWS_ACCESS_KEY_ID":           "test",
		"AWS_SECRET_ACCESS_KEY":       "test",
		"AWS_CONFIG_FILE":             "/dev/null",
		"AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
		"AWS_ENDPOINT_URL":            "http://127.0.0.1:9",
	} {
		t.Setenv(k, v)
	}
	for k, v := range env {
		t.Setenv(k, v)
	}
}

// Logger is the logger a build step gets in a test: it discards.
func Logger() *slog.Logger { return slog.New(slog.DiscardHandler) }

// WantEnvError fails the test unless err is an *fnenv.EnvError naming
// the variable name.
func WantEnvError(t testing.TB, err error, name string) {
	t.Helper()
	var ee *fnenv.EnvError
	if !errors.As(err, &ee) || ee.Var != name {
		t.Errorf("build: %v, want an error naming %s", err, name)
	}
}

// Requires checks that build refuses its environment while the variable
// name is unset, naming it, and returns what build makes once it is set to
// value.
func Requires[H any](t testing.TB, build lambdarun.Build[H], name, value string) H {
	t.Helper()
	t.Setenv(name, "")
	_, err := build(context.Background(), Logger())
	WantEnvError(t, err, name)
	t.Setenv(name, value)
	h, err := build(context.Background(), Logger())
	if err != nil {
		t.Fatalf("build with %s set: %v", name, err)
	}
	return h
}
