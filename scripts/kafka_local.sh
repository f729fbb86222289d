#!/usr/bin/env bash
# A real single-node Apache Kafka 4.x broker (KRaft) without Docker: the jars come from Maven
# Central (infra/kafka/pom.xml) and run on the machine's Java 17+. With `--brokers 3`, a real
# 3-node KRaft cluster on loopback instead: every node broker and controller (one combined
# quorum of three), from the same jars.
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
#
# The cluster: `--brokers 3` before or after the command, on every command. Its data lives in
# KAFKA_DATA_DIR (default .data/kafka-cluster), one directory per node (node-1, node-2, node-3,
# each with its data, server.properties, broker.pid and broker.log). Node n listens on
# KAFKA_PORT + 2(n-1) and its controller one port above: 9092/9093, 9094/9095, 9096/9097 by
# default (KAFKA_CONTROLLER_PORT is not used). `up` starts the nodes that are not running and
# resumes a paused one, `status` exits 0 when all run, 4 when some do, 3 when none does,
# `logs [--node n]` tails every node's log (or one), and one node at a time can be broken (the
# fault tests do):
#
#   bash scripts/kafka_local.sh --brokers 3 kill-node N     SIGKILL, wait until it is gone
#   bash scripts/kafka_local.sh --brokers 3 stop-node N     SIGTERM (a clean shutdown), as down
#   bash scripts/kafka_local.sh --brokers 3 start-node N    start it again (data kept)
#   bash scripts/kafka_local.sh --brokers 3 pause-node N    SIGSTOP: alive but silent
#   bash scripts/kafka_local.sh --brokers 3 resume-node N   SIGCONT
#   bash scripts/kafka_local.sh --brokers 3 pid-node N      print its pid (exit 3 when not running)
#   bash scripts/kafka_local.sh --brokers 3 quorum-leader   print the active controller's node id
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
POM="$ROOT/infra/kafka/pom.xml"
PROPS_TEMPLATE="$ROOT/infra/kafka/server.properties"
CLUSTER_TEMPLATE="$ROOT/infra/kafka/cluster.properties"
LOG4J_CONFIG="$ROOT/infra/kafka/log4j2.properties"
CACHE_DIR="$ROOT/.cache/kafka"
LIB_DIR="$CACHE_DIR/lib"
STAMP="$CACHE_DIR/lib.stamp"
STOP_TIMEOUT_S=30

JAVA="${JAVA_HOME:+$JAVA_HOME/bin/}java"

say() { printf 'kafka: %s\n' "$*"; }
die() {
  printf 'kafka: %s\n' "$*" >&2
  exit 1
}

