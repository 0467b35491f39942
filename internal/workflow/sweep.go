package workflow

import (
	"time"

	"github.com/ecslogfix/ecslogfix/internal/inventory"
	"github.com/ecslogfix/ecslogfix/internal/policy/reason"
)

// The data contract of the sweep state machine (asl.SweepDefinition): an
// inventory of account-regions written to S3, a Distributed Map whose
// child executions walk one account-region each, and a summary. Like the
// remediation contract, nothing here carries task definition content: the
// sweep's per-family report holds names, revisions, statuses and reason
// codes only.

// SweepAction selects what one invocation of the sweep function does, one
// per Task of the sweep state machine.
type SweepAction string

// Actions of the sweep function.
const (
	SweepActionInventory SweepAction = "inventory" // Inventory: decide the targets, write them to S3
	SweepActionWalk      SweepAction = "walk"      // WalkTarget: walk one account-region, part of it per invocation
	SweepActionSummarize SweepAction = "summarize" // Summarize: reduce the walks' results, write the report
)

// SweepRequest is the sweep function's input: exactly the field of its
// action is set.
type SweepRequest struct {
	Action SweepAction `json:"action"`
	// SweepID (inventory) is the execution's name; every later step reads
	// it from the inventory.
	SweepID string `json:"sweepId,omitempty"`
	// Walk (walk) is where the child execution's walk is.
	Walk *Walk `json:"walk,omitempty"`
	// Sweep (summarize) is the execution's state document.
	Sweep *SweepState `json:"sweep,omitempty"`
}

// SweepInventory is what the inventory action returns; the state document
// holds it at asl.PathSweepInventory.
type SweepInventory struct {
	SweepID string `json:"sweepId"`
	Bucket  string `json:"bucket"`
	// TargetsKey is the JSONL object of the targets, one Target
	// ({"account","region"}) per line: the Distributed Map's ItemReader.
	TargetsKey string `json:"targetsKey"`
	// CoverageKey is the JSON object of the whole coverage (targets and
	// gaps).
	CoverageKey string `json:"coverageKey"`
	Targets     int    `json:"targets"`
	Gaps        int    `json:"gaps"`
}

// Walk is the state document of one child execution: the target and how
// far its walk got. The Map's ItemSelector starts it with SweepID and
// Target; each walk invocation returns the next one, until Done.
type Walk struct {
	SweepID string `json:"sweepId"`
	// Target is the item as the inventory wrote it (account and region);
	// the walk derives the role to assume itself.
	Target     Target               `json:"target"`
	Checkpoint inventory.Checkpoint `json:"checkpoint"`
	// Invocation counts the walk invocations of this target so far; each
	// writes its own result object.
	Invocation int  `json:"invocation"`
	Done       bool `json:"done"` // asl.PathWalkDone
}

// SweepState is the sweep execution's state document: what each state
// adds at its path. Summarize receives it whole.
type SweepState struct {
	Inventory SweepInventory `json:"inventory"`           // asl.PathSweepInventory
	WalkError *CaughtError   `json:"walkError,omitempty"` // asl.PathWalkError: the Map failed (e.g. States.ExceedToleratedFailureThreshold)
	Summary   *SweepSummary  `json:"summary,omitempty"`   // asl.PathSummary
	Digest    *DigestRequest `json:"digest,omitempty"`    // asl.PathDigest
	// DigestPublished is what the last PublishDigest returned
	// (asl.PathDigestPublished).
	DigestPublished *DigestResult `json:"digestPublished,omitempty"`
	// DigestError is what PublishDigest's Catch caught after its retries
	// (asl.PathDigestError): NotifyDigestFailure publishes a notice of it.
	DigestError *CaughtError `json:"digestError,omitempty"`
}

// CoverageGap is an account in scope (or one of its regions) the member
// stacks do not cover (internal/coverage decides them).
type CoverageGap struct {
	Account  string `json:"account"`
	Region   string `json:"region,omitempty"` // empty: every region
	Reason   string `json:"reason"`           // member-role, forwarding
	StackSet string `json:"stackSet"`
	Status   string `json:"status"`           // OUTDATED, INOPERABLE, MISSING
	Detail   string `json:"detail,omitempty"` // CloudFormation's status reason
}

// MaxListed bounds the gaps and failed targets a summary lists; the counts
// are always whole, and the coverage object in S3 lists every gap.
const MaxListed = 50

// SweepSummary is what the summarize action returns: the sweep reduced
// over every walk's result.
type SweepSummary struct {
	Version string `json:"version"`
	SweepID string `json:"sweepId"`
	Bucket  string `json:"bucket"`
	// ReportKey is the per-family report (JSONL: one line per family
	// evaluated, in every target), SummaryKey this summary as JSON.
	ReportKey  string `json:"reportKey"`
	SummaryKey string `json:"summaryKey"`

	Targets       int `json:"targets"`       // account-regions in the inventory
	TargetsWalked int `json:"targetsWalked"` // walked to the end
	// TargetsFailed were not walked to the end: their child execution
	// failed. The Distributed Map tolerates up to its
	// ToleratedFailurePercentage of them.
	TargetsFailed int      `json:"targetsFailed"`
	FailedTargets []Target `json:"failedTargets"` // at most MaxListed

	SweepCounts

	CoverageGaps int           `json:"coverageGaps"`
	Gaps         []CoverageGap `json:"gaps"` // at most MaxListed

	// WalkError is the Map's failure, when it failed.
	WalkError *CaughtError `json:"walkError,omitempty"`

	// SummarizedAt is when the summary was made: the digest waits for the
	// executions the sweep started from then on, up to a bound.
	SummarizedAt time.Time `json:"summarizedAt"`
	// Sections are the account-regions walked with their tallies, at most
	// MaxListed (those with violations first); SectionsOmitted counts the
	// rest.
	Sections        []SweepSection `json:"sections"`
	SectionsOmitted int            `json:"sectionsOmitted,omitempty"`
}

