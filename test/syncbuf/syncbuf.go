// Package syncbuf is a bytes.Buffer safe for concurrent writers: tests
// collect the log lines of handlers, goroutines and child processes in one
// and read them while they run.
package syncbuf

import (
	"bytes"
	"sync"
)

// Buffer is an io.Writer whose contents can be read at any time. The zero
// value is ready to use.
type Buffer struct {
	// Max, when set, keeps only the last Max bytes: the tail of a
	// long-running child's output.
	Max int
	mu  sync.Mutex
	buf bytes.Buffer
}

// Write appends p.
func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf.Write(p)
	if over := b.buf.Len() - b.Max; b.Max > 0 && over > 0 {
		b.buf.Next(over)
	}
	return len(p), nil
}

// String returns everything written so far.
func (b *Buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
