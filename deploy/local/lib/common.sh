# shellcheck shell=bash
# Shared helpers for deploy/local/stack.sh and its components (sourced, not run).
#
# Layout
#   $STACK_DIR   (default <repo>/.stack)      one folder per component: conf/ data/ and
#                 run/<name>.pid, logs/<name>.log
#   $CACHE_DIR   (default ~/.cache/sluice)    downloads: Maven-resolved jars, zips, unpacked homes
#   ~/.m2        Maven's local repository (so a second run fetches nothing)
#
# A component file deploy/local/components/<name>.sh defines (a - in <name> is _ in the functions'
# names), and stack.sh's step table names each of them:
#   <name>_port        prints the main port
#   <name>_fetch       downloads what it needs into $CACHE_DIR (idempotent, quick when done)
#   <name>_start       writes its config under $STACK_DIR/<name>/ and starts in the background,
#                      writing $STACK_DIR/run/<name>.pid; output goes to $STACK_DIR/logs/<name>.log
#   <name>_ready       exit 0 when the server really answers
#   <name>_version     prints the running version
#   <name>_after_up    (optional) one-time setup once ready (users, topics, schemas)
#   <name>_stop        (optional) custom stop; default: TERM the pid, then KILL after a grace

: "${REPO_DIR:?REPO_DIR must be set}"
STACK_DIR=${SLUICE_STACK_DIR:-$REPO_DIR/.stack}
CACHE_DIR=${SLUICE_CACHE_DIR:-$HOME/.cache/sluice}
RUN_DIR=$STACK_DIR/run
LOG_DIR=$STACK_DIR/logs

# Ports: every one can be overridden with SLUICE_STACK_<NAME>_PORT.
MARIADB_PORT=${SLUICE_STACK_MARIADB_PORT:-13306}
REDIS_PORT=${SLUICE_STACK_REDIS_PORT:-16379}
REDIS_STREAM_PORT=${SLUICE_STACK_REDIS_STREAM_PORT:-16380}
ZOOKEEPER_PORT=${SLUICE_STACK_ZOOKEEPER_PORT:-12181}
KAFKA_PORT=${SLUICE_STACK_KAFKA_PORT:-19092}
KAFKA_CONTROLLER_PORT=${SLUICE_STACK_KAFKA_CONTROLLER_PORT:-19093}
KAFKA_SASL_PORT=${SLUICE_STACK_KAFKA_SASL_PORT:-19094}
# Test credentials of the SASL listener (a local stack on loopback, not a secret).
KAFKA_SASL_USER=sluice
KAFKA_SASL_PASSWORD=sluice-sasl-test
CANAL_PORT=${SLUICE_STACK_CANAL_PORT:-21111}
CANAL_METRICS_PORT=${SLUICE_STACK_CANAL_METRICS_PORT:-21112}
CANAL_TCP_PORT=${SLUICE_STACK_CANAL_TCP_PORT:-21113}
ES_PORT=${SLUICE_STACK_ES_PORT:-19200}
ES_TRANSPORT_PORT=${SLUICE_STACK_ES_TRANSPORT_PORT:-19300}
ES_COMPAT_PORT=${SLUICE_STACK_ES_COMPAT_PORT:-19201}
ES_COMPAT_TRANSPORT_PORT=${SLUICE_STACK_ES_COMPAT_TRANSPORT_PORT:-19301}
REDIS_CLUSTER_PORT=${SLUICE_STACK_REDIS_CLUSTER_PORT:-16400}

# Names shared by the stack and the `env` output.
SOURCE_DB=${SLUICE_STACK_SOURCE_DB:-shop}
META_DB=${SLUICE_STACK_META_DB:-sluice_meta}
KAFKA_TOPIC=${SLUICE_STACK_KAFKA_TOPIC:-sluice.canal}
KAFKA_PARTITIONS=${SLUICE_STACK_KAFKA_PARTITIONS:-6}

log() { printf '[stack] %s\n' "$*" >&2; }

