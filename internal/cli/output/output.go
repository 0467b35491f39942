// Package output is the one renderer of the command line's results: the
// -o text|json|csv flag every command has (html for a document), results
// written as they come (JSON as one array, CSV as a header and a row each,
// text as each command's table says) and the summary after them.
package output

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/ecslogfix/ecslogfix/internal/escape"
)

// Format is an output format: the -o flag, the same on every command.
type Format string

// Formats.
const (
	FormatText Format = "text" // for people; scan's is a table
	FormatJSON Format = "json" // one array of results
	FormatCSV  Format = "csv"  // a header row, then one row a result
	FormatHTML Format = "html" // one self-contained page (report only)
)

// String, Set and Type make *Format a flag value, so a wrong -o is a usage
// error when the command line is parsed.
func (f *Format) String() string { return string(*f) }

// Set accepts text, json and csv, and scan's older name for text, table.
func (f *Format) Set(s string) error {
	switch Format(s) {
	case FormatText, FormatJSON, FormatCSV:
		*f = Format(s)
	case "table":
		*f = FormatText
	default:
		return errors.New("must be text, json or csv")
	}
	return nil
}

// Type names the value in --help.
func (f *Format) Type() string { return "format" }

// AddFlag adds -o/--output to cmd.
func AddFlag(cmd *cobra.Command, f *Format) {
	*f = FormatText
	cmd.Flags().VarP(f, "output", "o", "output format: text, json or csv")
}

// documentFormat is -o of a command whose result is one document: the
// formats of Format, and html.
type documentFormat struct{ f *Format }

func (d documentFormat) String() string { return string(*d.f) }
func (d documentFormat) Type() string   { return "format" }
func (d documentFormat) Set(s string) error {
	if Format(s) == FormatHTML {
		*d.f = FormatHTML
		return nil
	}
	if err := d.f.Set(s); err != nil {
		return errors.New("must be text, json, csv or html")
	}
	return nil
}

// AddDocumentFlag adds -o/--output, with html, to cmd.
func AddDocumentFlag(cmd *cobra.Command, f *Format) {
	*f = FormatText
	cmd.Flags().VarP(documentFormat{f}, "output", "o", "output format: text, json, csv or html")
}

// Document is a result rendered whole: JSON is the value itself, CSV its
// rows (through the same escaping as every other CSV), text and HTML as it
// writes them.
type Document interface {
	Rows() [][]string
	Text(w io.Writer) error
	HTML(w io.Writer) error
}

// RenderDocument writes d in format f to w.
func RenderDocument(w, errw io.Writer, f Format, columns []string, d Document) error {
	switch f {
	case FormatJSON:
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		return enc.Encode(d)
	case FormatCSV:
		p, err := NewPrinter(w, errw, f, Table[[]string]{Columns: columns, Row: func(r []string) []string { return r }})
		if err != nil {
			return err
		}
		for _, r := range d.Rows() {
			if err := p.Print(r); err != nil {
				return err
			}
		}
		return p.Finish("")
	case FormatHTML:
		return d.HTML(w)
	}
	return d.Text(w)
}

// Table says how one kind of result is rendered: its CSV columns and row,
// and its text form. JSON needs nothing: it is the result's own encoding,
// whose field names are the documented interface.
type Table[T any] struct {
	Columns []string
	Row     func(T) []string
	// Text writes one result; n counts the results written before it.
	Text func(w io.Writer, v T, n int)
	// Header, when set, heads the text output, whose tab-separated
	// columns are then aligned.
	Header string
}

// Printer is the one renderer of every command's results. It writes them
// as they come, so memory does not grow with their number: JSON as one
// array, CSV as a header and a row each, text as the table says. Lines for
// people (notes, the summary) go to stdout with text and to stderr with
// JSON and CSV, so that stdout is only data.
type Printer[T any] struct {
	format    Format
	out, errw io.Writer
	t         Table[T]
	w         io.Writer // out, or the aligning writer over it
	csv       *csv.Writer
	tab       *tabwriter.Writer
	n         int
}

func NewPrinter[T any](out, errw io.Writer, f Format, t Table[T]) (*Printer[T], error) {
	p := &Printer[T]{format: f, out: out, errw: errw, t: t, w: out}
	switch f {
	case FormatCSV:
		p.csv = csv.NewWriter(out)
		if err := p.csv.Write(t.Columns); err != nil {
			return nil, err
		}
	case FormatText:
		if t.Header != "" {
			p.tab = tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
			p.w = p.tab
			fmt.Fprintln(p.tab, t.Header)
		}
	}
	return p, nil
}

// Print writes one result.
func (p *Printer[T]) Print(v T) error {
	defer func() { p.n++ }()
	switch p.format {
	case FormatJSON:
		var b bytes.Buffer
		enc := json.NewEncoder(&b)
		enc.SetIndent("  ", "  ")
		// Commands hold <, > and & (placeholders, shell): keep them
		// readable; JSON does not need them escaped.
		enc.SetEscapeHTML(false)
		if err := enc.Encode(v); err != nil {
			return err
		}
		sep := ",\n  "
		if p.n == 0 {
			sep = "[\n  "
		}
		_, err := fmt.Fprintf(p.out, "%s%s", sep, bytes.TrimSuffix(b.Bytes(), []byte("\n")))
		return err
	case FormatCSV:
		// Every cell may quote the input or the account: escaped, and a
		// leading formula character guarded (escape.CSV).
		row := p.t.Row(v)
		for i := range row {
			row[i] = escape.CSV(row[i])
		}
		return p.csv.Write(row)
	}
	p.t.Text(p.w, v, p.n)
	return nil
}

// Note writes a line for people among the results.
func (p *Printer[T]) Note(format string, args ...any) {
	w := p.w
	if p.format != FormatText {
		w = p.errw
	}
	fmt.Fprintf(w, format+"\n", args...)
}

// Finish ends the output and writes summary (if any) after it: with text
// after a blank line.
func (p *Printer[T]) Finish(summary string) error {
	var err error
	switch p.format {
	case FormatJSON:
		closing := "\n]\n"
		if p.n == 0 {
			closing = "[]\n"
		}
		_, err = io.WriteString(p.out, closing)
	case FormatCSV:
		p.csv.Flush()
		err = p.csv.Error()
	default:
		if p.tab != nil {
			err = p.tab.Flush()
		}
	}
	if err != nil || summary == "" {
		return err
	}
	if p.format == FormatText {
		_, err = fmt.Fprintf(p.out, "\n%s\n", summary)
		return err
	}
	_, err = fmt.Fprintln(p.errw, summary)
	return err
}

// Summary is what a streaming command counts: its line for people and
// the exit status it ends with.
type Summary interface {
	String() string
	Exit() error
}

// Stream runs a command whose results are printed as run produces them,
// then its summary, and ends with the summary's exit status.
func Stream[T any, S Summary](stdout, stderr io.Writer, format Format, t Table[T], run func(emit func(T) error) (S, error)) error {
	p, err := NewPrinter(stdout, stderr, format, t)
	if err != nil {
		return err
	}
	sum, err := run(p.Print)
	if err != nil {
		// Close what was written (a JSON array stays valid, CSV and
		// tables are flushed); the error is the last line. Without a
		// result there is nothing to close: only the error is printed.
		if p.n > 0 {
			_ = p.Finish("")
		}
		return err
	}
	if err := p.Finish(sum.String()); err != nil {
		return err
	}
	return sum.Exit()
}
