// Command gen writes testdata/taskdefs/td42-near-64k.json: a realistic
// describe-task-definition output whose RegisterTaskDefinition request body
// is exactly Target bytes, just under taskdef.MaxRegisterBytes, with one
// container lacking logConfiguration, so adding one awslogs block crosses
// the 64 KiB limit.
//
// Run from the repository root: go run ./internal/taskdef/internal/gen
package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log"
	"os"
	"strings"

	"github.com/ecslogfix/ecslogfix/internal/taskdef"
)

// Target is the register request size of the generated task definition.
const Target = 65480

// Path is where main writes the file, relative to the repository root.
const Path = "testdata/taskdefs/td42-near-64k.json"

type kv struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

type logConfiguration struct {
	LogDriver     string            `json:"logDriver"`
	Options       map[string]string `json:"options"`
	SecretOptions []kv              `json:"secretOptions"`
}

type container struct {
	Name             string            `json:"name"`
	Image            string            `json:"image"`
	CPU              int               `json:"cpu"`
	PortMappings     []map[string]any  `json:"portMappings"`
	Essential        bool              `json:"essential"`
	Environment      []kv              `json:"environment"`
	MountPoints      []any             `json:"mountPoints"`
	VolumesFrom      []any             `json:"volumesFrom"`
	DockerLabels     map[string]string `json:"dockerLabels,omitempty"`
	LogConfiguration *logConfiguration `json:"logConfiguration,omitempty"`
	SystemControls   []any             `json:"systemControls"`
}

type taskDefinition struct {
	TaskDefinitionArn       string              `json:"taskDefinitionArn"`
	ContainerDefinitions    []container         `json:"containerDefinitions"`
	Family                  string              `json:"family"`
	TaskRoleArn             string              `json:"taskRoleArn"`
	ExecutionRoleArn        string              `json:"executionRoleArn"`
	NetworkMode             string              `json:"networkMode"`
	Revision                int                 `json:"revision"`
	Volumes                 []any               `json:"volumes"`
	Status                  string              `json:"status"`
	RequiresAttributes      []map[string]string `json:"requiresAttributes"`
	PlacementConstraints    []any               `json:"placementConstraints"`
	Compatibilities         []string            `json:"compatibilities"`
	RequiresCompatibilities []string            `json:"requiresCompatibilities"`
	CPU                     string              `json:"cpu"`
	Memory                  string              `json:"memory"`
	RegisteredAt            string              `json:"registeredAt"`
	RegisteredBy            string              `json:"registeredBy"`
	EnableFaultInjection    bool                `json:"enableFaultInjection"`
}

type describeOutput struct {
	TaskDefinition taskDefinition `json:"taskDefinition"`
	Tags           []kv           `json:"tags"`
}

