package stacks

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/ecslogfix/ecslogfix/internal/config/fnenv"
	"github.com/ecslogfix/ecslogfix/internal/config/naming"
	"github.com/ecslogfix/ecslogfix/internal/workflow"
	"github.com/ecslogfix/ecslogfix/internal/workflow/asl"
)

// sweepStateMachineRole is the logical ID of the sweep state machine's role.
func sweepStateMachineRole(t *testing.T, tmpl Template) string {
	t.Helper()
	sm := tmpl.Resource(mustID(t, tmpl, "AWS::StepFunctions::StateMachine", "StateMachineName", "ecslogfix-sweep"))
	id, ok := strings.CutSuffix(strings.TrimPrefix(Flatten(sm["Properties"].(map[string]any)["RoleArn"]), "${"), ".Arn}")
	if !ok || tmpl.Resource(id)["Type"] != "AWS::IAM::Role" {
		t.Fatalf("the sweep state machine's role is %v", sm["Properties"].(map[string]any)["RoleArn"])
	}
	return id
}

// statementsOfRole returns the statements attached to the role with
// logical ID id.
func statementsOfRole(tmpl Template, id string) []map[string]any {
	var out []map[string]any
	for _, props := range tmpl.Resources("AWS::IAM::Policy") {
		for _, r := range strs(props["Roles"]) {
			if r == "${"+id+"}" {
				out = append(out, statements(props["PolicyDocument"])...)
			}
		}
	}
	return out
}

// The sweep state machine is the one asl.SweepDefinition renders,
// with the configured Map settings; its role may do what the definition
// does and no more.
func TestSweepStateMachine(t *testing.T) {
	for name, s := range map[string]*Synthesized{"single": single(t), "hub": hub(t)} {
		tmpl := s.Template
		// Its tokens are the partition and the bucket's name.
		sm := tmpl.Resource(mustID(t, tmpl, "AWS::StepFunctions::StateMachine", "StateMachineName", "ecslogfix-sweep"))
		def := Flatten(sm["Properties"].(map[string]any)["DefinitionString"])
		want := asl.SweepDefinition("${AWS::Partition}", "ecslogfix-sweep", "ecslogfix-notify", "${"+keys(tmpl.Resources("AWS::S3::Bucket"))[0]+"}",
			asl.SweepOptions{MaxConcurrency: workflow.DefaultSweepConcurrency, ToleratedFailurePercentage: workflow.DefaultSweepToleratedFailurePercentage})
		if def != want {
			t.Errorf("%s: the deployed sweep definition differs from SweepDefinition()\n%s\n%s", name, def, want)
		}
		role := sweepStateMachineRole(t, tmpl)
		bucket := "${" + keys(tmpl.Resources("AWS::S3::Bucket"))[0] + ".Arn}"
		fn := "${" + mustFn(t, tmpl, "ecslogfix-sweep") + ".Arn}"
		notifyFn := "${" + mustFn(t, tmpl, "ecslogfix-notify") + ".Arn}"
		got := actionsOf(statementsOfRole(tmpl, role))
		for _, a := range []string{"logs:CreateLogDelivery", "logs:GetLogDelivery", "logs:UpdateLogDelivery", "logs:DeleteLogDelivery", "logs:ListLogDeliveries",
			"logs:PutResourcePolicy", "logs:DescribeResourcePolicies", "logs:DescribeLogGroups", "xray:PutTraceSegments", "xray:PutTelemetryRecords",
			"xray:GetSamplingRules", "xray:GetSamplingTargets"} {
			delete(got, a) // CDK's log delivery and tracing grants, Resource "*"
		}
		wantGrants := map[string][]string{
			// Its Tasks: the sweep function, and notify (PublishDigest).
			"lambda:InvokeFunction":       {fn, fn + ":*", notifyFn, notifyFn + ":*"},
			"states:StartExecution":       {"arn:${AWS::Partition}:states:${AWS::Region}:${AWS::AccountId}:stateMachine:ecslogfix-sweep"},
			"states:DescribeExecution":    {"arn:${AWS::Partition}:states:${AWS::Region}:${AWS::AccountId}:execution:ecslogfix-sweep/*"},
			"states:StopExecution":        {"arn:${AWS::Partition}:states:${AWS::Region}:${AWS::AccountId}:execution:ecslogfix-sweep/*"},
			"s3:GetObject":                {bucket + "/sweeps/*/targets.jsonl"},
			"s3:PutObject":                {bucket + "/sweeps/map/*"},
			"s3:AbortMultipartUpload":     {bucket + "/sweeps/map/*"},
			"s3:ListMultipartUploadParts": {bucket + "/sweeps/map/*"},
		}
		if !reflect.DeepEqual(got, wantGrants) {
			t.Errorf("%s: the sweep state machine's role grants\n%v\nwant\n%v", name, got, wantGrants)
		}
		env, err := tmpl.FunctionEnvironment("ecslogfix-sweep")
		if err != nil {
			t.Fatal(err)
		}
		if env[fnenv.EnvSweepBucket] != "${"+keys(tmpl.Resources("AWS::S3::Bucket"))[0]+"}" {
			t.Errorf("%s: sweep bucket %q", name, env[fnenv.EnvSweepBucket])
		}
	}
}

