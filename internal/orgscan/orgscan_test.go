package orgscan

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ecslogfix/ecslogfix/internal/coverage"
)

func TestTargets(t *testing.T) {
	const caller, a, b, c = "111111111111", "222222222222", "333333333333", "444444444444"
	accounts := []coverage.Account{
		{ID: b, Name: "web", State: coverage.StateActive},
		{ID: caller, Name: "management", State: coverage.StateActive},
		{ID: c, Name: "closed", State: "SUSPENDED"},
		{ID: a, Name: "api", State: coverage.StateActive},
		{ID: b, Name: "web", State: coverage.StateActive}, // listed twice
	}
	got := Targets(accounts, []string{"us-east-1", "eu-west-1", "us-east-1"}, caller, "aws", "ecslogfix-member")
	want := []Target{
		{Account: caller, Name: "management", Region: "eu-west-1"},
		{Account: caller, Name: "management", Region: "us-east-1"},
		{Account: a, Name: "api", Region: "eu-west-1", RoleARN: "arn:aws:iam::222222222222:role/ecslogfix-member"},
		{Account: a, Name: "api", Region: "us-east-1", RoleARN: "arn:aws:iam::222222222222:role/ecslogfix-member"},
		{Account: b, Name: "web", Region: "eu-west-1", RoleARN: "arn:aws:iam::333333333333:role/ecslogfix-member"},
		{Account: b, Name: "web", Region: "us-east-1", RoleARN: "arn:aws:iam::333333333333:role/ecslogfix-member"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Targets =\n%+v\nwant\n%+v", got, want)
	}
	if got := Targets(nil, []string{"us-east-1"}, caller, "aws", "r"); len(got) != 0 {
		t.Errorf("no accounts: %+v", got)
	}
	if got := Targets(accounts[:1], []string{"cn-north-1"}, caller, "aws-cn", "OrganizationAccountAccessRole"); got[0].RoleARN != "arn:aws-cn:iam::333333333333:role/OrganizationAccountAccessRole" {
		t.Errorf("partition: %+v", got)
	}
}

func targets(n int) []Target {
	out := make([]Target, n)
	for i := range out {
		out[i] = Target{Account: fmt.Sprintf("%012d", i), Region: "us-east-1"}
	}
	return out
}

// Results come out in the order of the targets even when the scans end in
// the opposite order.
func TestRunOrder(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	const n = 6
	ts := targets(n)
	// Each scan waits for the one after it to end first: the last ends
	// first, the first last.
	ended := make([]chan struct{}, n+1)
	for i := range ended {
		ended[i] = make(chan struct{})
	}
	close(ended[n])
	var got []string
	err := Run(ctx, ts, n, func(ctx context.Context, t Target) int {
		var i int
		fmt.Sscan(t.Account, &i)
		select {
		case <-ended[i+1]:
		case <-ctx.Done():
		}
		close(ended[i])
		return i
	}, func(t Target, i int) error {
		got = append(got, fmt.Sprintf("%s=%d", t.Account, i))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for i, tg := range ts {
		want = append(want, fmt.Sprintf("%s=%d", tg.Account, i))
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("emitted %v, want %v", got, want)
	}
}

// concurrency scans run at once, never more: each scan waits until that
// many have started (a serial run would never get there).
func TestRunConcurrency(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	const concurrency, n = 3, 9
	var mu sync.Mutex
	started, inFlight, most := 0, 0, 0
	ready := make(chan struct{})
	err := Run(ctx, targets(n), concurrency, func(ctx context.Context, _ Target) error {
		mu.Lock()
		started++
		inFlight++
		most = max(most, inFlight)
		if started == concurrency {
			close(ready)
		}
		mu.Unlock()
		select {
		case <-ready:
		case <-ctx.Done():
			return ctx.Err()
		}
		mu.Lock()
		inFlight--
		mu.Unlock()
		return nil
	}, func(_ Target, err error) error { return err })
	if err != nil {
		t.Fatal(err)
	}
	if most != concurrency || started != n {
		t.Errorf("at most %d in flight (want %d), %d started (want %d)", most, concurrency, started, n)
	}
}

// An error of emit stops the run: no scan starts after it, the ones in
// flight see their context cancelled, and Run returns the error.
func TestRunStops(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	stop := errors.New("stdout closed")
	var scanned atomic.Int32
	err := Run(ctx, targets(100), 2, func(ctx context.Context, t Target) string {
		scanned.Add(1)
		if t.Account != "000000000000" {
			<-ctx.Done() // every scan but the first waits for the end
		}
		return t.Account
	}, func(Target, string) error { return stop })
	if !errors.Is(err, stop) {
		t.Errorf("Run = %v, want %v", err, stop)
	}
	// The first scan ends at once and frees its slot: one more may start
	// before emit's error cancels the run, and none after it.
	if n := scanned.Load(); n > 3 {
		t.Errorf("%d scans started, want at most 3", n)
	}
}

func TestRunCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := Run(ctx, targets(3), 1, func(context.Context, Target) int { return 0 }, func(Target, int) error { return nil })
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Run = %v, want context.Canceled", err)
	}
}
