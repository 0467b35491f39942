package stacks

import (
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/ecslogfix/ecslogfix/infra/grants"
	"github.com/ecslogfix/ecslogfix/internal/config"
	"github.com/ecslogfix/ecslogfix/internal/config/fnenv"
	"github.com/ecslogfix/ecslogfix/internal/config/naming"
)

var evidenceSynth, evidenceHubSynth synthOnce

func evidenceConfig(t *testing.T) config.Config {
	return mustLoad(t, map[string]any{"ecslogfix:history": "true", "ecslogfix:historyObjectLockDays": "2557", "ecslogfix:securityHub": "notes"})
}

func evidenceSingle(t *testing.T) *Synthesized {
	return synth(t, &evidenceSynth, "evidence", evidenceConfig)
}

// The history's bucket and table: encrypted, TLS only, versioned, Object
// Lock in compliance mode for the configured days, public access blocked,
// retained; each writer may put records, read and write the state, and
// import findings of its own account, nothing more.
func TestHistoryResources(t *testing.T) {
	s := evidenceSingle(t)
	tmpl := s.Template
	// The history's bucket beside the sweep's (which has no default retention).
	buckets := map[string]map[string]any{}
	for id, b := range tmpl.Resources("AWS::S3::Bucket") {
		if strings.Contains(flat(b), `"DefaultRetention"`) {
			buckets[id] = b
		}
	}
	if len(buckets) != 1 || len(tmpl.Resources("AWS::S3::Bucket")) != 2 {
		t.Fatalf("%d history buckets of %d", len(buckets), len(tmpl.Resources("AWS::S3::Bucket")))
	}
	var bucketID string
	for id, b := range buckets {
		bucketID = id
		for _, want := range []string{`"ObjectLockEnabled":true`, `"DefaultRetention":{"Days":2557,"Mode":"COMPLIANCE"}`, `"SSEAlgorithm":"aws:kms"`,
			`"Status":"Enabled"`, `"BlockPublicAcls":true`, `"ObjectOwnership":"BucketOwnerEnforced"`, `"EventBridgeEnabled":true`} {
			if !strings.Contains(flat(b), want) {
				t.Errorf("bucket lacks %s: %s", want, flat(b))
			}
		}
		r := tmpl.Resource(id)
		if r["DeletionPolicy"] != "Retain" || r["UpdateReplacePolicy"] != "Retain" {
			t.Errorf("bucket policies %v %v", r["DeletionPolicy"], r["UpdateReplacePolicy"])
		}
	}
	policies := 0
	for _, p := range tmpl.Resources("AWS::S3::BucketPolicy") {
		f := flat(p)
		if !strings.Contains(f, bucketID) {
			continue
		}
		policies++
		if !strings.Contains(f, `"aws:SecureTransport":"false"`) || !strings.Contains(f, `"Effect":"Deny"`) {
			t.Errorf("bucket policy %s", f)
		}
	}
	if policies != 1 {
		t.Errorf("%d policies on the history bucket", policies)
	}
	for id, p := range tmpl.Resources("AWS::DynamoDB::Table") {
		if f := flat(p); !strings.Contains(f, `"PointInTimeRecoveryEnabled":true`) || !strings.Contains(f, `"SSEEnabled":true`) || p["TableName"] != "ecslogfix-state" {
			t.Errorf("table %s", f)
		}
		if tmpl.Resource(id)["DeletionPolicy"] != "Retain" {
			t.Error("table not retained")
		}
	}
	bucket := "arn:${AWS::Partition}:s3:::ecslogfix-history-${AWS::AccountId}-${AWS::Region}/v1/*"
	table := "arn:${AWS::Partition}:dynamodb:${AWS::Region}:${AWS::AccountId}:table/ecslogfix-state"
	product := "arn:${AWS::Partition}:securityhub:*:${AWS::AccountId}:product/${AWS::AccountId}/default"
	for _, fn := range grants.HistoryWriters {
		got := actionsOf(roleStatements(t, tmpl, "ecslogfix-"+fn))
		// The sweep also writes its own objects in the sweep bucket, notify
		// a sweep's outcomes there (both asserted exactly in single_test.go).
		got["s3:PutObject"] = slices.DeleteFunc(got["s3:PutObject"], func(r string) bool {
			return (fn == naming.FunctionSweep || fn == naming.FunctionNotify) && strings.HasPrefix(r, "${SweepBucket")
		})
		for action, want := range map[string][]string{"s3:PutObject": {bucket}, "dynamodb:GetItem": {table}, "dynamodb:PutItem": {table}, "securityhub:BatchImportFindings": {product}} {
			if !reflect.DeepEqual(got[action], want) {
				t.Errorf("%s: %s on %v, want %v", fn, action, got[action], want)
			}
		}
		env, err := tmpl.FunctionEnvironment("ecslogfix-" + fn)
		// Only notify notes AWS's findings (and only its role may).
		findings := fnenv.FindingsImport
		if fn == naming.FunctionNotify {
			findings += "," + fnenv.FindingsNotes
		}
		if err != nil || env[fnenv.EnvHistoryBucket] != "ecslogfix-history-${AWS::AccountId}-${AWS::Region}" || env[fnenv.EnvStateTable] != "ecslogfix-state" || env[fnenv.EnvFindings] != findings {
			t.Errorf("%s env %v (%v)", fn, env, err)
		}
	}
	notify := actionsOf(roleStatements(t, tmpl, "ecslogfix-notify"))
	if hub := []string{"arn:${AWS::Partition}:securityhub:*:${AWS::AccountId}:hub/default"}; !reflect.DeepEqual(notify["securityhub:BatchUpdateFindings"], hub) || !reflect.DeepEqual(notify["securityhub:GetFindings"], hub) {
		t.Errorf("notify's notes: %v %v", notify["securityhub:BatchUpdateFindings"], notify["securityhub:GetFindings"])
	}
	if _, ok := actionsOf(roleStatements(t, tmpl, "ecslogfix-remediate"))["s3:PutObject"]; ok {
		t.Error("remediate writes the history")
	}
	if f := flat(tmpl.Resources("AWS::KMS::Key")); !strings.Contains(f, `"Sid":"HistoryWriters"`) || !strings.Contains(f, `"kms:ViaService":[{"Fn::Join":["",["s3.`) {
		t.Errorf("the key does not admit the writers through S3: %s", f)
	}
	// The monthly report: reads the records, writes reports/, announces
	// them; scheduled with the targets' DLQ and retries.
	logs := "${" + mustID(t, tmpl, "AWS::Logs::LogGroup", "LogGroupName", "/aws/lambda/ecslogfix-report") + ".Arn}"
	wantReport := map[string][]string{
		"logs:CreateLogStream": {logs}, "logs:PutLogEvents": {logs},
		"s3:ListBucket": {"arn:${AWS::Partition}:s3:::ecslogfix-history-${AWS::AccountId}-${AWS::Region}"}, "s3:GetObject": {bucket},
		"s3:PutObject": {"arn:${AWS::Partition}:s3:::ecslogfix-history-${AWS::AccountId}-${AWS::Region}/reports/*"},
		"sns:Publish":  {"${" + mustID(t, tmpl, "AWS::SNS::Topic", "TopicName", "ecslogfix-notifications") + "}"},
	}
	if got := actionsOf(roleStatements(t, tmpl, "ecslogfix-report")); !reflect.DeepEqual(got, wantReport) {
		t.Errorf("report grants\n%v\nwant\n%v", got, wantReport)
	}
	var scheduled bool
	for _, r := range tmpl.Resources("AWS::Events::Rule") {
		if r["ScheduleExpression"] == config.DefaultReportSchedule && strings.Contains(flat(r["Targets"]), "ReportFunction") && strings.Contains(flat(r["Targets"]), "DeadLetterConfig") {
			scheduled = true
		}
	}
	if !scheduled {
		t.Error("no monthly schedule of the report function")
	}
	assertNoStarActions(t, tmpl)
	errs, _ := NagFindings(s.Stack)
	for _, e := range errs {
		t.Errorf("cdk-nag error: %s", e)
	}
	// Control Tower: the history passes the S3 and DynamoDB controls but
	// server access logging, which ecslogfix:historyAccessLogBucket turns on.
	status := guard(t, filepath.Join(s.Dir, *s.Stack.TemplateFile()))
	if got := failed(status); !slices.Equal(got, []string{"CT.LAMBDA.PR.3", "CT.S3.PR.2"}) {
		t.Errorf("controls failed %v", got)
	}
	for _, ctl := range []string{"CT.S3.PR.1", "CT.S3.PR.3", "CT.S3.PR.4", "CT.S3.PR.5", "CT.S3.PR.6", "CT.S3.PR.8", "CT.S3.PR.9", "CT.S3.PR.10", "CT.S3.PR.11", "CT.DYNAMODB.PR.1", "CT.DYNAMODB.PR.2"} {
		if status[ctl] != "PASS" {
			t.Errorf("%s is %s", ctl, status[ctl])
		}
	}
}

