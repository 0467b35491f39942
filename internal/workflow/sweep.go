package workflow

import "github.com/ecslogfix/ecslogfix/internal/inventory"

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

	Evaluated  int `json:"evaluated"`
	Compliant  int `json:"compliant"`
	Violations int `json:"violations"`
	Started    int `json:"started"`
	Duplicates int `json:"duplicates"`
	Skipped    int `json:"skipped"` // exempt, inactive, unplannable
	Errors     int `json:"errors"`  // families that could not be read or started

	CoverageGaps int           `json:"coverageGaps"`
	Gaps         []CoverageGap `json:"gaps"` // at most MaxListed

	// WalkError is the Map's failure, when it failed.
	WalkError *CaughtError `json:"walkError,omitempty"`
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
	StateNotifyDigest  = "NotifyDigest" // Pass today: the digest notification's Task replaces it
	StateCheckWalk     = "CheckWalk"
	StateSweepDone     = "SweepDone"   // Succeed
	StateSweepFailed   = "SweepFailed" // Fail: the Map failed; the summary says how
	ErrSweepWalkFailed = "ecslogfix.WalkFailed"
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
