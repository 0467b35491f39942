// Package cdkenv prepares a process that synthesizes the CDK app
// in-process: jsii runs the CDK's JavaScript in a node child process, which
// has to be told that the machine's Node 20 is known to be past its end of
// life (else every synthesis prints a banner) and has to be stopped before
// the process exits. The TestMains that synthesize and the demo use it.
package cdkenv

import (
	"os"

	"github.com/aws/jsii-runtime-go"
)

// silenceNodeEOL names the Node major version jsii should not warn about
// (its value must be the major version); the Makefile exports it too.
const silenceNodeEOL = "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION"

// Run sets jsii's environment (a value already set wins), runs f, stops
// jsii's node process if f started one, and returns f's result:
// os.Exit(cdkenv.Run(m.Run)) in a TestMain.
func Run(f func() int) int {
	if os.Getenv(silenceNodeEOL) == "" {
		os.Setenv(silenceNodeEOL, "20")
	}
	defer jsii.Close()
	return f()
}
