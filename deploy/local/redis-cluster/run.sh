#!/usr/bin/env bash
# The local stack's Redis Cluster: N redis-server nodes (Debian's package) on consecutive loopback
# ports, each in cluster mode with its own folder (nodes.conf: the cluster re-forms by itself after a
# restart). Stays in the foreground while the nodes run; SIGTERM stops them all.
#   run.sh <first port> <data folder> [nodes]
set -u
base=$1
dir=$2
nodes=${3:-6}
pids=()
stop() {
  kill -TERM "${pids[@]}" 2>/dev/null
  wait
  exit 0
}
trap stop TERM INT
for ((i = 0; i < nodes; i++)); do
  port=$((base + i))
  mkdir -p "$dir/$port"
  redis-server --bind 127.0.0.1 --port "$port" --dir "$dir/$port" --daemonize no --protected-mode yes \
    --cluster-enabled yes --cluster-config-file nodes.conf --cluster-node-timeout 2000 \
    --save '' --appendonly no --maxmemory "${SLUICE_STACK_REDIS_CLUSTER_MAXMEMORY:-512mb}" \
    --maxmemory-policy noeviction --logfile "$dir/$port/redis.log" &
  pids+=($!)
done
wait
