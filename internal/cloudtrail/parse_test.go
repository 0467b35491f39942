package cloudtrail

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ecslogfix/ecslogfix/internal/awsarn"
	"github.com/ecslogfix/ecslogfix/internal/awsfake"
	"github.com/ecslogfix/ecslogfix/internal/taskdef"
	"github.com/ecslogfix/ecslogfix/test/goldenfile"
)

var update = flag.Bool("update", false, "rewrite golden files and the fuzz seed corpus")

const eventsDir = "../../testdata/events"

// wantErrors is the expected outcome of every rejected corpus event.
var wantErrors = map[string]Error{
	"n01-deregister-task-definition":    {Kind: KindWrongEvent, Field: "detail.eventName"},
	"n07-ecs-task-state-change":         {Kind: KindNotCloudTrail, Field: "detail-type"},
	"n30-spoofed-custom-source":         {Kind: KindSpoofed, Field: "source"},
	"n31-lookalike-event-source":        {Kind: KindSpoofed, Field: "detail.eventSource"},
	"n32-wrong-detail-type":             {Kind: KindNotCloudTrail, Field: "detail-type"},
	"n33-event-version-2-0":             {Kind: KindUnsupportedVersion, Field: "detail.eventVersion"},
	"n34-missing-event-id":              {Kind: KindMissingField, Field: "detail.eventID"},
	"n35-bad-account":                   {Kind: KindInvalidField, Field: "account"},
	"n36-arn-account-mismatch":          {Kind: KindSpoofed, Field: "detail.responseElements.taskDefinition.taskDefinitionArn"},
	"n37-region-mismatch":               {Kind: KindSpoofed, Field: "detail.awsRegion"},
	"n38-request-and-response-omitted":  {Kind: KindMissingField, Field: "detail.requestParameters.family"},
	"n39-bad-region":                    {Kind: KindInvalidField, Field: "region"},
	"n40-detail-null":                   {Kind: KindMissingField, Field: "detail"},
	"n41-lookalike-source":              {Kind: KindSpoofed, Field: "source"},
	"n42-malformed-task-definition-arn": {Kind: KindInvalidField, Field: "detail.responseElements.taskDefinition.taskDefinitionArn"},
	"n43-event-version-missing":         {Kind: KindMissingField, Field: "detail.eventVersion"},
	"n44-wrong-type-field":              {Kind: KindMalformed, Field: "detail.eventID"},
	"n45-malformed-truncated":           {Kind: KindMalformed},
	"n46-not-an-object":                 {Kind: KindMalformed},
	"n47-family-mismatch":               {Kind: KindSpoofed, Field: "detail.requestParameters.family"},
}

// wantOrigins pins the origin tool of every accepted corpus event.
var wantOrigins = map[string]string{
	"e01-iamuser-cli-fargate": ToolCLI, "e02-assumedrole-github-oidc": ToolSDK, "e04-cloudformation-service-role": ToolCloudFormation,
	"e05-awsservice-identity": ToolCloudFormation, "e06-failed-clientexception-exec-role": ToolConsole, "e08-remediation-role-self": ToolSDK,
	"e16-compliant-registration": ToolSDK, "e30-root-user": ToolConsole, "e31-federated-user": ToolSDK, "e32-sso-console": ToolConsole,
	"e33-terraform": ToolTerraform, "e34-cdk-hotswap": ToolCDK, "e35-copilot": ToolCopilot, "e36-pulumi": ToolPulumi,
	"e37-console-iamuser": ToolConsole, "e38-boto3-lambda": ToolSDK, "e39-event-version-1-12": ToolCLI, "e40-omitted-response": ToolCLI,
	"e41-null-response": ToolCLI, "e42-unknown-fields": ToolCLI, "e43-failed-concurrent-revision": ToolCLI,
	"e44-failed-access-denied-no-request": ToolCLI, "e45-govcloud": ToolCLI, "e46-awsservice-no-useragent": ToolUnknown,
	"e47-cloudformation-stack-tags": ToolCloudFormation,
}

type event struct {
	name string
	data []byte
}

func loadEvents(tb testing.TB) []event {
	tb.Helper()
	files, err := filepath.Glob(filepath.Join(eventsDir, "*.json"))
	if err != nil || len(files) < 40 {
		tb.Fatalf("events corpus: %d files, err %v", len(files), err)
	}
	var out []event
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			tb.Fatal(err)
		}
		out = append(out, event{strings.TrimSuffix(filepath.Base(f), ".json"), b})
	}
	return out
}

