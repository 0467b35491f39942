#!/usr/bin/env bash
# vulncheck.sh [--selftest] [package patterns...]   (default ./...)
# govulncheck against a local copy of the Go vulnerability database, built from
# the golang.org/x/vulndb module and cached under .tools/vulndb/<version>:
# docs/reliability.md, "govulncheck offline", says how, what --selftest proves
# and how to bump the pins (VULNDB_VERSION, VULN_VERSION; VULNCHECK_TOOLS is
# the tools directory). The exit status is govulncheck's: 0 none, 3 reachable
# vulnerabilities; anything else is a tool or build error.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
TOOLS=${VULNCHECK_TOOLS:-$ROOT/.tools}
BIN=$TOOLS/bin
VULNDB_VERSION=${VULNDB_VERSION:-v0.0.0-20261105234957-e22db6528018}
VULN_VERSION=${VULN_VERSION:-v1.9.0}
DB=$TOOLS/vulndb/$VULNDB_VERSION

log() { printf 'vulncheck: %s\n' "$*" >&2; }
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN{printf "%.1fs", b-a}'; }

# install NAME PKG VERSION: go install PKG@VERSION into .tools/bin unless the
# binary there was already built from that version (its main module's).
install() {
  local name=$1 pkg=$2 version=$3
  if [[ -x $BIN/$name && $(go version -m "$BIN/$name" 2>/dev/null | awk '$1=="mod"{print $3; exit}') == "$version" ]]; then return; fi
  local t; t=$(now)
  log "installing $pkg@$version"
  # Run outside the repository so its go.mod/go.sum are never touched.
  (cd "$(mktemp -d)" && GOFLAGS= GOBIN=$BIN go install "$pkg@$version")
  log "installed $name in $(elapsed "$t")"
}

build_db() {
  if [[ -f $DB/index/modules.json && -f $DB/.complete ]]; then return; fi
  local t; t=$(now)
  install indexdb golang.org/x/vulndb/cmd/indexdb "$VULNDB_VERSION"
  log "downloading golang.org/x/vulndb@$VULNDB_VERSION"
  local src
  src=$(cd "$(mktemp -d)" && GOFLAGS= go mod download -json "golang.org/x/vulndb@$VULNDB_VERSION" |
    awk -F'"' '$2=="Dir"{print $4}')
  [[ -d $src/data/osv ]] || { log "no data/osv in $src"; exit 2; }
  local tmp=$DB.tmp.$$
  rm -rf "$tmp" && mkdir -p "$tmp"
  "$BIN/indexdb" -vulns "$src/data/osv" -out "$tmp"
  # indexdb writes both .json and .json.gz; govulncheck's file:// source
  # reads the plain files only.
  find "$tmp" -name '*.json.gz' -delete
  touch "$tmp/.complete"
  rm -rf "$DB" && mv "$tmp" "$DB"
  log "built database ($(find "$DB/ID" -name '*.json' | wc -l) entries, $(du -sh "$DB" | cut -f1)) in $(elapsed "$t")"
}

selftest=0
if [[ ${1:-} == --selftest ]]; then selftest=1; shift; fi
[[ $# -gt 0 ]] || set -- ./...

start=$(now)
install govulncheck golang.org/x/vuln/cmd/govulncheck "$VULN_VERSION"
build_db

if ((selftest)); then
  fixture=$ROOT/test/reliability/testdata/vulnerable
  log "selftest: scanning $fixture (must report GO-2021-0113)"
  rc=0
  out=$(cd "$fixture" && GOFLAGS=-mod=mod "$BIN/govulncheck" -db "file://$DB" ./... 2>&1) || rc=$?
  if [[ $rc -ne 3 ]] || ! grep -q GO-2021-0113 <<<"$out"; then
    printf '%s\n' "$out" >&2
    log "selftest FAILED: expected exit 3 and GO-2021-0113, got exit $rc"
    exit 1
  fi
  log "selftest ok (exit 3, GO-2021-0113 found)"
fi

t=$(now)
rc=0
(cd "$ROOT" && "$BIN/govulncheck" -db "file://$DB" "$@") || rc=$?
log "scan of $* exited $rc in $(elapsed "$t") (total $(elapsed "$start"))"
exit $rc
