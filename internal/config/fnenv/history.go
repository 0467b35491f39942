package fnenv

import (
	"fmt"

	"strings"

	"github.com/ecslogfix/ecslogfix/internal/config"
	"github.com/ecslogfix/ecslogfix/internal/config/contextvalue"
)

// Environment variables of the history and the findings (detect, sweep,
// notify, report).
const (
	EnvHistoryBucket = "ECSLOGFIX_HISTORY_BUCKET" // the history's S3 bucket; unset: no history
	EnvHistoryPrefix = "ECSLOGFIX_HISTORY_PREFIX" // the key prefix inside it
	EnvStateTable    = "ECSLOGFIX_STATE_TABLE"    // the DynamoDB table of the state per family
	EnvFindings      = "ECSLOGFIX_FINDINGS"       // "import" or "import,notes": Security Hub findings
)

// Findings settings.
const (
	FindingsImport = "import" // import ecslogfix's findings in each resource's account
	FindingsNotes  = "notes"  // also note AWS's ECS.9 findings from the administrator account
)

func (w environ) history(h config.HistoryEnv) {
	w.set(EnvHistoryBucket, h.Bucket)
	w.set(EnvHistoryPrefix, h.Prefix)
	w.set(EnvStateTable, h.Table)
	switch {
	case h.Notes:
		w.set(EnvFindings, FindingsImport+","+FindingsNotes)
	case h.Findings:
		w.set(EnvFindings, FindingsImport)
	}
}

func (r *reader) history() config.HistoryEnv {
	h := config.HistoryEnv{Bucket: r.str(EnvHistoryBucket), Prefix: strings.Trim(r.str(EnvHistoryPrefix), "/"), Table: r.str(EnvStateTable)}
	for _, f := range contextvalue.SplitList(r.get(EnvFindings)) {
		switch f {
		case FindingsImport:
			h.Findings = true
		case FindingsNotes:
			h.Notes = true
		default:
			r.fail(EnvFindings, fmt.Sprintf("%q is not %q or %q", f, FindingsImport, FindingsNotes))
		}
	}
	switch {
	case h.Notes && !h.Findings:
		r.fail(EnvFindings, "notes needs import")
	case (h.Findings || h.Table != "") && h.Bucket == "":
		r.fail(EnvHistoryBucket, "required with a state table or findings")
	case h.Findings && h.Table == "":
		r.fail(EnvStateTable, "required with findings: they follow the state's changes")
	}
	return h
}

// ReportEnv is the report function's environment.
type ReportEnv struct {
	History  config.HistoryEnv
	TopicARN string // the digest goes to the notification topic
	// ReportPrefix is where reports are written in the history bucket.
	ReportPrefix string
}

// DefaultReportPrefix is the key prefix of the monthly reports.
const DefaultReportPrefix = "reports"

// EnvReportPrefix names where the report function writes.
const EnvReportPrefix = "ECSLOGFIX_REPORT_PREFIX"

// Environ renders e as environment variables.
func (e ReportEnv) Environ() map[string]string {
	w := environ{}
	w.history(e.History)
	w.set(EnvTopicARN, e.TopicARN)
	w.set(EnvReportPrefix, e.ReportPrefix)
	return w
}

// ReadReportEnv reads and validates the report function's environment.
func ReadReportEnv(getenv func(string) string) (ReportEnv, error) {
	r := reader{get: getenv}
	e := ReportEnv{History: r.history(), TopicARN: r.required(EnvTopicARN), ReportPrefix: strings.Trim(r.str(EnvReportPrefix), "/")}
	if e.ReportPrefix == "" {
		e.ReportPrefix = DefaultReportPrefix
	}
	if !e.History.On() {
		r.fail(EnvHistoryBucket, "not set: the report reads the history")
	}
	return e, r.err
}