// goldenResult is what the golden files hold per event.
type goldenResult struct {
	Registration *Registration `json:",omitempty"`
	Error        *Error        `json:",omitempty"`
}

// TestParseCorpus: every e* event parses, every n* event fails with the
// expected kind and field; the results are golden-filed.
func TestParseCorpus(t *testing.T) {
	seen := map[string]bool{}
	for _, ev := range loadEvents(t) {
		t.Run(ev.name, func(t *testing.T) {
			r, err := Parse(ev.data)
			var g goldenResult
			if strings.HasPrefix(ev.name, "n") {
				want, ok := wantErrors[ev.name]
				if !ok {
					t.Fatalf("no expectation for rejected event %s: add it to wantErrors", ev.name)
				}
				seen[ev.name] = true
				var pe *Error
				if !errors.As(err, &pe) {
					t.Fatalf("err = %v, want *Error %s", err, want.Kind)
				}
				if pe.Kind != want.Kind || pe.Field != want.Field {
					t.Errorf("err = %v, want kind %s field %q", err, want.Kind, want.Field)
				}
				if !errors.Is(err, &Error{Kind: want.Kind}) {
					t.Errorf("errors.Is does not match kind %s", want.Kind)
				}
				if r != (Registration{}) {
					t.Errorf("registration returned with an error: %+v", r)
				}
				g.Error = pe
			} else {
				if err != nil {
					t.Fatalf("Parse: %v", err)
				}
				checkInvariants(t, r)
				if want, ok := wantOrigins[ev.name]; !ok {
					t.Errorf("no origin expectation for %s: add it to wantOrigins", ev.name)
				} else if r.Origin.Tool != want {
					t.Errorf("origin = %+v, want tool %s", r.Origin, want)
				}
				g.Registration = &r
			}
			b, err := json.MarshalIndent(g, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			goldenfile.Check(t, filepath.Join("testdata", "golden", ev.name+".json"), append(b, '\n'), *update)
			if *update {
				writeSeed(t, ev)
			}
		})
	}
	for name := range wantErrors {
		if !seen[name] {
			t.Errorf("wantErrors names %s, which is not in the corpus", name)
		}
	}
}

// checkInvariants holds for every successful parse.
func checkInvariants(t *testing.T, r Registration) {
	t.Helper()
	if r.EventID == "" || !awsarn.ValidAccount(r.Account) || !awsarn.ValidRegion(r.Region) {
		t.Errorf("envelope fields invalid: %+v", r)
	}
	if r.Failed() {
		if r.TaskDefinitionARN != "" || r.Revision != 0 {
			t.Errorf("failed call with an ARN: %+v", r)
		}
		return
	}
	a, err := taskdef.ParseRef(r.TaskDefinitionARN)
	if err != nil {
		t.Errorf("TaskDefinitionARN %q does not parse: %v", r.TaskDefinitionARN, err)
		return
	}
	if a.Family != r.Family || a.Revision != r.Revision || a.Account != r.Account || a.Region != r.Region {
		t.Errorf("ARN %+v disagrees with registration %+v", a, r)
	}
	if r.Origin.Tool == "" {
		t.Errorf("empty origin tool")
	}
}

// writeSeed commits the corpus event as a FuzzParse seed.
func writeSeed(t *testing.T, ev event) {
	t.Helper()
	dir := filepath.Join("testdata", "fuzz", "FuzzParse")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	seed := "go test fuzz v1\n[]byte(" + strconv.Quote(string(ev.data)) + ")\n"
	if err := os.WriteFile(filepath.Join(dir, ev.name), []byte(seed), 0o644); err != nil {
		t.Fatal(err)
	}
}

// e01 is the e01 event as mutate leaves it, for mutation tests.
func e01(t *testing.T, mutate func(m map[string]any)) []byte {
	t.Helper()
	return awsfake.EditEvent(t, awsfake.Event(t, "e01-iamuser-cli-fargate.json"), mutate)
}

func detailOf(m map[string]any) map[string]any { return m["detail"].(map[string]any) }

// TestParseMutations covers each check with a one-field change of e01.
func TestParseMutations(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(m map[string]any)
		kind   string // "" = success
		field  string
		check  func(t *testing.T, r Registration)
	}{
		{"ok", func(m map[string]any) {}, "", "", nil},
		{"detail-type missing", func(m map[string]any) { delete(m, "detail-type") }, KindMissingField, "detail-type", nil},
		{"detail-type with trailing space", func(m map[string]any) { m["detail-type"] = DetailType + " " }, KindNotCloudTrail, "detail-type", nil},
		{"source missing", func(m map[string]any) { delete(m, "source") }, KindMissingField, "source", nil},
		{"source null", func(m map[string]any) { m["source"] = nil }, KindMissingField, "source", nil},
		{"source other service", func(m map[string]any) { m["source"] = "aws.ec2" }, KindWrongEvent, "source", nil},
		{"source upper case", func(m map[string]any) { m["source"] = "AWS.ECS" }, KindSpoofed, "source", nil},
		{"source aws. only", func(m map[string]any) { m["source"] = "aws." }, KindSpoofed, "source", nil},
		{"detail missing", func(m map[string]any) { delete(m, "detail") }, KindMissingField, "detail", nil},
		{"detail not object", func(m map[string]any) { m["detail"] = "x" }, KindMalformed, "detail", nil},
		{"eventSource missing", func(m map[string]any) { delete(detailOf(m), "eventSource") }, KindMissingField, "detail.eventSource", nil},
		{"eventSource other", func(m map[string]any) { detailOf(m)["eventSource"] = "ec2.amazonaws.com" }, KindSpoofed, "detail.eventSource", nil},
		{"eventSource prefix", func(m map[string]any) { detailOf(m)["eventSource"] = "evil.ecs.amazonaws.com" }, KindSpoofed, "detail.eventSource", nil},
		{"eventName missing", func(m map[string]any) { delete(detailOf(m), "eventName") }, KindMissingField, "detail.eventName", nil},
		{"eventName case", func(m map[string]any) { detailOf(m)["eventName"] = "registerTaskDefinition" }, KindWrongEvent, "detail.eventName", nil},
		{"version 1.0", func(m map[string]any) { detailOf(m)["eventVersion"] = "1.0" }, "", "", nil},
		{"version 1.99", func(m map[string]any) { detailOf(m)["eventVersion"] = "1.99" }, "", "", nil},
		{"version 0.9", func(m map[string]any) { detailOf(m)["eventVersion"] = "0.9" }, KindUnsupportedVersion, "detail.eventVersion", nil},
		{"version 10.1", func(m map[string]any) { detailOf(m)["eventVersion"] = "10.1" }, KindUnsupportedVersion, "detail.eventVersion", nil},
		{"version 1", func(m map[string]any) { detailOf(m)["eventVersion"] = "1" }, KindInvalidField, "detail.eventVersion", nil},
		{"version 1.x", func(m map[string]any) { detailOf(m)["eventVersion"] = "1.x" }, KindInvalidField, "detail.eventVersion", nil},
		{"version 1.1.1", func(m map[string]any) { detailOf(m)["eventVersion"] = "1.1.1" }, KindInvalidField, "detail.eventVersion", nil},
		{"version number", func(m map[string]any) { detailOf(m)["eventVersion"] = 1.11 }, KindMalformed, "detail.eventVersion", nil},
		{"account missing", func(m map[string]any) { delete(m, "account") }, KindMissingField, "account", nil},
		{"account letters", func(m map[string]any) { m["account"] = "11112222333x" }, KindInvalidField, "account", nil},
		{"region missing", func(m map[string]any) { delete(m, "region") }, KindMissingField, "region", nil},
		{"eventID empty", func(m map[string]any) { detailOf(m)["eventID"] = "" }, KindMissingField, "detail.eventID", nil},
		{"eventID control char", func(m map[string]any) { detailOf(m)["eventID"] = "a\nb" }, KindInvalidField, "detail.eventID", nil},
		{"eventID too long", func(m map[string]any) { detailOf(m)["eventID"] = strings.Repeat("a", 129) }, KindInvalidField, "detail.eventID", nil},
		{"recipient mismatch", func(m map[string]any) { detailOf(m)["recipientAccountId"] = "999988887777" }, KindSpoofed, "detail.recipientAccountId", nil},
		{"awsRegion absent ok", func(m map[string]any) { delete(detailOf(m), "awsRegion") }, "", "", nil},
		{"ARN region mismatch", func(m map[string]any) {
			td := detailOf(m)["responseElements"].(map[string]any)["taskDefinition"].(map[string]any)
			td["taskDefinitionArn"] = "arn:aws:ecs:eu-west-1:111122223333:task-definition/orders-api:14"
		}, KindSpoofed, "detail.responseElements.taskDefinition.taskDefinitionArn", nil},
		{"ARN wrong type", func(m map[string]any) {
			td := detailOf(m)["responseElements"].(map[string]any)["taskDefinition"].(map[string]any)
			td["taskDefinitionArn"] = 7
		}, KindMalformed, "detail.responseElements.taskDefinition.taskDefinitionArn", nil},
		{"ARN absent falls back to family", func(m map[string]any) {
			delete(detailOf(m)["responseElements"].(map[string]any)["taskDefinition"].(map[string]any), "taskDefinitionArn")
		}, "", "", func(t *testing.T, r Registration) {
			if r.TaskDefinitionARN != "arn:aws:ecs:us-east-1:111122223333:task-definition/orders-api" || r.Revision != 0 {
				t.Errorf("fallback: %+v", r)
			}
		}},
		{"fallback invalid family", func(m map[string]any) {
			detailOf(m)["responseElements"] = nil
			detailOf(m)["requestParameters"].(map[string]any)["family"] = "bad family"
		}, KindInvalidField, "detail.requestParameters.family", nil},
		{"fallback no request", func(m map[string]any) {
			detailOf(m)["responseElements"] = nil
			delete(detailOf(m), "requestParameters")
		}, KindMissingField, "detail.requestParameters.family", nil},
		{"fallback china partition", func(m map[string]any) {
			m["region"] = "cn-north-1"
			detailOf(m)["awsRegion"] = "cn-north-1"
			detailOf(m)["responseElements"] = map[string]any{"omitted": true}
		}, "", "", func(t *testing.T, r Registration) {
			if r.TaskDefinitionARN != "arn:aws-cn:ecs:cn-north-1:111122223333:task-definition/orders-api" {
				t.Errorf("ARN = %s", r.TaskDefinitionARN)
			}
		}},
		{"failed with invalid family keeps no family", func(m map[string]any) {
			detailOf(m)["errorCode"] = "ClientException"
			detailOf(m)["responseElements"] = nil
			detailOf(m)["requestParameters"].(map[string]any)["family"] = "bad family"
		}, "", "", func(t *testing.T, r Registration) {
			if !r.Failed() || r.Family != "" || r.TaskDefinitionARN != "" {
				t.Errorf("failed: %+v", r)
			}
		}},
		{"long error message truncated", func(m map[string]any) {
			detailOf(m)["errorCode"] = "ClientException"
			detailOf(m)["errorMessage"] = strings.Repeat("é", 600)
		}, "", "", func(t *testing.T, r Registration) {
			if len(r.ErrorMessage) != MaxErrorMessageBytes || !utf8.ValidString(r.ErrorMessage) {
				t.Errorf("message: %d bytes, valid %v", len(r.ErrorMessage), utf8.ValidString(r.ErrorMessage))
			}
		}},
		{"userIdentity missing", func(m map[string]any) { delete(detailOf(m), "userIdentity") }, "", "", func(t *testing.T, r Registration) {
			if r.Principal != (Principal{}) {
				t.Errorf("principal = %+v", r.Principal)
			}
		}},
		{"assumed role without sessionContext", func(m map[string]any) {
			detailOf(m)["userIdentity"] = map[string]any{"type": "AssumedRole", "arn": "arn:aws:sts::111122223333:assumed-role/r"}
		}, "", "", func(t *testing.T, r Registration) {
			if r.Principal.RoleARN != "" || r.Principal.UserName != "" || r.Principal.Name() != "AssumedRole" {
				t.Errorf("principal = %+v", r.Principal)
			}
		}},
		{"AWSService drops other fields", func(m map[string]any) {
			detailOf(m)["userIdentity"] = map[string]any{"type": "AWSService", "invokedBy": "ecs.amazonaws.com", "arn": "x", "accountId": "y"}
		}, "", "", func(t *testing.T, r Registration) {
			if r.Principal != (Principal{Type: "AWSService", InvokedBy: "ecs.amazonaws.com"}) || r.Principal.Name() != "ecs.amazonaws.com" {
				t.Errorf("principal = %+v", r.Principal)
			}
		}},
		{"sessionCredentialFromConsole bool", func(m map[string]any) {
			detailOf(m)["userAgent"] = "AWS Internal"
			detailOf(m)["sessionCredentialFromConsole"] = true
		}, "", "", func(t *testing.T, r Registration) {
			if r.Origin.Tool != ToolConsole {
				t.Errorf("origin = %+v", r.Origin)
			}
		}},
		{"AWS Internal without console flag", func(m map[string]any) {
			detailOf(m)["userAgent"] = "AWS Internal"
			detailOf(m)["sessionCredentialFromConsole"] = map[string]any{}
		}, "", "", func(t *testing.T, r Registration) {
			if r.Origin.Tool != ToolUnknown {
				t.Errorf("origin = %+v", r.Origin)
			}
		}},
		{"cloudformation via sourceIPAddress, tags from request", func(m map[string]any) {
			d := detailOf(m)
			d["sourceIPAddress"] = "cloudformation.amazonaws.com"
			d["responseElements"] = nil
			d["requestParameters"].(map[string]any)["tags"] = []any{map[string]any{"key": StackNameTagKey, "value": "orders-prod"}}
		}, "", "", func(t *testing.T, r Registration) {
			if r.Origin != (Origin{ToolCloudFormation, "orders-prod"}) {
				t.Errorf("origin = %+v", r.Origin)
			}
		}},
		{"unknown fields accepted", func(m map[string]any) {
			m["x-new"] = []any{1, "a", nil}
			detailOf(m)["userIdentity"].(map[string]any)["future"] = map[string]any{"nested": true}
		}, "", "", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, err := Parse(e01(t, tc.mutate))
			if tc.kind == "" {
				if err != nil {
					t.Fatalf("Parse: %v", err)
				}
				checkInvariants(t, r)
				if tc.check != nil {
					tc.check(t, r)
				}
				return
			}
			var pe *Error
			if !errors.As(err, &pe) || pe.Kind != tc.kind || pe.Field != tc.field {
				t.Fatalf("err = %v, want %s at %q", err, tc.kind, tc.field)
			}
			if !errors.Is(err, &Error{Kind: tc.kind, Field: tc.field}) || errors.Is(err, &Error{Kind: tc.kind, Field: "other"}) {
				t.Error("errors.Is field matching")
			}
		})
	}
}

