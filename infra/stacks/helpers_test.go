package stacks

import (
	"bytes"
	"encoding/json"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/ecslogfix/ecslogfix/internal/config"
	"github.com/ecslogfix/ecslogfix/test/cdkenv"
	"github.com/ecslogfix/ecslogfix/test/localaws"
)

var tmpRoot string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "ecslogfix-infra-test-")
	if err != nil {
		panic(err)
	}
	tmpRoot = dir
	code := cdkenv.Run(m.Run)
	os.RemoveAll(dir)
	os.Exit(code)
}

// Test configurations: every optional feature on, so each resource is
// checked.
func singleConfig(t *testing.T) config.Config {
	return mustLoad(t, map[string]any{
		"ecslogfix:notificationEmails":    []any{"ops@example.com"},
		"ecslogfix:slackWorkspaceId":      "T01234567",
		"ecslogfix:slackChannelId":        "C01234567",
		"ecslogfix:slackWebhookSecretArn": "arn:aws:secretsmanager:eu-west-1:111122223333:secret:ecslogfix-hook-AbCdEf",
	})
}

func orgConfig(t *testing.T) config.Config {
	return mustLoad(t, orgCDKContext(map[string]any{
		"ecslogfix:targetOUs":          "ou-ab12-abcdefgh,ou-ab12-ijklmnop",
		"ecslogfix:notificationEmails": "ops@example.com",
	}))
}

// orgCDKContext is the CDK context of the tests' organization
// deployments (one organization, one target OU, two regions, the IAM
// region) with more on top.
func orgCDKContext(more map[string]any) map[string]any {
	ctx := map[string]any{
		"ecslogfix:mode":           "organization",
		"ecslogfix:organizationId": "o-abcdefghij",
		"ecslogfix:targetOUs":      "ou-ab12-abcdefgh",
		"ecslogfix:regions":        "eu-west-1,us-east-1",
		"ecslogfix:iamRegion":      "eu-west-1",
	}
	maps.Copy(ctx, more)
	return ctx
}

func mustLoad(t *testing.T, ctx map[string]any) config.Config {
	t.Helper()
	c, err := config.Load(func(k string) (any, bool) { v, ok := ctx[k]; return v, ok })
	if err != nil {
		t.Fatal(err)
	}
	return c
}

type synthOnce struct {
	once sync.Once
	s    *Synthesized
	err  error
}

var singleSynth, hubSynth synthOnce

// synthContext is synth of the configuration the CDK context ctx gives.
func synthContext(t *testing.T, o *synthOnce, name string, ctx map[string]any) *Synthesized {
	t.Helper()
	return synth(t, o, name, func(t *testing.T) config.Config { return mustLoad(t, ctx) })
}

func synth(t *testing.T, o *synthOnce, name string, cfg func(*testing.T) config.Config) *Synthesized {
	t.Helper()
	o.once.Do(func() {
		root, err := ModuleRoot(".")
		if err != nil {
			o.err = err
			return
		}
		c := cfg(t)
		o.s, o.err = Synth(c, root, filepath.Join(tmpRoot, name))
	})
	if o.err != nil {
		t.Fatalf("synth %s: %v", name, o.err)
	}
	return o.s
}

func single(t *testing.T) *Synthesized { return synth(t, &singleSynth, "single", singleConfig) }
func hub(t *testing.T) *Synthesized    { return synth(t, &hubSynth, "hub", orgConfig) }

// requireTool returns the path of a test tool, or fails (ECSLOGFIX_REQUIRE_TOOLS=1)
// or skips when it is missing.
func requireTool(t *testing.T, name string, extra ...string) string {
	t.Helper()
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	for _, p := range extra {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	msg := "not found on PATH" + func() string {
		if len(extra) > 0 {
			return " or at " + strings.Join(extra, ", ")
		}
		return ""
	}() + " (run make tools)"
	localaws.RequireTool(t, &localaws.MissingToolError{Tool: name, Hint: msg})
	return ""
}

// runNodeScript runs scripts/SCRIPT.cjs on node, with modules as its
// node_modules and spec, as JSON, in the file it reads, and returns the
// lines it writes (one JSON value each).
func runNodeScript(t *testing.T, node, modules, script string, spec any) [][]byte {
	t.Helper()
	data, err := json.Marshal(spec)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), script+".json")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(node, filepath.Join(filepath.Dir(toolsDir(t)), "scripts", script+".cjs"), path)
	cmd.Env = append(os.Environ(), "ECSLOGFIX_NODE_MODULES="+modules)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s: %v\n%s", script, err, stderr.String())
	}
	return bytes.Split(bytes.TrimSpace(out), []byte("\n"))
}

// statements returns the statements of a policy document value.
func statements(doc any) []map[string]any {
	d, _ := doc.(map[string]any)
	var out []map[string]any
	switch s := d["Statement"].(type) {
	case []any:
		for _, e := range s {
			if m, ok := e.(map[string]any); ok {
				out = append(out, m)
			}
		}
	case map[string]any:
		out = append(out, s)
	}
	return out
}

func strs(v any) []string {
	switch t := v.(type) {
	case string:
		return []string{t}
	case []any:
		var out []string
		for _, e := range t {
			out = append(out, Flatten(e))
		}
		return out
	case nil:
		return nil
	}
	return []string{Flatten(v)}
}

func mustJSON(t *testing.T, s string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, s)
	}
	return m
}

// flat renders v as JSON with every CloudFormation intrinsic inside it
// flattened (see Flatten), for comparing nested properties.
func flat(v any) string {
	var walk func(v any) any
	walk = func(v any) any {
		switch t := v.(type) {
		case map[string]any:
			if len(t) == 1 {
				for k := range t {
					if k == "Ref" || strings.HasPrefix(k, "Fn::") {
						return Flatten(t)
					}
				}
			}
			out := map[string]any{}
			for k, e := range t {
				out[k] = walk(e)
			}
			return out
		case []any:
			out := make([]any, len(t))
			for i, e := range t {
				out[i] = walk(e)
			}
			return out
		}
		return v
	}
	b, _ := json.Marshal(walk(v))
	return string(b)
}

// templateFiles writes the single, hub and member templates to files and
// returns their paths, by name.
func templateFiles(t *testing.T) map[string]string {
	t.Helper()
	out := map[string]string{
		"single": filepath.Join(single(t).Dir, *single(t).Stack.TemplateFile()),
		"hub":    filepath.Join(hub(t).Dir, *hub(t).Stack.TemplateFile()),
	}
	dir := t.TempDir()
	for name, set := range stackSets(t) {
		path := filepath.Join(dir, name+".template.json")
		if err := os.WriteFile(path, []byte(set["TemplateBody"].(string)), 0o644); err != nil {
			t.Fatal(err)
		}
		out[name] = path
	}
	return out
}