# fail <component> <why> [log file]: one clear line on what failed and where to look.
fail() {
  local comp=$1 why=$2 logf=${3:-}
  printf '[stack] FAILED %s: %s\n' "$comp" "$why" >&2
  if [ -n "$logf" ] && [ -f "$logf" ]; then
    printf '[stack]   log: %s (last lines below)\n' "$logf" >&2
    tail -n 15 "$logf" | sed 's/^/[stack]   | /' >&2
  fi
  return 1
}

pid_file() { printf '%s/%s.pid' "$RUN_DIR" "$1"; }
log_file() { printf '%s/%s.log' "$LOG_DIR" "$1"; }

# pid_of <component>: prints the pid if its pid file names a live process.
pid_of() {
  local f pid
  f=$(pid_file "$1")
  [ -f "$f" ] || return 1
  pid=$(tr -dc '0-9' <"$f")
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 1
  printf '%s' "$pid"
}

# wait_until <seconds> <command...>: polls every 0.5 s until the command succeeds.
wait_until() {
  local deadline=$((SECONDS + $1))
  shift
  until "$@" >/dev/null 2>&1; do
    [ "$SECONDS" -ge "$deadline" ] && return 1
    sleep 0.5
  done
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# start_bg <component> <command...>: runs the command detached with output in its log file
# and records the pid. The command must stay in the foreground (no self-daemonising).
start_bg() {
  local comp=$1
  shift
  local logf
  logf=$(log_file "$comp")
  mkdir -p "$RUN_DIR" "$LOG_DIR"
  # Keep the previous run's log beside the new one, so readiness checks read only this run.
  [ -f "$logf" ] && mv -f "$logf" "$logf.1"
  setsid "$@" >"$logf" 2>&1 </dev/null &
  echo $! >"$(pid_file "$comp")"
}

# stop_pid <component> [grace seconds]: TERM, wait, then KILL.
stop_pid() {
  local comp=$1 grace=${2:-20} pid
  pid=$(pid_of "$comp") || {
    rm -f "$(pid_file "$comp")"
    return 0
  }
  kill -TERM "$pid" 2>/dev/null || true
  local deadline=$((SECONDS + grace))
  while kill -0 "$pid" 2>/dev/null; do
    if [ "$SECONDS" -ge "$deadline" ]; then
      log "$comp did not stop within ${grace}s, killing pid $pid"
      kill -KILL "$pid" 2>/dev/null || true
      break
    fi
    sleep 0.3
  done
  rm -f "$(pid_file "$comp")"
}

# rss_mb <pid>: resident memory in MiB of the process and everything in its session (start_bg runs
# each server in a session of its own, so a launcher and the server it forks count together).
rss_mb() { ps -s "$1" -o rss= 2>/dev/null | awk '{sum += $1} END {if (NR) printf "%d", sum / 1024}'; }

# java_home_for <min major>: prints a JDK home whose major version is >= the given one.
java_home_for() {
  local want=$1 home major
  for home in ${SLUICE_STACK_JAVA_HOME:-} /usr/lib/jvm/*; do
    [ -x "$home/bin/java" ] || continue
    major=$("$home/bin/java" -XshowSettings:properties -version 2>&1 |
      awk -F'= ' '/java.specification.version/ {print $2}')
    major=${major%%.*}
    if [ -n "$major" ] && [ "$major" -ge "$want" ]; then
      printf '%s' "$home"
      return 0
    fi
  done
  return 1
}

# mvn_fetch <name> <groupId:artifactId:version[:classifier]>...: resolves the artifacts and their
# runtime dependencies into $CACHE_DIR/<name>/lib through Maven's local repository. A marker file
# records the coordinates, so a second run with the same list does nothing.
mvn_fetch() {
  local name=$1
  shift
  local dir=$CACHE_DIR/$name lib=$CACHE_DIR/$name/lib marker=$CACHE_DIR/$name/.fetched
  if [ -f "$marker" ] && [ "$(cat "$marker")" = "$*" ]; then return 0; fi
  mkdir -p "$dir"
  rm -rf "$lib"
  {
    echo '<project xmlns="http://maven.apache.org/POM/4.0.0"><modelVersion>4.0.0</modelVersion>'
    echo "<groupId>local.sluice.stack</groupId><artifactId>$name</artifactId><version>1</version>"
    echo '<packaging>pom</packaging><dependencies>'
    local coord g a v c
    for coord in "$@"; do
      IFS=: read -r g a v c <<<"$coord"
      printf '<dependency><groupId>%s</groupId><artifactId>%s</artifactId><version>%s</version>' "$g" "$a" "$v"
      [ -n "$c" ] && printf '<classifier>%s</classifier>' "$c"
      echo '</dependency>'
    done
    echo '</dependencies></project>'
  } >"$dir/pom.xml"
  log "$name: resolving $# artifact(s) from Maven Central"
  if ! mvn -B -q -f "$dir/pom.xml" dependency:copy-dependencies -DincludeScope=runtime \
    -DoutputDirectory="$lib" >"$dir/mvn.log" 2>&1; then
    fail "$name" "Maven could not resolve $*" "$dir/mvn.log"
    return 1
  fi
  echo "$*" >"$marker"
}

# download <url> <file>: fetches once into the cache (atomic rename, so a broken transfer is retried).
download() {
  local url=$1 out=$2
  [ -s "$out" ] && return 0
  mkdir -p "$(dirname "$out")"
  log "downloading $url"
  curl -fsSL --retry 3 -o "$out.part" "$url" && mv "$out.part" "$out"
}

# Servers that refuse root (Elasticsearch) run as the unprivileged user $SERVICE_USER (created on
# demand) when the stack is started by root: prefix their command with "${AS_SERVICE_USER[@]}".
SERVICE_USER=${SLUICE_STACK_USER:-sluice-stack}
AS_SERVICE_USER=()
if [ "$(id -u)" -eq 0 ]; then
  AS_SERVICE_USER=(setpriv --reuid="$SERVICE_USER" --regid="$SERVICE_USER" --init-groups --)
fi
ensure_service_user() {
  [ "$(id -u)" -eq 0 ] || return 0
  id "$SERVICE_USER" >/dev/null 2>&1 ||
    useradd --system --no-create-home --shell /usr/sbin/nologin "$SERVICE_USER"
}

# service_dir <component>: the component's folder, reachable by $SERVICE_USER. When the stack folder
# sits somewhere that user cannot traverse (a private temporary folder, a home of mode 700), the
# component's folder moves to $SLUICE_STACK_SERVICE_ROOT (default /var/lib/sluice-stack), one
# sub-folder per stack, and $STACK_DIR/<component> becomes a link to it.
service_dir() {
  local comp=$1 link=$STACK_DIR/$1 root target
  if [ -L "$link" ]; then
    readlink -f "$link"
    return 0
  fi
  mkdir -p "$link" || return 1
  if [ ${#AS_SERVICE_USER[@]} -eq 0 ] || "${AS_SERVICE_USER[@]}" test -x "$link" 2>/dev/null; then
    printf '%s' "$link"
    return 0
  fi
  root=${SLUICE_STACK_SERVICE_ROOT:-/var/lib/sluice-stack}
  target=$root/$(printf '%s' "$STACK_DIR" | sha1sum | cut -c1-12)/$comp
  mkdir -p "$target" && chmod 755 "$root" "${target%/*}" || return 1
  cp -a "$link/." "$target/" && rm -rf "$link" && ln -s "$target" "$link" || return 1
  log "$comp: $SERVICE_USER cannot reach $STACK_DIR, so its folder is $target"
  printf '%s' "$target"
}

# wipe_dir <component>: deletes the component's folder, and where it was moved (see service_dir).
wipe_dir() {
  local link=$STACK_DIR/$1
  local target
  if [ -L "$link" ]; then
    target=$(readlink -f "$link")
    rm -rf "$target"
    # the stack's own folder under the service root, once its last component is gone
    rmdir --ignore-fail-on-non-empty "$(dirname "$target")" 2>/dev/null || true
  fi
  rm -rf "$link"
}
