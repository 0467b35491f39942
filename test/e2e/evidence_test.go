package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/securityhub"
	shtypes "github.com/aws/aws-sdk-go-v2/service/securityhub/types"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/ecslogfix/ecslogfix/internal/asff"
	"github.com/ecslogfix/ecslogfix/internal/config"
	"github.com/ecslogfix/ecslogfix/internal/execution"
	"github.com/ecslogfix/ecslogfix/internal/history"
	"github.com/ecslogfix/ecslogfix/internal/policy/exemption"
	"github.com/ecslogfix/ecslogfix/internal/policy/reason"
	"github.com/ecslogfix/ecslogfix/internal/report"
	"github.com/ecslogfix/ecslogfix/test/e2e/harness"
	"github.com/ecslogfix/ecslogfix/test/e2e/synth"
	"github.com/ecslogfix/ecslogfix/test/localaws"
)

// evidenceSynth is the single-account stack with the history, Object Lock,
// Security Hub findings and an exemption register whose one entry has
// expired, synthesized once.
var evidenceSynth = sync.OnceValues(func() (*synth.Stack, error) {
	root, err := localaws.RepoRoot()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "ecslogfix-e2e-evidence-")
	if err != nil {
		return nil, err
	}
	return synth.Synthesize(root, dir, config.ModeSingle, map[string]any{
		"ecslogfix:history": true, "ecslogfix:historyObjectLockDays": 1, "ecslogfix:securityHub": "import",
		"ecslogfix:policy.exemptions": `{"register":[{"scope":{"familyPrefix":"ev-expired"},"reason":"batch job retired in 2025","approver":"ciso@example.com","ticket":"RISK-1","approved":"2025-01-01","expires":"2025-06-30"}]}`,
	})
})

