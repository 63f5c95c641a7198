#!/usr/bin/env bash
# Starts or stops a single-node Apache Kafka broker (KRaft: broker and
# controller in one JVM) on 127.0.0.1 for tests, benchmarks and `make run` in
# Kafka mode.
#
#   scripts/engine-kafka.sh start    fetch jars (once), format (once), start, wait until ready
#   scripts/engine-kafka.sh stop     stop the broker and wait; the data survives
#   scripts/engine-kafka.sh restart  stop, then start (committed offsets survive)
#   scripts/engine-kafka.sh kill     SIGKILL the broker, as a crash would; the data survives
#   scripts/engine-kafka.sh status   exit 0 when the broker runs and answers
#   scripts/engine-kafka.sh reset    stop and delete the data (a new cluster next start)
#
# Kafka's jars come from Maven Central through deploy/kafka/pom.xml into
# .cache/kafka/lib (kept between runs; ~/.m2 makes a refetch fast). `start`
# writes `export KAFKA_BROKERS=127.0.0.1:<port>` to the env file.
#
# Environment (all optional):
#   KAFKA_BROKER_PORT      client listener port             (19092)
#   KAFKA_CONTROLLER_PORT  KRaft controller listener port   (19093)
#   KAFKA_STATE_DIR        data, logs, pid, config          (.cache/kafka)
#   KAFKA_LIB_DIR          the broker's jars                (.cache/kafka/lib)
#   KAFKA_ENV_FILE         where start writes KAFKA_BROKERS (.cache/kafka.env)
#   KAFKA_HEAP_OPTS        JVM heap                         (-Xms256m -Xmx512m)
#   KAFKA_START_TIMEOUT    seconds to wait for readiness    (90)
# Running a second broker beside the first (the fault tests do) takes other
# ports and another KAFKA_STATE_DIR; the jars are shared.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

broker_port=${KAFKA_BROKER_PORT:-19092}
controller_port=${KAFKA_CONTROLLER_PORT:-19093}
state_dir=${KAFKA_STATE_DIR:-$root/.cache/kafka}
lib_dir=${KAFKA_LIB_DIR:-$root/.cache/kafka/lib}
env_file=${KAFKA_ENV_FILE:-$root/.cache/kafka.env}
heap_opts=${KAFKA_HEAP_OPTS:--Xms256m -Xmx512m}
start_timeout=${KAFKA_START_TIMEOUT:-90}
pom=$root/deploy/kafka/pom.xml

mkdir -p "$state_dir"
state_dir=$(cd "$state_dir" && pwd)
data_dir=$state_dir/data
pid_file=$state_dir/kafka.pid
log_file=$state_dir/kafka.log
brokers=127.0.0.1:$broker_port

log() { echo "engine-kafka: $*" >&2; }

