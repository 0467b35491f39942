package bench

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/ecslogfix/ecslogfix/test/localaws"
)

// pythonBaseline is what a Python peer (for example Cloud Custodian) pays
// at minimum before handling an event: import boto3 and create an ECS client.
const pythonBaseline = `import sys
import boto3
client = boto3.client("ecs", region_name="us-east-1")
sys.stdout.write("ready\n")
sys.stdout.flush()
sys.stdin.read()
`

// ProbePython checks that python imports boto3 (which also warms its
// bytecode cache) and returns the real interpreter, so that a pyenv shim's
// start-up is not counted, and its version, e.g. "Python 3.11.9, boto3 1.43.0".
func ProbePython(ctx context.Context, python string) (interpreter, version string, err error) {
	out, err := exec.CommandContext(ctx, python, "-c",
		"import sys, boto3; print(sys.executable); print('Python %d.%d.%d, boto3 %s' % (sys.version_info[:3] + (boto3.__version__,)))").Output()
	if err != nil {
		return "", "", fmt.Errorf("python baseline needs %s with boto3: %w", python, err)
	}
	interpreter, version, ok := strings.Cut(strings.TrimSpace(string(out)), "\n")
	if !ok || strings.Contains(version, "\n") {
		return "", "", fmt.Errorf("python baseline: unexpected probe output %q", out)
	}
	return interpreter, version, nil
}

// StartPython runs the baseline once with the interpreter and returns the
// time from process start to "ready" and the process's peak RSS.
func StartPython(ctx context.Context, python string) (time.Duration, int64, error) {
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	cmd := localaws.Command(ctx, python, "-c", pythonBaseline)
	cmd.Env = append(os.Environ(), "AWS_ACCESS_KEY_ID=test", "AWS_SECRET_ACCESS_KEY=test",
		"AWS_EC2_METADATA_DISABLED=true")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return 0, 0, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return 0, 0, err
	}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return 0, 0, err
	}
	defer cmd.Wait()
	defer stdin.Close()
	line, err := bufio.NewReader(stdout).ReadString('\n')
	d := time.Since(start)
	if err != nil || line != "ready\n" {
		cmd.Process.Kill()
		return 0, 0, fmt.Errorf("want ready, got %q: %v", line, err)
	}
	rss, err := PeakRSS(cmd.Process.Pid)
	go io.Copy(io.Discard, stdout)
	return d, rss, err
}
