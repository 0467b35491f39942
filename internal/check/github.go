package check

import (
	"fmt"
	"io"

	"github.com/ecslogfix/ecslogfix/internal/escape"
)

// WriteGitHub writes reports as GitHub Actions workflow commands: an
// ::error annotation per reason of each non-compliant container, a
// ::warning per unresolved value, a ::notice per exempt finding, an ::error
// per unreadable file, then one summary line. Every value from the input
// is escaped (escape.WorkflowProperty, escape.WorkflowMessage), so that no
// name can end an annotation or start a command of its own.
func WriteGitHub(w io.Writer, reports []Report) error {
	ew := &errWriter{w: w}
	counts := map[Verdict]int{}
	errs, exempt := 0, 0
	annotate := func(level string, r Report, line int, title, msg string) {
		if r.Exempt {
			level = "notice"
			msg = "(exempt) " + msg
		}
		props := "file=" + escape.WorkflowProperty(r.File)
		if r.File == "-" {
			props = "file=" + escape.WorkflowProperty("stdin")
		}
		if line > 0 {
			props += fmt.Sprintf(",line=%d", line)
		}
		props += ",title=" + escape.WorkflowProperty(title)
		ew.printf("::%s %s::%s\n", level, props, escape.WorkflowMessage(msg))
	}
	for _, r := range reports {
		if r.Error != "" {
			errs++
			annotate("error", Report{File: r.File}, r.Line, "ecslogfix: unreadable input", r.Error)
			continue
		}
		counts[r.Verdict]++
		if r.Exempt {
			exempt++
		}
		for _, u := range r.Unresolved {
			annotate("warning", r, u.Line, "ecslogfix "+RuleUnresolved, unresolvedMessage(r, "", u))
		}
		for _, c := range r.Containers {
			for _, reason := range c.Reasons {
				annotate("error", r, c.Line, "ecslogfix "+string(reason), findingMessage(r, c, reason))
			}
			if c.Verdict == Unresolved {
				for _, u := range c.Unresolved {
					annotate("warning", r, u.Line, "ecslogfix "+RuleUnresolved, unresolvedMessage(r, c.Name, u))
				}
			}
		}
	}
	ew.printf("ecslogfix check: %d task definitions: %d compliant, %d non-compliant, %d unresolved (%d exempt); %d unreadable inputs\n",
		counts[Compliant]+counts[NonCompliant]+counts[Unresolved], counts[Compliant], counts[NonCompliant], counts[Unresolved], exempt, errs)
	return ew.err
}
