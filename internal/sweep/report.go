package sweep

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/ecslogfix/ecslogfix/internal/coverage"
	"github.com/ecslogfix/ecslogfix/internal/history"
	"github.com/ecslogfix/ecslogfix/internal/metrics"
	"github.com/ecslogfix/ecslogfix/internal/spool"
	"github.com/ecslogfix/ecslogfix/internal/workflow"
)

// S3 is the part of the S3 API the sweep uses: its own objects in its own
// bucket, the report written in parts when it outgrows one.
type S3 interface {
	spool.S3
	GetObject(ctx context.Context, in *s3.GetObjectInput, optFns ...func(*s3.Options)) (*s3.GetObjectOutput, error)
	ListObjectsV2(ctx context.Context, in *s3.ListObjectsV2Input, optFns ...func(*s3.Options)) (*s3.ListObjectsV2Output, error)
}

// Statuses of a family in the report besides execution's.
const StatusError = "error" // it could not be read or its execution not started

// Family is one line of the per-family report: names, revision, status and
// reason only (no task definition content).
type Family struct {
	Account           string `json:"account"`
	Region            string `json:"region"`
	Family            string `json:"family"`
	Revision          int32  `json:"revision,omitempty"`
	TaskDefinitionARN string `json:"taskDefinitionArn,omitempty"`
	// Status is execution's (started, duplicate, compliant, ignored) or
	// StatusError; Reason execution's ignore reason, Detail the error.
	Status        string `json:"status"`
	Reason        string `json:"reason,omitempty"`
	Detail        string `json:"detail,omitempty"`
	ExecutionName string `json:"executionName,omitempty"`
}

// Result is what one walk invocation wrote: the sweep's own per-item
// result, which the summary reads (the Map's ResultWriter is not relied
// on: docs/reliability.md, "moto's Distributed Map").
type Result struct {
	SweepID    string               `json:"sweepId"`
	Target     workflow.Target      `json:"target"`
	Invocation int                  `json:"invocation"`
	Done       bool                 `json:"done"`
	Error      string               `json:"error,omitempty"`
	Counts     workflow.SweepCounts `json:"counts"`
	Families   []Family             `json:"families"`
}

// keys are the sweep's objects in the bucket.
type keys struct {
	prefix, targets, coverage, results, report, summary string
}

func keysOf(sweepID string) keys {
	p := "sweeps/" + sweepID + "/"
	return keys{prefix: p, targets: p + "targets.jsonl", coverage: p + "coverage.json", results: p + "results/",
		report: p + "report.jsonl", summary: p + "summary.json"}
}

// result is the key of one walk invocation's result; keys sort by target,
// then invocation.
func (k keys) result(t workflow.Target, invocation int) string {
	return fmt.Sprintf("%s%s/%s/%05d.json", k.results, t.Account, t.Region, invocation)
}

func appendJSONLine(b []byte, v any) []byte {
	line, err := json.Marshal(v)
	if err != nil { // our own types: strings, numbers, slices
		panic(err)
	}
	return append(append(b, line...), '\n')
}

func (s *Sweeper) put(ctx context.Context, key string, body []byte) error {
	return s.putBody(ctx, key, io.NewSectionReader(bytes.NewReader(body), 0, int64(len(body))))
}

func (s *Sweeper) get(ctx context.Context, key string, into any) error {
	out, err := s.S3.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(s.Bucket), Key: aws.String(key)})
	if err != nil {
		return fmt.Errorf("get s3://%s/%s: %w", s.Bucket, key, err)
	}
	defer out.Body.Close()
	dec := json.NewDecoder(out.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(into); err != nil {
		return fmt.Errorf("read s3://%s/%s: %w", s.Bucket, key, err)
	}
	return nil
}