// build returns the describe output with pad extra characters in the last
// container's last environment value.
func build(pad int) describeOutput {
	const acct = "111122223333"
	names := []string{"gateway", "auth", "catalog", "cart", "pricing", "inventory", "search", "reviews", "shipping", "legacy-adapter"}
	var cs []container
	for i, n := range names {
		c := container{
			Name:           n,
			Image:          fmt.Sprintf("%s.dkr.ecr.us-east-1.amazonaws.com/monolith-%s:2026.11.%02d", acct, n, i+1),
			PortMappings:   []map[string]any{{"containerPort": 8080 + i, "hostPort": 8080 + i, "protocol": "tcp"}},
			Essential:      i == 0,
			MountPoints:    []any{},
			VolumesFrom:    []any{},
			DockerLabels:   map[string]string{"com.example.service": n, "com.example.team": "storefront"},
			SystemControls: []any{},
		}
		// Feature-flag style configuration: many medium-sized values.
		for j := range 60 {
			c.Environment = append(c.Environment, kv{
				Name:  fmt.Sprintf("FEATURE_%s_%02d", strings.ToUpper(strings.ReplaceAll(n, "-", "_")), j),
				Value: fmt.Sprintf("enabled=true;rollout=%d;segment=storefront-%s-%02d", (i*7+j*13)%100, n, j),
			})
		}
		if i < len(names)-1 {
			c.LogConfiguration = &logConfiguration{
				LogDriver: "awslogs",
				Options: map[string]string{
					"awslogs-group":         "/ecs/storefront-monolith",
					"awslogs-region":        "us-east-1",
					"awslogs-stream-prefix": n,
				},
				SecretOptions: []kv{},
			}
		}
		cs = append(cs, c)
	}
	last := &cs[len(cs)-1].Environment[len(cs[len(cs)-1].Environment)-1]
	last.Name = "PADDING"
	last.Value = strings.Repeat("p", pad)
	return describeOutput{
		TaskDefinition: taskDefinition{
			TaskDefinitionArn:    "arn:aws:ecs:us-east-1:" + acct + ":task-definition/storefront-monolith:311",
			ContainerDefinitions: cs,
			Family:               "storefront-monolith",
			TaskRoleArn:          "arn:aws:iam::" + acct + ":role/storefront-monolith-task",
			ExecutionRoleArn:     "arn:aws:iam::" + acct + ":role/ecsTaskExecutionRole",
			NetworkMode:          "awsvpc",
			Revision:             311,
			Volumes:              []any{},
			Status:               "ACTIVE",
			RequiresAttributes: []map[string]string{
				{"name": "com.amazonaws.ecs.capability.logging-driver.awslogs"},
				{"name": "ecs.capability.execution-role-awslogs"},
				{"name": "com.amazonaws.ecs.capability.docker-remote-api.1.19"},
				{"name": "ecs.capability.task-eni"},
			},
			PlacementConstraints:    []any{},
			Compatibilities:         []string{"EC2", "FARGATE", "MANAGED_INSTANCES"},
			RequiresCompatibilities: []string{"FARGATE"},
			CPU:                     "4096",
			Memory:                  "16384",
			RegisteredAt:            "2026-11-12T11:02:03.456000+00:00",
			RegisteredBy:            "arn:aws:sts::" + acct + ":assumed-role/gha-ecs-deploy/GitHubActions",
		},
		Tags: []kv{{"key", "storefront"}},
	}
}

// encode renders d as the AWS CLI prints it (4-space indent) with the
// "key"/"value" tag fields the CLI uses.
func encode(d describeOutput) ([]byte, error) {
	raw, err := json.Marshal(d)
	if err != nil {
		return nil, err
	}
	// kv is shared by tags and env; tags use key/value.
	raw = bytes.Replace(raw, []byte(`"tags":[{"name":"key","value":"storefront"}]`), []byte(`"tags":[{"key":"Team","value":"storefront"}]`), 1)
	var out bytes.Buffer
	if err := json.Indent(&out, raw, "", "    "); err != nil {
		return nil, err
	}
	out.WriteByte('\n')
	return out.Bytes(), nil
}

// registerSize is the RegisterTaskDefinition body size for describe JSON b.
func registerSize(b []byte) (int, error) {
	td, tags, err := taskdef.DecodeDescribeOutput(b)
	if err != nil {
		return 0, err
	}
	in, err := taskdef.RegisterInput(td, tags)
	if err != nil {
		return 0, err
	}
	return taskdef.RequestSize(in), nil
}

// Generate returns the file content: padding is tuned so that the register
// request body is exactly Target bytes.
func Generate() ([]byte, error) {
	b, err := encode(build(0))
	if err != nil {
		return nil, err
	}
	size, err := registerSize(b)
	if err != nil {
		return nil, err
	}
	if size > Target {
		return nil, fmt.Errorf("base task definition is %d bytes, over the target %d", size, Target)
	}
	b, err = encode(build(Target - size))
	if err != nil {
		return nil, err
	}
	if size, err = registerSize(b); err != nil {
		return nil, err
	} else if size != Target {
		return nil, fmt.Errorf("generated %d bytes, want %d", size, Target)
	}
	return b, nil
}

func main() {
	b, err := Generate()
	if err != nil {
		log.Fatal(err)
	}
	if err := os.WriteFile(Path, b, 0o644); err != nil {
		log.Fatal(err)
	}
}
