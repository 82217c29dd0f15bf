# shellcheck shell=bash
# ZooKeeper from Maven Central, standalone, bound to loopback. tickTime 1 s, so clients may ask for
# session timeouts from 2 s (tests of session expiry) up to 60 s.

ZOOKEEPER_VERSION=${SLUICE_STACK_ZOOKEEPER_VERSION:-3.8.4}

zookeeper_port() { printf '%s' "$ZOOKEEPER_PORT"; }

zookeeper_fetch() {
  mvn_fetch zookeeper \
    "org.apache.zookeeper:zookeeper:$ZOOKEEPER_VERSION" \
    io.dropwizard.metrics:metrics-core:4.2.25 \
    org.xerial.snappy:snappy-java:1.1.10.5
}

zookeeper_start() {
  local dir java
  dir=$STACK_DIR/zookeeper
  mkdir -p "$dir/conf" "$dir/data"
  java=$(java_home_for 11)/bin/java
  cat >"$dir/conf/zoo.cfg" <<CFG
tickTime=1000
initLimit=10
syncLimit=5
dataDir=$dir/data
clientPort=$ZOOKEEPER_PORT
clientPortAddress=127.0.0.1
minSessionTimeout=2000
maxSessionTimeout=60000
maxClientCnxns=0
admin.enableServer=false
4lw.commands.whitelist=ruok,srvr,mntr,stat,cons
autopurge.purgeInterval=1
CFG
  start_bg zookeeper "$java" -Xms64m -Xmx256m -XX:+UseSerialGC \
    -Dzookeeper.log.dir="$LOG_DIR" -Dzookeeper.root.logger=INFO,CONSOLE \
    -cp "$CACHE_DIR/zookeeper/lib/*" org.apache.zookeeper.server.ZooKeeperServerMain "$dir/conf/zoo.cfg"
}

# zk_4lw <word>: sends a four-letter command and prints the answer.
zk_4lw() {
  local answer
  exec 3<>"/dev/tcp/127.0.0.1/$ZOOKEEPER_PORT" || return 1
  printf '%s' "$1" >&3
  answer=$(timeout 3 cat <&3)
  exec 3<&- 3>&-
  printf '%s' "$answer"
}

# "ruok" answers imok even when the server failed to start serving; "srvr" does not.
# The whole answer is read before it is matched: a reader that stops at the first line (grep -q) makes
# the later writes fail with SIGPIPE, and under pipefail a healthy server would look down.
zookeeper_ready() { [[ $(zk_4lw srvr 2>/dev/null) == 'Zookeeper version'* ]]; }

zookeeper_version() { zk_4lw srvr | sed -n 's/^Zookeeper version: \([0-9.]*\).*/\1/p'; }
