package harness

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/feature/ec2/imds"
)

// The account and region moto answers for with the harness's credentials.
const (
	Account   = "123456789012"
	Region    = "us-east-1"
	Partition = "aws"
)

// pollInterval is how often the harness polls for readiness and results.
const pollInterval = 20 * time.Millisecond

// Moto is a running scripts/moto_server.py.
type Moto struct {
	// Endpoint is the server's URL, e.g. http://127.0.0.1:40123.
	Endpoint string
	Port     int
	Version  string // moto's version, as the launcher reports it

	proc    *process
	mapPath string

	mu        sync.Mutex
	functions map[string]string // function name or ARN → emulator invoke URL
}

// MotoOptions configure StartMoto.
type MotoOptions struct {
	Tools Tools
	// Dir holds the Lambda map file; a temporary directory when empty.
	Dir string
	// Log, when set, receives the server's output line by line.
	Log io.Writer
	// StartTimeout bounds the wait for readiness (default 30 s).
	StartTimeout time.Duration
}

// StartMoto starts the pinned launcher on a free loopback port and waits
// until it answers with Step Functions execution enabled.
func StartMoto(ctx context.Context, opts MotoOptions) (*Moto, error) {
	dir := opts.Dir
	if dir == "" {
		d, err := os.MkdirTemp("", "ecslogfix-moto-")
		if err != nil {
			return nil, err
		}
		dir = d
	}
	timeout := opts.StartTimeout
	if timeout == 0 {
		timeout = 30 * time.Second
	}
	m := &Moto{mapPath: filepath.Join(dir, "lambda-map.json"), functions: map[string]string{}}
	if err := m.writeMap(); err != nil {
		return nil, err
	}
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ { // a free port can be taken before we bind it
		port, err := freePort()
		if err != nil {
			return nil, err
		}
		env := []string{
			"PATH=" + os.Getenv("PATH"),
			"HOME=" + os.Getenv("HOME"),
			"MOTO_PORT=" + strconv.Itoa(port),
			"AWS_ACCESS_KEY_ID=test", "AWS_SECRET_ACCESS_KEY=test", "AWS_DEFAULT_REGION=" + Region,
			"PYTHONUNBUFFERED=1", "PYTHONDONTWRITEBYTECODE=1",
		}
		for _, k := range []string{"PYENV_ROOT", "PYENV_VERSION", "PYTHONPATH", "VIRTUAL_ENV", "TMPDIR", "LANG"} {
			if v, ok := os.LookupEnv(k); ok {
				env = append(env, k+"="+v)
			}
		}
		script := filepath.Join(opts.Tools.Root, "scripts", "moto_server.py")
		p, err := startProcess("moto", dir, env, opts.Log, opts.Tools.Python, script,
			"--host", "127.0.0.1", "--port", strconv.Itoa(port), "--lambda-map", m.mapPath)
		if err != nil {
			return nil, err
		}
		m.proc, m.Port, m.Endpoint = p, port, "http://127.0.0.1:"+strconv.Itoa(port)
		if lastErr = m.waitReady(ctx, timeout); lastErr == nil {
			return m, nil
		}
		_ = p.stop(2 * time.Second)
	}
	return nil, lastErr
}

