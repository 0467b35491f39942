#!/usr/bin/env bash
# fuzz.sh — run every fuzz target in the module for FUZZTIME each (`make fuzz`).
#
# FUZZTIME (default 10s) is a duration, so a stalled worker cannot hang the
# run. When the time is up the Go fuzzing coordinator can report "context
# deadline exceeded" if a worker is slow to stop on a loaded machine, which
# is not a finding: a real finding writes a failing input under the
# package's testdata/fuzz/ and always fails the run; only that coordinator
# error, with no failing input, is tried once more.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
FUZZTIME=${FUZZTIME:-10s}
log=$(mktemp)
trap 'rm -f "$log"' EXIT

run() { # DIR TARGET
  timeout 600 go test -run='^$' -fuzz="^$2\$" -fuzztime="$FUZZTIME" "./$1" >"$log" 2>&1
}

for file in $(grep -rl --include='*_test.go' '^func Fuzz' internal cmd functions 2>/dev/null | sort); do
  dir=$(dirname "$file")
  for target in $(grep -ho '^func Fuzz[A-Za-z0-9_]*' "$file" | cut -d' ' -f2); do
    echo "fuzz $dir $target ($FUZZTIME)"
    if run "$dir" "$target"; then continue; fi
    if grep -q 'Failing input written' "$log" || ! grep -q 'context deadline exceeded' "$log"; then
      cat "$log"; exit 1
    fi
    echo "fuzz $dir $target: the coordinator timed out without a finding; trying once more"
    run "$dir" "$target" || { cat "$log"; exit 1; }
  done
done