// The sweep's bucket: the stack's key, TLS only, private, no ACLs,
// versioned with Object Lock, lifecycle, EventBridge notifications, kept
// on deletion; no custom-resource Lambda behind any of it.
func TestSweepBucket(t *testing.T) {
	tmpl := single(t).Template
	buckets := tmpl.Resources("AWS::S3::Bucket")
	if len(buckets) != 1 {
		t.Fatalf("%d buckets", len(buckets))
	}
	id := keys(buckets)[0]
	p := buckets[id]
	key := keys(tmpl.Resources("AWS::KMS::Key"))[0]
	js := func(v any) string { b, _ := json.Marshal(v); return string(b) }
	for field, want := range map[string]string{
		"BucketEncryption":               `{"ServerSideEncryptionConfiguration":[{"BucketKeyEnabled":true,"ServerSideEncryptionByDefault":{"KMSMasterKeyID":"${` + key + `.Arn}","SSEAlgorithm":"aws:kms"}}]}`,
		"PublicAccessBlockConfiguration": `{"BlockPublicAcls":true,"BlockPublicPolicy":true,"IgnorePublicAcls":true,"RestrictPublicBuckets":true}`,
		"OwnershipControls":              `{"Rules":[{"ObjectOwnership":"BucketOwnerEnforced"}]}`,
		"VersioningConfiguration":        `{"Status":"Enabled"}`,
		"ObjectLockEnabled":              `true`,
		"NotificationConfiguration":      `{"EventBridgeConfiguration":{"EventBridgeEnabled":true}}`,
		"LifecycleConfiguration": `{"Rules":[{"AbortIncompleteMultipartUpload":{"DaysAfterInitiation":1},"ExpirationInDays":90,"Id":"sweeps","NoncurrentVersionExpiration":{"NoncurrentDays":1},"Prefix":"sweeps/","Status":"Enabled"},` +
			`{"ExpiredObjectDeleteMarker":true,"Id":"delete-markers","Status":"Enabled"}]}`,
		"LoggingConfiguration": `null`,
	} {
		if got := flat(p[field]); got != want {
			t.Errorf("bucket %s\n got %s\nwant %s", field, got, want)
		}
	}
	if r := tmpl.Resource(id); r["DeletionPolicy"] != "Retain" || r["UpdateReplacePolicy"] != "Retain" {
		t.Errorf("bucket deletion %v, update-replace %v", r["DeletionPolicy"], r["UpdateReplacePolicy"])
	}
	var tls bool
	for _, bp := range tmpl.Resources("AWS::S3::BucketPolicy") {
		for _, s := range statements(bp["PolicyDocument"]) {
			if s["Effect"] == "Deny" && Flatten(s["Condition"]) == `{"Bool":{"aws:SecureTransport":"false"}}` && js(strs(s["Action"])) == `["s3:*"]` {
				tls = true
			}
		}
	}
	if !tls {
		t.Error("the bucket policy does not refuse plain HTTP")
	}
	if n := len(tmpl.Resources("AWS::Lambda::Function")); n != len(naming.Functions()) {
		t.Errorf("%d functions: a construct added one", n)
	}
	// With an access-log bucket the sweep bucket logs to it (CT.S3.PR.2).
	if got := flat(tuned(t).Template.Resources("AWS::S3::Bucket")[keys(tuned(t).Template.Resources("AWS::S3::Bucket"))[0]]["LoggingConfiguration"]); got != `{"DestinationBucketName":"acme-access-logs-eu-west-1","LogFilePrefix":"ecslogfix-sweep/"}` {
		t.Errorf("tuned bucket logging %s", got)
	}
}
