#!/usr/bin/env bash
# `make bench`: every Go benchmark (b.Loop) with the real engines up, then the
# whole-system `beaconctl bench` commands. Results go to .cache/bench.txt.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.cache/bin:$PATH"
bash scripts/tools.sh
trap 'bash scripts/engines.sh stop >/dev/null 2>&1 || true' EXIT
bash scripts/engines.sh start
shopt -s nullglob
for f in .cache/*.env; do source "$f"; done
out=.cache/bench.txt
: >"$out"
echo "== go benchmarks" | tee -a "$out"
go test -run '^$' -bench "${BENCH:-.}" -benchtime "${BENCHTIME:-1s}" -timeout 60m ./... 2>&1 | tee -a "$out"
if [ -x bin/beaconctl ] && bin/beaconctl help 2>&1 | grep -q '^  bench'; then
  echo "== beaconctl bench" | tee -a "$out"
  bin/beaconctl bench all 2>&1 | tee -a "$out"
fi
echo "results in $out"