// Summarize reduces every walk's result of the sweep into its summary,
// writes the per-family report (JSONL) and the summary to S3, writes the
// sweep's coverage metrics, and returns st with its summary.
func (s *Sweeper) Summarize(ctx context.Context, st workflow.SweepState) (workflow.SweepState, error) {
	inv := st.Inventory
	if err := checkSweepID(inv.SweepID); err != nil {
		return workflow.SweepState{}, err
	}
	if inv.Bucket != s.Bucket {
		return workflow.SweepState{}, &workflow.InvalidInputError{Err: fmt.Errorf("sweep.inventory.bucket: %q is not this sweep's bucket", inv.Bucket)}
	}
	k := keysOf(inv.SweepID)
	var cov coverage.Coverage
	if err := s.get(ctx, k.coverage, &cov); err != nil {
		return workflow.SweepState{}, err
	}
	sum := workflow.SweepSummary{Version: workflow.Version, SweepID: inv.SweepID, Bucket: s.Bucket, ReportKey: k.report, SummaryKey: k.summary,
		Targets: len(cov.Targets), FailedTargets: []workflow.Target{}, CoverageGaps: len(cov.Gaps), Gaps: []workflow.CoverageGap{}, WalkError: st.WalkError}
	sum.Gaps = append(sum.Gaps, cov.Gaps[:min(len(cov.Gaps), workflow.MaxListed)]...)

	report := &spool.Upload{S3: s.S3, Bucket: s.Bucket, Key: k.report, Name: "the report", ContentType: "application/x-ndjson", PartSize: spool.MinPartSize}
	var total workflow.SweepCounts
	walked := map[workflow.Target]bool{}
	per := map[workflow.Target]*workflow.SweepCounts{}
	p := s3.NewListObjectsV2Paginator(s.S3, &s3.ListObjectsV2Input{Bucket: aws.String(s.Bucket), Prefix: aws.String(k.results)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			report.Abort(ctx)
			return workflow.SweepState{}, fmt.Errorf("list s3://%s/%s: %w", s.Bucket, k.results, err)
		}
		for _, obj := range page.Contents {
			r, err := s.readResult(ctx, aws.ToString(obj.Key), func(f Family) error { return report.Write(ctx, appendJSONLine(nil, f)) })
			if err != nil {
				report.Abort(ctx)
				return workflow.SweepState{}, err
			}
			total.Add(r.Counts)
			if per[r.Target] == nil {
				per[r.Target] = &workflow.SweepCounts{}
			}
			per[r.Target].Add(r.Counts)
			if r.Done {
				walked[r.Target] = true
			}
		}
	}
	if err := report.Close(ctx); err != nil {
		return workflow.SweepState{}, err
	}
	sum.SweepCounts = total
	for _, t := range cov.Targets {
		wt := workflow.Target{Account: t.Account, Region: t.Region}
		if c := per[wt]; c != nil {
			sum.Sections = append(sum.Sections, workflow.SweepSection{Account: wt.Account, Region: wt.Region, SweepCounts: *c})
		}
		if walked[wt] {
			sum.TargetsWalked++
			if err := s.recordSwept(ctx, inv.SweepID, wt, per[wt]); err != nil {
				return workflow.SweepState{}, err
			}
			continue
		}
		sum.TargetsFailed++
		if len(sum.FailedTargets) < workflow.MaxListed {
			sum.FailedTargets = append(sum.FailedTargets, wt)
		}
	}
	sum.Sections, sum.SectionsOmitted = sections(sum.Sections)
	sum.SummarizedAt = s.now().UTC()
	if err := s.put(ctx, k.summary, appendJSONLine(nil, sum)); err != nil {
		return workflow.SweepState{}, err
	}
	s.Metrics.Count(map[string]string{"Mode": "sweep"}, map[string]int{
		metrics.CoverageGaps:  sum.CoverageGaps,
		metrics.TargetsFailed: sum.TargetsFailed,
	})
	s.logger().Info("sweep summary", "sweepId", sum.SweepID, "targets", sum.Targets, "targetsWalked", sum.TargetsWalked,
		"targetsFailed", sum.TargetsFailed, "coverageGaps", sum.CoverageGaps, "evaluated", sum.Evaluated, "violations", sum.Violations,
		"started", sum.Started, "duplicates", sum.Duplicates, "compliant", sum.Compliant, "errors", sum.Errors)
	st.Summary = &sum
	return st, nil
}

// sections keeps at most workflow.MaxListed sections, those with the most
// violations first (then in the inventory's order), and counts the rest.
func sections(all []workflow.SweepSection) ([]workflow.SweepSection, int) {
	out := slices.Clone(all)
	slices.SortStableFunc(out, func(a, b workflow.SweepSection) int { return cmp.Compare(b.Violations, a.Violations) })
	if out == nil {
		out = []workflow.SweepSection{}
	}
	if len(out) <= workflow.MaxListed {
		return out, 0
	}
	return out[:workflow.MaxListed], len(out) - workflow.MaxListed
}

// ReadReport reads a report object's lines (for tests and tools).
func ReadReport(r io.Reader) ([]Family, error) {
	var out []Family
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		var f Family
		if err := json.Unmarshal(sc.Bytes(), &f); err != nil {
			return nil, fmt.Errorf("report line %d: %w", len(out)+1, err)
		}
		out = append(out, f)
	}
	return out, sc.Err()
}

// recordSwept writes to the history which sweep covered an account and
// region, when, and what it found there (the report's coverage): once
// per target walked to the end, from all its invocations' results.
func (s *Sweeper) recordSwept(ctx context.Context, sweepID string, t workflow.Target, c *workflow.SweepCounts) error {
	if s.History == nil || c == nil {
		return nil
	}
	swept := history.Swept{Evaluated: c.Evaluated, Compliant: c.Compliant, Violations: c.Violations, Skipped: c.Skipped, Errors: c.Errors}
	if err := s.History.Record(ctx, history.SweptTarget(t.Account, t.Region, swept, history.Meta{Time: s.now(), SweepID: sweepID})); err != nil {
		return fmt.Errorf("record the coverage of %s/%s: %w", t.Account, t.Region, err)
	}
	return nil
}
