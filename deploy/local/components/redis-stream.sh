# shellcheck shell=bash
# A second Redis from Debian's package, for the Redis Stream transport (`sluice relay` writes the
# streams, `sluice ingest` with SLUICE_SOURCE=redis-stream reads them): unlike the buffer's Redis
# (components/redis.sh, a cache that may lose everything) it keeps every acknowledged write, with
# the append-only file fsynced before each reply (appendfsync always), because the relay acknowledges
# Canal's batches once they are in it. No RDB snapshots; the AOF is the only copy.

redis_stream_port() { printf '%s' "$REDIS_STREAM_PORT"; }
redis_stream_cli() { redis-cli -h 127.0.0.1 -p "$REDIS_STREAM_PORT" "$@"; }

redis_stream_start() {
  local dir=$STACK_DIR/redis-stream
  mkdir -p "$dir/data"
  start_bg redis-stream redis-server --bind 127.0.0.1 --port "$REDIS_STREAM_PORT" --dir "$dir/data" \
    --save '' --appendonly yes --appendfsync always --daemonize no --protected-mode yes \
    --maxmemory "${SLUICE_STACK_REDIS_STREAM_MAXMEMORY:-1gb}" --maxmemory-policy noeviction
}

redis_stream_ready() { [ "$(redis_stream_cli ping 2>/dev/null)" = PONG ]; }

redis_stream_version() {
  redis_stream_cli info server | awk -F: '/^redis_version:/ {print $2}' | tr -d '\r'
}
