package bench

import (
	"archive/zip"
	"compress/flate"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
)

// Build compiles the Lambda package pkg (e.g. ./functions/detect, relative
// to the module root dir) as a Linux bootstrap for goarch into out, with the
// flags the deployment uses.
func Build(ctx context.Context, dir, pkg, goarch, out string) error {
	cmd := exec.CommandContext(ctx, "go", "build", "-tags", "lambda.norpc", "-trimpath",
		"-ldflags=-s -w", "-o", out, pkg)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOOS=linux", "GOARCH="+goarch, "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build %s (%s): %w\n%s", pkg, goarch, err, b)
	}
	return nil
}

// ZipSize returns the size in bytes of a deployment zip holding bootstrap
// (deflate at the best compression, mode 0755), as Lambda would receive it.
func ZipSize(bootstrap string) (int64, error) {
	f, err := os.Open(bootstrap)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	var n countWriter
	zw := zip.NewWriter(&n)
	zw.RegisterCompressor(zip.Deflate, func(w io.Writer) (io.WriteCloser, error) {
		return flate.NewWriter(w, flate.BestCompression)
	})
	h := &zip.FileHeader{Name: filepath.Base(bootstrap), Method: zip.Deflate}
	h.SetMode(0o755)
	w, err := zw.CreateHeader(h)
	if err != nil {
		return 0, err
	}
	if _, err := io.Copy(w, f); err != nil {
		return 0, err
	}
	if err := zw.Close(); err != nil {
		return 0, err
	}
	return int64(n), nil
}

type countWriter int64

func (c *countWriter) Write(p []byte) (int, error) { *c += countWriter(len(p)); return len(p), nil }
