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

// ProcessOf returns the pid of the process running the executable at exe
// (a bootstrap, under the RIE or moto's Lambda stand-in).
func ProcessOf(exe string) (int, error) {
	exe, err := filepath.EvalSymlinks(exe)
	if err != nil {
		return 0, err
	}
	exes, _ := filepath.Glob("/proc/[0-9]*/exe")
	for _, e := range exes {
		if target, err := os.Readlink(e); err == nil && target == exe {
			return strconv.Atoi(strings.Split(e, "/")[2])
		}
	}
	return 0, fmt.Errorf("no process runs %s", exe)
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

// Millis renders s as "median (min–max)" in milliseconds.
func (s Summary) Millis() string {
	return fmt.Sprintf("%s (%s–%s)", Millis(s.Median), Millis(s.Min), Millis(s.Max))
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
