package cloudtrail

import (
	"regexp"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// cloudFormationHost is what CloudTrail records as invokedBy,
// sourceIPAddress and userAgent for calls CloudFormation makes.
const cloudFormationHost = "cloudformation.amazonaws.com"

// StackNameTagKey is the tag CloudFormation puts on the resources it
// creates.
const StackNameTagKey = "aws:cloudformation:stack-name"

// uaRule recognises a tool by case-insensitive markers in the user agent;
// Detail is the first user-agent token containing one of the markers.
type uaRule struct {
	tool    string
	markers []string
}

// uaRules are checked in order: more specific tools first (Pulumi's bridged
// provider also names terraform-provider-aws; CDK hotswap names
// aws-sdk-js).
var uaRules = []uaRule{
	{ToolPulumi, []string{"pulumi-resource-aws/", "pulumi"}},
	{ToolCDK, []string{"aws-cdk/", "aws-cdk"}},
	{ToolCopilot, []string{"copilot/", "copilot"}},
	{ToolTerraform, []string{"terraform-provider-aws/", "terraform/", "terraform"}},
	{ToolCLI, []string{"aws-cli/"}},
	{ToolSDK, []string{"aws-sdk-", "boto3/", "botocore/"}},
}

// detectOrigin applies, in order: CloudFormation (invokedBy,
// sourceIPAddress or userAgent), the user-agent rules, then the console
// (userAgent console.amazonaws.com, a browser user agent, or
// sessionCredentialFromConsole), else unknown. The CloudFormation stack
// name comes from aws:cloudformation:stack-name tags in the record when
// present.
func detectOrigin(d *detail) Origin {
	var invokedBy string
	if d.UserIdentity != nil {
		invokedBy = d.UserIdentity.InvokedBy
	}
	ua := d.UserAgent
	if invokedBy == cloudFormationHost || d.SourceIPAddress == cloudFormationHost || strings.Contains(ua, cloudFormationHost) {
		o := Origin{Tool: ToolCloudFormation}
		for _, t := range cfnTags(d) {
			if t.Key == StackNameTagKey && t.Value != "" {
				o.Detail = t.Value
				break
			}
		}
		return o
	}
	if o, ok := originFromUserAgent(ua); ok {
		return o
	}
	switch {
	case strings.Contains(ua, "console.amazonaws.com"):
		return Origin{Tool: ToolConsole}
	case strings.HasPrefix(ua, "Mozilla/"):
		return Origin{Tool: ToolConsole, Detail: "browser"}
	case bool(d.SessionCredentialFromConsole):
		return Origin{Tool: ToolConsole}
	}
	return Origin{Tool: ToolUnknown}
}

// originFromUserAgent matches the uaRules.
func originFromUserAgent(ua string) (Origin, bool) {
	if ua == "" {
		return Origin{}, false
	}
	lower := strings.ToLower(ua)
	for _, r := range uaRules {
		for _, m := range r.markers {
			if strings.Contains(lower, m) {
				return Origin{Tool: r.tool, Detail: productToken(token(ua, lower, m), m)}, true
			}
		}
	}
	return Origin{}, false
}

// productRE is a user-agent product token as tools write it: a name of
// letters, digits, - and _, then optionally /VERSION. No dots in the name,
// no colon anywhere: nothing a mail or chat client turns into a link.
var productRE = regexp.MustCompile(`^[A-Za-z0-9_-]{1,48}(/v?[0-9][0-9A-Za-z._+-]{0,24})?$`)

// productToken keeps t only when it is a plain product token that starts
// with the marker: any caller chooses its user agent, so a trusted message
// may quote a tool's name and version, never free text.
func productToken(t, marker string) string {
	if !productRE.MatchString(t) || !strings.HasPrefix(strings.ToLower(t), strings.TrimSuffix(marker, "/")) {
		return ""
	}
	return t
}

// token returns the whitespace-separated token of ua that contains marker
// (matched in lower, the lower-cased ua), at most 100 bytes.
func token(ua, lower, marker string) string {
	i := strings.Index(lower, marker)
	start := strings.LastIndexAny(ua[:i], " \t") + 1
	end := strings.IndexAny(ua[i:], " \t")
	if end < 0 {
		end = len(ua)
	} else {
		end += i
	}
	t := ua[start:end]
	if len(t) > 100 {
		t = t[:100]
	}
	return t
}

// OriginFromTags recognises a CloudFormation-managed task definition by its
// aws:cloudformation:stack-name tag (as DescribeTaskDefinition returns it
// with TAGS): Origin{Tool: "cloudformation", Detail: stack name}.
func OriginFromTags(tags []types.Tag) (Origin, bool) {
	for _, t := range tags {
		if aws.ToString(t.Key) == StackNameTagKey && aws.ToString(t.Value) != "" {
			return Origin{Tool: ToolCloudFormation, Detail: aws.ToString(t.Value)}, true
		}
	}
	return Origin{}, false
}

// WithTags combines the origin seen in the event with the task
// definition's tags: a CloudFormation stack tag fills in the stack name of
// a cloudformation origin and replaces an unknown (or empty) one; any other
// tool seen in the event (e.g. a CDK hotswap or a CLI call on a
// stack-managed family) is kept, since it is who made this revision.
func (o Origin) WithTags(tags []types.Tag) Origin {
	t, ok := OriginFromTags(tags)
	if !ok {
		return o
	}
	switch o.Tool {
	case "", ToolUnknown, ToolCloudFormation:
		return t
	}
	return o
}
