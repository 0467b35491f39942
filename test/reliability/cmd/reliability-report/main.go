// Command reliability-report prints the table of a reliability run from the
// JSON-lines file the scenarios recorded (reliability.EnvReport) and exits 1
// unless every scenario (reliability.Scenarios) ran and every run passed.
// With -doc it also writes the table, with the commit and toolchain it was
// measured on, into the generated block of that file (docs/reliability.md).
//
//	reliability-report [-doc docs/reliability.md -commit C -toolchain T] dist/reliability.jsonl
package main

import (
	"flag"
	"fmt"
	"os"
	"runtime"
	"strings"
	"time"

	"github.com/ecslogfix/ecslogfix/test/docblock"
	"github.com/ecslogfix/ecslogfix/test/jsonlines"
	"github.com/ecslogfix/ecslogfix/test/reliability"
)

func main() {
	doc := flag.String("doc", "", "write the table into this file's generated block")
	commit := flag.String("commit", "unknown", "the commit measured (with -doc)")
	toolchain := flag.String("toolchain", runtime.Version(), "the Go toolchain measured (with -doc)")
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: reliability-report [-doc FILE -commit C -toolchain T] RESULTS.jsonl")
		os.Exit(2)
	}
	f, err := os.Open(flag.Arg(0))
	if err != nil {
		fmt.Fprintln(os.Stderr, "reliability-report:", err)
		os.Exit(1)
	}
	results, err := jsonlines.Read[reliability.Result](f)
	f.Close()
	if err != nil {
		fmt.Fprintln(os.Stderr, "reliability-report:", err)
		os.Exit(1)
	}
	sum := reliability.Summarize(results)
	fmt.Print(reliability.Markdown(sum))
	if *doc != "" {
		p := docblock.Provenance{Commit: *commit, Toolchain: *toolchain, Platform: docblock.Host(), Date: time.Now()}
		if err := reliability.Doc.WriteFile(*doc, docblock.Block(p, reliability.Markdown(sum))); err != nil {
			fmt.Fprintln(os.Stderr, "reliability-report:", err)
			os.Exit(1)
		}
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
