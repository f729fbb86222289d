#!/usr/bin/env bash
# A real single-node Apache Kafka 4.x broker (KRaft) without Docker: the jars come from Maven
# Central (infra/kafka/pom.xml) and run on the machine's Java 17+.
#
#   bash scripts/kafka_local.sh fetch    copy the broker jars to .cache/kafka/lib (once per pom)
#   bash scripts/kafka_local.sh up       fetch if needed, format storage once, start in background
#   bash scripts/kafka_local.sh down     SIGTERM, wait up to 30 s, SIGKILL as a last resort
#   bash scripts/kafka_local.sh reset    down, then wipe .data/kafka
#   bash scripts/kafka_local.sh logs [-f] [lines]   tail of .data/kafka/broker.log
#   bash scripts/kafka_local.sh status   exit 0 when running, 3 when not
#
# `up` does not wait for the broker to answer: scripts/infra.ts does that with a real client call.
#
# A second broker of one's own (e.g. the chaos tests, which stop and restart theirs) runs beside
# the usual one with KAFKA_DATA_DIR (default .data/kafka), KAFKA_PORT (default 9092) and
# KAFKA_CONTROLLER_PORT (default 9093) set for every command.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
POM="$ROOT/infra/kafka/pom.xml"
PROPS_TEMPLATE="$ROOT/infra/kafka/server.properties"
LOG4J_CONFIG="$ROOT/infra/kafka/log4j2.properties"
CACHE_DIR="$ROOT/.cache/kafka"
LIB_DIR="$CACHE_DIR/lib"
STAMP="$CACHE_DIR/lib.stamp"
DATA_DIR="${KAFKA_DATA_DIR:-$ROOT/.data/kafka}"
PORT="${KAFKA_PORT:-9092}"
CONTROLLER_PORT="${KAFKA_CONTROLLER_PORT:-9093}"
PROPS="$DATA_DIR/server.properties"
PID_FILE="$DATA_DIR/broker.pid"
CLUSTER_ID_FILE="$DATA_DIR/cluster.id"
BROKER_LOG="$DATA_DIR/broker.log"
BROKER_OUT="$DATA_DIR/broker.out"
STOP_TIMEOUT_S=30

JAVA="${JAVA_HOME:+$JAVA_HOME/bin/}java"

say() { printf 'kafka: %s\n' "$*"; }
die() {
  printf 'kafka: %s\n' "$*" >&2
  exit 1
}

pom_hash() { sha256sum "$POM" | cut -d' ' -f1; }

# True when the jars in $LIB_DIR were copied for the current pom.
fetched() { [[ -f "$STAMP" && "$(cat "$STAMP")" == "$(pom_hash)" && -d "$LIB_DIR" ]]; }

cmd_fetch() {
  if fetched; then
    say "jars already in ${LIB_DIR#"$ROOT/"} ($(find "$LIB_DIR" -name '*.jar' | wc -l) jars)"
    return 0
  fi
  command -v mvn >/dev/null || die "Cannot fetch the broker jars: mvn not found (apt-get install maven)"
  if [[ -n "$(broker_pid)" ]]; then
    die "Cannot fetch the broker jars: infra/kafka/pom.xml changed while the broker runs from them (run down first)"
  fi
  say "fetching the broker jars with Maven (once)..."
  rm -rf "$LIB_DIR"
  mkdir -p "$LIB_DIR"
  if ! mvn -B -Dstyle.color=never -f "$POM" dependency:copy-dependencies \
    -DincludeScope=runtime -Dkafka.lib.dir="$LIB_DIR" >"$CACHE_DIR/maven.log" 2>&1; then
    rm -rf "$LIB_DIR"
    tail -n 30 "$CACHE_DIR/maven.log" >&2
    die "Cannot fetch the broker jars: Maven failed (full output in ${CACHE_DIR#"$ROOT/"}/maven.log)"
  fi
  pom_hash >"$STAMP"
  say "fetched $(find "$LIB_DIR" -name '*.jar' | wc -l) jars into ${LIB_DIR#"$ROOT/"}"
}

check_java() {
  command -v "$JAVA" >/dev/null || die "Cannot start Kafka: java not found (apt-get install openjdk-17-jre-headless)"
  local version
  version="$("$JAVA" -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.specification.version = //p')"
  [[ "${version%%.*}" -ge 17 ]] 2>/dev/null ||
    die "Cannot start Kafka: it needs Java 17 or newer, $JAVA is ${version:-unknown}"
}

# Runs a Kafka class from the fetched jars in the foreground.
run_class() {
  "$JAVA" -Xmx256m -cp "$LIB_DIR/*" \
    -Dlog4j2.configurationFile="$LOG4J_CONFIG" -Dkafka.logs.dir="$DATA_DIR" "$@"
}

# The pid of our broker when it runs, else nothing (a stale pid file is ignored).
broker_pid() {
  local pid
  if [[ -f "$PID_FILE" ]]; then
    pid="$(cat "$PID_FILE")"
    if [[ "$pid" =~ ^[0-9]+$ ]] && [[ -r "/proc/$pid/cmdline" ]] &&
      tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q 'kafka\.Kafka'; then
      echo "$pid"
      return 0
    fi
  fi
  # A broker of this checkout whose pid file was lost: found by its own properties path.
  pgrep -f "kafka\.Kafka $PROPS\$" | head -n1 || true
}

