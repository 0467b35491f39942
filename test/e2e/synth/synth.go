// Package synth synthesizes ecslogfix's single-account stack in-process
// (the CDK app's own code, infra/stacks) for the end-to-end harness: the
// template with its references resolved to moto names, and which
// repository package each function is built from. Callers run inside
// cdkenv.Run (test/cdkenv), which stops jsii's node process.
package synth

import (
	"fmt"
	"slices"

	"github.com/ecslogfix/ecslogfix/infra/stacks"
	"github.com/ecslogfix/ecslogfix/internal/config"
	"github.com/ecslogfix/ecslogfix/internal/config/naming"
	"github.com/ecslogfix/ecslogfix/test/e2e/harness"
)

// Stack is the synthesized single-account stack.
type Stack struct {
	Config   config.Config
	Template *harness.Template
	// Packages maps each function's name to its main package.
	Packages map[string]string
	// Dir is the cloud assembly directory.
	Dir string
}

// Synthesize synthesizes the stack of mode (config.ModeSingle, or
// config.ModeOrganization: the hub, its member StackSets included, whose
// overrides must name the organization, the target OUs, the regions and
// the IAM region) from root/cdk.json's context with overrides applied
// (context keys, e.g. "ecslogfix:enforcement") into outdir.
func Synthesize(root, outdir, mode string, overrides map[string]any) (*Stack, error) {
	ctx, err := stacks.CDKJSONContext(root)
	if err != nil {
		return nil, fmt.Errorf("read cdk.json: %w", err)
	}
	cfg, err := config.Load(func(k string) (any, bool) {
		v, ok := overrides[k]
		if !ok {
			v, ok = ctx[k]
		}
		return v, ok && v != nil
	})
	if err != nil {
		return nil, err
	}
	cfg.Mode = mode
	syn, err := stacks.Synth(cfg, root, outdir)
	if err != nil {
		return nil, fmt.Errorf("synthesize: %w", err)
	}
	names := cfg.Names()
	pkgs := map[string]string{}
	for _, fn := range slices.Concat(naming.Functions(), []string{naming.FunctionReport}) {
		pkgs[names.Function(fn)] = "./functions/" + fn
	}
	return &Stack{
		Config:   cfg,
		Template: harness.NewTemplate(stacks.StackName(cfg), map[string]any(syn.Template)),
		Packages: pkgs,
		Dir:      outdir,
	}, nil
}
