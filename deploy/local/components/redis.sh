# shellcheck shell=bash
# Redis from Debian's package (redis-server): no persistence by default, like a cache node that
# loses everything on restart (Sluice must recover from its backup table). SLUICE_STACK_REDIS_AOF=1
# turns the append-only file on.

redis_port() { printf '%s' "$REDIS_PORT"; }
redis_cli() { redis-cli -h 127.0.0.1 -p "$REDIS_PORT" "$@"; }

redis_fetch() {
  command -v redis-server >/dev/null 2>&1 && command -v redis-cli >/dev/null 2>&1 || {
    fail redis "redis-server not found: install Debian's redis-server (deploy/local/bootstrap.sh does)"
    return 1
  }
}

redis_start() {
  local dir aof=no
  dir=$STACK_DIR/redis
  mkdir -p "$dir/data"
  [ "${SLUICE_STACK_REDIS_AOF:-0}" = 1 ] && aof=yes
  start_bg redis redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --dir "$dir/data" \
    --save '' --appendonly "$aof" --daemonize no --protected-mode yes \
    --maxmemory "${SLUICE_STACK_REDIS_MAXMEMORY:-2gb}" --maxmemory-policy noeviction
}

redis_ready() { [ "$(redis_cli ping 2>/dev/null)" = PONG ]; }

redis_version() { redis_cli info server | awk -F: '/^redis_version:/ {print $2}' | tr -d '\r'; }
