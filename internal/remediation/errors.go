package remediation

import (
	"errors"
	"strings"

	"github.com/aws/smithy-go"
)

// errorCode returns the API error code of err, or "".
func errorCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

// isTaskDefinitionNotFound reports whether err is ECS's answer to a
// DescribeTaskDefinition of a family or revision it cannot describe
// (deleted, or INACTIVE with nothing referencing it, or a family without
// ACTIVE revisions): a ClientException "Unable to describe task definition".
func isTaskDefinitionNotFound(err error) bool {
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != "ClientException" {
		return false
	}
	m := strings.ToLower(ae.ErrorMessage())
	return strings.Contains(m, "unable to describe task definition") || strings.Contains(m, "does not exist") || strings.Contains(m, "not found")
}
