package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/ecslogfix/ecslogfix/internal/digest"
	"github.com/ecslogfix/ecslogfix/internal/execution"
	"github.com/ecslogfix/ecslogfix/internal/message"
	"github.com/ecslogfix/ecslogfix/internal/sweep"
	"github.com/ecslogfix/ecslogfix/internal/workflow"
	"github.com/ecslogfix/ecslogfix/test/e2e/harness"
)

// digestFamilies is how many non-compliant families the digest's sweep
// finds (docs/notifications.md, "Sweep digests").
const digestFamilies = 30

// sweepDigest: a sweep over an account with 30 non-compliant families
// starts 30 executions and publishes exactly one message, its digest,
// whose counts match the per-family report it links to; the next sweep
// does not repeat the family needing a human; an event-driven
// registration in the same run still publishes its own message.
func (p *pipeline) sweepDigest(t *testing.T, ctx context.Context, seen map[string]bool, nextPublished published) {
	// 29 ecslogfix fixes, and one FireLens family only its owner can fix.
	families := map[string]bool{}
	for i := range digestFamilies - 1 {
		f := fmt.Sprintf("e2e-digest-%02d", i)
		p.register(t, ctx, "td01-fargate-no-logconfig.json", f)
		families[f] = true
	}
	const human = "e2e-digest-firelens"
	p.register(t, ctx, "td07-firelens.json", human)
	families[human] = true
	nextPublished(t) // what came before
	sw, st := runSweep(t, ctx, p.Stack, p.names.Rule("sweep"), "e2e-digest-sweep")
	if sw.Status != sfntypes.ExecutionStatusSucceeded {
		t.Fatalf("sweep %s\n%s", sw.Status, p.history(ctx, aws.ToString(sw.ExecutionArn)))
	}
	if st.DigestPublished == nil {
		t.Fatalf("sweep output %s: no digest published", aws.ToString(sw.Output))
	}
	sum := st.Summary
	if !st.DigestPublished.Published || st.DigestPublished.Pending {
		t.Errorf("PublishDigest ended with %+v", *st.DigestPublished)
	}

	// 30 executions, one per family, every one finished before the digest.
	execs := p.newExecutions(t, ctx, seen)
	if len(execs) != digestFamilies || sum.Started != digestFamilies {
		t.Fatalf("%d executions started (summary: %d), want %d", len(execs), sum.Started, digestFamilies)
	}
	for _, e := range execs {
		if e.Status != sfntypes.ExecutionStatusSucceeded {
			t.Errorf("execution %s %s", aws.ToString(e.Name), e.Status)
		}
	}

	// Exactly one message: the digest.
	msgs := nextPublished(t)
	if len(msgs) != 1 || attribute(msgs[0], message.AttrOutcome) != string(digest.Outcome) {
		t.Fatalf("%d messages published by a sweep of %d families, want one digest: %v", len(msgs), digestFamilies, msgs)
	}
	var doc digest.Document
	if err := json.Unmarshal([]byte(msgs[0].Structured("sqs")), &doc); err != nil {
		t.Fatalf("digest document: %v\n%s", err, msgs[0].Structured("sqs"))
	}
	if doc.Schema != digest.Schema || doc.SweepID != "e2e-digest-sweep" || doc.Totals.Started != digestFamilies || doc.Totals.Pending != 0 ||
		doc.Outcomes[workflow.OutcomeRemediated] != digestFamilies-1 || doc.Outcomes[workflow.OutcomeNeedsHuman] != 1 {
		t.Errorf("digest totals %+v, outcomes %v", doc.Totals, doc.Outcomes)
	}
	if listed := listedIn(doc, digest.ListRemediated); listed != digestFamilies-1 {
		t.Errorf("the digest lists or counts %d remediated families, want %d", listed, digestFamilies-1)
	}
	if listed := listedIn(doc, digest.ListNeedsHuman); listed != 1 || !strings.Contains(msgs[0].Structured("email"), human) {
		t.Errorf("the digest lists %d families for a human, want %s", listed, human)
	}
	if !strings.Contains(msgs[0].Structured("email"), doc.Report.URI) {
		t.Errorf("the email does not link the report %s", doc.Report.URI)
	}

	// The per-family report exists and agrees with the digest.
	out, err := s3.NewFromConfig(p.Config).GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(doc.Report.Bucket), Key: aws.String(doc.Report.Key)})
	if err != nil {
		t.Fatalf("the report %s: %v", doc.Report.URI, err)
	}
	defer out.Body.Close()
	lines, err := sweep.ReadReport(out.Body)
	if err != nil {
		t.Fatal(err)
	}
	started, compliant := 0, 0
	for _, l := range lines {
		switch l.Status {
		case execution.StatusStarted:
			started++
			if !families[l.Family] {
				t.Errorf("the report has an execution started for %s", l.Family)
			}
		case execution.StatusCompliant:
			compliant++
		}
	}
	if started != doc.Totals.Started || compliant != doc.Totals.Compliant || len(lines) < doc.Totals.Evaluated {
		t.Errorf("report: %d lines, %d started, %d compliant; digest: %+v", len(lines), started, compliant, doc.Totals)
	}

	// The next sweep does not repeat what needs a human while it is
	// unchanged: its revision's execution exists, so it is counted as
	// already handled, and the digest lists nothing for a human.
	if sw, _ = runSweep(t, ctx, p.Stack, p.names.Rule("sweep"), "e2e-digest-sweep-2"); sw.Status != sfntypes.ExecutionStatusSucceeded {
		t.Fatalf("second sweep %s\n%s", sw.Status, p.history(ctx, aws.ToString(sw.ExecutionArn)))
	}
	if execs := p.newExecutions(t, ctx, seen); len(execs) != 0 {
		t.Errorf("the second sweep started %d executions", len(execs))
	}
	msgs = nextPublished(t)
	if len(msgs) != 1 || attribute(msgs[0], message.AttrOutcome) != string(digest.Outcome) {
		t.Fatalf("the second sweep published %d messages, want its digest", len(msgs))
	}
	var again digest.Document
	if err := json.Unmarshal([]byte(msgs[0].Structured("sqs")), &again); err != nil {
		t.Fatal(err)
	}
	if again.Totals.Started != 0 || again.Totals.Duplicates < 1 || listedIn(again, digest.ListNeedsHuman) != 0 || strings.Contains(msgs[0].Structured("email"), human) {
		t.Errorf("the second digest repeats what is unchanged: totals %+v\n%s", again.Totals, msgs[0].Structured("email"))
	}

	// An event-driven registration in the same run: its own message, now.
	src := p.register(t, ctx, "td01-fargate-no-logconfig.json", "e2e-digest-event")
	if resp := p.deliver(t, ctx, src, "e2e00000-0000-4000-8000-000000000930", harness.IAMUser("jane.doe")); resp.Status != execution.StatusStarted {
		t.Fatalf("detect: %s %s", resp.Status, resp.Reason)
	}
	if execs := p.newExecutions(t, ctx, seen); len(execs) != 1 || execs[0].Status != sfntypes.ExecutionStatusSucceeded {
		t.Fatalf("event-driven executions %v", execs)
	}
	msgs = nextPublished(t)
	if len(msgs) != 1 || attribute(msgs[0], message.AttrOutcome) != string(workflow.OutcomeRemediated) || attribute(msgs[0], message.AttrFamily) != "e2e-digest-event" {
		t.Errorf("an event-driven remediation published %d messages %v, want its own", len(msgs), msgs)
	}
	if _, err := p.Notifications(ctx); err != nil {
		t.Fatal(err)
	}
}

// listedIn counts the families of one list in a digest, listed or counted
// as left out by the cap.
func listedIn(doc digest.Document, list string) int {
	n := 0
	for _, s := range doc.Sections {
		n += len(s.Lists[list]) + s.Omitted[list]
	}
	return n
}
