#!/usr/bin/env bash
# `npm run demo`: the whole system on the local stack.
#   stack up → sluice ingest + sluice worker → a random workload on MariaDB (database "demo")
#   → wait until every table equals its index → a summary → services stopped (the stack stays up).
# Settings: DEMO_OPERATIONS (default 5000), DEMO_RATE (statements/s, default 500).
# shellcheck source=lib/preamble.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/preamble.sh"
cd "$REPO_DIR"
say() { printf '\n[demo] %s\n' "$*"; }

prepared_machine
bash deploy/local/stack.sh up
eval "$(bash deploy/local/stack.sh env)"
export SLUICE_CLUSTER=demo SLUICE_MAPPING_FILE="$REPO_DIR/deploy/local/demo-mapping.yaml" SLUICE_KAFKA_GROUP=sluice-demo
export SLUICE_KAFKA_FROM_BEGINNING=false SLUICE_LOG_LEVEL=${SLUICE_LOG_LEVEL:-info}
sluice() { node services/cli/bin/sluice.js "$@"; }

logs=$REPO_DIR/.stack/demo
mkdir -p "$logs"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
}
trap cleanup EXIT

say "starting sluice ingest and sluice worker (logs: $logs)"
# Node itself in the background (not the shell function): $! is then the service's own pid, which
# the cleanup stops. A function would run in a subshell whose pid is not the service's.
SLUICE_HTTP_PORT=9401 node services/cli/bin/sluice.js ingest >"$logs/ingest.log" 2>&1 &
pids+=($!)
SLUICE_HTTP_PORT=9402 node services/cli/bin/sluice.js worker >"$logs/worker.log" 2>&1 &
pids+=($!)
for port in 9401 9402; do
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

say "running a workload on MariaDB database 'demo'"
sluice loadtest --database demo --operations "${DEMO_OPERATIONS:-5000}" --rate "${DEMO_RATE:-500}" --concurrency 4 --seed "$RANDOM"

say "waiting until every table equals its index"
started=$SECONDS
until sluice check --database demo >"$logs/check.txt" 2>&1; do
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
say "done; sluice ingest and sluice worker stop as the demo exits; the stack keeps running: deploy/local/stack.sh status | down"
