package localaws

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os/exec"
	"sync"
	"syscall"
	"time"

	"github.com/ecslogfix/ecslogfix/test/syncbuf"
)

// Command is exec.CommandContext for a child that must not outlive the
// test binary: it runs in its own process group, the whole group is killed
// when ctx ends, and on Linux the kernel kills it when the test binary dies.
func Command(ctx context.Context, name string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.SysProcAttr = sysProcAttr()
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	return cmd
}

// process is a long-running child started with Command, so stopping it
// also stops whatever it started (the emulator's bootstrap, moto's threads).
type process struct {
	name string
	out  *syncbuf.Buffer
	// stop cancels the command's context: SIGTERM to the process group,
	// SIGKILL after the grace period (exec.Cmd's WaitDelay).
	stop context.CancelFunc
	done chan struct{}
	err  error // the Wait result, set before done is closed
}

// startProcess starts argv in dir with exactly env (nothing is inherited)
// and copies its output to log (when not nil, each line prefixed with
// "name: ") and to an in-memory tail. close gives it grace to exit after
// SIGTERM.
func startProcess(name, dir string, env map[string]string, log io.Writer, grace time.Duration, argv ...string) (*process, error) {
	ctx, stop := context.WithCancel(context.Background())
	cmd := Command(ctx, argv[0], argv[1:]...)
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM) }
	cmd.WaitDelay = grace
	cmd.Dir = dir
	cmd.Env = make([]string, 0, len(env)) // not nil: nil inherits this process's
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	out := &syncbuf.Buffer{Max: 1 << 20}
	var w io.Writer = out
	if log != nil {
		w = io.MultiWriter(out, &prefixWriter{prefix: name + ": ", w: log})
	}
	cmd.Stdout = w
	cmd.Stderr = w
	if err := cmd.Start(); err != nil {
		stop()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	p := &process{name: name, out: out, stop: stop, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		// Whatever the group leader left behind.
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		close(p.done)
	}()
	return p, nil
}

// close stops the process (see process.stop) and waits until it and its
// group are gone. It is safe to call more than once.
func (p *process) close() {
	p.stop()
	<-p.done
}

// waitReady calls ready every interval until it reports true, the process
// exits, ready fails or timeout passes.
func (p *process) waitReady(ctx context.Context, timeout, interval time.Duration, ready func(context.Context) (bool, error)) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		ok, err := ready(ctx)
		switch {
		case err != nil:
			return fmt.Errorf("%s: %w\n%s", p.name, err, p.out)
		case ok:
			return nil
		}
		select {
		case <-p.done: // even a clean exit is too early
			return fmt.Errorf("%s exited: %w\n%s", p.name, cmp.Or(p.err, errors.New("exit status 0")), p.out)
		case <-ctx.Done():
			return fmt.Errorf("%s not ready after %s: %w\n%s", p.name, timeout, ctx.Err(), p.out)
		case <-tick.C:
		}
	}
}

// listening is a readiness check: something accepts connections on addr.
func listening(addr string) func(context.Context) (bool, error) {
	var d net.Dialer
	return func(ctx context.Context) (bool, error) {
		c, err := d.DialContext(ctx, "tcp", addr)
		if err != nil {
			return false, nil
		}
		c.Close()
		return true, nil
	}
}

// onFreePorts calls start with n free loopback addresses ("127.0.0.1:P")
// until it succeeds, three times at most: another process may take a port
// before the child binds it.
func onFreePorts(n int, start func(addrs []string) error) error {
	var err error
	for range 3 {
		addrs, aerr := freeAddrs(n)
		if aerr != nil {
			return aerr
		}
		if err = start(addrs); err == nil {
			return nil
		}
	}
	return err
}

func freeAddrs(n int) ([]string, error) {
	addrs := make([]string, n)
	for i := range addrs {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		defer l.Close() // open until all n are drawn, so that they differ
		addrs[i] = l.Addr().String()
	}
	return addrs, nil
}

// prefixWriter writes each line with a prefix; partial lines wait for their end.
type prefixWriter struct {
	mu      sync.Mutex
	prefix  string
	w       io.Writer
	pending []byte
}

func (w *prefixWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.pending = append(w.pending, p...)
	for {
		line, rest, ok := bytes.Cut(w.pending, []byte("\n"))
		if !ok {
			return len(p), nil
		}
		w.pending = rest
		if _, err := fmt.Fprintf(w.w, "%s%s\n", w.prefix, line); err != nil { // one Write a line
			return len(p), err
		}
	}
}