# `--brokers N` anywhere in the arguments: 1 (the default, one broker) or 3 (the cluster).
BROKERS=1
ARGS=()
while (($# > 0)); do
  case "$1" in
  --brokers)
    (($# >= 2)) || die "Cannot read the arguments: --brokers needs a value (1 or 3)"
    BROKERS="$2"
    shift 2
    ;;
  --brokers=*)
    BROKERS="${1#--brokers=}"
    shift
    ;;
  *)
    ARGS+=("$1")
    shift
    ;;
  esac
done
set -- ${ARGS[@]+"${ARGS[@]}"}
[[ "$BROKERS" == 1 || "$BROKERS" == 3 ]] ||
  die "Cannot read the arguments: --brokers takes 1 (one broker) or 3 (a 3-node cluster), got \"$BROKERS\""

if ((BROKERS == 1)); then
  DATA_DIR="${KAFKA_DATA_DIR:-$ROOT/.data/kafka}"
else
  DATA_DIR="${KAFKA_DATA_DIR:-$ROOT/.data/kafka-cluster}"
fi
BASE_PORT="${KAFKA_PORT:-9092}"
[[ "$BASE_PORT" =~ ^[0-9]+$ ]] && ((BASE_PORT >= 1 && BASE_PORT <= 65535 - 2 * BROKERS)) ||
  die "Cannot read KAFKA_PORT: expected a port number, got \"$BASE_PORT\""
CLUSTER_ID_FILE="$DATA_DIR/cluster.id"

# The node the functions below act on (use_node sets these): node 0 is the single broker.
NODE=0
NODE_DIR="$DATA_DIR"
PORT="$BASE_PORT"
CONTROLLER_PORT="${KAFKA_CONTROLLER_PORT:-9093}"
PROPS="$NODE_DIR/server.properties"
PID_FILE="$NODE_DIR/broker.pid"
BROKER_LOG="$NODE_DIR/broker.log"
BROKER_OUT="$NODE_DIR/broker.out"

use_node() {
  NODE="$1"
  if ((NODE == 0)); then
    NODE_DIR="$DATA_DIR"
    PORT="$BASE_PORT"
    CONTROLLER_PORT="${KAFKA_CONTROLLER_PORT:-9093}"
  else
    NODE_DIR="$DATA_DIR/node-$NODE"
    PORT=$((BASE_PORT + 2 * (NODE - 1)))
    CONTROLLER_PORT=$((PORT + 1))
  fi
  PROPS="$NODE_DIR/server.properties"
  PID_FILE="$NODE_DIR/broker.pid"
  BROKER_LOG="$NODE_DIR/broker.log"
  BROKER_OUT="$NODE_DIR/broker.out"
}

# The nodes of this invocation: 0 (the single broker) or 1..3.
nodes() {
  if ((BROKERS == 1)); then echo 0; else seq 1 "$BROKERS"; fi
}

# Node 0 is "the broker", node n "node n (127.0.0.1:port)".
node_name() {
  if ((NODE == 0)); then echo "broker"; else echo "node $NODE (127.0.0.1:$PORT)"; fi
}

# Checks a node number given on the command line and selects it.
select_node() {
  ((BROKERS > 1)) || die "Cannot act on one node: there is only one broker (add --brokers 3)"
  [[ "${1:-}" =~ ^[0-9]+$ ]] && (($1 >= 1 && $1 <= BROKERS)) ||
    die "Cannot act on node \"${1:-}\": expected a node number from 1 to $BROKERS"
  use_node "$1"
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
  local node
  for node in $(nodes); do
    use_node "$node"
    if [[ -n "$(broker_pid)" ]]; then
      die "Cannot fetch the broker jars: infra/kafka/pom.xml changed while the broker runs from them (run down first)"
    fi
  done
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
  # C1 only: these short-lived tools start faster and spend less CPU on compiling.
  "$JAVA" -Xmx256m -XX:TieredStopAtLevel=1 -cp "$LIB_DIR/*" \
    -Dlog4j2.configurationFile="$LOG4J_CONFIG" -Dkafka.logs.dir="$NODE_DIR" "$@"
}

# The pid of the selected node when it runs, else nothing (a stale pid file is ignored).
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

# True when the process is stopped by a signal (SIGSTOP, pause-node).
paused() { [[ "$(sed -e 's/^.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1)" == T ]]; }

port_answers() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# Every node's id@127.0.0.1:controller-port, for controller.quorum.voters.
voters() {
  local node list=""
  for node in $(seq 1 "$BROKERS"); do
    list+="${list:+,}$node@127.0.0.1:$((BASE_PORT + 2 * (node - 1) + 1))"
  done
  echo "$list"
}

render_properties() {
  mkdir -p "$NODE_DIR/data"
  if ((NODE == 0)); then
    sed -e "s|@DATA_DIR@|$DATA_DIR|g" -e "s|@PORT@|$PORT|g" -e "s|@CONTROLLER_PORT@|$CONTROLLER_PORT|g" \
      "$PROPS_TEMPLATE" >"$PROPS.tmp"
  else
    sed -e "s|@NODE_ID@|$NODE|g" -e "s|@NODE_DIR@|$NODE_DIR|g" -e "s|@PORT@|$PORT|g" \
      -e "s|@CONTROLLER_PORT@|$CONTROLLER_PORT|g" -e "s|@VOTERS@|$(voters)|g" \
      "$CLUSTER_TEMPLATE" >"$PROPS.tmp"
  fi
  mv "$PROPS.tmp" "$PROPS"
}

# One cluster id per data directory, shared by every node of the cluster.
ensure_cluster_id() {
  if [[ ! -s "$CLUSTER_ID_FILE" ]]; then
    mkdir -p "$DATA_DIR"
    if ((NODE == 0)); then
      run_class kafka.tools.StorageTool random-uuid >"$CLUSTER_ID_FILE.tmp"
    else
      # What `StorageTool random-uuid` prints (16 random bytes, URL-safe base64, no padding,
      # not starting with "-"), without starting a JVM for it.
      local id="-"
      while [[ "$id" == -* ]]; do
        id="$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=')"
      done
      echo "$id" >"$CLUSTER_ID_FILE.tmp"
    fi
    mv "$CLUSTER_ID_FILE.tmp" "$CLUSTER_ID_FILE"
  fi
}

formatted() { [[ -f "$NODE_DIR/data/meta.properties" ]]; }

format_storage_once() {
  if formatted; then
    return 0
  fi
  ensure_cluster_id
  if ((NODE == 0)); then
    say "formatting storage in ${DATA_DIR#"$ROOT/"}/data (cluster $(cat "$CLUSTER_ID_FILE"))"
    run_class kafka.tools.StorageTool format --standalone \
      -t "$(cat "$CLUSTER_ID_FILE")" -c "$PROPS" >/dev/null
  else
    # A static quorum (controller.quorum.voters): no --standalone, no --initial-controllers.
    run_class kafka.tools.StorageTool format \
      -t "$(cat "$CLUSTER_ID_FILE")" -c "$PROPS" >"$NODE_DIR/format.out" 2>&1 ||
      die "Cannot format the storage of node $NODE: $(tail -n 3 "$NODE_DIR/format.out")"
  fi
}

# Starts the selected node's JVM in the background (its properties rendered, its storage formatted).
launch() {
  local heap pid
  if ((NODE == 0)); then heap="-Xmx512m -Xms256m"; else heap="-Xmx384m -Xms128m"; fi
  rm -f "$PID_FILE"
  # setsid: the broker leaves our process group, so ^C in the caller's terminal does not reach it.
  # shellcheck disable=SC2086 # $heap is two options
  nohup setsid "$JAVA" $heap -XX:+UseG1GC -XX:MaxGCPauseMillis=20 \
    -XX:+ExitOnOutOfMemoryError -Djava.awt.headless=true \
    -Dlog4j2.configurationFile="$LOG4J_CONFIG" -Dkafka.logs.dir="$NODE_DIR" \
    -cp "$LIB_DIR/*" kafka.Kafka "$PROPS" >"$BROKER_OUT" 2>&1 </dev/null &
  pid=$!
  echo "$pid" >"$PID_FILE"
  if ((NODE == 0)); then
    say "started (pid $pid), log in ${BROKER_LOG#"$ROOT/"}"
  else
    say "$(node_name) started (pid $pid), log in ${BROKER_LOG#"$ROOT/"}"
  fi
}

# Refuses to start the selected node when one of its ports is taken by anything else.
check_ports_free() {
  local port
  for port in "$PORT" "$CONTROLLER_PORT"; do
    if port_answers "$port"; then
      if ((NODE == 0)); then
        die "Cannot start Kafka: 127.0.0.1:$port is already in use by a process that is not this checkout's broker"
      fi
      die "Cannot start node $NODE: 127.0.0.1:$port is already in use by a process that is not this cluster's node $NODE"
    fi
  done
}

cmd_up() {
  if ((BROKERS == 1)); then
    use_node 0
    local pid
    pid="$(broker_pid)"
    if [[ -n "$pid" ]]; then
      say "already running (pid $pid), nothing to do"
      return 0
    fi
    rm -f "$PID_FILE"
    check_ports_free
    cmd_fetch
    check_java
    render_properties
    format_storage_once
    launch
    return 0
  fi
  local node pid stopped=()
  for node in $(nodes); do
    use_node "$node"
    pid="$(broker_pid)"
    if [[ -z "$pid" ]]; then
      check_ports_free
      stopped+=("$node")
    elif paused "$pid"; then
      kill -CONT "$pid"
      say "$(node_name) was paused (SIGSTOP): resumed (pid $pid)"
    fi
  done
  if ((${#stopped[@]} == 0)); then
    say "all $BROKERS nodes already running, nothing to do"
    return 0
  fi
  cmd_fetch
  check_java
  ensure_cluster_id
  local unformatted=() formats=()
  for node in "${stopped[@]}"; do
    use_node "$node"
    render_properties
    formatted || unformatted+=("$node")
  done
  if ((${#unformatted[@]} > 0)); then
    say "formatting storage of node(s) ${unformatted[*]} in ${DATA_DIR#"$ROOT/"} (cluster $(cat "$CLUSTER_ID_FILE"))"
    # One JVM per node, side by side: formatting is most of a first start's time.
    for node in "${unformatted[@]}"; do
      (
        use_node "$node"
        format_storage_once
      ) &
      formats+=($!)
    done
    for pid in "${formats[@]}"; do wait "$pid" || die "Cannot start the cluster: formatting failed"; done
  fi
  for node in "${stopped[@]}"; do
    use_node "$node"
    launch
  done
}

# Starts one node of the cluster unless it runs.
cmd_start_node() {
  select_node "$1"
  local pid
  pid="$(broker_pid)"
  if [[ -n "$pid" ]]; then
    say "$(node_name) already running (pid $pid), nothing to do"
    return 0
  fi
  check_ports_free
  check_java
  render_properties
  format_storage_once
  launch
}

# Waits until pid $1 is gone.
wait_gone() {
  while kill -0 "$1" 2>/dev/null; do sleep 0.05; done
}

# SIGTERM to the selected node (resumed first if paused), SIGKILL after STOP_TIMEOUT_S.
stop_selected() {
  local pid
  pid="$(broker_pid)"
  if [[ -z "$pid" ]]; then
    rm -f "$PID_FILE"
    if ((NODE == 0)); then say "not running"; else say "$(node_name) not running"; fi
    return 0
  fi
  # A paused (SIGSTOP) JVM would hold SIGTERM until it is resumed.
  kill -CONT "$pid" 2>/dev/null || true
  kill -TERM "$pid" 2>/dev/null || true
  local waited=0
  while kill -0 "$pid" 2>/dev/null; do
    if ((waited >= STOP_TIMEOUT_S * 10)); then
      if ((NODE == 0)); then
        say "still running after ${STOP_TIMEOUT_S}s, sending SIGKILL to pid $pid"
      else
        say "$(node_name) still running after ${STOP_TIMEOUT_S}s, sending SIGKILL to pid $pid"
      fi
      kill -KILL "$pid" 2>/dev/null || true
      wait_gone "$pid"
      break
    fi
    sleep 0.1
    waited=$((waited + 1))
  done
  rm -f "$PID_FILE"
  if ((NODE == 0)); then say "stopped (pid $pid)"; else say "$(node_name) stopped (pid $pid)"; fi
}

cmd_down() {
  if ((BROKERS == 1)); then
    use_node 0
    stop_selected
    return 0
  fi
  # Every node at once: stopped one by one, the last two would wait on a quorum that is gone.
  local node stops=()
  for node in $(nodes); do
    (
      use_node "$node"
      stop_selected
    ) &
    stops+=($!)
  done
  local failed=0
  for pid in "${stops[@]}"; do wait "$pid" || failed=1; done
  ((failed == 0)) || die "Cannot stop every node of the cluster"
}

cmd_reset() {
  cmd_down
  rm -rf "$DATA_DIR"
  say "wiped ${DATA_DIR#"$ROOT/"}"
}

# SIGKILL, SIGSTOP or SIGCONT to one node of the cluster.
cmd_signal_node() {
  local signal="$1"
  select_node "$2"
  local pid
  pid="$(broker_pid)"
  [[ -n "$pid" ]] || die "Cannot send SIG$signal to $(node_name): it is not running"
  kill "-$signal" "$pid"
  case "$signal" in
  KILL)
    wait_gone "$pid"
    rm -f "$PID_FILE"
    say "$(node_name) killed (pid $pid)"
    ;;
  STOP) say "$(node_name) paused (pid $pid, SIGSTOP)" ;;
  CONT) say "$(node_name) resumed (pid $pid, SIGCONT)" ;;
  esac
}

cmd_pid_node() {
  select_node "$1"
  local pid
  pid="$(broker_pid)"
  [[ -n "$pid" ]] || exit 3
  echo "$pid"
}

# The node id of the quorum's leader (the active controller), asked of any controller that answers.
cmd_quorum_leader() {
  ((BROKERS > 1)) || die "Cannot find the quorum leader: there is only one broker (add --brokers 3)"
  local node pid out leader
  for node in $(nodes); do
    use_node "$node"
    pid="$(broker_pid)"
    # A paused node accepts connections but never answers: ask the others.
    if [[ -z "$pid" ]] || paused "$pid"; then continue; fi
    if out="$(run_class org.apache.kafka.tools.MetadataQuorumCommand \
      --bootstrap-controller "127.0.0.1:$CONTROLLER_PORT" describe --status 2>&1)"; then
      leader="$(sed -n 's/^LeaderId: *//p' <<<"$out")"
      if [[ "$leader" =~ ^[0-9]+$ ]]; then
        echo "$leader"
        return 0
      fi
    fi
  done
  die "Cannot find the quorum leader: no controller of ${DATA_DIR#"$ROOT/"} answered"
}

cmd_logs() {
  local follow="" lines=100 only="" expect_node=""
  for arg in "$@"; do
    if [[ -n "$expect_node" ]]; then
      only="$arg"
      expect_node=""
      continue
    fi
    case "$arg" in
    -f | --follow) follow=1 ;;
    --node) expect_node=1 ;;
    *[!0-9]* | "") die "Cannot show logs: unknown argument \"$arg\" (use -f and/or a line count)" ;;
    *) lines="$arg" ;;
    esac
  done
  if ((BROKERS == 1)); then
    [[ -z "$only" ]] || die "Cannot show logs: --node needs the cluster (add --brokers 3)"
    use_node 0
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
    return 0
  fi
  local node logs=()
  if [[ -n "$only" ]]; then
    select_node "$only"
    set -- "$only"
  else
    set -- $(nodes)
  fi
  for node in "$@"; do
    use_node "$node"
    if [[ -s "$BROKER_OUT" ]]; then
      say "JVM output of $(node_name) (${BROKER_OUT#"$ROOT/"}):"
      tail -n 20 "$BROKER_OUT"
    fi
    if [[ -f "$BROKER_LOG" ]]; then logs+=("$BROKER_LOG"); fi
  done
  ((${#logs[@]} > 0)) || die "No node log yet in ${DATA_DIR#"$ROOT/"}"
  if [[ -n "$follow" ]]; then
    exec tail -n "$lines" -F "${logs[@]}"
  fi
  tail -n "$lines" "${logs[@]}"
}

cmd_status() {
  if fetched; then say "jars: fetched"; else say "jars: not fetched"; fi
  if ((BROKERS == 1)); then
    use_node 0
    local pid
    pid="$(broker_pid)"
    if formatted; then
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
  fi
  say "cluster: ${DATA_DIR#"$ROOT/"} (cluster $(cat "$CLUSTER_ID_FILE" 2>/dev/null || echo "not formatted"))"
  local node pid running=0
  for node in $(nodes); do
    use_node "$node"
    pid="$(broker_pid)"
    if [[ -n "$pid" ]]; then
      running=$((running + 1))
      say "$(node_name): running (pid $pid)"
    elif formatted; then
      say "$(node_name): not running (storage formatted)"
    else
      say "$(node_name): not running (storage not formatted)"
    fi
  done
  ((running == BROKERS)) && return 0
  ((running > 0)) && return 4
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
kill-node) cmd_signal_node KILL "${2:-}" ;;
pause-node) cmd_signal_node STOP "${2:-}" ;;
resume-node) cmd_signal_node CONT "${2:-}" ;;
stop-node)
  select_node "${2:-}"
  stop_selected
  ;;
start-node) cmd_start_node "${2:-}" ;;
pid-node) cmd_pid_node "${2:-}" ;;
quorum-leader) cmd_quorum_leader ;;
*) die "usage: bash scripts/kafka_local.sh [--brokers 1|3] fetch|up|down|reset|logs [-f] [lines] [--node N]|status|kill-node N|stop-node N|start-node N|pause-node N|resume-node N|pid-node N|quorum-leader" ;;
esac
