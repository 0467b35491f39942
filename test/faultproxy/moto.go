package faultproxy

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// StartMoto runs `python3 -m moto.server` on a free loopback port for the
// duration of a test and returns its base URL (MOTO_PORT is set to the
// port, as moto's Step Functions interpreter needs). When moto is missing the
// test fails if ECSLOGFIX_REQUIRE_TOOLS=1 and is skipped otherwise.
func StartMoto(tb testing.TB) string {
	tb.Helper()
	if err := exec.Command("python3", "-c", "import moto.server").Run(); err != nil {
		if os.Getenv("ECSLOGFIX_REQUIRE_TOOLS") == "1" {
			tb.Fatalf("moto is required (python3 -m moto.server): %v", err)
		}
		tb.Skipf("moto not available: %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	cmd := exec.Command("python3", "-m", "moto.server", "-H", "127.0.0.1", "-p", fmt.Sprint(port))
	cmd.Env = append(os.Environ(), fmt.Sprintf("MOTO_PORT=%d", port))
	stderr, err := cmd.StderrPipe()
	if err != nil {
		tb.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	// moto (werkzeug) logs " * Running on http://127.0.0.1:PORT" once it
	// listens; keep draining stderr afterwards so moto never blocks on it.
	ready := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(stderr)
		signalled := false
		for sc.Scan() {
			if !signalled && strings.Contains(sc.Text(), "Running on") {
				close(ready)
				signalled = true
			}
		}
	}()
	select {
	case <-ready:
	case <-time.After(30 * time.Second):
		tb.Fatal("moto did not start within 30 s")
	}
	return fmt.Sprintf("http://127.0.0.1:%d", port)
}