// SweepCounts are a sweep's tallies of families: one walk invocation's,
// one account-region's or the whole sweep's.
type SweepCounts struct {
	Evaluated  int `json:"evaluated"`
	Compliant  int `json:"compliant"`
	Violations int `json:"violations"`
	Started    int `json:"started"`
	Duplicates int `json:"duplicates"`
	Skipped    int `json:"skipped"` // exempt, inactive, unplannable
	Errors     int `json:"errors"`  // families that could not be read or started
}

// Add adds o's tallies to c's.
func (c *SweepCounts) Add(o SweepCounts) {
	c.Evaluated += o.Evaluated
	c.Compliant += o.Compliant
	c.Violations += o.Violations
	c.Started += o.Started
	c.Duplicates += o.Duplicates
	c.Skipped += o.Skipped
	c.Errors += o.Errors
}

// SweepSection is one account-region's tallies in a summary.
type SweepSection struct {
	Account string `json:"account"`
	Region  string `json:"region"`
	SweepCounts
}

// SweepOutcome is the outcome of one execution a sweep started, as notify
// writes it to the sweep's bucket (SweepOutcomeKey) instead of publishing
// it: the digest reads them all. Names, revisions and reason codes only.
type SweepOutcome struct {
	Account      string        `json:"account"`
	Region       string        `json:"region"`
	Family       string        `json:"family"`
	Outcome      Outcome       `json:"outcome"`
	SourceARN    string        `json:"sourceArn"`
	NewARN       string        `json:"newArn,omitempty"`
	Reasons      []reason.Code `json:"reasons,omitempty"`
	Detail       string        `json:"detail,omitempty"` // one sentence (Result.Detail, or the failed state and error)
	ExecutionARN string        `json:"executionArn,omitempty"`
}

// SweepOutcomesPrefix is where the outcomes of a sweep's executions are;
// SweepOutcomeKey one execution's (one object per source revision, so a
// retried notify writes the same object again).
func SweepOutcomesPrefix(sweepID string) string { return "sweeps/" + sweepID + "/outcomes/" }

// SweepOutcomeKey is the object of one execution's outcome.
func SweepOutcomeKey(sweepID, account, region, family string) string {
	return SweepOutcomesPrefix(sweepID) + account + "/" + region + "/" + family + ".json"
}

// SweepDigestKey is the marker of a sweep's published digest: a retried
// PublishDigest finds it and does not publish again.
func SweepDigestKey(sweepID string) string { return "sweeps/" + sweepID + "/digest.json" }

// DigestResult is what PublishDigest returns: Pending while executions
// the sweep started have no outcome yet (the state machine waits
// RetryAfterSeconds and asks again), else Published.
type DigestResult struct {
	Pending           bool `json:"pending"`
	RetryAfterSeconds int  `json:"retryAfterSeconds"`
	Published         bool `json:"published"`
}

// DigestRequest is what the NotifyDigest state hands on: the summary and
// the execution, in notify's request vocabulary (NotifyRequest's
// executionArn), so that the digest notification can decode it as a
// request of its own.
type DigestRequest struct {
	Summary      SweepSummary `json:"summary"`
	ExecutionARN string       `json:"executionArn"`
}

// State names of the sweep state machine.
const (
	StateInventory     = "Inventory"
	StateWalk          = "Walk" // the Distributed Map
	StateWalkTarget    = "WalkTarget"
	StateWalkMore      = "WalkMore"   // Choice: loop until the target's walk is done
	StateTargetDone    = "TargetDone" // Succeed (child)
	StateSummarize     = "Summarize"
	StateNotifyDigest  = "NotifyDigest"  // Pass: the digest's request (DigestRequest)
	StatePublishDigest = "PublishDigest" // Task (notify): publish the digest once every outcome is in
	StateDigestPending = "DigestPending" // Choice: wait while outcomes are missing
	StateDigestWait    = "DigestWait"    // Wait: DigestResult.RetryAfterSeconds
	// StateNotifyDigestFailure (Task, notify) publishes a notice that the
	// digest was not, then StateDigestFailed (Fail) fails the sweep.
	StateNotifyDigestFailure = "NotifyDigestFailure"
	StateDigestFailed        = "DigestFailed"
	ErrSweepDigestFailed     = "ecslogfix.DigestFailed"
	StateCheckWalk           = "CheckWalk"
	StateSweepDone           = "SweepDone"   // Succeed
	StateSweepFailed         = "SweepFailed" // Fail: the Map failed; the summary says how
	ErrSweepWalkFailed       = "ecslogfix.WalkFailed"
)

// Sweep defaults (ecslogfix:sweepMaxConcurrency,
// ecslogfix:sweepToleratedFailurePercentage).
const (
	// DefaultSweepConcurrency child executions walk at once. ECS paces
	// reads per account and region, so walks of different targets do not
	// compete; the bound is for Lambda's concurrency and the hub's
	// StartExecution rate (docs/performance.md, "The organization sweep").
	DefaultSweepConcurrency = 40
	// DefaultSweepToleratedFailurePercentage of the targets may fail (an
	// account being closed, a role an SCP denies) before the Map fails the
	// sweep; the summary lists them either way.
	DefaultSweepToleratedFailurePercentage = 5.0
)
