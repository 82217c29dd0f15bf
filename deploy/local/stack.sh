#!/usr/bin/env bash
# The local stack: real servers on loopback, on their own ports and data folders.
#
#   stack.sh up [--redis-cluster] [component...]   start (idempotent; quick when already up), wait until each answers
#   stack.sh down [--wipe] [comp…]  stop what the stack started (pid files); --wipe deletes data
#   stack.sh status [--json]        one line per component: up/down, port, version, pid, memory
#   stack.sh env                    the SLUICE_* settings for this stack (eval "$(stack.sh env)")
#   stack.sh logs [component] [-f]  log files (tail)
#
# Components: mariadb redis redis-stream zookeeper kafka elasticsearch canal canal-tcp, and two
# started only when named: es-compat (an Elasticsearch of the other major; or SLUICE_STACK_ES_COMPAT=1)
# and redis-cluster (3 masters, 3 replicas; or `up --redis-cluster`, or SLUICE_STACK_REDIS_CLUSTER=1).
# shellcheck source=lib/preamble.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/preamble.sh"
# shellcheck source=lib/common.sh
. "$HERE/lib/common.sh"
# shellcheck source=lib/elasticsearch.sh
. "$HERE/lib/elasticsearch.sh"

DEFAULT_COMPONENTS=(mariadb redis redis-stream zookeeper kafka elasticsearch canal canal-tcp)
ALL_COMPONENTS=("${DEFAULT_COMPONENTS[@]}" es-compat redis-cluster)

# One file per component: components/<name>.sh.
for c in "${ALL_COMPONENTS[@]}"; do
  # shellcheck disable=SC1090
  . "$HERE/components/$c.sh"
done

# step <component> <step>: runs one step of a component (the steps are described in lib/common.sh).
# Each line names the function it runs, so a search for a component's function finds its caller.
# The two optional steps: a component without after_up has nothing to set up, and one without a
# stop of its own is stopped by stop_pid.
step() {
  case $1.$2 in
    mariadb.port) mariadb_port ;;
    mariadb.fetch) mariadb_fetch ;;
    mariadb.start) mariadb_start ;;
    mariadb.ready) mariadb_ready ;;
    mariadb.version) mariadb_version ;;
    mariadb.after_up) mariadb_after_up ;;

    redis.port) redis_port ;;
    redis.fetch) redis_fetch ;;
    redis.start) redis_start ;;
    redis.ready) redis_ready ;;
    redis.version) redis_version ;;

    redis-stream.port) redis_stream_port ;;
    redis-stream.fetch) redis_fetch ;;
    redis-stream.start) redis_stream_start ;;
    redis-stream.ready) redis_stream_ready ;;
    redis-stream.version) redis_stream_version ;;

    zookeeper.port) zookeeper_port ;;
    zookeeper.fetch) zookeeper_fetch ;;
    zookeeper.start) zookeeper_start ;;
    zookeeper.ready) zookeeper_ready ;;
    zookeeper.version) zookeeper_version ;;

    kafka.port) kafka_port ;;
    kafka.fetch) kafka_fetch ;;
    kafka.start) kafka_start ;;
    kafka.ready) kafka_ready ;;
    kafka.version) kafka_version ;;
    kafka.after_up) kafka_after_up ;;

    elasticsearch.port) elasticsearch_port ;;
    elasticsearch.fetch) elasticsearch_fetch ;;
    elasticsearch.start) elasticsearch_start ;;
    elasticsearch.ready) elasticsearch_ready ;;
    elasticsearch.version) elasticsearch_version ;;
    elasticsearch.stop) elasticsearch_stop ;;

    canal.port) canal_port ;;
    canal.fetch) canal_fetch ;;
    canal.start) canal_start ;;
    canal.ready) canal_ready ;;
    canal.version) canal_version ;;
    canal.stop) canal_stop ;;

    canal-tcp.port) canal_tcp_port ;;
    canal-tcp.fetch) canal_tcp_fetch ;;
    canal-tcp.start) canal_tcp_start ;;
    canal-tcp.ready) canal_tcp_ready ;;
    canal-tcp.version) canal_version ;;
    canal-tcp.stop) canal_tcp_stop ;;

    es-compat.port) es_compat_port ;;
    es-compat.fetch) es_compat_fetch ;;
    es-compat.start) es_compat_start ;;
    es-compat.ready) es_compat_ready ;;
    es-compat.version) es_compat_version ;;
    es-compat.stop) es_compat_stop ;;

    redis-cluster.port) redis_cluster_port ;;
    redis-cluster.fetch) redis_fetch ;;
    redis-cluster.start) redis_cluster_start ;;
    redis-cluster.ready) redis_cluster_ready ;;
    redis-cluster.version) redis_cluster_version ;;
    redis-cluster.after_up) redis_cluster_after_up ;;

    *.after_up) ;;
    *.stop) stop_pid "$1" ;;
    *)
      echo "stack.sh: component '$1' has no step '$2'" >&2
      return 2
      ;;
  esac
}

