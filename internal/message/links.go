package message

import (
	"net/url"
	"strconv"
	"strings"
)

// arnParts is a parsed ARN: arn:partition:service:region:account:resource.
type arnParts struct {
	Partition, Service, Region, Account, Resource string
}

func parseARN(s string) (arnParts, bool) {
	f := strings.SplitN(s, ":", 6)
	if len(f) != 6 || f[0] != "arn" {
		return arnParts{}, false
	}
	return arnParts{Partition: f[1], Service: f[2], Region: f[3], Account: f[4], Resource: f[5]}, true
}

// taskDefRef returns the family and revision of a task definition ARN
// (arn:…:task-definition/family:rev); rev is 0 when absent.
func taskDefRef(arn string) (family string, rev int) {
	a, ok := parseARN(arn)
	if !ok || !strings.HasPrefix(a.Resource, "task-definition/") {
		return "", 0
	}
	ref := strings.TrimPrefix(a.Resource, "task-definition/")
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

// partitionOf guesses the partition from an explicit value, else a region.
func partitionOf(explicit, region string) string {
	switch {
	case explicit != "":
		return explicit
	case strings.HasPrefix(region, "cn-"):
		return "aws-cn"
	case strings.HasPrefix(region, "us-gov-"):
		return "aws-us-gov"
	default:
		return "aws"
	}
}

// consoleBase returns the console origin of a partition and region, or ""
// for partitions without a public console (ISO regions, unknown ones).
func consoleBase(partition, region string) string {
	if !validRegion(region) {
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

// validRegion accepts region names such as us-east-1 or us-gov-west-1: a
// link is never built from anything else.
func validRegion(r string) bool {
	if r == "" || len(r) > 32 {
		return false
	}
	for _, c := range r {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
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
	a, ok := parseARN(executionARN)
	if !ok || a.Service != "states" || !strings.HasPrefix(a.Resource, "execution:") {
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
