#!/usr/bin/env bash
# Starts or stops a real single-node Elasticsearch 7.10.2 for tests and benchmarks.
#
#   scripts/engine-elasticsearch.sh start   # idempotent; writes .cache/elasticsearch.env
#   scripts/engine-elasticsearch.sh stop    # kills the node and waits for it
#
# The node is org.codelibs:elasticsearch-cluster-runner (Elasticsearch 7.10.2,
# Apache-2.0, embedded in one JVM). Its jars come from Maven Central through
# `mvn dependency:copy-dependencies` on deploy/elasticsearch/pom.xml and are
# cached in .cache/elasticsearch/lib. The node binds 127.0.0.1 only, on
# ES_HTTP_PORT (default 9201; start fails if the port is taken by something
# else), with a small heap (ES_HEAP, default 1g). Data is thrown away on stop.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
cache=$root/.cache
dir=$cache/elasticsearch
lib=$dir/lib
base=$dir/run
pidfile=$dir/node.pid
log=$dir/node.log
envfile=$cache/elasticsearch.env
port=${ES_HTTP_PORT:-9201}
heap=${ES_HEAP:-1g}
timeout=${ES_START_TIMEOUT:-120}

running() { [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; }

healthy() {
  curl -fsS --max-time 2 "http://127.0.0.1:$port/_cluster/health" 2>/dev/null |
    grep -Eq '"status":"(green|yellow)"'
}

fetch() {
  if [ -f "$lib/.complete" ] && cmp -s "$lib/.complete" deploy/elasticsearch/pom.xml; then
    return
  fi
  command -v mvn >/dev/null || { echo "engine-elasticsearch: mvn is missing (make deps installs maven)" >&2; exit 1; }
  echo "engine-elasticsearch: fetching Elasticsearch jars into $lib"
  rm -rf "$lib"; mkdir -p "$lib"
  mvn -B -q -f deploy/elasticsearch/pom.xml dependency:copy-dependencies \
    -DoutputDirectory="$lib" -DincludeScope=runtime
  cp deploy/elasticsearch/pom.xml "$lib/.complete"
}

start() {
  if running && healthy; then
    echo "engine-elasticsearch: already running on 127.0.0.1:$port"
    echo "export ES_URL=http://127.0.0.1:$port" >"$envfile"
    return
  fi
  stop >/dev/null 2>&1 || true
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    echo "engine-elasticsearch: port $port is taken by another process; set ES_HTTP_PORT" >&2
    exit 1
  fi
  command -v java >/dev/null || { echo "engine-elasticsearch: java is missing (make deps installs openjdk-17)" >&2; exit 1; }
  fetch
  rm -rf "$base"; mkdir -p "$base/node_1/config"
  # The runner loads node_1/config/elasticsearch.yml; it sets http.port itself
  # to -baseHttpPort + node number.
  cat >"$base/node_1/config/elasticsearch.yml" <<YML
network.host: 127.0.0.1
transport.port: 9300-9399
discovery.type: single-node
action.auto_create_index: false
cluster.routing.allocation.disk.threshold_enabled: false
YML
  echo "engine-elasticsearch: starting on 127.0.0.1:$port (heap $heap)"
  nohup java -Xms"$heap" -Xmx"$heap" -XX:+UseSerialGC -Djava.awt.headless=true \
    -Dlog4j2.formatMsgNoLookups=true \
    -cp "$lib/*" org.codelibs.elasticsearch.runner.ElasticsearchClusterRunner \
    -basePath "$base" -numOfNode 1 -baseHttpPort $((port - 1)) -clusterName beacon-test \
    >"$log" 2>&1 </dev/null &
  echo $! >"$pidfile"
  deadline=$((SECONDS + timeout))
  until healthy; do
    if ! running; then
      echo "engine-elasticsearch: the node exited; last log lines:" >&2
      tail -30 "$log" >&2
      exit 1
    fi
    if ((SECONDS >= deadline)); then
      echo "engine-elasticsearch: not healthy after ${timeout}s; last log lines:" >&2
      tail -30 "$log" >&2
      stop || true
      exit 1
    fi
    sleep 1
  done
  bound=$(grep -o 'AbstractHttpServerTransport.*publish_address {[^}]*}' "$log" | head -1 | sed 's/.*{//; s/}//')
  if [ "$bound" != "127.0.0.1:$port" ]; then
    echo "engine-elasticsearch: node published HTTP on '$bound', expected 127.0.0.1:$port" >&2
    stop || true
    exit 1
  fi
  echo "export ES_URL=http://127.0.0.1:$port" >"$envfile"
  echo "engine-elasticsearch: ready at http://127.0.0.1:$port"
}

stop() {
  rm -f "$envfile"
  if ! [ -f "$pidfile" ]; then return 0; fi
  pid=$(cat "$pidfile")
  if kill -0 "$pid" 2>/dev/null; then
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    if kill -0 "$pid" 2>/dev/null; then kill -9 "$pid" 2>/dev/null || true; fi
    while kill -0 "$pid" 2>/dev/null; do sleep 0.2; done
  fi
  rm -f "$pidfile"
  rm -rf "$base"
  echo "engine-elasticsearch: stopped"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
