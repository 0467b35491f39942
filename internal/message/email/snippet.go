package email

import (
	"maps"
	"slices"
	"strings"

	"github.com/ecslogfix/ecslogfix/internal/message/notice"
)

// sourceWhere says where in the source the snippet goes.
func (v mail) sourceWhere() string {
	tool := ""
	if v.Origin != nil {
		tool = strings.ToLower(v.Origin.Tool)
	}
	switch tool {
	case "cloudformation":
		where := "the container's entry in ContainerDefinitions of the AWS::ECS::TaskDefinition resource"
		if v.Origin.Detail != "" {
			where += " in stack " + v.Origin.Detail
		}
		return where + " (CloudFormation YAML)"
	case "cdk":
		return "the container's options in taskDefinition.addContainer(...) (AWS CDK, TypeScript)"
	case "terraform":
		return "the container's object in container_definitions = jsonencode([...]) of the aws_ecs_task_definition resource (Terraform)"
	case "console":
		return "the container's logging settings when you create the next revision in the console (\"Use log collection\" → Amazon CloudWatch), or its JSON"
	default:
		return "the container's entry in containerDefinitions of the task definition your pipeline registers (for example the JSON given to aws ecs register-task-definition --cli-input-json)"
	}
}

// snippet renders one logConfiguration in the shape the origin tool uses.
func (v mail) snippet(s *notice.Settings) string {
	tool := ""
	if v.Origin != nil {
		tool = strings.ToLower(v.Origin.Tool)
	}
	keys := slices.Sorted(maps.Keys(s.Options))
	var b strings.Builder
	switch tool {
	case "cloudformation":
		b.WriteString("LogConfiguration:\n  LogDriver: " + quote(s.Driver) + "\n")
		if len(keys) > 0 {
			b.WriteString("  Options:\n")
			for _, k := range keys {
				b.WriteString("    " + k + ": " + quote(s.Options[k]) + "\n")
			}
		}
	case "cdk":
		b.WriteString("logging: ecs.LogDrivers.awsLogs({\n")
		for _, k := range keys {
			val := quote(s.Options[k])
			switch k {
			case "awslogs-group":
				b.WriteString("  logGroup: logs.LogGroup.fromLogGroupName(this, 'EcsLogGroup', " + val + "),\n")
			case "awslogs-stream-prefix":
				b.WriteString("  streamPrefix: " + val + ",\n")
			case "awslogs-datetime-format":
				b.WriteString("  datetimeFormat: " + val + ",\n")
			case "awslogs-multiline-pattern":
				b.WriteString("  multilinePattern: " + val + ",\n")
			case "mode":
				if s.Options[k] == "blocking" {
					b.WriteString("  mode: ecs.AwsLogDriverMode.BLOCKING,\n")
				} else {
					b.WriteString("  mode: ecs.AwsLogDriverMode.NON_BLOCKING,\n")
				}
			case "awslogs-region":
				b.WriteString("  // awslogs-region: " + val + " (the CDK sets the stack's region)\n")
			default:
				b.WriteString("  // " + k + ": " + val + "\n")
			}
		}
		b.WriteString("}),\n")
	case "terraform":
		b.WriteString("logConfiguration = {\n  logDriver = " + hclQuote(s.Driver) + "\n")
		if len(keys) > 0 {
			b.WriteString("  options = {\n")
			for _, k := range keys {
				b.WriteString("    " + hclQuote(k) + " = " + hclQuote(s.Options[k]) + "\n")
			}
			b.WriteString("  }\n")
		}
		b.WriteString("}\n")
	default:
		doc := map[string]any{"logDriver": s.Driver}
		if len(keys) > 0 {
			doc["options"] = s.Options
		}
		j := notice.JSON(map[string]any{"logConfiguration": doc}, "  ")
		// Drop the outer braces: the member goes inside a container.
		lines := strings.Split(string(j), "\n")
		for _, l := range lines[1 : len(lines)-1] {
			b.WriteString(strings.TrimPrefix(l, "  ") + "\n")
		}
	}
	return b.String()
}

// quote renders s as a JSON string, which is also a valid YAML and
// TypeScript string literal.
func quote(s string) string {
	return string(notice.JSON(s, ""))
}

// hclQuote renders s as an HCL string literal (JSON escaping plus HCL's
// template sequences).
func hclQuote(s string) string {
	q := quote(s)
	q = strings.ReplaceAll(q, "${", "$${")
	return strings.ReplaceAll(q, "%{", "%%{")
}