port_answers() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

render_properties() {
  mkdir -p "$DATA_DIR/data"
  sed -e "s|@DATA_DIR@|$DATA_DIR|g" -e "s|@PORT@|$PORT|g" -e "s|@CONTROLLER_PORT@|$CONTROLLER_PORT|g" \
    "$PROPS_TEMPLATE" >"$PROPS.tmp"
  mv "$PROPS.tmp" "$PROPS"
}

format_storage_once() {
  if [[ -f "$DATA_DIR/data/meta.properties" ]]; then
    return 0
  fi
  if [[ ! -s "$CLUSTER_ID_FILE" ]]; then
    run_class kafka.tools.StorageTool random-uuid >"$CLUSTER_ID_FILE.tmp"
    mv "$CLUSTER_ID_FILE.tmp" "$CLUSTER_ID_FILE"
  fi
  say "formatting storage in ${DATA_DIR#"$ROOT/"}/data (cluster $(cat "$CLUSTER_ID_FILE"))"
  run_class kafka.tools.StorageTool format --standalone \
    -t "$(cat "$CLUSTER_ID_FILE")" -c "$PROPS" >/dev/null
}

cmd_up() {
  local pid
  pid="$(broker_pid)"
  if [[ -n "$pid" ]]; then
    say "already running (pid $pid), nothing to do"
    return 0
  fi
  rm -f "$PID_FILE"
  for port in "$PORT" "$CONTROLLER_PORT"; do
    if port_answers "$port"; then
      die "Cannot start Kafka: 127.0.0.1:$port is already in use by a process that is not this checkout's broker"
    fi
  done
  cmd_fetch
  check_java
  render_properties
  format_storage_once
  # setsid: the broker leaves our process group, so ^C in the caller's terminal does not reach it.
  nohup setsid "$JAVA" -Xmx512m -Xms256m -XX:+UseG1GC -XX:MaxGCPauseMillis=20 \
    -XX:+ExitOnOutOfMemoryError -Djava.awt.headless=true \
    -Dlog4j2.configurationFile="$LOG4J_CONFIG" -Dkafka.logs.dir="$DATA_DIR" \
    -cp "$LIB_DIR/*" kafka.Kafka "$PROPS" >"$BROKER_OUT" 2>&1 </dev/null &
  pid=$!
  echo "$pid" >"$PID_FILE"
  say "started (pid $pid), log in ${BROKER_LOG#"$ROOT/"}"
}

cmd_down() {
  local pid
  pid="$(broker_pid)"
  if [[ -z "$pid" ]]; then
    rm -f "$PID_FILE"
    say "not running"
    return 0
  fi
  kill -TERM "$pid" 2>/dev/null || true
  local waited=0
  while kill -0 "$pid" 2>/dev/null; do
    if ((waited >= STOP_TIMEOUT_S * 10)); then
      say "still running after ${STOP_TIMEOUT_S}s, sending SIGKILL to pid $pid"
      kill -KILL "$pid" 2>/dev/null || true
      while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
      break
    fi
    sleep 0.1
    waited=$((waited + 1))
  done
  rm -f "$PID_FILE"
  say "stopped (pid $pid)"
}

cmd_reset() {
  cmd_down
  rm -rf "$DATA_DIR"
  say "wiped ${DATA_DIR#"$ROOT/"}"
}

cmd_logs() {
  local follow="" lines=100
  for arg in "$@"; do
    case "$arg" in
    -f | --follow) follow=1 ;;
    *[!0-9]* | "") die "Cannot show logs: unknown argument \"$arg\" (use -f and/or a line count)" ;;
    *) lines="$arg" ;;
    esac
  done
  [[ -f "$BROKER_LOG" ]] || die "No broker log yet at ${BROKER_LOG#"$ROOT/"}"
  if [[ -s "$BROKER_OUT" ]]; then
    say "JVM output (${BROKER_OUT#"$ROOT/"}):"
    tail -n 20 "$BROKER_OUT"
    say "broker log (${BROKER_LOG#"$ROOT/"}):"
  fi
  if [[ -n "$follow" ]]; then
    exec tail -n "$lines" -F "$BROKER_LOG"
  fi
  tail -n "$lines" "$BROKER_LOG"
}

cmd_status() {
  local pid
  pid="$(broker_pid)"
  if fetched; then say "jars: fetched"; else say "jars: not fetched"; fi
  if [[ -f "$DATA_DIR/data/meta.properties" ]]; then
    say "storage: formatted (cluster $(cat "$CLUSTER_ID_FILE" 2>/dev/null || echo unknown))"
  else
    say "storage: not formatted"
  fi
  if [[ -n "$pid" ]]; then
    say "broker: running (pid $pid)"
    return 0
  fi
  say "broker: not running"
  return 3
}

case "${1:-}" in
fetch) cmd_fetch ;;
up) cmd_up ;;
down) cmd_down ;;
reset) cmd_reset ;;
logs)
  shift
  cmd_logs "$@"
  ;;
status) cmd_status ;;
*) die "usage: bash scripts/kafka_local.sh fetch|up|down|reset|logs [-f] [lines]|status" ;;
esac
