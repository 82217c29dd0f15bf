# shellcheck shell=bash
# Canal 1.1.7 from Maven Central jars, in Kafka mode: reads the stack's MariaDB binlog as a replica
# (user canal) and publishes flat JSON messages to $KAFKA_TOPIC, every row change of a table on
# the partition of its table name. 1.1.7 is the first Canal that decodes the DDL events of
# MariaDB >= 10.6. Its deployer jar is not on Maven Central, so deploy/local/canal/
# SluiceCanalLauncher.java, compiled on fetch, starts the server from the 1.1.7 modules; the config
# templates are beside it. $STACK_DIR/canal/ holds the rendered config (conf/), the acknowledged
# position (data/<destination>/meta.dat), the history of table structures
# (data/<destination>/h2.mv.db) and the pinned first start positions (data/start-position*). Canal needs mariadb and kafka up (and the
# topic, made by kafka_after_up): stack.sh starts it after them. It opens no port.
#
# The same launcher, jars and templates run a second Canal, the "canal-tcp" component: TCP mode
# (Canal's client protocol on 127.0.0.1:$CANAL_TCP_PORT, user canal, password canal) for one
# destination "tcp" (UTF-8, every table but *_latin1), the source of `sluice relay`. Its own
# replica id, position and structure history ($STACK_DIR/canal-tcp/), so it reads the binlog apart
# from the Kafka-mode one. It needs mariadb only.

CANAL_VERSION=1.1.7 # the launcher is written against this version's classes
CANAL_DESTINATION=sluice
# One destination per character set of the source's text columns (Canal decodes every text value of
# a destination with its connectionCharset): "sluice" for every table in UTF-8, "latin1" for tables
# whose names end in _latin1 (MySQL's latin1 is windows-1252). Both publish to the same topic.
CANAL_DESTINATIONS=(sluice latin1)
# server id Canal announces to MariaDB as a replica (MariaDB's own is 7301); the next ones for the
# other destinations
CANAL_SLAVE_ID=${SLUICE_STACK_CANAL_SLAVE_ID:-7302}

# The settings of a destination: connectionCharset, filter, extra black-list entries, replica id.
canal_destination_settings() {
  case $1 in
    sluice) printf '%s\n' 'UTF-8' '.*\\..*' ',.*\\..*_latin1' "$CANAL_SLAVE_ID" ;;
    latin1) printf '%s\n' 'windows-1252' '.*\\..*_latin1' '' "$((CANAL_SLAVE_ID + 1))" ;;
    tcp) printf '%s\n' 'UTF-8' '.*\\..*' ',.*\\..*_latin1' "$((CANAL_SLAVE_ID + 2))" ;;
    *) return 1 ;;
  esac
}

# canal_destinations <component>: the destinations a component serves.
canal_destinations() {
  case $1 in
    canal) printf '%s\n' "${CANAL_DESTINATIONS[@]}" ;;
    canal-tcp) printf '%s\n' tcp ;;
  esac
}

canal_mode() { if [ "$1" = canal-tcp ]; then echo tcp; else echo kafka; fi; }

# Where a destination's start position is pinned ("sluice" keeps the file of a one-destination stack).
canal_pin_file() {
  if [ "$2" = "$CANAL_DESTINATION" ]; then
    printf '%s/start-position' "$1"
  else
    printf '%s/start-position-%s' "$1" "$2"
  fi
}

canal_dir() { printf '%s/%s' "$STACK_DIR" "${1:-canal}"; }

# Canal listens on no port here: in Kafka mode the client server (11111) is not started, the admin
# server is not configured, and there is no 1.1.7 metrics exporter on Maven Central. $CANAL_PORT is
# the number reserved for it, shown by status (and checked free before a start, like the others).
canal_port() { printf '%s' "$CANAL_PORT"; }
canal_tcp_port() { printf '%s' "$CANAL_TCP_PORT"; }

canal_version() { printf '%s' "$CANAL_VERSION"; }

canal_fetch() {
  mvn_fetch canal \
    "com.alibaba.otter:canal.server:$CANAL_VERSION" \
    "com.alibaba.otter:connector.kafka:$CANAL_VERSION" || return 1
  canal_compile
}

