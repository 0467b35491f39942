// Command reliability-report prints the table of a reliability run from the
// JSON-lines file the scenarios recorded (reliability.EnvReport) and exits 1
// unless every scenario (reliability.Scenarios) ran and every run passed.
// With -doc it also writes the table, with the commit and toolchain it was
// measured on, into the generated block of that file (docs/reliability.md).
//
//	reliability-report [-doc docs/reliability.md -commit C] dist/reliability.jsonl
package main

import (
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/ecslogfix/ecslogfix/test/docblock"
	"github.com/ecslogfix/ecslogfix/test/reliability"
)

func main() {
	var out docblock.Output
	out.Flags(flag.CommandLine)
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: reliability-report [-doc FILE -commit C] RESULTS.jsonl")
		os.Exit(2)
	}
	f, err := os.Open(flag.Arg(0))
	if err != nil {
		fmt.Fprintln(os.Stderr, "reliability-report:", err)
		os.Exit(1)
	}
	results, err := docblock.ReadRows[reliability.Result](f)
	f.Close()
	if err != nil {
		fmt.Fprintln(os.Stderr, "reliability-report:", err)
		os.Exit(1)
	}
	sum := reliability.Summarize(results)
	table := reliability.Markdown(sum)
	fmt.Print(table)
	if _, err := out.Write(reliability.Doc, table, ""); err != nil {
		fmt.Fprintln(os.Stderr, "reliability-report:", err)
		os.Exit(1)
	}
	if missing := reliability.Missing(sum); len(missing) > 0 {
		fmt.Fprintf(os.Stderr, "reliability-report: %d of %d scenarios have no row (failed before recording, or not run): %s\n",
			len(missing), len(reliability.Scenarios), strings.Join(missing, ", "))
	}
	if !reliability.AllPassed(sum) {
		fmt.Fprintln(os.Stderr, "reliability-report: not every scenario passed (or none ran)")
		os.Exit(1)
	}
}
