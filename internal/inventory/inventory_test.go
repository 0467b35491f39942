package inventory

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strconv"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// fakeECS serves families fam-0000… in pages keyed by an integer token.
type fakeECS struct {
	families  []string
	failOn    map[string]error // describe errors per family
	inactive  map[string]bool  // families whose describe answers an INACTIVE revision
	lists     int
	describes int
	gotPrefix string
	gotStatus types.TaskDefinitionFamilyStatus
	gotTags   bool
}

func newFake(n int) *fakeECS {
	f := &fakeECS{failOn: map[string]error{}}
	for i := range n {
		f.families = append(f.families, fmt.Sprintf("fam-%04d", i))
	}
	return f
}

func (f *fakeECS) ListTaskDefinitionFamilies(_ context.Context, in *ecs.ListTaskDefinitionFamiliesInput, _ ...func(*ecs.Options)) (*ecs.ListTaskDefinitionFamiliesOutput, error) {
	f.lists++
	f.gotPrefix, f.gotStatus = aws.ToString(in.FamilyPrefix), in.Status
	start := 0
	if in.NextToken != nil {
		var err error
		if start, err = strconv.Atoi(*in.NextToken); err != nil {
			return nil, errors.New("InvalidParameterException: bad token")
		}
	}
	size := int(aws.ToInt32(in.MaxResults))
	end := min(start+size, len(f.families))
	out := &ecs.ListTaskDefinitionFamiliesOutput{Families: slices.Clone(f.families[start:end])}
	if end < len(f.families) {
		out.NextToken = aws.String(strconv.Itoa(end))
	}
	return out, nil
}

func (f *fakeECS) DescribeTaskDefinition(ctx context.Context, in *ecs.DescribeTaskDefinitionInput, _ ...func(*ecs.Options)) (*ecs.DescribeTaskDefinitionOutput, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	f.describes++
	f.gotTags = slices.Contains(in.Include, types.TaskDefinitionFieldTags)
	fam := aws.ToString(in.TaskDefinition)
	if err := f.failOn[fam]; err != nil {
		return nil, err
	}
	return &ecs.DescribeTaskDefinitionOutput{
		TaskDefinition: &types.TaskDefinition{Family: aws.String(fam), Revision: 3, Status: status(f.inactive[fam]),
			TaskDefinitionArn: aws.String("arn:aws:ecs:us-east-1:111122223333:task-definition/" + fam + ":3")},
		Tags: []types.Tag{{Key: aws.String("team"), Value: aws.String("a")}},
	}, nil
}

func status(inactive bool) types.TaskDefinitionStatus {
	if inactive {
		return types.TaskDefinitionStatusInactive
	}
	return types.TaskDefinitionStatusActive
}

// What DescribeTaskDefinition answers is checked: a revision that is not
// ACTIVE is never delivered (scan and fix --all would plan a fix, and
// create a group, for a family with nothing to run), and the walk goes on.
func TestWalkSkipsARevisionThatIsNotActive(t *testing.T) {
	f := newFake(4)
	f.inactive = map[string]bool{"fam-0001": true}
	var seen []string
	cp, err := Walk(context.Background(), f, Options{PageSize: 2}, func(it Item) error {
		seen = append(seen, it.Family)
		return nil
	})
	if err != nil || cp != (Checkpoint{}) {
		t.Fatalf("Walk = %+v, %v", cp, err)
	}
	if want := []string{"fam-0000", "fam-0002", "fam-0003"}; !slices.Equal(seen, want) {
		t.Fatalf("delivered %v, want %v", seen, want)
	}
}