# Compiles the launcher into $CACHE_DIR/canal/launcher, again only when its source or the jar list
# changed.
canal_compile() {
  local src=$HERE/canal/SluiceCanalLauncher.java out=$CACHE_DIR/canal/launcher lib=$CACHE_DIR/canal/lib
  local sum home
  sum=$({
    cat "$src"
    ls "$lib"
  } | sha256sum | cut -d' ' -f1)
  if [ -f "$out/SluiceCanalLauncher.class" ] && [ "$(cat "$out/.source.sha256" 2>/dev/null)" = "$sum" ]; then
    return 0
  fi
  home=$(java_home_for 17) || {
    fail canal "no JDK 17 or newer under /usr/lib/jvm (or set SLUICE_STACK_JAVA_HOME)"
    return 1
  }
  [ -x "$home/bin/javac" ] || {
    fail canal "$home has no javac: install a JDK (openjdk-17-jdk-headless), not only a JRE"
    return 1
  }
  log "canal: compiling the launcher"
  rm -rf "$out.tmp"
  mkdir -p "$out.tmp"
  if ! "$home/bin/javac" --release 17 -encoding UTF-8 -nowarn -cp "$lib/*" -d "$out.tmp" "$src" \
    >"$CACHE_DIR/canal/javac.log" 2>&1; then
    fail canal "javac failed on $src" "$CACHE_DIR/canal/javac.log"
    return 1
  fi
  echo "$sum" >"$out.tmp/.source.sha256"
  rm -rf "$out"
  mv "$out.tmp" "$out"
}

