#!/usr/bin/env bash
# `npm run demo [-- --source kafka|redis-stream]`: the whole system on the local stack.
#   stack up → sluice ingest + sluice worker (with --source redis-stream also sluice relay, reading
#   the TCP-mode Canal into the stack's stream Redis: no Kafka on the path) → a random workload on
#   MariaDB (database "demo"; "demo_streams" from redis-stream) → wait until every table equals its
#   index → a summary → services stopped (the stack stays up).
# Settings: DEMO_OPERATIONS (default 5000), DEMO_RATE (statements/s, default 500).
# shellcheck source=lib/preamble.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/preamble.sh"
cd "$REPO_DIR"
say() { printf '\n[demo] %s\n' "$*"; }

source=kafka
database=demo
while [ $# -gt 0 ]; do
  case $1 in
    --source)
      source=${2:-}
      shift 2 || true
      ;;
    --source=*)
      source=${1#--source=}
      shift
      ;;
    *)
      echo "usage: demo.sh [--source kafka|redis-stream]" >&2
      exit 2
      ;;
  esac
done
case $source in kafka | redis-stream) ;; *)
  echo "demo.sh: --source must be kafka or redis-stream (got '$source')" >&2
  exit 2
  ;;
esac

prepared_machine
bash deploy/local/stack.sh up
eval "$(bash deploy/local/stack.sh env)"
export SLUICE_CLUSTER=demo SLUICE_MAPPING_FILE="$REPO_DIR/deploy/local/demo-mapping.yaml" SLUICE_KAFKA_GROUP=sluice-demo
export SLUICE_KAFKA_FROM_BEGINNING=false SLUICE_LOG_LEVEL=${SLUICE_LOG_LEVEL:-info}
if [ "$source" = redis-stream ]; then
  # A deployment of its own beside the Kafka demo's, on its own database "demo_streams": offsets of
  # a stream and of a Kafka partition are different sequences, so one table's versions must never
  # mix them (ingest dead-letters a table seen on another partition of the same generation as
  # table_moved_partition). Hence also its own generation, cluster (buffer keys) and indices.
  database=demo_streams
  export SLUICE_SOURCE_GENERATION=1 SLUICE_CLUSTER=demo-streams SLUICE_ES_INDEX_PREFIX=demo-streams-
  export SLUICE_SOURCE=redis-stream SLUICE_STREAM_REDIS_URL=$SLUICE_STACK_STREAM_REDIS_URL
  export SLUICE_CANAL_ADDRESS=$SLUICE_STACK_CANAL_TCP_ADDRESS SLUICE_CANAL_DESTINATION=$SLUICE_STACK_CANAL_TCP_DESTINATION
  # only the demo's database, set before its first statement (Canal filters what it parses from then on)
  export SLUICE_CANAL_USER=canal SLUICE_CANAL_PASSWORD=canal SLUICE_CANAL_FILTER='demo_streams\..*'
fi
sluice() { node services/cli/bin/sluice.js "$@"; }

logs=$REPO_DIR/.stack/demo
mkdir -p "$logs"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
}
trap cleanup EXIT

ports=(9401 9402)
# Node itself in the background (not the shell function): $! is then the service's own pid, which
# the cleanup stops. A function would run in a subshell whose pid is not the service's.
if [ "$source" = redis-stream ]; then
  say "starting sluice relay: Canal $SLUICE_CANAL_ADDRESS (TCP) → Redis Streams at $SLUICE_STREAM_REDIS_URL"
  SLUICE_HTTP_PORT=9403 node services/cli/bin/sluice.js relay >"$logs/relay.log" 2>&1 &
  pids+=($!)
  ports+=(9403)
fi
say "starting sluice ingest (from $source) and sluice worker (logs: $logs)"
SLUICE_HTTP_PORT=9401 node services/cli/bin/sluice.js ingest >"$logs/ingest.log" 2>&1 &
pids+=($!)
SLUICE_HTTP_PORT=9402 node services/cli/bin/sluice.js worker >"$logs/worker.log" 2>&1 &
pids+=($!)
for port in "${ports[@]}"; do
  for _ in $(seq 1 120); do
    curl -fs "http://127.0.0.1:$port/health/ready" >/dev/null && break
    sleep 0.5
  done
  curl -fs "http://127.0.0.1:$port/health/ready" >/dev/null || {
    echo "[demo] a service did not become ready; see $logs" >&2
    tail -n 20 "$logs"/*.log >&2
    exit 1
  }
done

say "running a workload on MariaDB database '$database'"
sluice loadtest --database "$database" --operations "${DEMO_OPERATIONS:-5000}" --rate "${DEMO_RATE:-500}" --concurrency 4 --seed "$RANDOM"

say "waiting until every table equals its index"
started=$SECONDS
until sluice check --database "$database" >"$logs/check.txt" 2>&1; do
  if [ $((SECONDS - started)) -ge 120 ]; then
    cat "$logs/check.txt"
    echo "[demo] not converged after 120 s" >&2
    exit 1
  fi
  sleep 2
done
say "converged $((SECONDS - started)) s after the workload ended:"
cat "$logs/check.txt"

metric() { curl -fs "http://127.0.0.1:$1/metrics" | awk -v m="$2" '$1 ~ "^"m"([{]|$)" {s += $2} END {printf "%d", s}'; }
changes=$(metric 9401 sluice_ingest_records_total)
merged=$(metric 9401 sluice_dedup_merged_total)
written=$(curl -fs "http://127.0.0.1:9402/metrics" | awk '/^sluice_flush_docs_total\{.*result="written"/ {s += $2} END {printf "%d", s}')
say "row changes buffered: $changes (plus $merged merged before buffering); documents written to Elasticsearch: $written"
sluice dlq list --limit 5 | tail -n 3
if [ "$source" = redis-stream ]; then
  relayed=$(curl -fs "http://127.0.0.1:9403/metrics" | awk '/^sluice_relay_entries_total\{.*outcome="written"/ {s += $2} END {printf "%d", s}')
  say "Canal entries relayed into the streams: $relayed"
fi
say "done; the services stop as the demo exits; the stack keeps running: deploy/local/stack.sh status | down"
