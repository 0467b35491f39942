package main

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// TestCommittedFileIsCurrent: the committed td42 is what Generate writes
// (regenerate with `go run ./internal/taskdef/internal/gen` from the root).
func TestCommittedFileIsCurrent(t *testing.T) {
	got, err := Generate()
	if err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile(filepath.Join("..", "..", "..", "..", Path))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s is stale: run go run ./internal/taskdef/internal/gen from the repository root", Path)
	}
}
