package localaws

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
)

// Moto is a running scripts/moto_server.py.
type Moto struct {
	// Endpoint is the server's URL, e.g. http://127.0.0.1:40123.
	Endpoint string
	Version  string // moto's version, as the launcher reports it

	proc   *process
	client *http.Client
}

// MotoOptions configure StartMoto.
type MotoOptions struct {
	// StepFunctions makes moto run state machines (its interpreter, with
	// lambda:invoke reaching the functions given to MapFunction). Without
	// it executions stay RUNNING, as in plain moto.
	StepFunctions bool
	// Log, when set, receives the server's output line by line.
	Log io.Writer
}

// motoStartTimeout bounds the wait for readiness: the machine may be busy.
const motoStartTimeout = 90 * time.Second

// StartMoto starts the pinned launcher on a free loopback port and waits
// until it answers. It returns a *MissingToolError when python3 or moto is
// not installed.
func StartMoto(ctx context.Context, opts MotoOptions) (*Moto, error) {
	tools, err := findMoto(ctx) // probed once per process
	if err != nil {
		return nil, err
	}
	env := map[string]string{
		"PATH": os.Getenv("PATH"), "HOME": os.Getenv("HOME"),
		"PYTHONUNBUFFERED": "1", "PYTHONDONTWRITEBYTECODE": "1",
	}
	for _, k := range []string{"PYENV_ROOT", "PYENV_VERSION", "PYTHONPATH", "VIRTUAL_ENV", "TMPDIR", "LANG"} {
		if v, ok := os.LookupEnv(k); ok {
			env[k] = v
		}
	}
	var m *Moto
	err = onFreePorts(1, func(addrs []string) error {
		_, port, _ := strings.Cut(addrs[0], ":")
		argv := []string{tools.Python, filepath.Join(tools.Root, "scripts", "moto_server.py"), "--port", port}
		if opts.StepFunctions {
			argv = append(argv, "--execute-state-machines")
		}
		p, err := startProcess("moto", "", env, opts.Log, 3*time.Second, argv...)
		if err != nil {
			return err
		}
		m = &Moto{Endpoint: "http://" + addrs[0], proc: p, client: &http.Client{Timeout: 30 * time.Second}}
		if err := p.waitReady(ctx, motoStartTimeout, 20*time.Millisecond, m.launcherReady); err != nil {
			p.close()
			return err
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return m, nil
}

// launcherReady is true once the launcher's own endpoint answers: the
// server listens and it is scripts/moto_server.py, not a stray moto.
func (m *Moto) launcherReady(ctx context.Context) (bool, error) {
	var id struct {
		Moto string `json:"moto"`
	}
	if err := m.call(ctx, http.MethodGet, "/moto-api/ecslogfix", nil, &id); err != nil {
		return false, nil
	}
	if id.Moto == "" {
		return false, fmt.Errorf("%s is not scripts/moto_server.py", m.Endpoint)
	}
	m.Version = id.Moto
	return true, nil
}

// call sends a request to one of moto's own endpoints and decodes the
// answer into out (when not nil).
func (m *Moto) call(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, m.Endpoint+path, body)
	if err != nil {
		return err
	}
	resp, err := m.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s %s: HTTP %d", method, path, resp.StatusCode)
	}
	if out == nil {
		_, err = io.Copy(io.Discard, resp.Body)
		return err
	}
	return json.NewDecoder(resp.Body).Decode(out)
}

// MapFunction routes Lambda invokes of nameOrARN (a function name or its
// ARN), Step Functions' lambda:invoke included, to an emulator's invoke URL.
func (m *Moto) MapFunction(ctx context.Context, nameOrARN, invokeURL string) error {
	return m.call(ctx, http.MethodPost, "/moto-api/ecslogfix/lambda-map", map[string]string{nameOrARN: invokeURL}, nil)
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
// per topic: the email text, which no SQS subscriber receives, included.
// It reads moto's own model dump (GET /moto-api/data.json), where each
// topic keeps what was sent to it as [id, message, subject, attributes, …].
func (m *Moto) Published(ctx context.Context) ([]Published, error) {
	var data struct {
		SNS struct {
			Topic []struct {
				ARN  string              `json:"arn"`
				Sent [][]json.RawMessage `json:"sent_notifications"`
			} `json:"Topic"`
		} `json:"sns"`
	}
	if err := m.call(ctx, http.MethodGet, "/moto-api/data.json", nil, &data); err != nil {
		return nil, err
	}
	var out []Published
	for _, topic := range data.SNS.Topic {
		for _, sent := range topic.Sent {
			p := Published{TopicARN: topic.ARN}
			if len(sent) < 4 {
				return nil, fmt.Errorf("moto's sent notification of %s has %d fields, want 4 or more", topic.ARN, len(sent))
			}
			for i, v := range []any{&p.MessageID, &p.Message, &p.Subject, &p.MessageAttributes} {
				if err := json.Unmarshal(sent[i], v); err != nil {
					return nil, fmt.Errorf("moto's sent notification of %s, field %d: %w", topic.ARN, i, err)
				}
			}
			out = append(out, p)
		}
	}
	return out, nil
}

// Config is an SDK configuration for this server (see Config).
func (m *Moto) Config() aws.Config { return Config(m.Endpoint) }

// LambdaEnv is the environment a function needs to reach this server.
func (m *Moto) LambdaEnv() map[string]string { return LambdaEnv(m.Endpoint) }

// Logs returns the tail of the server's output.
func (m *Moto) Logs() string { return m.proc.out.String() }

// Close stops the server. It may be called more than once.
func (m *Moto) Close() error {
	m.proc.close()
	return nil
}