// evidenceHubConfig is the hub with the history and the import of findings.
func evidenceHubConfig(t *testing.T) config.Config {
	cfg := orgConfig(t)
	cfg.History, cfg.SecurityHub = true, config.SecurityHubImport
	return cfg
}

func evidenceHub(t *testing.T) *Synthesized {
	return synth(t, &evidenceHubSynth, "evidence-hub", evidenceHubConfig)
}

// In organization mode notify imports members' findings through the member
// role, which trusts it and may import into its own account's product.
func TestHubFindingsThroughTheMemberRole(t *testing.T) {
	cfg := evidenceHubConfig(t)
	s := evidenceHub(t)
	got := actionsOf(roleStatements(t, s.Template, "ecslogfix-notify"))
	if !reflect.DeepEqual(got["sts:AssumeRole"], []string{"arn:${AWS::Partition}:iam::*:role/ecslogfix-member"}) {
		t.Errorf("notify assumes %v", got["sts:AssumeRole"])
	}
	sets, _, _, err := MemberSets(cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, set := range sets {
		if set.Name != "ecslogfix-member-iam" {
			continue
		}
		if !strings.Contains(set.TemplateBody, `"securityhub:BatchImportFindings"`) || !strings.Contains(set.TemplateBody, "role/ecslogfix-notify") {
			t.Errorf("member role lacks the import or the notify trust")
		}
	}
}
