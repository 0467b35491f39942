package check

import (
	"fmt"
	"io"
	"strings"

	"github.com/ecslogfix/ecslogfix/internal/escape"
	"github.com/ecslogfix/ecslogfix/internal/plan"
)

// DisplayName is how a file is named in output ("-" is standard input).
func DisplayName(f string) string {
	if f == "-" {
		return "<stdin>"
	}
	return f
}

// WriteText prints reports for people: one block per task definition,
// blocks separated by a blank line. Every string from the input is escaped.
func WriteText(w io.Writer, reports []Report) error {
	tw := &errWriter{w: w}
	for i, r := range reports {
		if i > 0 {
			tw.printf("\n")
		}
		writeReport(tw, r)
	}
	return tw.err
}

// WriteReport prints one report as WriteText does.
func WriteReport(w io.Writer, r Report) error {
	ew := &errWriter{w: w}
	writeReport(ew, r)
	return ew.err
}

func writeReport(w *errWriter, r Report) {
	name := escape.Text(DisplayName(r.File))
	if r.Error != "" {
		w.printf("%s: ERROR %s\n", name, escape.Text(r.Error))
		return
	}
	v := string(r.Verdict)
	if r.Exempt {
		v += " (exempt)"
	}
	w.printf("%s: %s %s\n", location(name, r.Line, r.Format.IsTaskDefinitionFile()), subject(r), v)
	for _, u := range r.Unresolved {
		writeValue(w, "  ", u)
	}
	for i, c := range r.Containers {
		cname := escape.Text(c.Name)
		if cname == "" {
			cname = fmt.Sprintf("#%d", i+1)
		}
		if c.Line > 0 && !r.Format.IsTaskDefinitionFile() {
			cname += fmt.Sprintf(" (line %d)", c.Line)
		}
		w.printf("  container %-24s %s\n", cname, containerText(c))
		for _, u := range c.Unresolved {
			writeValue(w, "    ", u)
		}
	}
	WritePlan(w, r.Plan, "  ")
}

func location(name string, line int, taskDefinitionFile bool) string {
	if line == 0 || taskDefinitionFile {
		return name
	}
	return fmt.Sprintf("%s:%d", name, line)
}

// subject names the task definition: family:revision for a task
// definition file, the resource for infrastructure as code.
func subject(r Report) string {
	fam := escape.Text(r.Family)
	if r.Format.IsTaskDefinitionFile() || r.Format == "" {
		if r.Revision != 0 {
			return fmt.Sprintf("%s:%d", fam, r.Revision)
		}
		return fam
	}
	s := escape.Text(r.Resource)
	var notes []string
	if r.ConstructPath != "" {
		notes = append(notes, s)
		s = escape.Text(r.ConstructPath)
	}
	if fam != "" {
		notes = append(notes, "family "+fam)
	}
	if len(notes) > 0 {
		s += " (" + strings.Join(notes, ", ") + ")"
	}
	return s
}

func containerText(c Container) string {
	if c.Verdict == Compliant {
		return "ok"
	}
	codes := make([]string, 0, len(c.Reasons)+1)
	for _, rc := range c.Reasons {
		codes = append(codes, string(rc))
	}
	if c.Verdict == Unresolved {
		codes = append(codes, string(Unresolved))
	}
	return strings.Join(codes, ", ")
}

func writeValue(w *errWriter, indent string, u Value) {
	line := ""
	if u.Line > 0 {
		line = fmt.Sprintf(" (line %d)", u.Line)
	}
	w.printf("%sunresolved: %s = %s%s: %s\n", indent, escape.Text(u.Field), escape.Text(u.Expr), line, u.CompliantWhen)
}

// WritePlan prints a plan's blockers and diff, indented, with every line
// escaped (the diff quotes names and option values from the input).
func WritePlan(w io.Writer, p *plan.Plan, indent string) {
	ew, ok := w.(*errWriter)
	if !ok {
		ew = &errWriter{w: w}
	}
	writePlan(ew, p, indent)
}

func writePlan(w *errWriter, p *plan.Plan, indent string) {
	if p == nil {
		return
	}
	diff := strings.TrimRight(p.Diff(), "\n")
	if diff == "" {
		for _, b := range p.Blockers {
			w.printf("%sblocked: %s: %s\n", indent, b.Code, escape.Text(b.Message))
		}
	}
	switch {
	case p.Exempt:
		w.printf("%splan: none (exempt)\n", indent)
	case p.Changed == nil && len(p.Blockers) == 0 && p.Compliant:
		w.printf("%splan: nothing to change\n", indent)
	default:
		if diff != "" {
			w.printf("%splan:\n", indent)
			for _, line := range strings.Split(diff, "\n") {
				w.printf("%s  %s\n", indent, escape.Text(line))
			}
		}
		for _, lg := range p.LogGroups {
			w.printf("%slog group: %s (%s, retention %s)\n", indent, escape.Text(lg.Name), escape.Text(lg.Region), retention(lg.RetentionDays))
		}
	}
}

func retention(days int32) string {
	if days == 0 {
		return "never expires"
	}
	return fmt.Sprintf("%d days", days)
}

// errWriter keeps the first write error.
type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) Write(p []byte) (int, error) {
	if e.err != nil {
		return 0, e.err
	}
	n, err := e.w.Write(p)
	e.err = err
	return n, err
}

func (e *errWriter) printf(format string, args ...any) {
	fmt.Fprintf(e, format, args...)
}