valid_component() {
  local c
  for c in "${ALL_COMPONENTS[@]}"; do [ "$c" = "$1" ] && return 0; done
  echo "unknown component '$1' (known: ${ALL_COMPONENTS[*]})" >&2
  exit 2
}

selected_components() {
  if [ $# -gt 0 ]; then
    local c
    for c in "$@"; do valid_component "$c"; done
    printf '%s\n' "$@"
  else
    printf '%s\n' "${DEFAULT_COMPONENTS[@]}"
    if [ "${SLUICE_STACK_ES_COMPAT:-0}" = 1 ]; then echo es-compat; fi
    if [ "${SLUICE_STACK_REDIS_CLUSTER:-0}" = 1 ]; then echo redis-cluster; fi
  fi
}

is_up() { pid_of "$1" >/dev/null && step "$1" ready; }

# Start order matters only for the Canals (they need mariadb, and canal needs kafka and the topic
# made by kafka_after_up).
up_one() {
  local comp=$1 t0=$SECONDS timeout
  if is_up "$comp"; then
    log "$comp already up"
    return 0
  fi
  if pid_of "$comp" >/dev/null; then
    log "$comp has a live pid but does not answer: restarting it"
    step "$comp" stop
  fi
  step "$comp" fetch || return 1
  if port_open "$(step "$comp" port)"; then
    fail "$comp" "port $(step "$comp" port) is already taken by a process this stack did not start (stop that process, or move the stack with the SLUICE_STACK_*_PORT settings in deploy/local/lib/common.sh)"
    return 1
  fi
  mkdir -p "$STACK_DIR/$comp" "$RUN_DIR" "$LOG_DIR"
  log "$comp: starting"
  step "$comp" start || {
    fail "$comp" "start command failed" "$(log_file "$comp")"
    return 1
  }
  timeout=${SLUICE_STACK_START_TIMEOUT:-180}
  if ! wait_until "$timeout" is_up "$comp"; then
    if pid_of "$comp" >/dev/null; then
      fail "$comp" "started but did not answer within ${timeout}s" "$(log_file "$comp")"
    else
      fail "$comp" "process exited during start" "$(log_file "$comp")"
    fi
    return 1
  fi
  step "$comp" after_up || {
    fail "$comp" "setup after start failed" "$(log_file "$comp")"
    return 1
  }
  log "$comp up on port $(step "$comp" port) in $((SECONDS - t0))s"
}

cmd_up() {
  local comps c t0=$SECONDS named=()
  for c in "$@"; do
    if [ "$c" = --redis-cluster ]; then SLUICE_STACK_REDIS_CLUSTER=1; else named+=("$c"); fi
  done
  mapfile -t comps < <(selected_components "${named[@]}")
  mkdir -p "$STACK_DIR" "$CACHE_DIR"
  # Fetch first (sequentially: Maven's local repository is shared), then start the independent
  # servers together and wait for each in order.
  for c in "${comps[@]}"; do
    is_up "$c" || step "$c" fetch || exit 1
  done
  local pids=() names=()
  for c in "${comps[@]}"; do
    case $c in canal | canal-tcp) continue ;; esac
    up_one "$c" &
    pids+=($!)
    names+=("$c")
  done
  local failed=0 i
  for i in "${!pids[@]}"; do
    wait "${pids[$i]}" || failed=1
  done
  [ "$failed" -eq 0 ] || exit 1
  for c in "${comps[@]}"; do
    case $c in canal | canal-tcp) up_one "$c" || exit 1 ;; esac
  done
  log "stack up in $((SECONDS - t0))s (data: $STACK_DIR)"
}

