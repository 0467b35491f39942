package taskdef

import (
	"reflect"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

func TestCopy(t *testing.T) {
	td := &types.TaskDefinition{}
	seed := 0
	fill(reflect.ValueOf(td).Elem(), &seed)
	cp := Copy(td)
	if !reflect.DeepEqual(td, cp) {
		t.Fatal("copy differs")
	}
	cp.ContainerDefinitions[0].LogConfiguration.Options["awslogs-group"] = "changed"
	cp.ContainerDefinitions[0].Links[0] = "changed"
	*cp.Family = "changed"
	if reflect.DeepEqual(td, cp) || *td.Family == "changed" || td.ContainerDefinitions[0].Links[0] == "changed" || td.ContainerDefinitions[0].LogConfiguration.Options["awslogs-group"] == "changed" {
		t.Fatal("copy shares memory with the source")
	}
	if Copy[types.TaskDefinition](nil) != nil {
		t.Fatal("Copy(nil) != nil")
	}
	type inner struct{ A []int }
	type withIface struct {
		I   any
		Arr [2]*int
		N   any
	}
	one := 1
	src := &withIface{I: &inner{A: []int{1}}, Arr: [2]*int{&one, nil}}
	dst := Copy(src)
	dst.I.(*inner).A[0] = 2
	*dst.Arr[0] = 3
	if src.I.(*inner).A[0] != 1 || one != 1 {
		t.Fatal("interface or array contents shared")
	}
}
