// Command vulnerable calls a function with a known vulnerability
// (GO-2021-0113 in golang.org/x/text v0.3.5). scripts/vulncheck.sh
// --selftest scans it to prove that the local database and govulncheck's
// exit status catch a reachable vulnerability. It is never built or run.
package main

import (
	"fmt"

	"golang.org/x/text/language"
)

func main() {
	t, err := language.Parse("en-US")
	fmt.Println(t, err)
}
