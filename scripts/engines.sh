#!/usr/bin/env bash
# Starts or stops every real engine the tests use (Kafka, Elasticsearch, PostgreSQL, ...).
# Each scripts/engine-<name>.sh takes start|stop; start is idempotent, binds
# 127.0.0.1, waits until the engine is ready and writes `export VAR=value`
# lines to .cache/<name>.env. `source .cache/*.env` then points tests at them.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p .cache
cmd=${1:?usage: engines.sh start|stop}
shopt -s nullglob
pids=()
for s in scripts/engine-*.sh; do
  name=${s#scripts/engine-}; name=${name%.sh}
  if [ "$cmd" = start ]; then
    # Engines start in parallel; each logs to .cache/<name>.start.log.
    ( bash "$s" start >".cache/$name.start.log" 2>&1 || { echo "engines: $name failed to start:"; tail -40 ".cache/$name.start.log"; exit 1; } ) &
    pids+=($!)
  else
    bash "$s" stop || true
  fi
done
rc=0
for p in "${pids[@]}"; do wait "$p" || rc=1; done
exit $rc