func TestParseRawInputs(t *testing.T) {
	big := make([]byte, MaxEventBytes+1)
	for i := range big {
		big[i] = ' '
	}
	for name, tc := range map[string]struct {
		in   []byte
		kind string
	}{
		"too large":  {big, KindTooLarge},
		"empty":      {nil, KindMalformed},
		"spaces":     {[]byte("   "), KindMalformed},
		"null":       {[]byte("null"), KindMalformed},
		"string":     {[]byte(`"aws.ecs"`), KindMalformed},
		"number":     {[]byte(`1`), KindMalformed},
		"empty obj":  {[]byte(`{}`), KindMissingField},
		"trailing":   {[]byte(`{} x`), KindMalformed},
		"bad utf8":   {[]byte("{\"source\":\"\xff\"}"), KindMissingField},
		"deep array": {[]byte(`{"detail":` + strings.Repeat("[", 20000) + strings.Repeat("]", 20000) + `}`), KindMalformed},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := Parse(tc.in)
			var pe *Error
			if !errors.As(err, &pe) || pe.Kind != tc.kind {
				t.Fatalf("err = %v, want kind %s", err, tc.kind)
			}
			if len(pe.Error()) > 400 {
				t.Errorf("error message too long: %d bytes", len(pe.Error()))
			}
		})
	}
	if errors.Is(errors.New("x"), &Error{Kind: KindMalformed}) || (&Error{Kind: "k"}).Is(errors.New("k")) {
		t.Error("Is matched a foreign error")
	}
}

