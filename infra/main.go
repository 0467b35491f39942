// Command infra is ecslogfix's CDK app. `npx cdk synth` (cdk.json: "go run
// ./infra") and `go run ./infra` both synthesize into cdk.out. The
// configuration comes from cdk.json's context and -c key=value; see
// docs/configuration.md. It exits non-zero when cdk-nag reports an
// unsuppressed AwsSolutions error.
package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"

	"github.com/ecslogfix/ecslogfix/infra/stacks"
)

func main() {
	os.Exit(run())
}

func run() int {
	// The machine's Node.js may be one the jsii runtime warns about in a
	// large banner on every run (Node 20 reached end of life on
	// 2026-04-30); the value names the major version it may stay quiet
	// about. The CDK CLI path sets it in the Makefile too.
	if os.Getenv("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION") == "" {
		os.Setenv("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
	}
	defer jsii.Close()
	root, err := stacks.ModuleRoot(".")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	props := &awscdk.AppProps{}
	if os.Getenv("CDK_CONTEXT_JSON") == "" { // not run by the CDK CLI
		ctx, err := stacks.CDKJSONContext(root)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		props.Context = &ctx
	}
	if os.Getenv("CDK_OUTDIR") == "" { // else the App picks a temporary directory
		props.Outdir = jsii.String(filepath.Join(root, "cdk.out"))
	}
	app := awscdk.NewApp(props)
	cfg, err := stacks.ConfigFromApp(app)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	var env *awscdk.Environment
	if a, r := os.Getenv("CDK_DEFAULT_ACCOUNT"), os.Getenv("CDK_DEFAULT_REGION"); a != "" && r != "" {
		env = &awscdk.Environment{Account: jsii.String(a), Region: jsii.String(r)}
	}
	built := stacks.Build(app, cfg, stacks.Options{Root: root, Env: env})
	app.Synth(nil)
	failed := false
	for _, s := range built {
		for _, w := range stacks.Warnings(s) {
			fmt.Fprintln(os.Stderr, "warning:", w)
		}
		errs, warns := stacks.NagFindings(s)
		for _, w := range warns {
			fmt.Fprintln(os.Stderr, "cdk-nag warning:", w)
		}
		for _, e := range errs {
			fmt.Fprintln(os.Stderr, "cdk-nag error:", e)
			failed = true
		}
	}
	if failed {
		fmt.Fprintln(os.Stderr, "cdk-nag: unsuppressed AwsSolutions errors (fix or suppress with a reason)")
		return 1
	}
	return 0
}
