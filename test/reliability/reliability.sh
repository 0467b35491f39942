#!/usr/bin/env bash
# reliability.sh — the report of docs/reliability.md (`make reliability`): runs the
# reliability and security scenarios (go test ./test/reliability/...), the
# fuzz targets for FUZZTIME each (`make fuzz`) and the offline govulncheck
# (scripts/vulncheck.sh --selftest ./...), records one row per scenario in
# $ECSLOGFIX_RELIABILITY_REPORT (default dist/reliability.jsonl) and prints
# the table (test/reliability/cmd/reliability-report). Every step runs even
# when an earlier one failed; the exit status is 1 unless all passed.
#
# A full run (no RELIABILITY_RUN, SKIP_FUZZ or SKIP_VULNCHECK) also writes
# the table, with the commit and toolchain measured, into docs/reliability.md's
# generated block; the burst scenario measures its whole failure curve
# (ECSLOGFIX_BURST_CURVE=1).
#
# Environment: FUZZTIME (default 10s), SKIP_FUZZ=1, SKIP_VULNCHECK=1,
# RELIABILITY_RUN (a go test -run pattern for the scenarios).
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT" || exit 2
REPORT=${ECSLOGFIX_RELIABILITY_REPORT:-$ROOT/dist/reliability.jsonl}
export ECSLOGFIX_RELIABILITY_REPORT=$REPORT ECSLOGFIX_REQUIRE_TOOLS=1 ECSLOGFIX_BURST_CURVE=1
mkdir -p "$(dirname "$REPORT")" && rm -f "$REPORT"
status=0

# row ID SCENARIO PASSED NOTE: append one result line (the recorder's format;
# ID is one of reliability.Scenarios).
row() {
  python3 -c 'import json,sys; print(json.dumps({"id":sys.argv[1],"scenario":sys.argv[2],"runs":1,"passed":int(sys.argv[3]),"registrations":0,"notifications":0,"faults":0,"note":sys.argv[4]}))' \
    "$1" "$2" "$3" "$4" >>"$REPORT"
}

# The commit measured is the one the run starts on.
commit=$(scripts/measured-commit.sh)
start=$(date +%s)
echo "== scenarios: go test ./test/reliability/..." >&2
go test -count=1 -timeout 60m ${RELIABILITY_RUN:+-run "$RELIABILITY_RUN"} ./test/reliability/... >&2 || status=1
echo "== scenarios took $(( $(date +%s) - start )) s" >&2

if [[ ${SKIP_FUZZ:-} != 1 ]]; then
  start=$(date +%s)
  targets=$(grep -rh --include='*_test.go' '^func Fuzz' internal cmd functions 2>/dev/null | wc -l)
  echo "== fuzz: $targets targets × ${FUZZTIME:-10s}" >&2
  if make --no-print-directory fuzz FUZZTIME="${FUZZTIME:-10s}" >&2; then
    row fuzz "fuzz targets (make fuzz)" 1 "$targets targets × ${FUZZTIME:-10s}, seed corpora under testdata/fuzz; no crasher ($(( $(date +%s) - start )) s)"
  else
    row fuzz "fuzz targets (make fuzz)" 0 "a target failed: see the output above; the crasher is in the package's testdata/fuzz/"
    status=1
  fi
fi

if [[ ${SKIP_VULNCHECK:-} != 1 ]]; then
  start=$(date +%s)
  # Scan with the toolchain go.mod names (GOTOOLCHAIN=auto), which builds
  # the functions; a GOTOOLCHAIN=local environment would otherwise scan
  # (and build with) the machine's older Go. VULNCHECK_GOTOOLCHAIN overrides.
  tc=${VULNCHECK_GOTOOLCHAIN:-auto}
  gover=$(GOTOOLCHAIN=$tc go env GOVERSION)
  echo "== govulncheck (offline database, $gover): scripts/vulncheck.sh --selftest ./..." >&2
  out=$(GOTOOLCHAIN=$tc scripts/vulncheck.sh --selftest ./... 2>&1); rc=$?
  printf '%s\n' "$out" | tail -40 >&2
  took=$(( $(date +%s) - start ))
  case $rc in
    0) row govulncheck "govulncheck ./... (offline vulnerability database)" 1 "self-test found GO-2021-0113; no reachable vulnerability with $gover (GOTOOLCHAIN=$tc) ($took s)" ;;
    3) ids=$(printf '%s\n' "$out" | grep -o 'GO-[0-9]\{4\}-[0-9]\{4,\}' | grep -v GO-2021-0113 | sort -u | tr '\n' ' ')
       row govulncheck "govulncheck ./... (offline vulnerability database)" 0 "reachable vulnerabilities with $gover (GOTOOLCHAIN=$tc): ${ids}($took s)"; status=1 ;;
    *) row govulncheck "govulncheck ./... (offline vulnerability database)" 0 "vulncheck.sh failed with status $rc ($took s)"; status=1 ;;
  esac
fi

echo >&2
doc=()
if [[ -z ${RELIABILITY_RUN:-} && ${SKIP_FUZZ:-} != 1 && ${SKIP_VULNCHECK:-} != 1 ]]; then
  doc=(-doc docs/reliability.md -commit "$commit")
fi
go run ./test/reliability/cmd/reliability-report "${doc[@]}" "$REPORT" || status=1
exit $status
