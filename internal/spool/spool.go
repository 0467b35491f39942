// Package spool holds an S3 object's bytes in a temporary file while they
// are produced, so a writer's memory stays flat in the object's size
// (docs/performance.md, "Memory flat in the number of families"), and
// writes the object from there: File is the temporary file, Upload an
// object written in one PutObject or in multipart parts.
package spool

import (
	"bufio"
	"fmt"
	"io"
	"os"
)

// File is a temporary file (Lambda's /tmp) that is unlinked as soon as it
// is made: the open descriptor keeps it, and nothing stays behind when a
// process or an invocation ends, however it ends.
type File struct {
	f *os.File
	w *bufio.Writer
	n int64
}

// New makes an empty File; the caller closes it.
func New() (*File, error) {
	f, err := os.CreateTemp("", "ecslogfix-spool-*")
	if err != nil {
		return nil, fmt.Errorf("spool: %w", err)
	}
	if err := os.Remove(f.Name()); err != nil {
		f.Close()
		return nil, fmt.Errorf("spool: %w", err)
	}
	return &File{f: f, w: bufio.NewWriter(f)}, nil
}

func (s *File) Write(p []byte) (int, error) {
	n, err := s.w.Write(p)
	s.n += int64(n)
	return n, err
}

// Len is the number of bytes written since the File was made or reset.
func (s *File) Len() int64 { return s.n }

// Body is what was written, as a body the SDK can sign, send and rewind
// for a retry. It is valid until the next Write, Reset or Close.
func (s *File) Body() (*io.SectionReader, error) {
	if err := s.w.Flush(); err != nil {
		return nil, fmt.Errorf("spool: %w", err)
	}
	return io.NewSectionReader(s.f, 0, s.n), nil
}

// Reset empties the File for reuse.
func (s *File) Reset() error {
	s.w.Reset(s.f)
	s.n = 0
	if err := s.f.Truncate(0); err != nil {
		return fmt.Errorf("spool: %w", err)
	}
	if _, err := s.f.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("spool: %w", err)
	}
	return nil
}

// Close closes the File, which frees it.
func (s *File) Close() { _ = s.f.Close() }
