// Package motoserver starts moto (`python3 -m moto.server`) on a free
// loopback port for component tests, and makes SDK configurations that talk
// to it.
//
// A missing tool (python3, or moto itself) skips the test with the reason,
// or fails it when ECSLOGFIX_REQUIRE_TOOLS=1; any other start failure fails
// the test. No moto process outlives its test binary: Private servers stop
// at the test's cleanup, the Shared one in TestMain (StopShared), and on
// Linux the kernel kills moto when the test binary dies.
package motoserver

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
)

// Region is the region of the configurations Config makes.
const Region = "us-east-1"

// RequireToolsEnv is the environment variable that turns a missing tool
// into a test failure when it is "1" (`make test` sets it).
const RequireToolsEnv = "ECSLOGFIX_REQUIRE_TOOLS"

// MissingToolError says that python3 or moto is not installed.
type MissingToolError struct{ Reason string }

func (e *MissingToolError) Error() string { return e.Reason }

// Server is a running moto server.
type Server struct {
	// URL is the server's base URL, http://127.0.0.1:PORT.
	URL  string
	cmd  *exec.Cmd
	stop sync.Once
}

// Start runs python3 -m moto.server on a free loopback port, with
// MOTO_PORT set to that port (moto's Step Functions interpreter needs it),
// and returns once moto says it is listening ("Running on"), or an error
// when it exits first or does not within timeout. It returns a
// *MissingToolError when python3 or moto is not installed.
func Start(timeout time.Duration) (*Server, error) {
	if _, err := exec.LookPath("python3"); err != nil {
		return nil, &MissingToolError{"python3 not found"}
	}
	if err := exec.Command("python3", "-c", "import moto.server").Run(); err != nil {
		return nil, &MissingToolError{"moto is not installed (pip install 'moto[server]==5.2.1')"}
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	port := strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
	l.Close()
	cmd := exec.Command("python3", "-m", "moto.server", "-H", "127.0.0.1", "-p", port)
	cmd.Env = append(os.Environ(), "MOTO_PORT="+port)
	cmd.Stdout = io.Discard
	cmd.SysProcAttr = sysProcAttr()
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	s := &Server{URL: "http://127.0.0.1:" + port, cmd: cmd}
	// moto (werkzeug) logs " * Running on http://127.0.0.1:PORT" once it
	// listens; keep draining stderr afterwards so moto never blocks on it.
	ready := make(chan bool, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		sent := false
		for sc.Scan() {
			if !sent && strings.Contains(sc.Text(), "Running on") {
				ready <- true
				sent = true
			}
		}
		if !sent {
			ready <- false
		}
	}()
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	select {
	case ok := <-ready:
		if !ok {
			s.Stop()
			return nil, errors.New("moto exited before listening")
		}
	case <-timer.C:
		s.Stop()
		return nil, fmt.Errorf("moto did not start within %v", timeout)
	}
	return s, nil
}

// Stop kills moto (its whole process group where the platform has them)
// and waits for it. It may be called more than once.
func (s *Server) Stop() {
	s.stop.Do(func() {
		kill(s.cmd)
		_ = s.cmd.Wait()
	})
}

// shared is the server Shared starts once per test binary.
var shared struct {
	once sync.Once
	srv  *Server
	err  error
}

// Shared returns the URL of the moto server shared by the tests of this
// test binary, starting it on first use (then timeout bounds its start).
// Call StopShared from TestMain after m.Run. Tests sharing it must keep
// out of each other's way (distinct regions, names, or a reset).
func Shared(tb testing.TB, timeout time.Duration) string {
	tb.Helper()
	shared.once.Do(func() { shared.srv, shared.err = Start(timeout) })
	if shared.err != nil {
		fail(tb, shared.err)
	}
	return shared.srv.URL
}

// StopShared stops the server Shared started, if any.
func StopShared() {
	if shared.srv != nil {
		shared.srv.Stop()
	}
}

// Private starts a moto server for tb alone, stopped at tb's cleanup, and
// returns its URL; timeout bounds its start.
func Private(tb testing.TB, timeout time.Duration) string {
	tb.Helper()
	s, err := Start(timeout)
	if err != nil {
		fail(tb, err)
	}
	tb.Cleanup(s.Stop)
	return s.URL
}

// fail skips tb for a missing tool unless ECSLOGFIX_REQUIRE_TOOLS=1, and
// fails it otherwise.
func fail(tb testing.TB, err error) {
	tb.Helper()
	var missing *MissingToolError
	if errors.As(err, &missing) && os.Getenv(RequireToolsEnv) != "1" {
		tb.Skipf("moto not available: %v", err)
	}
	tb.Fatalf("moto is required: %v", err)
}

// Config is an SDK configuration for endpoint (moto, or a proxy in front
// of it): region us-east-1, static dummy credentials, the SDK's default
// retryer.
func Config(endpoint string) aws.Config {
	return aws.Config{
		Region:       Region,
		Credentials:  credentials.NewStaticCredentialsProvider("test", "test", ""),
		BaseEndpoint: aws.String(endpoint),
	}
}
