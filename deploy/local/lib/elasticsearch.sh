# shellcheck shell=bash
# What the two Elasticsearch components share (sourced by stack.sh before them): the releases the
# stack knows, the major of the main node, and es_node_*, which fetch, start, check and stop one
# node of a given version on given ports. The components: components/elasticsearch.sh (the major
# Sluice targets) and components/es-compat.sh (the other major).
#
# Both come from Maven Central's integ-test-zip distribution: no bundled JDK (ES_JAVA_HOME picks
# one) and only the modules apm, transport-netty4, x-pack-core and x-pack-security. So there is no
# GET / (rest-root module: 405), no analysis-common (whitespace tokenizer, ...), no painless and no
# reindex (_update_by_query, _delete_by_query, _reindex): tests needing those need a full ES.
#
# Elasticsearch refuses to run as root: when the stack runs as root the node runs as $SERVICE_USER,
# owning conf/ data/ logs/ tmp/ under $STACK_DIR/<component>/. The launcher stays in the foreground;
# the pid file holds the launcher JVM, which runs the server JVM as its child and stops it on TERM.

ES_MAVEN_BASE=${SLUICE_STACK_ES_MAVEN_URL:-https://repo1.maven.org/maven2}
ES_HEAP=${SLUICE_STACK_ES_HEAP:-512m}

# --- versions -----------------------------------------------------------------------------------

# es_default_version <major>: the version used when none is pinned.
es_default_version() {
  case $1 in
    9) printf '9.2.4' ;;
    8) printf '8.19.21' ;;
    *)
      log "elasticsearch: unsupported major '$1' (the stack knows 8 and 9)"
      return 1
      ;;
  esac
}

# es_check_major <major>: prints it when it is one the stack supports.
es_check_major() {
  case $1 in
    8 | 9) printf '%s' "$1" ;;
    *)
      log "elasticsearch: unsupported major '$1' (the stack knows 8 and 9)"
      return 1
      ;;
  esac
}

# Major of the main node. A pinned version wins over SLUICE_STACK_ES_MAJOR.
es_major() {
  local major
  if [ -n "${SLUICE_STACK_ES_VERSION:-}" ]; then
    major=${SLUICE_STACK_ES_VERSION%%.*}
    if [ -n "${SLUICE_STACK_ES_MAJOR:-}" ] && [ "$SLUICE_STACK_ES_MAJOR" != "$major" ]; then
      log "elasticsearch: SLUICE_STACK_ES_VERSION=$SLUICE_STACK_ES_VERSION overrides SLUICE_STACK_ES_MAJOR=$SLUICE_STACK_ES_MAJOR"
    fi
  elif [ -n "${SLUICE_STACK_ES_MAJOR:-}" ]; then
    major=$SLUICE_STACK_ES_MAJOR
  elif java_home_for 21 >/dev/null; then
    major=9
  else
    major=8
  fi
  es_check_major "$major"
}

# es_pick_version <major function> <pinned version or empty>: the release to run, the pinned one
# when set, else the default release of the major (which is checked either way).
es_pick_version() {
  local major
  major=$("$1") || return 1
  if [ -n "$2" ]; then printf '%s' "$2"; else es_default_version "$major"; fi
}

# --- one node -----------------------------------------------------------------------------------

es_node_home() { printf '%s/elasticsearch-%s' "$CACHE_DIR" "$1"; }

# es_node_java <component> <major>: a JDK home for that major (9.x needs 21+, 8.x runs on 17+).
es_node_java() {
  local comp=$1 want=17
  [ "$2" -ge 9 ] && want=21
  java_home_for "$want" && return 0
  fail "$comp" "Elasticsearch $2.x needs a JDK >= $want (none in /usr/lib/jvm; set SLUICE_STACK_JAVA_HOME)"
}