// TestErrorsDoNotLeakBodies: no secret-looking value of the corpus appears
// in an error message.
func TestErrorsDoNotLeakBodies(t *testing.T) {
	_, err := Parse(e01(t, func(m map[string]any) { detailOf(m)["eventSource"] = "sk_live_FAKE" + strings.Repeat("x", 200) }))
	if err == nil || strings.Contains(err.Error(), strings.Repeat("x", 70)) {
		t.Errorf("error not truncated: %v", err)
	}
	_, err = Parse(e01(t, func(m map[string]any) {
		env := detailOf(m)["requestParameters"].(map[string]any)["containerDefinitions"].([]any)[0].(map[string]any)["environment"].([]any)
		env[0].(map[string]any)["value"] = "sk_live_FAKE123"
		detailOf(m)["eventID"] = 5
	}))
	if err == nil || strings.Contains(err.Error(), "sk_live") {
		t.Errorf("err = %v", err)
	}
}

func TestOriginFromUserAgent(t *testing.T) {
	for ua, want := range map[string]Origin{
		"aws-cli/1.36.4 md/Botocore#1.35.63 ua/2.0 os/linux#6.1 md/arch#x86_64 lang/python#3.9.20":           {ToolCLI, "aws-cli/1.36.4"},
		"Terraform/1.5.7 (+https://www.terraform.io) aws-sdk-go/1.44.0":                                      {ToolTerraform, "Terraform/1.5.7"},
		"APN/1.0 HashiCorp/1.0 terraform-provider-aws/5.80.0 aws-sdk-go-v2/1.32.6":                           {ToolTerraform, "terraform-provider-aws/5.80.0"},
		"aws-sdk-go-v2/1.32.6 ua/2.1 os/linux lang/go#1.23.3 md/GOOS#linux":                                  {ToolSDK, "aws-sdk-go-v2/1.32.6"},
		"aws-sdk-js/3.699.0 ua/2.1 os/linux#6.8.0 lang/js md/nodejs#20.18.0 api/ecs#3.699.0 aws-cdk/2.176.0": {ToolCDK, "aws-cdk/2.176.0"},
		"aws-sdk-go/1.55.5 (go1.22.5; linux; amd64) copilot/v1.34.0":                                         {ToolCopilot, "copilot/v1.34.0"},
		"Botocore/1.35.76 ua/2.0": {ToolSDK, "Botocore/1.35.76"},
		"\taws-cli/2.0\t":         {ToolCLI, "aws-cli/2.0"},
		// Any caller chooses its user agent: a trusted message names the
		// tool, and quotes only a plain product token (name/version).
		"aws-sdk-" + strings.Repeat("x", 200):                  {ToolSDK, ""},
		"terraform-https://evil.example/reset-password":        {ToolTerraform, ""},
		"terraform.evil.example/1.0":                           {ToolTerraform, ""},
		"aws-cli/2.0:phish":                                    {ToolCLI, ""},
		"URGENT-rotate-keys-at-evil.example aws-sdk-go-v2/1.0": {ToolSDK, "aws-sdk-go-v2/1.0"},
		"boto3/1.34.0<script>":                                 {ToolSDK, ""},
		"pulumi\u202e/1.0":                                     {ToolPulumi, ""},
	} {
		got, ok := originFromUserAgent(ua)
		if !ok || got != want {
			t.Errorf("originFromUserAgent(%q) = %+v, %v; want %+v", ua, got, ok, want)
		}
	}
	for _, ua := range []string{"", "curl/8.5.0", "AWS Internal", "console.amazonaws.com"} {
		if o, ok := originFromUserAgent(ua); ok {
			t.Errorf("originFromUserAgent(%q) = %+v", ua, o)
		}
	}
}

