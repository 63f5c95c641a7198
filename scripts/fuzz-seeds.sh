#!/usr/bin/env bash
# Copies up to N inputs a local fuzzing run found interesting from Go's fuzz
# cache into the package's committed seed corpus (testdata/fuzz/FuzzX).
# usage: scripts/fuzz-seeds.sh ./pkg FuzzName [N]
set -euo pipefail
pkg=${1:?package dir}; name=${2:?fuzz target}; n=${3:-12}
imp=$(go list "$pkg")
src="$(go env GOCACHE)/fuzz/$imp/$name"
dst="$pkg/testdata/fuzz/$name"
mkdir -p "$dst"
ls -S "$src" | head -n "$n" | while read -r f; do cp "$src/$f" "$dst/$f"; done
ls "$dst" | wc -l
