package taskdef

import (
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

func TestCheckInput(t *testing.T) {
	c := func(names ...string) []types.ContainerDefinition {
		var out []types.ContainerDefinition
		for _, n := range names {
			out = append(out, types.ContainerDefinition{Name: aws.String(n)})
		}
		return out
	}
	tests := []struct {
		name string
		td   *types.TaskDefinition
		path string // "" = no error
	}{
		{"nil", nil, "containerDefinitions"},
		{"null containers", &types.TaskDefinition{}, "containerDefinitions"},
		{"empty containers", &types.TaskDefinition{ContainerDefinitions: []types.ContainerDefinition{}}, "containerDefinitions"},
		{"one", &types.TaskDefinition{ContainerDefinitions: c("app")}, ""},
		{"distinct", &types.TaskDefinition{ContainerDefinitions: c("app", "App", "sidecar")}, ""},
		{"duplicate", &types.TaskDefinition{ContainerDefinitions: c("app", "sidecar", "app")}, "containerDefinitions[2].name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckInput(tt.td)
			var ie *InputError
			switch {
			case tt.path == "" && err != nil:
				t.Fatalf("CheckInput = %v", err)
			case tt.path != "" && (!errors.As(err, &ie) || ie.Path != tt.path || !strings.HasPrefix(err.Error(), tt.path+": ")):
				t.Fatalf("CheckInput = %v, want an InputError at %s", err, tt.path)
			}
		})
	}
	err := CheckInput(&types.TaskDefinition{ContainerDefinitions: c("app", "app")})
	if err.Error() != `containerDefinitions[1].name: "app" is also the name of container 0; container names must be unique` {
		t.Fatalf("message %q", err)
	}
}
