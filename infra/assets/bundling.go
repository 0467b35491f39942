// Package assets builds the functions' Lambda code: each functions/<name>
// cross-compiled on the host into an arm64 "bootstrap" (no Docker).
package assets

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3assets"
	"github.com/aws/jsii-runtime-go"
)

// goBundler cross-compiles one function into the asset's output directory
// as an arm64 "bootstrap", on the host (no Docker). CDK calls TryBundle
// through jsii, which needs a pointer receiver value.
type goBundler struct {
	root string // the module root (holds go.mod)
	pkg  string // e.g. ./functions/detect
}

// TryBundle implements awscdk.ILocalBundling.
func (b *goBundler) TryBundle(outputDir *string, _ *awscdk.BundlingOptions) *bool {
	cmd := exec.Command("go", "build", "-tags", "lambda.norpc", "-trimpath", "-buildvcs=false",
		"-ldflags=-s -w", "-o", filepath.Join(*outputDir, "bootstrap"), b.pkg)
	cmd.Dir = b.root
	cmd.Env = append(os.Environ(), "GOOS=linux", "GOARCH=arm64", "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		// Returning false would make CDK fall back to Docker, which hides
		// the compiler's message; fail here instead.
		panic(fmt.Sprintf("bundle %s: go build: %v\n%s", b.pkg, err, out))
	}
	return jsii.Bool(true)
}

// FunctionCode is the Lambda code of functions/<name>, built by goBundler.
// The asset hash is that of the output, so the source tree (which holds
// cdk.out) is never fingerprinted or copied.
func FunctionCode(root, name string) awslambda.Code {
	return awslambda.Code_FromAsset(jsii.String(filepath.Join(root, "functions", name)), &awss3assets.AssetOptions{
		AssetHashType: awscdk.AssetHashType_OUTPUT,
		Bundling: &awscdk.BundlingOptions{
			// Never pulled: the local bundler always succeeds or panics.
			Image: awscdk.DockerImage_FromRegistry(jsii.String("public.ecr.aws/docker/library/golang:1")),
			Local: &goBundler{root: root, pkg: "./functions/" + name},
		},
	})
}
