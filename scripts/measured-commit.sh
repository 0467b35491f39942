#!/usr/bin/env bash
# measured-commit.sh — the commit a generated block's provenance line names
# (test/docblock; make bench, make reliability): HEAD's short hash, with
# -dirty when tracked files have changes, "unknown" outside a git checkout.
# Run it when the measurement starts: a commit made during the run would
# otherwise be named.
set -uo pipefail
commit=$(git rev-parse --short HEAD 2>/dev/null) || commit=unknown
[[ -z $(git status --porcelain --untracked-files=no 2>/dev/null) ]] || commit=$commit-dirty
echo "$commit"
