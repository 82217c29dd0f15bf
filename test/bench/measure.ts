// Measurements the benchmarks share: CPU seconds of processes (ours and the stack's servers, from
// /proc) and how far a consumer group has committed.
import { readdirSync, readFileSync } from 'node:fs';
import type { Kafka } from 'kafkajs';

/** CPU seconds (user + system) a process has used so far. */
export function cpuSeconds(pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return 0;
  }
}

/** CPU seconds used so far by each program of the machine (the stack's servers by name). */
export function machineCpu(): Map<string, number> {
  const out = new Map<string, number>();
  for (const pid of readdirSync('/proc').filter((name) => /^\d+$/.test(name))) {
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
      const name = /elasticsearch/.test(cmd)
        ? 'elasticsearch'
        : /kafka\.Kafka|kafka-server/.test(cmd)
          ? 'kafka'
          : /zookeeper/i.test(cmd)
            ? 'zookeeper'
            : /canal/i.test(cmd)
              ? 'canal'
              : /mariadbd|mysqld/.test(cmd)
                ? 'mariadb'
                : /redis-server/.test(cmd)
                  ? 'redis'
                  : /sluice\.js ingest/.test(cmd)
                    ? 'sluice ingest'
                    : /sluice\.js worker/.test(cmd)
                      ? 'sluice worker'
                      : 'other';
      out.set(name, (out.get(name) ?? 0) + cpuSeconds(Number(pid)));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

export function cpuSince(before: Map<string, number>): Record<string, number> {
  const after = machineCpu();
  const out: Record<string, number> = {};
  for (const [name, seconds] of after) {
    // a process that started during the run counts whole
    const used = seconds - (before.get(name) ?? 0);
    if (used > 0.05) out[name] = Math.round(used * 10) / 10;
  }
  return out;
}

/** Messages the group has committed over the topic's partitions. */
export async function committed(kafka: Kafka, group: string, topic: string): Promise<number> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const [offsets] = await admin.fetchOffsets({ groupId: group, topics: [topic] });
    return (offsets?.partitions ?? []).reduce((sum, p) => sum + Math.max(0, Number(p.offset)), 0);
  } finally {
    await admin.disconnect();
  }
}

/** The settings of a benchmark's own deployment (topic, group, cluster, prefixes, metadata database). */
export function benchEnv(
  id: string,
  topic: string,
  metaUrl: string,
  extra: Record<string, string> = {},
): Record<string, string> {
  return {
    SLUICE_KAFKA_TOPICS: topic,
    SLUICE_KAFKA_GROUP: `${id}-ingest`,
    SLUICE_KAFKA_FROM_BEGINNING: 'true',
    SLUICE_CLUSTER: id.replaceAll('_', '-'),
    SLUICE_REDIS_PREFIX: id,
    SLUICE_META_MYSQL_URL: metaUrl,
    SLUICE_ES_INDEX_PREFIX: `${id.replaceAll('_', '-')}-`,
    SLUICE_ES_REPLICAS: '0',
    ...extra,
  };
}

/** Produces `count` messages of a generator to the topic (acks all), in batches of 5,000. */
export async function produceBacklog(
  kafka: Kafka,
  topic: string,
  next: () => { partition: number; key: string; value: string },
  count: number,
): Promise<void> {
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  try {
    for (let sent = 0; sent < count; ) {
      const size = Math.min(5000, count - sent);
      const batch = Array.from({ length: size }, next);
      await producer.sendBatch({
        acks: -1,
        topicMessages: [
          { topic, messages: batch.map((m) => ({ partition: m.partition, key: m.key, value: m.value })) },
        ],
      });
      sent += size;
    }
  } finally {
    await producer.disconnect();
  }
}