# es_node_fetch <component> <version>: downloads and unpacks $CACHE_DIR/elasticsearch-<version>/
# once; the zip is deleted after a good unpack (the unpacked home is the cache).
es_node_fetch() {
  local comp=$1 version=$2 home zip tmp url
  # The service user is created here because fetch runs before the components start in parallel
  # (two concurrent useradd calls would race on /etc/passwd).
  ensure_service_user || {
    fail "$comp" "could not create the service user $SERVICE_USER"
    return 1
  }
  home=$(es_node_home "$version")
  [ -x "$home/bin/elasticsearch" ] && return 0
  command -v unzip >/dev/null 2>&1 || {
    fail "$comp" "unzip not found (apt-get install unzip)"
    return 1
  }
  zip=$CACHE_DIR/elasticsearch-$version.zip
  url=$ES_MAVEN_BASE/org/elasticsearch/distribution/integ-test-zip/elasticsearch/$version/elasticsearch-$version.zip
  download "$url" "$zip" || {
    rm -f "$zip.part"
    fail "$comp" "could not download $url (is $version published there?)"
    return 1
  }
  tmp=$CACHE_DIR/.elasticsearch-$version.unpacking
  rm -rf "$tmp"
  if ! unzip -q "$zip" -d "$tmp" || [ ! -x "$tmp/elasticsearch-$version/bin/elasticsearch" ]; then
    rm -rf "$tmp" "$zip" # most likely a damaged download: fetch it again next time
    fail "$comp" "could not unpack $zip"
    return 1
  fi
  # Root-owned is fine, but the service user must be able to read everything.
  chmod -R a+rX "$tmp" &&
    rm -rf "$home" &&
    mv "$tmp/elasticsearch-$version" "$home" &&
    rm -rf "$tmp" "$zip"
}

