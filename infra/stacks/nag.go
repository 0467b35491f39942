//lint:file-ignore SA1019 assertions.Annotations returns cxapi.SynthesisMessage; the CDK Go module offers no other type.

package stacks

import (
	"fmt"
	"sort"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/aws-cdk-go/awscdk/v2/cxapi"
	"github.com/aws/jsii-runtime-go"

	"github.com/ecslogfix/ecslogfix/infra/pipeline"
)

// NagFindings returns stack's unsuppressed cdk-nag AwsSolutions errors and
// warnings as "path: message" lines (the stack must be part of a
// synthesizable app).
func NagFindings(stack awscdk.Stack) (errs, warnings []string) {
	ann := assertions.Annotations_FromStack(stack)
	re := assertions.Match_StringLikeRegexp(jsii.String("AwsSolutions-.*"))
	return formatMessages(ann.FindError(jsii.String("*"), re)), formatMessages(ann.FindWarning(jsii.String("*"), re))
}

func formatMessages(msgs *[]*cxapi.SynthesisMessage) []string {
	if msgs == nil {
		return nil
	}
	out := make([]string, 0, len(*msgs))
	for _, m := range *msgs {
		out = append(out, fmt.Sprintf("%s: %v", *m.Id, m.Entry.Data))
	}
	sort.Strings(out)
	return out
}

// Warnings returns the warnings ecslogfix itself adds to stack at synth
// (quotas and names a deployer must check), as "path: message" lines.
func Warnings(stack awscdk.Stack) []string {
	ann := assertions.Annotations_FromStack(stack)
	return formatMessages(ann.FindWarning(jsii.String("*"), assertions.Match_StringLikeRegexp(jsii.String("^"+pipeline.WarnPrefix))))
}