# The sluice processes started from this checkout (the demo's, a developer's): without the servers
# they would retry forever. Found by their command line and working directory; SIGTERM, then SIGKILL
# after 10 s.
stop_sluice_processes() {
  local pid cmd pids=()
  for pid in $(pgrep -f 'services/cli/bin/sluice\.js' || true); do
    cmd=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null) || continue
    case "$cmd" in
      *"$REPO_DIR/"*) pids+=("$pid") ;;
      *) [ "$(readlink "/proc/$pid/cwd" 2>/dev/null)" = "$REPO_DIR" ] && pids+=("$pid") ;;
    esac
  done
  [ ${#pids[@]} -gt 0 ] || return 0
  log "stopping ${#pids[@]} sluice process(es) of this checkout: ${pids[*]}"
  kill -TERM "${pids[@]}" 2>/dev/null || true
  local waited=0
  while [ $waited -lt 100 ]; do
    local alive=()
    for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && alive+=("$pid"); done
    [ ${#alive[@]} -eq 0 ] && return 0
    sleep 0.1
    waited=$((waited + 1))
  done
  kill -KILL "${alive[@]}" 2>/dev/null || true
}

cmd_down() {
  local wipe=0 args=() c
  for c in "$@"; do
    if [ "$c" = --wipe ]; then wipe=1; else args+=("$c"); fi
  done
  local comps
  if [ ${#args[@]} -gt 0 ]; then
    mapfile -t comps < <(selected_components "${args[@]}")
  else
    comps=("${ALL_COMPONENTS[@]}")
    stop_sluice_processes
  fi
  # Stop in reverse start order: the Canals first (they write to Kafka and read MariaDB).
  local i
  for ((i = ${#comps[@]} - 1; i >= 0; i--)); do
    c=${comps[$i]}
    if pid_of "$c" >/dev/null; then
      log "stopping $c"
      step "$c" stop
    fi
    if [ "$wipe" -eq 1 ]; then
      wipe_dir "$c"
      rm -f "$(log_file "$c")"
    fi
  done
}

cmd_status() {
  local json=0 c pid state version mem first=1
  [ "${1:-}" = --json ] && json=1
  [ "$json" -eq 1 ] && printf '['
  for c in "${ALL_COMPONENTS[@]}"; do
    pid=$(pid_of "$c" || true)
    state=down version=- mem=-
    if [ -n "$pid" ]; then
      if step "$c" ready >/dev/null 2>&1; then
        state=up
        version=$(step "$c" version 2>/dev/null || echo '?')
      else
        state=starting
      fi
      mem=$(rss_mb "$pid")
      [ -n "$mem" ] && mem="${mem}MiB"
    fi
    if [ "$json" -eq 1 ]; then
      [ "$first" -eq 1 ] || printf ','
      first=0
      printf '{"component":"%s","state":"%s","port":%s,"version":"%s","pid":"%s","rss":"%s"}' \
        "$c" "$state" "$(step "$c" port)" "$version" "${pid:--}" "$mem"
    else
      printf '%-14s %-9s port %-6s version %-12s pid %-8s rss %s\n' \
        "$c" "$state" "$(step "$c" port)" "$version" "${pid:--}" "$mem"
    fi
  done
  [ "$json" -eq 1 ] && printf ']\n'
  return 0
}

cmd_env() {
  cat <<EOF
export SLUICE_KAFKA_BROKERS=127.0.0.1:$KAFKA_PORT
export SLUICE_KAFKA_TOPICS=$KAFKA_TOPIC
export SLUICE_REDIS_URL=redis://127.0.0.1:$REDIS_PORT
export SLUICE_ZK_CONNECT=127.0.0.1:$ZOOKEEPER_PORT
export SLUICE_ES_URL=http://127.0.0.1:$ES_PORT
export SLUICE_ES_MAJOR=$(es_major)
export SLUICE_ES_REPLICAS=0
export SLUICE_META_MYSQL_URL=mysql://sluice:sluice@127.0.0.1:$MARIADB_PORT/$META_DB
export SLUICE_SOURCE_MYSQL_URL=mysql://sluice:sluice@127.0.0.1:$MARIADB_PORT/$SOURCE_DB
export SLUICE_STACK_STREAM_REDIS_URL=redis://127.0.0.1:$REDIS_STREAM_PORT
export SLUICE_STACK_CANAL_TCP_ADDRESS=127.0.0.1:$CANAL_TCP_PORT
export SLUICE_STACK_CANAL_TCP_DESTINATION=tcp
export SLUICE_STACK_CANAL_METRICS_URL=http://127.0.0.1:$CANAL_METRICS_PORT/metrics
export SLUICE_STACK_ES_COMPAT_URL=http://127.0.0.1:$ES_COMPAT_PORT
export SLUICE_STACK_KAFKA_SASL_BROKERS=127.0.0.1:$KAFKA_SASL_PORT
export SLUICE_STACK_KAFKA_SASL_USER=$KAFKA_SASL_USER
export SLUICE_STACK_KAFKA_SASL_PASSWORD=$KAFKA_SASL_PASSWORD
export SLUICE_STACK_ES_COMPAT_MAJOR=$(es_compat_major)
export SLUICE_STACK_REDIS_CLUSTER_NODES=$(redis_cluster_nodes)
EOF
}

cmd_logs() {
  local comp=${1:-} follow=()
  if [ "$comp" = -f ]; then
    follow=(-f)
    comp=${2:-}
  elif [ "${2:-}" = -f ]; then follow=(-f); fi
  if [ -z "$comp" ]; then
    tail -n 20 "${follow[@]}" "$LOG_DIR"/*.log
  else
    valid_component "$comp"
    tail -n 100 "${follow[@]}" "$(log_file "$comp")"
  fi
}

usage() {
  sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'
}

main() {
  local cmd=${1:-}
  [ $# -gt 0 ] && shift
  case "$cmd" in
    up) cmd_up "$@" ;;
    down) cmd_down "$@" ;;
    status) cmd_status "$@" ;;
    env) cmd_env ;;
    logs) cmd_logs "$@" ;;
    -h | --help | help | "") usage ;;
    *)
      echo "unknown command '$cmd'" >&2
      usage >&2
      exit 2
      ;;
  esac
}

main "$@"