// TestEvidence: a day of events and a sweep in moto write history lines
// under the partitions and the state per family; Security Hub findings are
// imported, then archived after the fix; an expired exemption stops
// exempting and the notification says so; the report renders from that
// history; a locked history object cannot be deleted.
func TestEvidence(t *testing.T) {
	tools := localaws.RequireTools(t)
	syn, err := evidenceSynth()
	if err != nil {
		t.Fatalf("synthesize: %v", err)
	}
	ctx := testContext(t, 10*time.Minute)
	s, err := harness.StartStack(ctx, harness.StackOptions{Tools: tools, Template: syn.Template, Packages: syn.Packages, Dir: t.TempDir(), Log: verbose(),
		Env: digestPolledQuickly(syn.Config.Names())})
	if err != nil {
		t.Fatalf("start the stack: %v", err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("process output (tail):\n%s", tail(s.Logs(), 20000))
		}
		_ = s.Close()
	})
	p := &pipeline{Stack: s, names: syn.Config.Names(), cfg: syn.Config, ecs: ecs.NewFromConfig(s.Config),
		logs: cloudwatchlogs.NewFromConfig(s.Config), root: tools.Root}
	// The history's bucket, beside the sweep's.
	i := slices.IndexFunc(s.Buckets, func(b string) bool { return strings.HasPrefix(b, "ecslogfix-history-") })
	if i < 0 || len(s.Buckets) != 2 || len(s.Tables) != 1 {
		t.Fatalf("buckets %v tables %v", s.Buckets, s.Tables)
	}
	bucket, table := s.Buckets[i], s.Tables[0]
	seen := map[string]bool{}
	registered := time.Now().UTC().Add(-3 * time.Minute).Truncate(time.Second)
	deliver := func(t *testing.T, file, family, eventID string, tags ...ecstypes.Tag) (*ecstypes.TaskDefinition, execution.Response) {
		t.Helper()
		in, err := harness.LoadTaskDefinition(filepath.Join(p.root, "testdata", "taskdefs", file), family)
		if err != nil {
			t.Fatal(err)
		}
		in.Tags = append(in.Tags, tags...)
		out, err := p.ecs.RegisterTaskDefinition(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		td := out.TaskDefinition
		call := harness.RegisterCall{EventID: eventID, TaskDefinitionARN: aws.ToString(td.TaskDefinitionArn), Family: family, Revision: td.Revision,
			Identity: harness.IAMUser("jane.doe"), Request: harness.RequestParameters(td), Time: registered}
		if err := p.PutRegisterEvent(ctx, call); err != nil {
			t.Fatal(err)
		}
		ds, err := p.Pump(ctx)
		if err != nil || len(ds) != 1 {
			t.Fatalf("deliveries %v, %v", ds, err)
		}
		if err := ds[0].Invocation.Err(ds[0].Target.Function); err != nil {
			t.Fatalf("detect: %v", err)
		}
		var resp execution.Response
		if err := json.Unmarshal(ds[0].Invocation.Payload, &resp); err != nil {
			t.Fatal(err)
		}
		for _, e := range p.newExecutions(t, ctx, seen) {
			if e.Status != "SUCCEEDED" {
				t.Fatalf("execution %s %s\n%s", aws.ToString(e.Name), e.Status, p.history(ctx, aws.ToString(e.ExecutionArn)))
			}
		}
		return td, resp
	}
	tag := func(k, v string) ecstypes.Tag { return ecstypes.Tag{Key: aws.String(k), Value: aws.String(v)} }
	id := "e2e00000-0000-4000-8000-0000000009"

	// The day's events.
	if _, r := deliver(t, "td01-fargate-no-logconfig.json", "ev-fixed", id+"01"); r.Status != execution.StatusStarted {
		t.Fatalf("ev-fixed: %+v", r)
	}
	// Compliant in fact: the log group it writes to exists (else LOG_GROUP_MISSING).
	if _, err := p.logs.CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String("/ecs/payments-gateway")}); err != nil {
		t.Fatal(err)
	}
	if _, r := deliver(t, "td11-compliant-fargate.json", "ev-compliant", id+"02"); r.Status != execution.StatusCompliant {
		t.Fatalf("ev-compliant: %+v", r)
	}
	until := exemption.Day(time.Now().AddDate(0, 0, 30))
	if _, r := deliver(t, "td01-fargate-no-logconfig.json", "ev-exempt", id+"03", tag("ecslogfix:exempt-until", until)); r.Reason != execution.IgnoreExempt {
		t.Fatalf("ev-exempt: %+v", r)
	}
	if _, r := deliver(t, "td01-fargate-no-logconfig.json", "ev-expired-batch", id+"04"); r.Status != execution.StatusStarted {
		t.Fatalf("an expired register entry still exempts: %+v", r)
	}
	msgs, err := p.Moto.Published(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if email := msgs[len(msgs)-1].Structured("email"); !strings.Contains(email, "Exemption ended: register entry RISK-1 no longer exempts: expired on 2025-06-30") {
		t.Errorf("the notification after the expired exemption does not say so:\n%s", email)
	}
	firelens, r := deliver(t, "td07-firelens.json", "ev-firelens", id+"05")
	if r.Status != execution.StatusStarted {
		t.Fatalf("ev-firelens: %+v", r)
	}
	sh := securityhub.NewFromConfig(s.Config)
	findingOf := func(family string, reason reason.Code) *shtypes.AwsSecurityFinding {
		out, err := sh.GetFindings(ctx, &securityhub.GetFindingsInput{MaxResults: aws.Int32(100)})
		if err != nil {
			t.Fatal(err)
		}
		want := asff.ID(localaws.Account, localaws.Region, family, reason)
		for _, f := range out.Findings {
			if aws.ToString(f.Id) == want {
				return &f
			}
		}
		return nil
	}
	f := findingOf("ev-firelens", reason.Firelens)
	if f == nil || f.RecordState != shtypes.RecordStateActive || f.Compliance.Status != shtypes.ComplianceStatusFailed || aws.ToString(f.Resources[0].Id) != aws.ToString(firelens.TaskDefinitionArn) {
		t.Fatalf("the FireLens family's finding: %+v", f)
	}
	// The owner fixes it: a compliant revision of the family.
	if _, r := deliver(t, "td11-compliant-fargate.json", "ev-firelens", id+"06"); r.Status != execution.StatusCompliant {
		t.Fatalf("ev-firelens fixed: %+v", r)
	}
	if f := findingOf("ev-firelens", reason.Firelens); f == nil || f.RecordState != shtypes.RecordStateArchived || f.Compliance.Status != shtypes.ComplianceStatusPassed {
		t.Fatalf("after the fix the finding is %+v, want ARCHIVED and PASSED", f)
	}

	// The sweep: coverage of the account and region.
	if out, _ := runSweep(t, ctx, s, p.names.Rule("sweep"), "ev-sweep-1"); out.Status != sfntypes.ExecutionStatusSucceeded {
		t.Fatalf("sweep %s", out.Status)
	}

	// The lines under the partitions, and the state per family.
	s3c := s3.NewFromConfig(s.Config, func(o *s3.Options) { o.UsePathStyle = true })
	day := time.Now().UTC().Format(time.DateOnly)
	list, err := s3c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(bucket), Prefix: aws.String("v1/")})
	if err != nil {
		t.Fatal(err)
	}
	prefix := "v1/account=" + localaws.Account + "/region=" + localaws.Region + "/date=" + day + "/"
	for _, o := range list.Contents {
		if !strings.HasPrefix(aws.ToString(o.Key), prefix) {
			t.Errorf("object %s outside the partition %s", aws.ToString(o.Key), prefix)
		}
	}
	recs, err := history.ReadS3(ctx, s3c, history.Location{Bucket: bucket}, history.Period{})
	if err != nil {
		t.Fatal(err)
	}
	count := map[history.Decision]int{}
	for _, rec := range recs {
		count[rec.Decision]++
		if line, _ := json.Marshal(rec); strings.Contains(string(line), "FAKE") {
			t.Errorf("PRIVACY: a history line carries a secret-looking value: %s", line)
		}
	}
	if count[history.DecisionRemediated] != 2 || count[history.DecisionLogGroupCreated] < 2 || count[history.DecisionExempt] < 1 ||
		count[history.DecisionNeedsHuman] != 1 || count[history.DecisionSwept] != 1 || count[history.DecisionCompliant] < 3 {
		t.Errorf("decisions recorded %v", count)
	}
	states, err := history.States(ctx, dynamodb.NewFromConfig(s.Config), table)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]history.State{}
	for _, it := range states {
		got[it.Family] = it.State
	}
	want := map[string]history.State{"ev-fixed": history.StateRemediated, "ev-compliant": history.StateCompliant, "ev-exempt": history.StateExempt,
		"ev-expired-batch": history.StateRemediated, "ev-firelens": history.StateCompliant}
	for fam, st := range want {
		if got[fam] != st {
			t.Errorf("state of %s: %s, want %s (all %v)", fam, got[fam], st, got)
		}
	}

	// The report from that history.
	rep := report.Build(recs, history.Period{}, time.Now())
	if rep.Totals[history.StateRemediated] != 2 || rep.Totals[history.StateExempt] != 1 || len(rep.NonCompliant) != 0 ||
		rep.Remediation.Count != 2 || rep.Remediation.Measured != 2 || len(rep.Scopes) != 1 || rep.Scopes[0].SweepID == "" || len(rep.Expired) == 0 {
		t.Errorf("report totals %v, non-compliant %v, remediation %+v, scopes %+v, expired %v", rep.Totals, rep.NonCompliant, rep.Remediation, rep.Scopes, rep.Expired)
	}
	var page strings.Builder
	if err := rep.HTML(&page); err != nil || !strings.Contains(page.String(), `id="total-REMEDIATED">2<`) {
		t.Errorf("report page: %v", err)
	}

	// Object Lock: a history version cannot be deleted.
	key := aws.ToString(list.Contents[0].Key)
	vers, err := s3c.ListObjectVersions(ctx, &s3.ListObjectVersionsInput{Bucket: aws.String(bucket), Prefix: aws.String(key)})
	if err != nil || len(vers.Versions) == 0 {
		t.Fatalf("versions of %s: %v", key, err)
	}
	if _, err := s3c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), VersionId: vers.Versions[0].VersionId}); err == nil || !strings.Contains(err.Error(), "AccessDenied") {
		t.Errorf("deleting the locked version of %s: %v, want AccessDenied", key, err)
	}
}
