// Package orgscan runs an assessment across an AWS Organization, as
// `ecslogfix scan --organization` does from a laptop: the account-regions
// to scan (Targets, pure, over the accounts coverage.Accounts lists — the
// sweep's own listing), and a bounded-parallel run of them (Run) whose
// output order does not depend on timing. What is scanned in one
// account-region is the caller's (internal/cli).
package orgscan

import (
	"cmp"
	"context"
	"slices"
	"sync"

	"github.com/ecslogfix/ecslogfix/internal/awsarn"
	"github.com/ecslogfix/ecslogfix/internal/coverage"
)

// MaxConcurrency bounds --concurrency: every account-region has a read
// budget of its own, so more parallelism only adds open connections and
// memory on the laptop.
const MaxConcurrency = 64

// DefaultConcurrency is --concurrency's default.
const DefaultConcurrency = 4

// Target is one account-region to scan.
type Target struct {
	Account string
	Name    string // the account's name in the organization
	Region  string
	// RoleARN is the role assumed in the account; empty for the caller's
	// own account, scanned with the caller's credentials (the member role
	// and OrganizationAccountAccessRole exist in member accounts only).
	RoleARN string
}

// Targets is every ACTIVE account × region, sorted by account then region;
// an account listed twice is scanned once. role is the name of the role
// assumed in each account but the caller's.
func Targets(accounts []coverage.Account, regions []string, caller, partition, role string) []Target {
	regions = slices.Compact(slices.Sorted(slices.Values(regions)))
	var out []Target
	seen := map[string]bool{}
	for _, a := range accounts {
		if a.State != coverage.StateActive || seen[a.ID] {
			continue
		}
		seen[a.ID] = true
		arn := ""
		if a.ID != caller {
			arn = awsarn.RoleARN(partition, a.ID, role)
		}
		for _, r := range regions {
			out = append(out, Target{Account: a.ID, Name: a.Name, Region: r, RoleARN: arn})
		}
	}
	slices.SortFunc(out, func(x, y Target) int {
		return cmp.Or(cmp.Compare(x.Account, y.Account), cmp.Compare(x.Region, y.Region))
	})
	return out
}

// Run scans the targets, at most concurrency at a time, and hands each
// result to emit in the order of targets, as soon as it and every target
// before it are done: the output is the same however the calls interleave.
// At most 4×concurrency results wait for their turn, so memory does not
// grow with the organization. An error of emit stops the run (the scans
// in flight see their context cancelled) and is returned; so is the
// context's.
func Run[R any](ctx context.Context, targets []Target, concurrency int, scan func(context.Context, Target) R, emit func(Target, R) error) error {
	concurrency = min(max(concurrency, 1), MaxConcurrency)
	var wg sync.WaitGroup
	defer wg.Wait() // after cancel: the scans in flight end early
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	results := make([]R, len(targets))
	done := make([]chan struct{}, len(targets))
	for i := range done {
		done[i] = make(chan struct{})
	}
	running := make(chan struct{}, concurrency)   // a token per scan in flight
	waiting := make(chan struct{}, 4*concurrency) // a token per result not yet emitted
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i, t := range targets {
			select {
			case waiting <- struct{}{}:
			case <-ctx.Done():
				return
			}
			select {
			case running <- struct{}{}:
			case <-ctx.Done():
				return
			}
			if ctx.Err() != nil { // both were ready: the end wins
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				results[i] = scan(ctx, t)
				<-running
				close(done[i])
			}()
		}
	}()
	for i, t := range targets {
		select {
		case <-done[i]:
		case <-ctx.Done():
			return ctx.Err()
		}
		if err := emit(t, results[i]); err != nil {
			return err
		}
		var zero R
		results[i] = zero
		<-waiting
	}
	return ctx.Err()
}