func TestWalkAllFamiliesInOrder(t *testing.T) {
	for _, n := range []int{0, 1, 7, 10, 11, 25} {
		t.Run(strconv.Itoa(n), func(t *testing.T) {
			f := newFake(n)
			var seen []string
			cp, err := Walk(context.Background(), f, Options{PageSize: 5, FamilyPrefix: "fam-"}, func(it Item) error {
				if it.Err != nil || it.TaskDefinition == nil || len(it.Tags) != 1 {
					t.Fatalf("item %+v", it)
				}
				seen = append(seen, it.Family)
				return nil
			})
			if err != nil || cp != (Checkpoint{}) {
				t.Fatalf("Walk = %+v, %v", cp, err)
			}
			if !slices.Equal(seen, f.families) {
				t.Fatalf("seen %v, want %v", seen, f.families)
			}
			if f.gotPrefix != "fam-" || (n > 0 && (f.gotStatus != types.TaskDefinitionFamilyStatusActive || !f.gotTags)) {
				t.Fatalf("prefix %q status %q tags %v", f.gotPrefix, f.gotStatus, f.gotTags)
			}
			if want := max(1, (n+4)/5); f.lists != want {
				t.Fatalf("lists = %d, want %d", f.lists, want)
			}
		})
	}
}

func TestWalkDescribeErrorContinues(t *testing.T) {
	f := newFake(6)
	f.failOn["fam-0002"] = errors.New("ClientException: Unable to describe task definition.")
	var ok, bad []string
	_, err := Walk(context.Background(), f, Options{PageSize: 4}, func(it Item) error {
		if it.Err != nil {
			bad = append(bad, it.Family)
		} else {
			ok = append(ok, it.Family)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(bad, []string{"fam-0002"}) || len(ok) != 5 {
		t.Fatalf("ok %v bad %v", ok, bad)
	}
}

// TestWalkResume cuts the walk off at every position (mid-page, at a page
// boundary, on the last family), resumes from the checkpoint, and checks
// every family is handled exactly once.
func TestWalkResume(t *testing.T) {
	const n, page = 23, 5
	stop := errors.New("time is up")
	for cut := 0; cut <= n; cut++ {
		f := newFake(n)
		handled := map[string]int{}
		var order []string
		calls := 0
		cp, err := Walk(context.Background(), f, Options{PageSize: page}, func(it Item) error {
			if calls == cut {
				return stop // not handled: must come again on resume
			}
			calls++
			handled[it.Family]++
			order = append(order, it.Family)
			return nil
		})
		if cut < n && !errors.Is(err, stop) {
			t.Fatalf("cut %d: err = %v", cut, err)
		}
		if cut == n && (err != nil || cp != (Checkpoint{})) {
			t.Fatalf("cut %d: complete walk returned %+v, %v", cut, cp, err)
		}
		if cut < n {
			// Round-trip the checkpoint as the sweep stores it between invocations.
			cp2, err := Walk(context.Background(), f, Options{PageSize: page, Checkpoint: cp}, func(it Item) error {
				handled[it.Family]++
				order = append(order, it.Family)
				return nil
			})
			if err != nil || cp2 != (Checkpoint{}) {
				t.Fatalf("cut %d: resume = %+v, %v", cut, cp2, err)
			}
		}
		if !slices.Equal(order, f.families) {
			t.Fatalf("cut %d: order %v", cut, order)
		}
		for _, fam := range f.families {
			if handled[fam] != 1 {
				t.Fatalf("cut %d: %s handled %d times", cut, fam, handled[fam])
			}
		}
	}
}

func TestWalkResumeReanchorsWhenPageChanged(t *testing.T) {
	f := newFake(10)
	cp, err := Walk(context.Background(), f, Options{PageSize: 10}, func(it Item) error {
		if it.Family == "fam-0004" {
			return errors.New("stop")
		}
		return nil
	})
	if err == nil || cp != (Checkpoint{Done: 4, Last: "fam-0003"}) {
		t.Fatalf("Walk = %+v, %v", cp, err)
	}
	// Two families before the checkpoint disappear, one appears.
	f.families = slices.Delete(f.families, 0, 2)
	f.families = slices.Insert(f.families, 0, "aaa-new")
	var seen []string
	if _, err := Walk(context.Background(), f, Options{PageSize: 10, Checkpoint: cp}, func(it Item) error {
		seen = append(seen, it.Family)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if want := []string{"fam-0004", "fam-0005", "fam-0006", "fam-0007", "fam-0008", "fam-0009"}; !slices.Equal(seen, want) {
		t.Fatalf("seen %v, want %v", seen, want)
	}
}

func TestResumeIndex(t *testing.T) {
	page := []string{"a", "c", "e"}
	for _, tc := range []struct {
		cp   Checkpoint
		want int
	}{
		{Checkpoint{}, 0},
		{Checkpoint{Done: 2}, 2},
		{Checkpoint{Done: 9}, 3},
		{Checkpoint{Done: 2, Last: "c"}, 2},
		{Checkpoint{Done: 1, Last: "c"}, 2},
		{Checkpoint{Done: 3, Last: "b"}, 1},
		{Checkpoint{Done: 1, Last: "z"}, 3},
	} {
		if got := resumeIndex(page, tc.cp); got != tc.want {
			t.Errorf("resumeIndex(%+v) = %d, want %d", tc.cp, got, tc.want)
		}
	}
}

func TestWalkContextEnds(t *testing.T) {
	f := newFake(20)
	ctx, cancel := context.WithCancel(context.Background())
	var seen int
	cp, err := Walk(ctx, f, Options{PageSize: 8}, func(it Item) error {
		seen++
		if seen == 10 {
			cancel()
		}
		return nil
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v", err)
	}
	if cp != (Checkpoint{NextToken: "8", Done: 2, Last: "fam-0009"}) {
		t.Fatalf("cp = %+v", cp)
	}
}

func TestWalkListErrorKeepsCheckpoint(t *testing.T) {
	f := newFake(5)
	start := Checkpoint{NextToken: "not-a-number", Done: 1}
	cp, err := Walk(context.Background(), f, Options{Checkpoint: start}, func(Item) error { return nil })
	if err == nil || cp != start {
		t.Fatalf("Walk = %+v, %v", cp, err)
	}
}

func TestWalkMemoryFlat(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	f := newFake(20000)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	peak := uint64(0)
	n := 0
	_, err := Walk(context.Background(), f, Options{}, func(it Item) error {
		n++
		if n%1000 == 0 {
			runtime.GC()
			var m runtime.MemStats
			runtime.ReadMemStats(&m)
			peak = max(peak, m.HeapAlloc)
		}
		return nil
	})
	if err != nil || n != 20000 {
		t.Fatal(n, err)
	}
	runtime.ReadMemStats(&after)
	if grow := int64(peak) - int64(before.HeapAlloc); grow > 1<<20 {
		t.Fatalf("heap grew by %d bytes during the walk", grow)
	}
}

// loopingECS answers every list with a full page and the same NextToken.
type loopingECS struct{ *fakeECS }

func (l loopingECS) ListTaskDefinitionFamilies(ctx context.Context, in *ecs.ListTaskDefinitionFamiliesInput, o ...func(*ecs.Options)) (*ecs.ListTaskDefinitionFamiliesOutput, error) {
	out, err := l.fakeECS.ListTaskDefinitionFamilies(ctx, &ecs.ListTaskDefinitionFamiliesInput{MaxResults: in.MaxResults}, o...)
	if err == nil {
		out.NextToken = aws.String("same")
	}
	return out, err
}

// A repeated NextToken ends the walk with an error, not a loop.
func TestWalkStopsOnARepeatedToken(t *testing.T) {
	f := loopingECS{newFake(10)}
	n := 0
	_, err := Walk(context.Background(), f, Options{PageSize: 5}, func(Item) error { n++; return nil })
	if !errors.Is(err, ErrRepeatedToken) {
		t.Fatalf("err = %v, want ErrRepeatedToken", err)
	}
	if f.lists != 2 || n != 10 {
		t.Fatalf("%d lists, %d items; want 2 lists (the token repeats on the second) and 10 items", f.lists, n)
	}
}
