package bench

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// PeakRSS returns a process's peak resident set size (VmHWM) in bytes.
func PeakRSS(pid int) (int64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				return 0, fmt.Errorf("parse VmHWM %q: %w", v, err)
			}
			return kb * 1024, nil
		}
	}
	return 0, fmt.Errorf("no VmHWM in /proc/%d/status", pid)
}

// childPID returns the pid of the child of ppid whose executable is named
// name (the bootstrap under the RIE).
func childPID(ppid int, name string) (int, error) {
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	for _, s := range stats {
		b, err := os.ReadFile(s)
		if err != nil {
			continue // the process ended meanwhile
		}
		// pid (comm) state ppid ...; comm may hold spaces and parentheses.
		line := string(b)
		open, close := strings.IndexByte(line, '('), strings.LastIndexByte(line, ')')
		if open < 0 || close < open {
			continue
		}
		fields := strings.Fields(line[close+1:])
		if len(fields) < 2 || fields[1] != strconv.Itoa(ppid) {
			continue
		}
		comm := line[open+1 : close]
		if strings.HasPrefix(name, comm) { // comm is truncated to 15 bytes
			return strconv.Atoi(strings.Fields(line)[0])
		}
	}
	return 0, fmt.Errorf("no child %q of pid %d", name, ppid)
}

// Summary is the distribution of a sample of durations.
type Summary struct {
	N      int
	Median time.Duration
	Min    time.Duration
	Max    time.Duration
}

// Summarize summarizes ds.
func Summarize(ds []time.Duration) Summary {
	if len(ds) == 0 {
		return Summary{}
	}
	return Summary{N: len(ds), Median: Median(ds), Min: slices.Min(ds), Max: slices.Max(ds)}
}

// Median returns the median of xs, the mean of the middle two for an even
// count (0 when empty).
func Median[T ~int64 | ~float64](xs []T) T {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Sorted(slices.Values(xs))
	if len(s)%2 == 0 {
		return (s[len(s)/2-1] + s[len(s)/2]) / 2
	}
	return s[len(s)/2]
}
