package harness

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"sync"
	"syscall"
	"time"
)

// process is a child started in its own process group, so stopping it also
// stops whatever it started (the emulator's bootstrap, moto's threads).
type process struct {
	name string
	cmd  *exec.Cmd
	out  *tailBuffer
	done chan struct{}
	err  error // the Wait result, set before done is closed

	stopOnce sync.Once
	stopErr  error
}

// startProcess starts argv in dir with exactly env (nothing is inherited)
// and copies its output to log (when not nil) and to an in-memory tail.
func startProcess(name, dir string, env []string, log io.Writer, argv ...string) (*process, error) {
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir = dir
	cmd.Env = env
	out := &tailBuffer{max: 1 << 20}
	var w io.Writer = out
	if log != nil {
		w = io.MultiWriter(out, &prefixWriter{prefix: name + ": ", w: log})
	}
	cmd.Stdout = w
	cmd.Stderr = w
	cmd.SysProcAttr = sysProcAttr()
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	p := &process{name: name, cmd: cmd, out: out, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

// exited is closed when the process has exited.
func (p *process) exited() <-chan struct{} { return p.done }

// exitError describes how the process ended (call after exited is closed).
func (p *process) exitError() error {
	if p.err == nil {
		return fmt.Errorf("%s exited", p.name)
	}
	return fmt.Errorf("%s exited: %w", p.name, p.err)
}

// logs returns the tail of the process's output.
func (p *process) logs() string { return p.out.String() }

// stop sends SIGTERM to the process group, then SIGKILL after grace. It is
// safe to call more than once.
func (p *process) stop(grace time.Duration) error {
	p.stopOnce.Do(func() {
		select {
		case <-p.done:
			return
		default:
		}
		pgid := p.cmd.Process.Pid
		_ = syscall.Kill(-pgid, syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(grace):
			_ = syscall.Kill(-pgid, syscall.SIGKILL)
			select {
			case <-p.done:
			case <-time.After(5 * time.Second):
				p.stopErr = fmt.Errorf("%s (pid %d) did not exit after SIGKILL", p.name, pgid)
				return
			}
		}
		// Whatever the group leader left behind.
		if err := syscall.Kill(-pgid, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
			p.stopErr = fmt.Errorf("kill %s group: %w", p.name, err)
		}
	})
	return p.stopErr
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
	max int
}

func (b *tailBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf.Write(p)
	if over := b.buf.Len() - b.max; over > 0 {
		b.buf.Next(over)
	}
	return len(p), nil
}

func (b *tailBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
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
		i := bytes.IndexByte(w.pending, '\n')
		if i < 0 {
			break
		}
		line := append([]byte(w.prefix), w.pending[:i+1]...)
		w.pending = w.pending[i+1:]
		if _, err := w.w.Write(line); err != nil {
			return len(p), err
		}
	}
	return len(p), nil
}
