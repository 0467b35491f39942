package docblock

import (
	"strings"
	"testing"
	"time"
)

func TestReplaceAndCommitted(t *testing.T) {
	m := MarkersFor("make x")
	doc := "intro\n" + m.Begin + "\nold\n" + m.End + "\nafter\n"
	out, err := m.Replace(doc, "new\n")
	if err != nil {
		t.Fatal(err)
	}
	if want := "intro\n" + m.Begin + "\nnew\n" + m.End + "\nafter\n"; out != want {
		t.Errorf("Replace = %q, want %q", out, want)
	}
	if got, err := m.Committed(out); err != nil || got != "new\n" {
		t.Errorf("Committed = %q, %v", got, err)
	}
	if _, err := m.Replace("no markers\n", "x"); err == nil {
		t.Error("Replace without markers: no error")
	}
	if _, err := MarkersFor("make y").Committed(doc); err == nil {
		t.Error("Committed of another generator's markers: no error")
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
	p := Provenance{Commit: "abc1234", Toolchain: "go1.26.10", Platform: Host(), Date: date}
	for name, block := range map[string]string{
		"no provenance": "| A | B |\n|---|---:|\n| z | 2 |\n",
		"other header":  Block(p, "| A | C |\n|---|---:|\n| z | 2 |\n"),
		"short row":     Block(p, header+"| z |\n"),
		"unknown commit": Block(Provenance{Commit: "unknown", Toolchain: "go1.26.10", Platform: Host(), Date: date},
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
	block := Block(Provenance{Commit: "abc1234", Toolchain: "go1.26.10", Platform: Host(), Date: time.Now()}, got)
	if rows, err := CheckShape(block, header, 2); err != nil || len(rows) != 1 {
		t.Errorf("CheckShape of Table's output = %q, %v", rows, err)
	}
}
