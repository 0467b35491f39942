package bench

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"io"
	"os"
	"path/filepath"
)

// ZipSize returns the size in bytes of a deployment zip holding bootstrap
// (deflate at the best compression, mode 0755), as Lambda would receive it.
func ZipSize(bootstrap string) (int64, error) {
	f, err := os.Open(bootstrap)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
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
	return int64(b.Len()), nil
}
