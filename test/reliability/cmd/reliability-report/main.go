// Command reliability-report prints the table of a reliability run from the
// JSON-lines file the scenarios recorded (reliability.EnvReport) and exits 1
// unless every scenario (reliability.Scenarios) ran and every run passed.
//
//	reliability-report .reliability/results.jsonl
package main

import (
	"fmt"
	"os"
	"strings"

	"github.com/ecslogfix/ecslogfix/test/reliability"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: reliability-report RESULTS.jsonl")
		os.Exit(2)
	}
	f, err := os.Open(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, "reliability-report:", err)
		os.Exit(1)
	}
	results, err := reliability.ReadResults(f)
	f.Close()
	if err != nil {
		fmt.Fprintln(os.Stderr, "reliability-report:", err)
		os.Exit(1)
	}
	sum := reliability.Summarize(results)
	fmt.Print(reliability.Markdown(sum))
	if missing := reliability.Missing(sum); len(missing) > 0 {
		fmt.Fprintf(os.Stderr, "reliability-report: %d of %d scenarios have no row (failed before recording, or not run): %s\n",
			len(missing), len(reliability.Scenarios), strings.Join(missing, ", "))
	}
	if !reliability.AllPassed(sum) {
		fmt.Fprintln(os.Stderr, "reliability-report: not every scenario passed (or none ran)")
		os.Exit(1)
	}
}
