# shellcheck shell=bash
# A Redis Cluster of 3 masters and 3 replicas (Debian's redis-server, redis-cli --cluster create) on
# loopback ports from SLUICE_STACK_REDIS_CLUSTER_PORT (16400…16405; cluster bus on port + 10000).
# Started only when named or with `stack.sh up --redis-cluster` (SLUICE_STACK_REDIS_CLUSTER=1). No
# persistence, like the single Redis: a node that restarts comes back empty and its replica's data
# (or Sluice's recovery) fills it. `stack.sh env` gives the nodes as SLUICE_STACK_REDIS_CLUSTER_NODES.

REDIS_CLUSTER_NODES=6
redis_cluster_port() { printf '%s' "$REDIS_CLUSTER_PORT"; }
redis_cluster_cli() { redis-cli -h 127.0.0.1 -p "$REDIS_CLUSTER_PORT" "$@"; }
redis_cluster_nodes() {
  local i out=()
  for ((i = 0; i < REDIS_CLUSTER_NODES; i++)); do out+=("127.0.0.1:$((REDIS_CLUSTER_PORT + i))"); done
  (IFS=,; printf '%s' "${out[*]}")
}

redis_cluster_start() {
  mkdir -p "$STACK_DIR/redis-cluster"
  start_bg redis-cluster bash "$HERE/redis-cluster/run.sh" "$REDIS_CLUSTER_PORT" "$STACK_DIR/redis-cluster" \
    "$REDIS_CLUSTER_NODES"
}

# Ready: every node answers.
redis_cluster_ready() {
  local i
  for ((i = 0; i < REDIS_CLUSTER_NODES; i++)); do
    [ "$(redis-cli -h 127.0.0.1 -p $((REDIS_CLUSTER_PORT + i)) ping 2>/dev/null)" = PONG ] || return 1
  done
}

redis_cluster_state_ok() { redis_cluster_cli cluster info 2>/dev/null | grep -q '^cluster_state:ok'; }

# Every replica is linked to its master and has its data (a manual failover waits for that).
redis_cluster_replicas_linked() {
  local i info
  for ((i = 0; i < REDIS_CLUSTER_NODES; i++)); do
    info=$(redis-cli -h 127.0.0.1 -p $((REDIS_CLUSTER_PORT + i)) info replication 2>/dev/null | tr -d '\r')
    case $info in
      *role:slave*) case $info in *master_link_status:up*) ;; *) return 1 ;; esac ;;
    esac
  done
}

# The first start joins the nodes into a cluster (3 masters, a replica each); later starts find it
# in the nodes' nodes.conf. Then: until every slot is served and every replica is linked.
redis_cluster_after_up() {
  if [ "$(redis_cluster_cli cluster info 2>/dev/null | awk -F: '/^cluster_known_nodes:/ {print $2}' | tr -d '\r')" != "$REDIS_CLUSTER_NODES" ]; then
    local hosts=() i
    for ((i = 0; i < REDIS_CLUSTER_NODES; i++)); do hosts+=("127.0.0.1:$((REDIS_CLUSTER_PORT + i))"); done
    redis-cli --cluster create "${hosts[@]}" --cluster-replicas 1 --cluster-yes >>"$(log_file redis-cluster)" 2>&1 ||
      return 1
  fi
  wait_until 60 redis_cluster_state_ok && wait_until 60 redis_cluster_replicas_linked
}

redis_cluster_version() {
  redis_cluster_cli info server | awk -F: '/^redis_version:/ {print $2}' | tr -d '\r'
}
