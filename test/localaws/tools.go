package localaws

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// PinnedMoto is the moto version scripts/moto_server.py is written for.
const PinnedMoto = "5.2.1"

// EnvRequireTools makes a missing tool a test failure instead of a skip.
const EnvRequireTools = "ECSLOGFIX_REQUIRE_TOOLS"

// Tools are the programs localaws runs.
type Tools struct {
	Root        string // the repository root (holds go.mod, scripts/, .tools/)
	Python      string // python3 with moto[server] importable
	MotoVersion string
}

// MissingToolError says which tool is missing and how to get it.
type MissingToolError struct {
	Tool string
	Hint string
}

func (e *MissingToolError) Error() string {
	return fmt.Sprintf("%s is missing: %s", e.Tool, e.Hint)
}

// FindTools locates every tool from the repository root found above the
// working directory.
func FindTools(ctx context.Context) (Tools, error) {
	t, err := findMoto(ctx)
	if err != nil {
		return t, err
	}
	if _, err := exec.LookPath("go"); err != nil { // to build bootstraps
		return t, &MissingToolError{Tool: "go", Hint: "install Go (see go.mod)"}
	}
	_, err = FindRIE() // StartFunction finds it again
	return t, err
}

// python is the interpreter probe, made once per process: it takes a
// python start and the import of moto.
var python struct {
	once          sync.Once
	path, version string
	err           error
}

// findMoto locates the repository root and python3 with moto, the tools
// StartMoto needs.
func findMoto(ctx context.Context) (Tools, error) {
	root, err := RepoRoot()
	if err != nil {
		return Tools{}, err
	}
	python.once.Do(func() {
		hint := "install Python 3 and pip install 'moto[server]==" + PinnedMoto + "'"
		if python.path, python.err = exec.LookPath("python3"); python.err != nil {
			python.err = &MissingToolError{Tool: "python3", Hint: hint}
			return
		}
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		out, err := exec.CommandContext(ctx, python.path, "-c", "import moto, moto.server, flask; print(moto.__version__)").Output()
		if err != nil {
			python.err = &MissingToolError{Tool: "moto", Hint: hint + " (python3 -c 'import moto.server' failed)"}
			return
		}
		python.version = strings.TrimSpace(string(out))
	})
	return Tools{Root: root, Python: python.path, MotoVersion: python.version}, python.err
}

// FindRIE locates the emulator: $ECSLOGFIX_RIE, else <root>/.tools/bin
// (where `make tools` installs it), else PATH.
func FindRIE() (string, error) {
	if p := os.Getenv("ECSLOGFIX_RIE"); p != "" {
		if _, err := exec.LookPath(p); err == nil { // as exec will find it: a bare name in PATH
			return p, nil
		}
		return "", &MissingToolError{Tool: "aws-lambda-rie", Hint: "ECSLOGFIX_RIE=" + p + " is not an executable file"}
	}
	root, err := RepoRoot()
	if err != nil {
		return "", err
	}
	for _, p := range []string{filepath.Join(root, ".tools", "bin", "aws-lambda-rie"), "aws-lambda-rie"} {
		if p, err := exec.LookPath(p); err == nil {
			return p, nil
		}
	}
	return "", &MissingToolError{Tool: "aws-lambda-rie", Hint: "run `make tools` (the Makefile pins it: RIE_VERSION)"}
}

// RepoRoot walks up from the working directory to the directory holding
// the module's go.mod.
func RepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		b, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil && bytes.Contains(b, []byte("module github.com/ecslogfix/ecslogfix\n")) {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("repository root (go.mod of github.com/ecslogfix/ecslogfix) not found above the working directory")
		}
		dir = parent
	}
}

// RequireTools returns every tool, or ends the test (see RequireTool).
func RequireTools(tb testing.TB) Tools {
	tb.Helper()
	tools, err := FindTools(context.Background())
	RequireTool(tb, err)
	if tools.MotoVersion != PinnedMoto {
		tb.Logf("moto %s found; the launcher is pinned to %s", tools.MotoVersion, PinnedMoto)
	}
	return tools
}

// RequireTool ends tb when err is not nil: a *MissingToolError skips it
// unless ECSLOGFIX_REQUIRE_TOOLS=1 (as `make test` and CI set it), which
// makes it a failure, as is any other error.
func RequireTool(tb testing.TB, err error) {
	tb.Helper()
	if err == nil {
		return
	}
	var missing *MissingToolError
	if errors.As(err, &missing) && os.Getenv(EnvRequireTools) != "1" {
		tb.Skipf("skipping: %v (set %s=1 to make this a failure)", err, EnvRequireTools)
	}
	tb.Fatalf("%v", err)
}
