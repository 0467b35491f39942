#!/usr/bin/env bash
# bench.sh [bench flags...] — docs/performance.md's benchmark table (`make bench`):
# every figure measured in this one run on this machine, in one markdown table.
# docs/performance.md ("Running it") lists its steps, outputs and knobs. A full
# run (no flags, no knob but BENCH_OUT) also writes the table into its "Latest
# run" block (test/docblock).
set -euo pipefail

doc=(-doc docs/performance.md) # a full run: no flags and no knob set (every benchmark size is an ECSLOGFIX_BENCH_* variable)
if (($#)) || [[ -n ${BENCH_COUNT:-}${BENCHTIME:-}${MICRO_PKGS:-}${PIPELINE_PKGS:-} ]] || compgen -e -X '!ECSLOGFIX_BENCH_*' >/dev/null; then
  doc=()
fi

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BENCH_OUT=${BENCH_OUT:-$ROOT/dist/bench}
BENCH_COUNT=${BENCH_COUNT:-6}
BENCHTIME=${BENCHTIME:-1s}
MICRO_PKGS=${MICRO_PKGS:-./internal/policy ./internal/plan}
PIPELINE_PKGS=${PIPELINE_PKGS:-./test/bench/...}
RIE=$ROOT/.tools/bin/aws-lambda-rie
BENCHSTAT=$ROOT/.tools/bin/benchstat
BENCHSTAT_MODULE=golang.org/x/perf/cmd/benchstat@v0.0.0-20260908200009-22c9c6c9d4da
export GOFLAGS=${GOFLAGS:--buildvcs=false}
cd "$ROOT"
mkdir -p "$BENCH_OUT"
# The commit measured is the one the run starts on.
commit=$(scripts/measured-commit.sh)
SECONDS=0
phase() { echo "bench: [${SECONDS}s] $*" >&2; }

[[ -x $RIE ]] || make --no-print-directory -C "$ROOT" "$RIE"
[[ -x $BENCHSTAT ]] || GOBIN=$ROOT/.tools/bin go install "$BENCHSTAT_MODULE"
command -v python3 >/dev/null || { echo "bench: python3 with boto3 is required (baseline)" >&2; exit 1; }

args=(-commit "$commit" "${doc[@]}")

phase "go test -bench in $MICRO_PKGS (count $BENCH_COUNT)"
if [[ -s $BENCH_OUT/gobench.txt ]]; then mv "$BENCH_OUT/gobench.txt" "$BENCH_OUT/gobench.prev.txt"; fi
go test -run '^$' -bench . -benchmem -count "$BENCH_COUNT" -benchtime "$BENCHTIME" $MICRO_PKGS | tee "$BENCH_OUT/gobench.txt" >&2
args+=(-gobench "$BENCH_OUT/gobench.txt")
if [[ -s $BENCH_OUT/gobench.prev.txt ]]; then
  # The previous run beside this one: a change shows as a delta with its p-value.
  "$BENCHSTAT" prev="$BENCH_OUT/gobench.prev.txt" this="$BENCH_OUT/gobench.txt" >"$BENCH_OUT/benchstat.txt"
else
  "$BENCHSTAT" "$BENCH_OUT/gobench.txt" >"$BENCH_OUT/benchstat.txt"
fi
export ECSLOGFIX_BENCH_ROWS=$BENCH_OUT/rows.jsonl
rm -f "$ECSLOGFIX_BENCH_ROWS"
phase "pipeline benchmarks (TestBench*) in $PIPELINE_PKGS; log in $BENCH_OUT/pipeline.log"
# -p 1: one package at a time, so the benchmarks do not share the CPUs.
ECSLOGFIX_BENCH=1 ECSLOGFIX_REQUIRE_TOOLS=1 go test -p 1 -count=1 -timeout 30m -v -run '^TestBench' $PIPELINE_PKGS \
  >"$BENCH_OUT/pipeline.log" 2>&1 || { tail -n 60 "$BENCH_OUT/pipeline.log" >&2; exit 1; }
grep -h 'bench row:' "$BENCH_OUT/pipeline.log" | sed 's/^ *[a-z_0-9]*\.go:[0-9]*: /  /' >&2 || true
if [[ -s $ECSLOGFIX_BENCH_ROWS ]]; then args+=(-rows "$ECSLOGFIX_BENCH_ROWS"); fi

phase "cold starts, warm invokes, RSS and zip sizes (test/bench/cmd/bench)"
go run ./test/bench/cmd/bench "${args[@]}" "$@" | tee "$BENCH_OUT/table.md"
if [[ -s $BENCH_OUT/benchstat.txt ]]; then
  { printf '\nbenchstat (%s):\n\n```\n' "${BENCHSTAT_MODULE#*@}"; cat "$BENCH_OUT/benchstat.txt"; printf '```\n'; } | tee -a "$BENCH_OUT/table.md"
fi
phase "done: table in $BENCH_OUT/table.md"
