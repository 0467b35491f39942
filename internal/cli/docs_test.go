package cli

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"text/template"
)

// docsPath is the generated command reference.
const docsPath = "../../docs/cli.md"

// TestDocs renders docs/cli.md from testdata/docs/cli.md.tmpl and the
// golden transcripts, so every example in it is real output. Run with
// -update (after the golden files) to rewrite it.
func TestDocs(t *testing.T) {
	tmpl, err := template.New("cli.md.tmpl").Funcs(template.FuncMap{
		// golden includes a transcript; part selects one of the runs in it.
		"golden": func(name string) (string, error) { return readGolden(name, -1) },
		"part":   func(name string, i int) (string, error) { return readGolden(name, i) },
	}).ParseFiles(filepath.Join("testdata", "docs", "cli.md.tmpl"))
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := tmpl.Execute(&b, nil); err != nil {
		t.Fatal(err)
	}
	if *update {
		if err := os.WriteFile(docsPath, b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	have, err := os.ReadFile(docsPath)
	if err != nil {
		t.Fatalf("%v (go test ./internal/cli -update)", err)
	}
	if !bytes.Equal(have, b.Bytes()) {
		t.Errorf("%s is out of date: go test ./internal/cli -update", docsPath)
	}
}

func readGolden(name string, part int) (string, error) {
	data, err := os.ReadFile(filepath.Join("testdata", "golden", name))
	if err != nil {
		return "", err
	}
	s := strings.TrimRight(string(data), "\n")
	if part >= 0 {
		parts := strings.Split(s, "\n\n$ ecslogfix ")
		s = parts[part]
		if part > 0 {
			s = "$ ecslogfix " + s
		}
	}
	return s, nil
}