# es_node_readable_home <component> <home>: prints a home the node's user can read. The default
# cache sits under root's home (mode 700 on most systems); then the node runs from a hard-linked
# copy under its stack folder (a plain copy if the two are on different file systems).
es_node_readable_home() {
  local comp=$1 home=$2 copy
  if [ ${#AS_SERVICE_USER[@]} -eq 0 ] || "${AS_SERVICE_USER[@]}" test -r "$home/lib" 2>/dev/null; then
    printf '%s' "$home"
    return 0
  fi
  local base
  base=$(service_dir "$comp") || return 1
  copy=$base/home/${home##*/}
  if [ ! -x "$copy/bin/elasticsearch" ]; then
    log "$comp: $SERVICE_USER cannot read $home, linking it under $base/home"
    rm -rf "${base:?}/home"
    mkdir -p "$base/home" || return 1
    cp -al "$home" "$copy.part" 2>/dev/null || {
      rm -rf "$copy.part"
      cp -a "$home" "$copy.part"
    } || return 1
    mv "$copy.part" "$copy" || return 1
  fi
  "${AS_SERVICE_USER[@]}" test -r "$copy/lib" 2>/dev/null || {
    fail "$comp" "$SERVICE_USER cannot read $copy either: put the stack somewhere it can reach (SLUICE_STACK_DIR)"
    return 1
  }
  printf '%s' "$copy"
}

# es_node_check_data <component> <version>: refuses data written by a newer version (a node can
# not open it, e.g. after switching SLUICE_STACK_ES_MAJOR from 9 to 8).
es_node_check_data() {
  local comp=$1 version=$2 mark=$STACK_DIR/$1/version written
  [ -f "$mark" ] || return 0
  written=$(cat "$mark")
  [ "$written" = "$version" ] && return 0
  if [ "$(printf '%s\n%s\n' "$written" "$version" | sort -V | tail -n 1)" = "$written" ]; then
    fail "$comp" "its data was written by Elasticsearch $written, which $version cannot open: run 'stack.sh down --wipe $comp'"
    return 1
  fi
}

es_node_ports_free() {
  local p
  for p in "$@"; do
    if port_open "$p"; then return 1; fi
  done
}

# es_node_start <component> <version> <http port> <transport port>
es_node_start() {
  local comp=$1 version=$2 http=$3 transport=$4
  local dir major=${2%%.*} java home
  dir=$(service_dir "$comp") || return 1
  java=$(es_node_java "$comp" "$major") || return 1
  home=$(es_node_home "$version")
  [ -x "$home/bin/elasticsearch" ] || {
    fail "$comp" "$home is missing (fetch did not run?)"
    return 1
  }
  es_node_check_data "$comp" "$version" || return 1
  # A node that was just killed may still be closing: give its ports a moment.
  wait_until 15 es_node_ports_free "$http" "$transport" || {
    fail "$comp" "port $http or $transport is already taken by a process the stack did not start"
    return 1
  }

  mkdir -p "$dir/conf" "$dir/data" "$dir/logs" "$dir/tmp" || return 1
  # The distribution's JVM and logging settings, our own elasticsearch.yml. The keystore the
  # launcher creates in conf/ is kept between runs.
  cp -R "$home/config/jvm.options" "$home/config/jvm.options.d" "$home/config/log4j2.properties" \
    "$dir/conf/" || return 1
  cat >"$dir/conf/elasticsearch.yml" <<EOF || return 1
# Written by deploy/local/lib/elasticsearch.sh at each start: edits are lost.
cluster.name: sluice-local
node.name: $comp
discovery.type: single-node
network.host: 127.0.0.1
http.port: $http
transport.port: $transport
path.data: "$dir/data"
path.logs: "$dir/logs"
# Plain HTTP, and no security auto-configuration (certificates, passwords) on first start.
xpack.security.enabled: false
# A nearly full disk must not make the indices read-only on a developer machine or CI runner.
cluster.routing.allocation.disk.threshold_enabled: false
# (No ML or GeoIP settings: those modules are not in this distribution, and unknown settings
# would stop the node.)
EOF
  printf '%s\n' "$version" >"$dir/version" || return 1

  if [ ${#AS_SERVICE_USER[@]} -gt 0 ]; then
    ensure_service_user || return 1
    chown -R "$SERVICE_USER:" "$dir/conf" "$dir/data" "$dir/logs" "$dir/tmp" || return 1
    "${AS_SERVICE_USER[@]}" test -w "$dir/data" 2>/dev/null || {
      fail "$comp" "$SERVICE_USER cannot write $dir/data: put the stack somewhere it can reach (SLUICE_STACK_DIR)"
      return 1
    }
    home=$(es_node_readable_home "$comp" "$home") || return 1
  fi

  # setsid, env and setpriv all exec, and bin/elasticsearch execs the launcher JVM: one pid.
  # The launcher ignores JAVA_HOME and JAVA_OPTS; drop them so it does not warn about them.
  (
    cd "$dir" &&
      start_bg "$comp" env -u JAVA_HOME -u JAVA_OPTS \
        ES_JAVA_HOME="$java" ES_PATH_CONF="$dir/conf" ES_TMPDIR="$dir/tmp" \
        ES_JAVA_OPTS="-Xms$ES_HEAP -Xmx$ES_HEAP" \
        "${AS_SERVICE_USER[@]}" "$home/bin/elasticsearch"
  )
}

# es_node_ready <port>: HTTP answers and the cluster is at least yellow (one node: replicas of
# indices with number_of_replicas >= 1 stay unassigned, so yellow is normal here).
es_node_ready() {
  local body
  body=$(curl -fsS --max-time 3 "http://127.0.0.1:$1/_cluster/health" 2>/dev/null) || return 1
  [[ $body =~ \"status\":\"(green|yellow)\" ]]
}

# es_node_version <port>: the version number from GET /, or from the node info where GET / is
# missing (the integ-test-zip answers 405 there).
es_node_version() {
  local body re='"(number|version)" *: *"([0-9][^"]*)"'
  body=$(curl -fsS --max-time 3 "http://127.0.0.1:$1/" 2>/dev/null) ||
    body=$(curl -fsS --max-time 3 "http://127.0.0.1:$1/_nodes/_local?filter_path=nodes.*.version" 2>/dev/null) ||
    return 1
  [[ $body =~ $re ]] || return 1
  printf '%s' "${BASH_REMATCH[2]}"
}

es_node_session_pids() { ps -o pid= -s "$1" 2>/dev/null || true; }
es_node_session_gone() { [ -z "$(es_node_session_pids "$1")" ]; }

# es_node_stop <component>: TERM the launcher (it shuts the server down and waits for it), then
# make sure nothing of its session is left: the server also exits by itself when the launcher is
# killed, but the ports and the data lock are only free once it has.
es_node_stop() {
  local comp=$1 sid left
  sid=$(pid_of "$comp") || {
    rm -f "$(pid_file "$comp")"
    return 0
  }
  stop_pid "$comp" 30
  if ! wait_until 15 es_node_session_gone "$sid"; then
    left=$(es_node_session_pids "$sid")
    log "$comp: killing what is left of its session: $left"
    # shellcheck disable=SC2086 # one pid per word
    [ -z "$left" ] || kill -KILL $left 2>/dev/null || true
  fi
}