func tagsOf(kv ...string) []types.Tag {
	var out []types.Tag
	for i := 0; i+1 < len(kv); i += 2 {
		out = append(out, types.Tag{Key: aws.String(kv[i]), Value: aws.String(kv[i+1])})
	}
	return out
}

func TestOriginFromTagsAndWithTags(t *testing.T) {
	stack := tagsOf("Team", "x", StackNameTagKey, "orders-prod")
	if o, ok := OriginFromTags(stack); !ok || o != (Origin{ToolCloudFormation, "orders-prod"}) {
		t.Errorf("OriginFromTags = %+v, %v", o, ok)
	}
	for _, tags := range [][]types.Tag{nil, tagsOf("Team", "x"), tagsOf(StackNameTagKey, ""), tagsOf("AWS:CloudFormation:stack-name", "s"), {{}}} {
		if o, ok := OriginFromTags(tags); ok {
			t.Errorf("OriginFromTags(%v) = %+v", tags, o)
		}
	}
	tests := []struct {
		in   Origin
		tags []types.Tag
		want Origin
	}{
		{Origin{ToolUnknown, ""}, stack, Origin{ToolCloudFormation, "orders-prod"}},
		{Origin{}, stack, Origin{ToolCloudFormation, "orders-prod"}},
		{Origin{ToolCloudFormation, ""}, stack, Origin{ToolCloudFormation, "orders-prod"}},
		{Origin{ToolCDK, "aws-cdk/2.1"}, stack, Origin{ToolCDK, "aws-cdk/2.1"}},
		{Origin{ToolCLI, "aws-cli/2"}, nil, Origin{ToolCLI, "aws-cli/2"}},
	}
	for _, tc := range tests {
		if got := tc.in.WithTags(tc.tags); got != tc.want {
			t.Errorf("%+v.WithTags = %+v, want %+v", tc.in, got, tc.want)
		}
	}
}