# alive reports whether pid runs. An exited process that nobody reaped yet (a
# zombie) does not count, but one whose threads are still tearing down does:
# it may still hold the listening sockets.
alive() {
  kill -0 "$1" 2>/dev/null || return 1
  local stat
  for stat in /proc/"$1"/task/*/stat; do
    [ "$(awk '{print $3}' "$stat" 2>/dev/null)" = Z ] || return 0
  done
  return 1
}

running_pid() {
  [ -f "$pid_file" ] || return 1
  local pid
  pid=$(cat "$pid_file")
  [ -n "$pid" ] && alive "$pid" || return 1
  # Make sure the pid still is our broker, not a recycled pid.
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q "kafka.Kafka $state_dir/server.properties" || return 1
  echo "$pid"
}

# answers reports whether the broker accepts connections and serves metadata.
# The port check is instant; kcat then asks for metadata.
answers() {
  (exec 3<>"/dev/tcp/127.0.0.1/$broker_port") 2>/dev/null || return 1
  if command -v kcat >/dev/null 2>&1; then
    kcat -b "$brokers" -L -m 5 >/dev/null 2>&1
  fi
}

# fetch_jars copies the broker's runtime jars into $lib_dir unless a previous
# fetch of the same pom completed.
fetch_jars() {
  local stamp=$lib_dir/.pom.sha256 want
  want=$(sha256sum "$pom" | cut -d' ' -f1)
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
    return
  fi
  command -v mvn >/dev/null || { log "mvn is missing (run scripts/deps.sh)"; exit 1; }
  command -v java >/dev/null || { log "java is missing (run scripts/deps.sh)"; exit 1; }
  mkdir -p "$(dirname "$lib_dir")"
  (
    # Brokers started side by side share the jars: one fetches, the others wait.
    flock 9
    if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
      exit 0
    fi
    log "fetching Kafka's jars from Maven Central into $lib_dir"
    local tmp=$lib_dir.tmp
    rm -rf "$tmp"
    mvn -B -q -Dstyle.color=never -f "$pom" dependency:copy-dependencies \
      -DoutputDirectory="$tmp" -DincludeScope=runtime >&2
    rm -rf "$lib_dir"
    mv "$tmp" "$lib_dir"
    echo "$want" >"$stamp"
  ) 9>"$lib_dir.lock"
}

write_config() {
  sed -e "s|@BROKER_PORT@|$broker_port|g" \
      -e "s|@CONTROLLER_PORT@|$controller_port|g" \
      -e "s|@DATA_DIR@|$data_dir|g" \
      "$root/deploy/kafka/server.properties" >"$state_dir/server.properties"
}

java_argv() {
  # shellcheck disable=SC2206 # heap_opts holds several JVM flags.
  argv=(java $heap_opts -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -Djava.awt.headless=true
    "-Dlog4j.configuration=file:$root/deploy/kafka/log4j.properties"
    -cp "$lib_dir/*" "$@")
}

format_storage() {
  [ -f "$data_dir/meta.properties" ] && return
  # A random cluster id: 16 random bytes, URL-safe base64 without padding.
  local id
  id=$(head -c16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=')
  log "formatting $data_dir (cluster id $id)"
  mkdir -p "$data_dir"
  java_argv kafka.tools.StorageTool format -t "$id" -c "$state_dir/server.properties"
  "${argv[@]}" >>"$log_file" 2>&1 ||
    { log "formatting failed:"; tail -20 "$log_file" >&2; exit 1; }
}

start() {
  if pid=$(running_pid) && answers; then
    log "already running (pid $pid) at $brokers"
    write_env
    return
  fi
  fetch_jars
  write_config
  # One log per run: the previous one is kept as kafka.log.1.
  if ! running_pid >/dev/null && [ -f "$log_file" ]; then
    mv -f "$log_file" "$log_file.1"
  fi
  format_storage
  if pid=$(running_pid); then
    log "pid $pid does not answer yet"
  elif (exec 3<>"/dev/tcp/127.0.0.1/$broker_port") 2>/dev/null; then
    log "port $broker_port is taken by another process (set KAFKA_BROKER_PORT to use another port)"
    exit 1
  else
    log "starting the broker at $brokers (logs: $log_file)"
    # setsid: the broker outlives the shell that started it and gets no
    # terminal signals meant for `make`. The inner shell writes its own pid,
    # which exec hands on to the JVM.
    java_argv kafka.Kafka "$state_dir/server.properties"
    rm -f "$pid_file"
    setsid bash -c 'echo $$ >"$1"; shift; exec "$@"' _ "$pid_file" "${argv[@]}" \
      >>"$log_file" 2>&1 </dev/null &
    local i
    for ((i = 0; i < 50; i++)); do [ -s "$pid_file" ] && break; sleep 0.05; done
  fi
  local deadline=$((SECONDS + start_timeout))
  until answers; do
    if ! running_pid >/dev/null; then
      log "the broker exited during start:"
      tail -40 "$log_file" >&2
      exit 1
    fi
    if ((SECONDS >= deadline)); then
      log "the broker did not answer within ${start_timeout}s:"
      tail -40 "$log_file" >&2
      stop
      exit 1
    fi
    sleep 0.2
  done
  log "ready at $brokers"
  write_env
}

write_env() {
  mkdir -p "$(dirname "$env_file")"
  echo "export KAFKA_BROKERS=$brokers" >"$env_file"
}

stop() {
  local pid
  if ! pid=$(running_pid); then
    rm -f "$pid_file"
    return
  fi
  log "stopping pid $pid"
  kill -TERM "$pid" 2>/dev/null || true
  # A clean shutdown takes a few seconds; past 30 s the broker is killed.
  local i
  for ((i = 0; i < 300; i++)); do
    alive "$pid" || break
    sleep 0.1
  done
  if alive "$pid"; then
    log "pid $pid did not stop in 30s; killing it"
    kill -KILL "$pid" 2>/dev/null || true
    while alive "$pid"; do sleep 0.1; done
  fi
  rm -f "$pid_file"
}

crash() {
  local pid
  if pid=$(running_pid); then
    log "killing pid $pid (SIGKILL)"
    kill -KILL "$pid" 2>/dev/null || true
    while alive "$pid"; do sleep 0.05; done
  fi
  rm -f "$pid_file"
}

case ${1:-} in
  start) start ;;
  stop) stop ;;
  restart) stop; start ;;
  kill) crash ;;
  status) running_pid >/dev/null && answers ;;
  reset) stop; rm -rf "$data_dir" "$state_dir/server.properties" "$log_file" ;;
  *) echo "usage: $0 start|stop|restart|kill|status|reset" >&2; exit 2 ;;
esac
