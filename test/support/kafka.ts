// Kafka on the stack for tests and benchmarks: clients, topics of their own, producing, and the state
// of a consumer group.
import {
  type Admin,
  AssignerProtocol,
  type Consumer,
  type EachMessagePayload,
  Kafka,
  logLevel,
} from 'kafkajs';
import { stack } from './stack.ts';
import { uniqueName, waitFor } from './wait.ts';

/** A kafkajs client on the stack's brokers, its own logging silenced. */
export function kafkaClient(clientId = 'sluice-test'): Kafka {
  return new Kafka({ clientId, brokers: stack().kafkaBrokers, logLevel: logLevel.NOTHING });
}

/**
 * A consumer of its own group that reads `topic` from its current end: every message published after
 * the call resolves is handed to `eachMessage`, one at a time in order per partition.
 */
export async function consumeFromEnd(
  name: string,
  topic: string,
  eachMessage: (payload: EachMessagePayload) => Promise<void>,
): Promise<Consumer> {
  const kafka = kafkaClient(`sluice-test-${name}`);
  const admin = kafka.admin();
  await admin.connect();
  const ends = await admin.fetchTopicOffsets(topic);
  await admin.disconnect();
  const consumer = kafka.consumer({ groupId: uniqueName(name), sessionTimeout: 10_000 });
  await consumer.connect();
  await consumer.subscribe({ topics: [topic], fromBeginning: false });
  let assigned = false;
  consumer.on(consumer.events.GROUP_JOIN, () => {
    for (const end of ends) consumer.seek({ topic, partition: end.partition, offset: end.offset });
    assigned = true;
  });
  await consumer.run({ eachMessage });
  await waitFor(`the ${name} consumer to join its group`, () => (assigned ? true : undefined), {
    timeoutMs: 30_000,
  });
  return consumer;
}

/** Runs `use` with a connected admin client, disconnected afterwards. */
export async function withAdmin<T>(use: (admin: Admin) => Promise<T>): Promise<T> {
  const admin = kafkaClient().admin();
  await admin.connect();
  try {
    return await use(admin);
  } finally {
    await admin.disconnect();
  }
}

/** Creates a topic (replication factor 1) and waits for the leaders of its partitions. */
export async function createTopic(topic: string, partitions: number): Promise<void> {
  await withAdmin(async (admin) => {
    await admin.createTopics({
      topics: [{ topic, numPartitions: partitions, replicationFactor: 1 }],
      waitForLeaders: true,
    });
  });
}

/** Deletes a topic; one that is already gone is no error. */
export async function deleteTopic(topic: string): Promise<void> {
  await withAdmin((admin) => admin.deleteTopics({ topics: [topic] }).catch(() => undefined));
}

export interface OutgoingMessage {
  value: string | Buffer | null;
  partition?: number;
}

/** Produces the messages in order, each acknowledged by every in-sync replica before the next. */
export async function produce(topic: string, messages: readonly OutgoingMessage[]): Promise<void> {
  const producer = kafkaClient().producer();
  await producer.connect();
  try {
    for (const message of messages) await producer.send({ topic, acks: -1, messages: [message] });
  } finally {
    await producer.disconnect();
  }
}

/**
 * Waits until the consumer group is stable with exactly `members` members and returns the partitions
 * of `topic` each member holds.
 */
export async function groupAssignment(
  admin: Admin,
  group: string,
  topic: string,
  members: number,
): Promise<number[][]> {
  return waitFor(`the group ${group} to be stable with ${members} member(s)`, async () => {
    const { groups } = await admin.describeGroups([group]);
    const found = groups[0];
    if (found?.state !== 'Stable' || found.members.length !== members) return undefined;
    return found.members.map((member) => {
      const decoded = AssignerProtocol.MemberAssignment.decode(member.memberAssignment);
      return decoded?.assignment[topic] ?? [];
    });
  });
}
