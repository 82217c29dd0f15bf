# shellcheck shell=bash
# Canal 1.1.7 in TCP mode: the source of `sluice relay` (Canal's client protocol on loopback). The
# same launcher, jars and templates as the Kafka-mode "canal" component (components/canal.sh, which
# holds the functions), for its own destination "tcp" with its own replica id, position and table
# structure history under $STACK_DIR/canal-tcp/. Needs mariadb up: stack.sh starts it after it.

canal_tcp_fetch() { canal_fetch; }
canal_tcp_start() { canal_start canal-tcp; }
canal_tcp_ready() { canal_ready canal-tcp; }
canal_tcp_stop() { canal_stop canal-tcp; }