func TestPrincipalHelpers(t *testing.T) {
	tests := []struct {
		p    Principal
		name string
		sso  bool
	}{
		{Principal{Type: "IAMUser", UserName: "jane"}, "jane", false},
		{Principal{Type: "AssumedRole", RoleARN: "arn:aws:iam::1:role/AWSReservedSSO_Admin_abc", UserName: "sam@example.com"}, "sam@example.com", true},
		{Principal{Type: "AssumedRole", RoleARN: "arn:aws:iam::1:role/path/deploy"}, "deploy", false},
		{Principal{Type: "AWSService", InvokedBy: "ecs.amazonaws.com"}, "ecs.amazonaws.com", false},
		{Principal{Type: "Root"}, "Root", false},
		{Principal{Type: "IAMUser", RoleARN: "AWSReservedSSO_x"}, "AWSReservedSSO_x", false},
	}
	for _, tc := range tests {
		if got := tc.p.Name(); got != tc.name {
			t.Errorf("%+v.Name() = %q, want %q", tc.p, got, tc.name)
		}
		if got := tc.p.IsSSO(); got != tc.sso {
			t.Errorf("%+v.IsSSO() = %v", tc.p, got)
		}
	}
}

func TestKindsAreDistinct(t *testing.T) {
	kinds := []string{KindTooLarge, KindMalformed, KindNotCloudTrail, KindSpoofed, KindWrongEvent, KindUnsupportedVersion, KindMissingField, KindInvalidField}
	slices.Sort(kinds)
	if len(slices.Compact(kinds)) != 8 {
		t.Error("duplicate kind values")
	}
	if got := (&Error{Kind: KindMalformed, Msg: "m"}).Error(); got != "cloudtrail: malformed: m" {
		t.Errorf("Error() = %q", got)
	}
}

