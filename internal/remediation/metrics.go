package remediation

import (
	"encoding/json"
	"io"
	"sort"
	"sync"
	"time"

	"github.com/ecslogfix/ecslogfix/internal/config"
)

// Metric names beyond config's (Detections, Remediations, Blocked).
const (
	MetricStarted    = "Started"    // workflow executions started
	MetricDuplicates = "Duplicates" // executions that already existed
	MetricCompliant  = "Compliant"  // revisions found compliant
	MetricIgnored    = "Ignored"    // events ignored, with dimension Reason
	MetricOutcomes   = "Outcomes"   // register outcomes, with dimension Outcome
	MetricEvaluated  = "Evaluated"  // revisions evaluated by the sweep
	MetricErrors     = "Errors"     // per-item failures the sweep skipped
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
// namespace config.MetricNamespace, both without dimensions (the totals the
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
	names := make([]string, 0, len(counts))
	for n := range counts {
		names = append(names, n)
	}
	sort.Strings(names)
	dimKeys := make([]string, 0, len(dims))
	for k := range dims {
		dimKeys = append(dimKeys, k)
	}
	sort.Strings(dimKeys)
	d := emfDirective{Namespace: config.MetricNamespace, Dimensions: [][]string{{}}}
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
