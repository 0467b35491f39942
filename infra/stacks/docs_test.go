package stacks

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/ecslogfix/ecslogfix/infra/pipeline"
	"github.com/ecslogfix/ecslogfix/internal/config"
	"github.com/ecslogfix/ecslogfix/internal/config/naming"
)

func readRepoFile(t *testing.T, rel string) string {
	t.Helper()
	root, err := ModuleRoot(".")
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(root, rel))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// What the documentation says about the stack is what the stack is: the
// default execution role may only write logs, and a sweep invocation lasts
// detect's timeout.
func TestDocsAgreeWithTheStack(t *testing.T) {
	got := keys(actionsOf(roleStatements(t, single(t).Template, "ecslogfix-task-execution")))
	if !slices.Equal(got, []string{"logs:CreateLogStream", "logs:PutLogEvents"}) {
		t.Fatalf("default execution role actions %v", got)
	}
	for _, k := range config.Keys {
		if k.Name == config.ContextPrefix+"createDefaultExecutionRole" && (strings.Contains(k.Doc, "and ECR pull") || !strings.Contains(k.Doc, "no ECR pull")) {
			t.Errorf("createDefaultExecutionRole's documentation disagrees with the role: %s", k.Doc)
		}
	}
	perf := readRepoFile(t, "docs/performance.md")
	m := regexp.MustCompile(`One sweep invocation \(the sweep function's (\d+) s timeout\)`).FindStringSubmatch(perf)
	if m == nil || m[1] != "300" || pipeline.FunctionTimeout[naming.FunctionSweep] != 300 {
		t.Errorf("docs/performance.md's sweep invocation %v, the sweep's timeout %v s", m, pipeline.FunctionTimeout[naming.FunctionSweep])
	}
	if strings.Contains(perf, "sweep invocation of 15 minutes") {
		t.Error("docs/performance.md still says a sweep invocation lasts 15 minutes")
	}
}

// A first deploy from CI has no terminal to approve its IAM changes: the
// Makefile's deploy-ci target passes --require-approval never.
func TestMakeDeployCI(t *testing.T) {
	out, err := exec.Command("make", "-n", "-C", filepath.Dir(filepath.Dir(mustAbs(t, "."))), "deploy-ci", "CDK_ARGS=-c ecslogfix:prefix=ci").CombinedOutput()
	if err != nil {
		t.Fatalf("make -n deploy-ci: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "aws-cdk@2 deploy --require-approval never -c ecslogfix:prefix=ci") {
		t.Errorf("make deploy-ci runs:\n%s", out)
	}
}

func mustAbs(t *testing.T, p string) string {
	t.Helper()
	a, err := filepath.Abs(p)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// The checkers the tests run are the versions the Makefile pins.
func TestCheckerToolsArePinned(t *testing.T) {
	mk := readRepoFile(t, "Makefile")
	pin := func(v string) (string, string) {
		m := regexp.MustCompile(`(?m)^` + v + `\s*:=\s*(\S+)@(\S+)$`).FindStringSubmatch(mk)
		if m == nil {
			t.Fatalf("Makefile has no %s", v)
		}
		return m[1], m[2]
	}
	tools := toolsDir(t)
	installed := func(dir, name, version string) {
		t.Helper()
		path := filepath.Join(tools, dir, name, "package.json")
		requireTool(t, name, path)
		var pkg struct{ Version string }
		b, err := os.ReadFile(path)
		if err == nil {
			err = json.Unmarshal(b, &pkg)
		}
		if err != nil || pkg.Version != version {
			t.Errorf("%s: installed %q (%v), the Makefile pins %s", name, pkg.Version, err, version)
		}
	}
	for v, dir := range map[string]string{"ASL_SERVICE": "node_modules", "CFN_GUARD": "node_modules", "LOCAL_SFN": "node22/node_modules", "NODE22": "node22/node_modules"} {
		name, version := pin(v)
		installed(dir, name, version)
	}
	// The IAM simulator and its data: four pins on one line.
	m := regexp.MustCompile(`(?m)^IAM_SIMULATE\s*:=\s*(.+)$`).FindStringSubmatch(mk)
	if m == nil {
		t.Fatal("Makefile has no IAM_SIMULATE")
	}
	pins := strings.Fields(m[1])
	if len(pins) != 4 {
		t.Fatalf("IAM_SIMULATE pins %v", pins)
	}
	for _, p := range pins {
		i := strings.LastIndex(p, "@")
		installed("node_modules", p[:i], p[i+1:])
	}
}
