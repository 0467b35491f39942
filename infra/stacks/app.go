package stacks

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"

	"github.com/ecslogfix/ecslogfix/internal/config"
)

// StackName is the CloudFormation name of the deployed stack: the prefix in
// single mode, "<prefix>-hub" in organization mode.
func StackName(cfg config.Config) string {
	if cfg.Mode == config.ModeOrganization {
		return cfg.Prefix + "-hub"
	}
	return cfg.Prefix
}

// Build adds the stacks of cfg to app and returns them.
func Build(app awscdk.App, cfg config.Config, opts Options) []awscdk.Stack {
	if cfg.Mode == config.ModeOrganization {
		return []awscdk.Stack{NewHubStack(app, StackName(cfg), cfg, opts)}
	}
	return []awscdk.Stack{NewSingleStack(app, StackName(cfg), cfg, opts)}
}

// ConfigFromApp loads the configuration from app's context and refuses
// unknown ecslogfix: keys.
func ConfigFromApp(app awscdk.App) (config.Config, error) {
	all, _ := app.Node().GetAllContext(nil).(map[string]any)
	keys := make([]string, 0, len(all))
	for k := range all {
		keys = append(keys, k)
	}
	if unknown := config.UnknownKeys(keys); len(unknown) > 0 {
		return config.Config{}, fmt.Errorf("config: unknown context keys %s (see docs/configuration.md)", strings.Join(unknown, ", "))
	}
	return config.Load(func(k string) (any, bool) {
		v, ok := all[k]
		return v, ok && v != nil
	})
}

// CDKJSONContext reads the "context" object of root/cdk.json. The CDK CLI
// passes it to the app itself; `go run ./infra` uses this instead.
func CDKJSONContext(root string) (map[string]any, error) {
	data, err := os.ReadFile(filepath.Join(root, "cdk.json"))
	if err != nil {
		return nil, err
	}
	var doc struct {
		Context map[string]any `json:"context"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("cdk.json: %w", err)
	}
	return doc.Context, nil
}

// ModuleRoot walks up from dir to the directory holding go.mod.
func ModuleRoot(dir string) (string, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return d, nil
		}
		if filepath.Dir(d) == d {
			return "", fmt.Errorf("no go.mod above %s", dir)
		}
	}
}
