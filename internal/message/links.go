package message

import (
	"net/url"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws/arn"

	"github.com/ecslogfix/ecslogfix/internal/awsarn"
)

// taskDefRef returns the family and revision of a task definition ARN
// (arn:…:task-definition/family:rev); rev is 0 when absent.
func taskDefRef(s string) (family string, rev int) {
	// The SDK's parser is lenient on purpose here: a message renders what
	// it was given, validated or not.
	a, err := arn.Parse(s)
	ref, ok := strings.CutPrefix(a.Resource, "task-definition/")
	if err != nil || !ok {
		return "", 0
	}
	i := strings.LastIndexByte(ref, ':')
	if i < 0 {
		return ref, 0
	}
	n, err := strconv.Atoi(ref[i+1:])
	if err != nil || n < 0 {
		return ref, 0
	}
	return ref[:i], n
}

// consoleBase returns the console origin of a partition and region, or ""
// for partitions without a public console (ISO regions, unknown ones).
func consoleBase(partition, region string) string {
	if !awsarn.ValidRegion(region) {
		return ""
	}
	switch partition {
	case "aws":
		return "https://" + region + ".console.aws.amazon.com"
	case "aws-cn":
		return "https://" + region + ".console.amazonaws.cn"
	case "aws-us-gov":
		return "https://" + region + ".console.amazonaws-us-gov.com"
	default:
		return ""
	}
}

// taskDefinitionLink is the ECS console page of one revision.
func taskDefinitionLink(partition, region, family string, rev int) string {
	base := consoleBase(partition, region)
	if base == "" || family == "" || rev <= 0 {
		return ""
	}
	return base + "/ecs/v2/task-definitions/" + url.PathEscape(family) + "/" + strconv.Itoa(rev) + "?region=" + region
}

// executionLink is the Step Functions console page of one execution.
func executionLink(executionARN string) string {
	a, err := arn.Parse(executionARN)
	if err != nil || a.Service != "states" || !strings.HasPrefix(a.Resource, "execution:") {
		return ""
	}
	base := consoleBase(a.Partition, a.Region)
	if base == "" {
		return ""
	}
	ref := executionARN
	if !urlSafe(ref) {
		ref = url.PathEscape(ref)
	}
	return base + "/states/home?region=" + a.Region + "#/v2/executions/details/" + ref
}

// urlSafe reports whether s needs no escaping in a URL path or fragment.
func urlSafe(s string) bool {
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.ContainsRune(":/_-.", c)) {
			return false
		}
	}
	return true
}
