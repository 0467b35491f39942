package docblock

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestWriteFileAndRead(t *testing.T) {
	m := MarkersFor("make x")
	dir := t.TempDir()
	path := filepath.Join(dir, "doc.md")
	if err := os.WriteFile(path, []byte("intro\n"+m.Begin+"\nold\n"+m.End+"\nafter\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := m.WriteFile(path, "new\n"); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if want := "intro\n" + m.Begin + "\nnew\n" + m.End + "\nafter\n"; err != nil || string(b) != want {
		t.Errorf("WriteFile wrote %q (%v), want %q", b, err, want)
	}
	if _, got, _, err := m.read(path); err != nil || got != "new\n" {
		t.Errorf("read = %q, %v", got, err)
	}
	if _, _, _, err := MarkersFor("make y").read(path); err == nil {
		t.Error("read of another generator's markers: no error")
	}
	bare := filepath.Join(dir, "bare.md")
	if err := os.WriteFile(bare, []byte("no markers\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := m.WriteFile(bare, "x"); err == nil {
		t.Error("WriteFile without markers: no error")
	}
}

func TestBlockHasTheShapeCheckShapeAccepts(t *testing.T) {
	header := "| A | B |\n|---|---:|\n"
	table := header + "| x \\| y | 1 |\n| z | 2 |\n"
	date := time.Date(2026, 12, 1, 17, 5, 0, 0, time.UTC)
	for _, note := range []string{"", "load average 1.00 2.00 3.00"} {
		p := Provenance{Commit: "abc1234-dirty", Toolchain: "go1.26.10", Platform: "linux/amd64, 2 CPUs", Date: date, Note: note}
		block := Block(p, table)
		if !strings.HasPrefix(block, "Measured on commit abc1234-dirty, go1.26.10, linux/amd64, 2 CPUs, 2026-12-01T17:05Z") {
			t.Errorf("Block = %q", block)
		}
		rows, err := CheckShape(block, header, 2)
		if err != nil || len(rows) != 2 {
			t.Errorf("CheckShape(Block) = %d rows, %v", len(rows), err)
		}
	}
	p := Provenance{Commit: "abc1234", Toolchain: "go1.26.10", Platform: "linux/amd64, 2 CPUs", Date: date}
	for name, block := range map[string]string{
		"no provenance": "| A | B |\n|---|---:|\n| z | 2 |\n",
		"other header":  Block(p, "| A | C |\n|---|---:|\n| z | 2 |\n"),
		"short row":     Block(p, header+"| z |\n"),
		"unknown commit": Block(Provenance{Commit: "unknown", Toolchain: "go1.26.10", Platform: "linux/amd64, 2 CPUs", Date: date},
			table),
	} {
		if _, err := CheckShape(block, header, 2); err == nil {
			t.Errorf("%s: CheckShape accepted %q", name, block)
		}
	}
}

func TestTableEscapesPipes(t *testing.T) {
	header := "| A | B |\n|---|---|\n"
	got := Table(header, [][]string{{"x|y", ""}})
	if want := header + "| x\\|y |  |\n"; got != want {
		t.Errorf("Table = %q, want %q", got, want)
	}
	block := Block(Provenance{Commit: "abc1234", Toolchain: "go1.26.10", Platform: "linux/amd64, 2 CPUs", Date: time.Now()}, got)
	if rows, err := CheckShape(block, header, 2); err != nil || len(rows) != 1 {
		t.Errorf("CheckShape of Table's output = %q, %v", rows, err)
	}
}
