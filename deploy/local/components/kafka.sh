# shellcheck shell=bash
# Kafka from Maven Central jars: one broker in KRaft mode (broker + controller in one process), on
# loopback. The Canal topic is created explicitly with several partitions.

KAFKA_VERSION=${SLUICE_STACK_KAFKA_VERSION:-3.9.1}

kafka_port() { printf '%s' "$KAFKA_PORT"; }

kafka_fetch() {
  mvn_fetch kafka \
    "org.apache.kafka:kafka_2.13:$KAFKA_VERSION" \
    "org.apache.kafka:kafka-tools:$KAFKA_VERSION" \
    org.slf4j:slf4j-reload4j:1.7.36 \
    ch.qos.reload4j:reload4j:1.2.25
}

kafka_java() {
  "$(java_home_for 17)/bin/java" -cp "$CACHE_DIR/kafka/lib/*" \
    -Dlog4j.configuration="file:$STACK_DIR/kafka/conf/log4j.properties" "$@"
}

kafka_start() {
  local dir
  dir=$STACK_DIR/kafka
  mkdir -p "$dir/conf" "$dir/data"
  cat >"$dir/conf/server.properties" <<PROPS
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$KAFKA_CONTROLLER_PORT
listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT,CONTROLLER://127.0.0.1:$KAFKA_CONTROLLER_PORT,SASL_PLAINTEXT://127.0.0.1:$KAFKA_SASL_PORT
advertised.listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT,SASL_PLAINTEXT://127.0.0.1:$KAFKA_SASL_PORT
inter.broker.listener.name=PLAINTEXT
controller.listener.names=CONTROLLER
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT,SASL_PLAINTEXT:SASL_PLAINTEXT
# A second listener that requires SASL/PLAIN (user $KAFKA_SASL_USER), for the tests of Sluice's
# authenticated connections. Canal and the brokers themselves use the plain listener.
sasl.enabled.mechanisms=PLAIN
listener.name.sasl_plaintext.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required user_$KAFKA_SASL_USER="$KAFKA_SASL_PASSWORD";
log.dirs=$dir/data
num.partitions=$KAFKA_PARTITIONS
auto.create.topics.enable=false
offsets.topic.replication.factor=1
offsets.topic.num.partitions=10
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
group.initial.rebalance.delay.ms=0
log.retention.hours=${SLUICE_STACK_KAFKA_RETENTION_HOURS:-72}
log.segment.bytes=268435456
message.max.bytes=67108864
replica.fetch.max.bytes=67108864
PROPS
  cat >"$dir/conf/log4j.properties" <<'L4J'
log4j.rootLogger=INFO, stdout
log4j.appender.stdout=org.apache.log4j.ConsoleAppender
log4j.appender.stdout.layout=org.apache.log4j.PatternLayout
log4j.appender.stdout.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.logger.kafka=INFO
log4j.logger.org.apache.kafka=INFO
log4j.logger.state.change.logger=WARN
log4j.logger.kafka.request.logger=WARN
L4J
  if [ ! -f "$dir/data/meta.properties" ]; then
    [ -f "$dir/cluster.id" ] || kafka_java kafka.tools.StorageTool random-uuid >"$dir/cluster.id"
    kafka_java kafka.tools.StorageTool format -g -t "$(cat "$dir/cluster.id")" \
      -c "$dir/conf/server.properties" >"$dir/format.log" 2>&1 || {
      fail kafka "formatting the KRaft storage failed" "$dir/format.log"
      return 1
    }
  fi
  start_bg kafka "$(java_home_for 17)/bin/java" -Xms256m -Xmx768m -XX:+UseG1GC \
    -Dlog4j.configuration="file:$dir/conf/log4j.properties" \
    -cp "$CACHE_DIR/kafka/lib/*" kafka.Kafka "$dir/conf/server.properties"
}

# Ready once the broker has logged its start in this run's log and the port answers.
kafka_ready() {
  port_open "$KAFKA_PORT" && grep -q 'Kafka Server started' "$(log_file kafka)" 2>/dev/null
}

kafka_version() { printf '%s' "$KAFKA_VERSION"; }

kafka_topics() {
  kafka_java org.apache.kafka.tools.TopicCommand --bootstrap-server "127.0.0.1:$KAFKA_PORT" "$@"
}

kafka_after_up() {
  kafka_topics --create --if-not-exists --topic "$KAFKA_TOPIC" \
    --partitions "$KAFKA_PARTITIONS" --replication-factor 1 >>"$(log_file kafka)" 2>&1
}