# canal_render <template> <output> NAME=value...: copies a template, replacing every @NAME@.
canal_render() {
  local text kv out=$2
  text=$(<"$1")
  shift 2
  for kv in "$@"; do
    text=${text//"@${kv%%=*}@"/"${kv#*=}"}
  done
  if [[ $text =~ @[A-Z_]+@ ]]; then
    fail canal "$out: ${BASH_REMATCH[0]} is not filled in"
    return 1
  fi
  printf '%s\n' "$text" >"$out"
}

# canal_binlog_holds <file> <position>: MariaDB's binlog still has that file, at least that long.
canal_binlog_holds() {
  mariadb_sql 'SHOW BINARY LOGS' |
    awk -v f="$1" -v p="$2" '$1 == f && $2 + 0 >= p + 0 { ok = 1 } END { exit !ok }'
}

# canal_set_aside <data dir> <why>: moves the position and the table-structure history of the
# destination into data/stale-<time>/, so Canal starts over at the end of the binlog.
canal_set_aside() {
  local data=$1 name=$2 why=$3 dest stale f
  dest=$data/$name
  stale=$data/stale-$name-$(date +%Y%m%d-%H%M%S)
  mkdir -p "$stale"
  for f in "$dest"/meta.dat "$dest"/h2.* "$(canal_pin_file "$data" "$name")"; do
    [ -e "$f" ] && mv -f "$f" "$stale/"
  done
  log "canal: WARNING: $name: $why; starting over at the end of the binlog (changes in between are not" \
    "published); the old position and structure history are in $stale"
}

# Where Canal starts reading. With an acknowledged position in meta.dat Canal resumes there.
# Without one (first start, or no change published yet), it starts at data/start-position, taken
# from SHOW MASTER STATUS once, before the very first start: a restart before the first
# acknowledgement then still starts at the same place instead of at the (later) end of the binlog.
# A saved position the binlog no longer holds (MariaDB wiped, or binlog expired while Canal was
# down) cannot be resumed: it is set aside with a warning and Canal starts over at the end.
canal_start_position() {
  local data=$1 name=$2 meta pin file pos
  meta=$data/$name/meta.dat
  pin=$(canal_pin_file "$data" "$name")
  if [ -f "$meta" ]; then
    file=$(grep -o '"journalName":"[^"]*"' "$meta" | head -n 1 | cut -d'"' -f4 || true)
    pos=$(grep -o '"position":[0-9]*' "$meta" | head -n 1 | cut -d: -f2 || true)
    if [ -n "$file" ] && [ -n "$pos" ]; then
      canal_binlog_holds "$file" "$pos" && return 0
      canal_set_aside "$data" "$name" "the acknowledged position $file:$pos is not in MariaDB's binlog any more"
    fi
  fi
  if [ -s "$pin" ]; then
    read -r file pos _ <"$pin"
    canal_binlog_holds "$file" "$pos" && return 0
    canal_set_aside "$data" "$name" "the pinned start position $file:$pos is not in MariaDB's binlog any more"
  fi
  read -r file pos _ < <(mariadb_sql 'SHOW MASTER STATUS')
  if [ -z "${file:-}" ] || [ -z "${pos:-}" ]; then
    fail canal "SHOW MASTER STATUS returned nothing: is the binlog of the stack's MariaDB on?"
    return 1
  fi
  # With a time (ms) beside file:position Canal starts exactly there; without one it would scan
  # the binlog file back to the previous commit and replay the DDL logged after it.
  printf '%s %s %s\n' "$file" "$pos" "$(date +%s%3N)" >"$pin.tmp" && mv -f "$pin.tmp" "$pin"
  log "canal: $name: start position pinned at $file:$pos"
}

canal_start() {
  local comp=${1:-canal} dir conf data file pos time home mode port raw destinations=()
  mode=$(canal_mode "$comp")
  mapfile -t destinations < <(canal_destinations "$comp")
  dir=$(canal_dir "$comp")
  conf=$dir/conf
  data=$dir/data
  if ! mariadb_ready; then
    fail canal "MariaDB does not answer on $(mariadb_socket): start it first (stack.sh up mariadb kafka canal)"
    return 1
  fi
  if [ "$mode" = kafka ] && ! port_open "$KAFKA_PORT"; then
    fail canal "Kafka does not answer on 127.0.0.1:$KAFKA_PORT: start it first (stack.sh up mariadb kafka canal)"
    return 1
  fi
  mkdir -p "$conf/spring" "$conf/tsdb" "$data"
  local name charset filter black slave
  for name in "${destinations[@]}"; do
    mkdir -p "$conf/$name"
    canal_start_position "$data" "$name" || return 1
    file='' pos='' time=''
    if ! grep -qs '"journalName"' "$data/$name/meta.dat"; then
      read -r file pos time _ <"$(canal_pin_file "$data" "$name")"
    fi
    { read -r charset; read -r filter; read -r black; read -r slave; } < <(canal_destination_settings "$name")
    canal_render "$HERE/canal/instance.properties" "$conf/$name/instance.properties" \
      DATA_DIR="$data" DEST="$name" MARIADB_PORT="$MARIADB_PORT" SLAVE_ID="$slave" META_DB="$META_DB" \
      CHARSET="$charset" FILTER="$filter" BLACK="$black" \
      START_FILE="$file" START_POS="$pos" START_TIME="$time" \
      TOPIC="$KAFKA_TOPIC" PARTITIONS="$KAFKA_PARTITIONS" || return 1
  done
  port=$CANAL_PORT raw=false
  [ "$mode" = tcp ] && port=$CANAL_TCP_PORT raw=true
  canal_render "$HERE/canal/canal.properties" "$conf/canal.properties" \
    DATA_DIR="$data" KAFKA_PORT="$KAFKA_PORT" DESTINATIONS="$(IFS=,; printf '%s' "${destinations[*]}")" \
    MODE="$mode" PORT="$port" RAW_ENTRY="$raw" || return 1
  cp "$HERE/canal/sluice-instance.xml" "$conf/spring/sluice-instance.xml"
  cp "$HERE/canal/tsdb.xml" "$conf/spring/sluice-tsdb.xml"
  cp "$HERE/canal/tsdb-history-mapper.xml" "$conf/tsdb/meta-history-mapper.xml"
  cp "$HERE/canal/tsdb-snapshot-mapper.xml" "$conf/tsdb/meta-snapshot-mapper.xml"
  cp "$HERE/canal/logback.xml" "$conf/logback.xml"
  home=$(java_home_for 17) || {
    fail canal "no JDK 17 or newer under /usr/lib/jvm (or set SLUICE_STACK_JAVA_HOME)"
    return 1
  }
  # conf/ first on the classpath: the instance XML finds canal.properties and
  # sluice/instance.properties there.
  start_bg "$comp" "$home/bin/java" -Xms128m -Xmx512m -XX:+UseSerialGC -XX:+ExitOnOutOfMemoryError \
    -Djava.net.preferIPv4Stack=true -Dfile.encoding=UTF-8 \
    -Dlogback.configurationFile="$conf/logback.xml" \
    -cp "$conf:$CACHE_DIR/canal/launcher:$CACHE_DIR/canal/lib/*" \
    SluiceCanalLauncher "$conf/canal.properties"
}

# Ready when this run's log (start_bg keeps the previous one as canal.log.1) shows the Kafka worker
# running and the binlog dump requested after the start position was found, with no dump error
# since. (A dump request is also logged while Canal scans a binlog file to find its start, before
# "find start position successfully"; a failed dump is retried every 10-20 s, each time logging
# "dump address ... has an error".)
canal_ready() {
  local comp=${1:-canal} logf n
  logf=$(log_file "$comp")
  [ -f "$logf" ] || return 1
  n=$(canal_destinations "$comp" | wc -l)
  if [ "$comp" = canal-tcp ]; then
    port_open "$CANAL_TCP_PORT" || return 1
  fi
  awk -v n="$n" '
    /COM_BINLOG_DUMP with position/ { dump = NR }
    /find start position successfully/ { found = NR; founds++ }
    /dump address .* has an error/ { failed = NR }
    /the MQ producer: .* is running now/ { workers++ }
    /served on .*Canal.s TCP protocol/ { workers = n }
    END { exit !(workers >= n && founds >= n && found > failed && dump > found) }
  ' "$logf"
}

# On TERM the launcher finishes the Kafka batch in flight, writes the position and closes the
# producer: a few seconds at most.
canal_stop() { stop_pid "${1:-canal}" 30; }