func (m *Moto) waitReady(ctx context.Context, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	client := &http.Client{Timeout: 2 * time.Second}
	tick := time.NewTicker(pollInterval)
	defer tick.Stop()
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, m.Endpoint+"/moto-api/config", nil)
		resp, err := client.Do(req)
		if err == nil {
			var cfg struct {
				StepFunctions struct {
					Execute bool `json:"execute_state_machine"`
				} `json:"stepfunctions"`
				Launcher struct {
					Moto string `json:"moto"`
				} `json:"ecslogfix"`
			}
			decErr := json.NewDecoder(resp.Body).Decode(&cfg)
			resp.Body.Close()
			switch {
			case decErr != nil:
				return fmt.Errorf("moto config at %s: %w", m.Endpoint, decErr)
			case cfg.Launcher.Moto == "" || !cfg.StepFunctions.Execute:
				return fmt.Errorf("moto at %s is not scripts/moto_server.py with Step Functions execution on", m.Endpoint)
			}
			m.Version = cfg.Launcher.Moto
			return nil
		}
		select {
		case <-m.proc.exited():
			return fmt.Errorf("%w\n%s", m.proc.exitError(), m.proc.logs())
		case <-ctx.Done():
			return fmt.Errorf("moto not ready on %s after %s: %w\n%s", m.Endpoint, timeout, ctx.Err(), m.proc.logs())
		case <-tick.C:
		}
	}
}

// MapFunction routes Step Functions' lambda:invoke of nameOrARN (a function
// name or its ARN) to an emulator's invoke URL.
func (m *Moto) MapFunction(nameOrARN, invokeURL string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.functions[nameOrARN] = invokeURL
	return m.writeMapLocked()
}

func (m *Moto) writeMap() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.writeMapLocked()
}

// writeMapLocked replaces the map file atomically; the launcher re-reads
// it when its identity changes.
func (m *Moto) writeMapLocked() error {
	b, err := json.MarshalIndent(m.functions, "", "  ")
	if err != nil {
		return err
	}
	tmp := m.mapPath + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, m.mapPath)
}

// Logs returns the tail of the server's output.
func (m *Moto) Logs() string { return m.proc.logs() }

// Close stops the server.
func (m *Moto) Close() error { return m.proc.stop(3 * time.Second) }

// AWSConfig returns an SDK configuration that talks to this server with
// dummy credentials.
func (m *Moto) AWSConfig(ctx context.Context) (aws.Config, error) {
	return config.LoadDefaultConfig(ctx,
		config.WithRegion(Region),
		config.WithBaseEndpoint(m.Endpoint),
		config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider("test", "test", "")),
		config.WithEC2IMDSClientEnableState(imds.ClientDisabled),
	)
}

// LambdaEnv is the environment a function needs to reach this server as
// if it were AWS: endpoint, dummy credentials and region.
func (m *Moto) LambdaEnv() map[string]string {
	return map[string]string{
		"AWS_ENDPOINT_URL":          m.Endpoint,
		"AWS_ACCESS_KEY_ID":         "test",
		"AWS_SECRET_ACCESS_KEY":     "test",
		"AWS_SESSION_TOKEN":         "test",
		"AWS_REGION":                Region,
		"AWS_DEFAULT_REGION":        Region,
		"AWS_EC2_METADATA_DISABLED": "true",
	}
}

// freePort asks the kernel for a free loopback port.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// Published is one message as published to a topic.
type Published struct {
	TopicARN          string         `json:"topicArn"`
	MessageID         string         `json:"messageId"`
	Message           string         `json:"message"` // the whole document for MessageStructure=json
	Subject           string         `json:"subject"`
	MessageAttributes map[string]any `json:"messageAttributes"`
}

// Structured returns the protocol's message of a MessageStructure=json
// publish (falling back to "default"), or the message itself.
func (p Published) Structured(protocol string) string {
	var doc map[string]string
	if json.Unmarshal([]byte(p.Message), &doc) != nil {
		return p.Message
	}
	if m, ok := doc[protocol]; ok {
		return m
	}
	if m, ok := doc["default"]; ok {
		return m
	}
	return p.Message
}

// Published lists every message published to any topic so far, in order
// (the launcher's GET /moto-api/ecslogfix/sns-published).
func (m *Moto) Published(ctx context.Context) ([]Published, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, m.Endpoint+"/moto-api/ecslogfix/sns-published", nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("sns-published: HTTP %d", resp.StatusCode)
	}
	var out []Published
	return out, json.NewDecoder(resp.Body).Decode(&out)
}
