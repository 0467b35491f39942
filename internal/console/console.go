// Package console makes the links to the AWS Management Console pages a
// notification points people at: a task definition revision, a Step
// Functions execution, an S3 object. Each is partition-aware and empty
// where there is no public console (the ISO partitions, unknown regions).
package console

import (
	"net/url"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws/arn"

	"github.com/ecslogfix/ecslogfix/internal/awsarn"
)

// Base returns the console origin of a partition and region, or "" for
// partitions without a public console (ISO regions, unknown ones).
func Base(partition, region string) string {
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

// TaskDefinition is the ECS console page of one revision.
func TaskDefinition(partition, region, family string, rev int) string {
	base := Base(partition, region)
	if base == "" || family == "" || rev <= 0 {
		return ""
	}
	return base + "/ecs/v2/task-definitions/" + url.PathEscape(family) + "/" + strconv.Itoa(rev) + "?region=" + region
}

// Execution is the Step Functions console page of one execution.
func Execution(executionARN string) string {
	a, err := arn.Parse(executionARN)
	if err != nil || a.Service != "states" || !strings.HasPrefix(a.Resource, "execution:") {
		return ""
	}
	base := Base(a.Partition, a.Region)
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

// S3Object is the S3 console page of one object. The S3 console is global;
// the commercial partition's is the one with a documented object URL, so
// it is "" in any other.
func S3Object(partition, region, bucket, key string) string {
	if partition != "aws" || Base(partition, region) == "" {
		return ""
	}
	return "https://s3.console.aws.amazon.com/s3/object/" + bucket + "?region=" + region + "&prefix=" + key
}