var knownKinds = map[string]bool{KindTooLarge: true, KindMalformed: true, KindNotCloudTrail: true, KindSpoofed: true,
	KindWrongEvent: true, KindUnsupportedVersion: true, KindMissingField: true, KindInvalidField: true}

// FuzzParse: never panics; errors are *Error of a known kind; successes
// satisfy the invariants. Seeds: testdata/fuzz/FuzzParse (the corpus).
func FuzzParse(f *testing.F) {
	f.Add([]byte(`{"source":"aws.ecs","detail-type":"AWS API Call via CloudTrail","account":"111122223333","region":"us-east-1","detail":{"eventVersion":"1.11","eventSource":"ecs.amazonaws.com","eventName":"RegisterTaskDefinition","eventID":"e","requestParameters":{"family":"f"}}}`))
	f.Add([]byte(`{"detail":null}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := Parse(data)
		if err != nil {
			var pe *Error
			if !errors.As(err, &pe) || !knownKinds[pe.Kind] {
				t.Fatalf("error %v (%T) is not an *Error of a known kind", err, err)
			}
			if r != (Registration{}) {
				t.Fatalf("registration with error")
			}
			return
		}
		checkInvariants(t, r)
	})
}

func BenchmarkParse(b *testing.B) {
	for _, name := range []string{"e01-iamuser-cli-fargate", "e04-cloudformation-service-role", "n30-spoofed-custom-source"} {
		data, err := os.ReadFile(filepath.Join(eventsDir, name+".json"))
		if err != nil {
			b.Fatal(err)
		}
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				_, _ = Parse(data)
			}
		})
	}
}

func ExampleParse() {
	data, _ := os.ReadFile("../../testdata/events/e04-cloudformation-service-role.json")
	r, err := Parse(data)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(r.TaskDefinitionARN, r.Principal.Name(), r.Origin.Tool, r.Origin.Detail)
	// Output: arn:aws:ecs:us-east-1:111122223333:task-definition/ledger-api:45 AWSCloudFormation cloudformation ledger-prod
}
