package harness

import (
	"reflect"
	"strings"
	"testing"

	"github.com/ecslogfix/ecslogfix/test/localaws"
)

func TestTemplateResolve(t *testing.T) {
	resource := func(typ string, props map[string]any) map[string]any {
		return map[string]any{"Type": typ, "Properties": props}
	}
	tmpl := NewTemplate("demo", map[string]any{"Resources": map[string]any{
		"Topic1": resource("AWS::SNS::Topic", map[string]any{"TopicName": "demo-notifications"}),
		"Queue1": resource("AWS::SQS::Queue", map[string]any{}),
		"Role1":  resource("AWS::IAM::Role", map[string]any{"RoleName": "demo-remediate"}),
		"Fn1":    resource("AWS::Lambda::Function", map[string]any{"FunctionName": "demo-detect"}),
		"SM1":    resource("AWS::StepFunctions::StateMachine", map[string]any{"StateMachineName": "demo-remediation"}),
	}})
	queue := tmpl.PhysicalName("Queue1")
	if !strings.HasPrefix(queue, "demo-Queue1-") || queue != tmpl.PhysicalName("Queue1") {
		t.Errorf("generated queue name %q: want demo-Queue1-<stable hash>", queue)
	}
	tests := []struct {
		name string
		in   any
		want any
	}{
		{"pseudo", map[string]any{"Ref": "AWS::AccountId"}, localaws.Account},
		{"topic ref is its ARN", map[string]any{"Ref": "Topic1"}, "arn:aws:sns:us-east-1:123456789012:demo-notifications"},
		{"function ref is its name", map[string]any{"Ref": "Fn1"}, "demo-detect"},
		{"role arn", map[string]any{"Fn::GetAtt": []any{"Role1", "Arn"}}, "arn:aws:iam::123456789012:role/demo-remediate"},
		{"function arn", map[string]any{"Fn::GetAtt": []any{"Fn1", "Arn"}}, "arn:aws:lambda:us-east-1:123456789012:function:demo-detect"},
		{"queue arn", map[string]any{"Fn::GetAtt": []any{"Queue1", "Arn"}}, "arn:aws:sqs:us-east-1:123456789012:" + queue},
		{"join", map[string]any{"Fn::Join": []any{"", []any{"arn:", map[string]any{"Ref": "AWS::Partition"}, ":states:", map[string]any{"Ref": "AWS::Region"}, ":x"}}}, "arn:aws:states:us-east-1:x"},
		{"sub", map[string]any{"Fn::Sub": "${AWS::Region}/${Fn1}/${Role1.Arn}/${!Literal}"}, "us-east-1/demo-detect/arn:aws:iam::123456789012:role/demo-remediate/${Literal}"},
		{"nested map", map[string]any{"A": map[string]any{"Ref": "Fn1"}, "B": "x"}, map[string]any{"A": "demo-detect", "B": "x"}},
		{"list", []any{map[string]any{"Ref": "Fn1"}, "x"}, []any{"demo-detect", "x"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tmpl.Resolve(tc.in)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Resolve(%v) = %#v, want %#v", tc.in, got, tc.want)
			}
		})
	}
	for _, bad := range []any{
		map[string]any{"Ref": "Nope"},
		map[string]any{"Fn::GetAtt": []any{"Fn1", "Nope"}},
		map[string]any{"Fn::ImportValue": "x"},
		map[string]any{"Fn::GetAtt": "Fn1.Arn"},                            // the YAML short form's: the CDK writes a list
		map[string]any{"Fn::Sub": []any{"${A}", map[string]any{"A": "x"}}}, // the CDK writes no variables map
		map[string]any{"Ref": "AWS::NoValue"},                              // only meaningful in Fn::If, which no synthesized template uses
		map[string]any{"Fn::Select": []any{"1", []any{"a", "b"}}},          // no synthesized template uses it
	} {
		if got, err := tmpl.Resolve(bad); err == nil {
			t.Errorf("Resolve(%v) = %v, want an error", bad, got)
		}
	}
}

func TestDiff(t *testing.T) {
	old := map[string]any{"Family": "f", "ContainerDefinitions": []any{
		map[string]any{"Name": "a", "LogConfiguration": nil},
		map[string]any{"Name": "b", "LogConfiguration": map[string]any{"LogDriver": "awslogs"}},
	}, "Tags": map[string]any{"Team": "x"}}
	new := map[string]any{"Family": "f", "ContainerDefinitions": []any{
		map[string]any{"Name": "a", "LogConfiguration": map[string]any{"LogDriver": "awslogs"}},
		map[string]any{"Name": "b", "LogConfiguration": map[string]any{"LogDriver": "awslogs"}},
	}, "Tags": map[string]any{"Team": "x", "ecslogfix:managed": "true"}}
	var paths []string
	for _, d := range Diff(old, new) {
		paths = append(paths, d.Path)
	}
	want := []string{"ContainerDefinitions[0].LogConfiguration", "Tags.ecslogfix:managed"}
	if !reflect.DeepEqual(paths, want) {
		t.Errorf("Diff paths = %v, want %v", paths, want)
	}
	if d := Diff(old, old); len(d) != 0 {
		t.Errorf("Diff of equal values = %v", d)
	}
}

func TestQueueName(t *testing.T) {
	if got := queueName("ecslogfix-register-Target0-inbox"); got != "ecslogfix-register-Target0-inbox" {
		t.Errorf("queueName kept %q", got)
	}
	long := queueName(strings.Repeat("x", 100) + ".fifo:bad")
	if len(long) > 80 || strings.ContainsAny(long, ".:") {
		t.Errorf("queueName = %q, want ≤ 80 of [A-Za-z0-9_-]", long)
	}
}
