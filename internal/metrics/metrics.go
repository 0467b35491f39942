// Package metrics writes the functions' CloudWatch metrics as embedded
// metric format (EMF) lines, and names them: the dashboard and the alarms
// read these names.
package metrics

import (
	"encoding/json"
	"io"
	"maps"
	"slices"
	"sync"
	"time"
)

// Namespace is the metrics' CloudWatch namespace.
const Namespace = "ecslogfix"

// Metric names.
const (
	Detections   = "Detections"   // non-compliant task definitions detect found
	Remediations = "Remediations" // compliant revisions registered
	Blocked      = "Blocked"      // plans that could not be applied (BLOCKED, NEEDS_HUMAN)
	Failures     = "Failures"     // executions that ended in NotifyFailure
	Started      = "Started"      // workflow executions started
	Duplicates   = "Duplicates"   // executions that already existed
	Compliant    = "Compliant"    // revisions found compliant
	Ignored      = "Ignored"      // events ignored, with dimension Reason
	Outcomes     = "Outcomes"     // register outcomes, with dimension Outcome
	Evaluated    = "Evaluated"    // revisions evaluated by the sweep
	Errors       = "Errors"       // per-item failures the sweep skipped
	Consumers    = "Consumers"    // consumers of remediated revisions, with dimension Status (MOVED, ROLLOUT_FAILED, ...)
	// CoverageGaps are the accounts (or account-regions) in scope that the
	// member stacks do not cover, per sweep (internal/coverage).
	CoverageGaps = "CoverageGaps"
	// TargetsFailed are the account-regions a sweep could not walk to the
	// end (their child execution failed).
	TargetsFailed = "SweepTargetsFailed"
)

// Metrics writes CloudWatch Embedded Metric Format (EMF) documents, one
// JSON line each, to W (stdout in Lambda, where CloudWatch Logs extracts
// them). A nil *Metrics or nil W writes nothing. Safe for concurrent use.
type Metrics struct {
	W   io.Writer
	Now func() time.Time

	mu sync.Mutex
}

type emfMetric struct {
	Name string `json:"Name"`
	Unit string `json:"Unit"`
}

type emfDirective struct {
	Namespace  string      `json:"Namespace"`
	Dimensions [][]string  `json:"Dimensions"`
	Metrics    []emfMetric `json:"Metrics"`
}

type emfMeta struct {
	Timestamp         int64          `json:"Timestamp"`
	CloudWatchMetrics []emfDirective `json:"CloudWatchMetrics"`
}

// Count writes one document with the given counts (all Unit Count) in
// namespace Namespace, both without dimensions (the totals the
// dashboard plots) and, when dims is not empty, under the dimension set
// dims. Zero counts are written too, so dashboards see explicit zeroes.
func (m *Metrics) Count(dims map[string]string, counts map[string]int) {
	if m == nil || m.W == nil || len(counts) == 0 {
		return
	}
	now := time.Now
	if m.Now != nil {
		now = m.Now
	}
	names := slices.Sorted(maps.Keys(counts))
	dimKeys := slices.Sorted(maps.Keys(dims))
	d := emfDirective{Namespace: Namespace, Dimensions: [][]string{{}}}
	if len(dimKeys) > 0 {
		d.Dimensions = append(d.Dimensions, dimKeys)
	}
	doc := map[string]any{}
	for _, n := range names {
		d.Metrics = append(d.Metrics, emfMetric{Name: n, Unit: "Count"})
		doc[n] = counts[n]
	}
	for k, v := range dims {
		doc[k] = v
	}
	doc["_aws"] = emfMeta{Timestamp: now().UnixMilli(), CloudWatchMetrics: []emfDirective{d}}
	b, err := json.Marshal(doc)
	if err != nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	_, _ = m.W.Write(append(b, '\n'))
}
