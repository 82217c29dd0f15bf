import assert from 'node:assert/strict';
import { test } from 'node:test';
import kafkajs from 'kafkajs';
import { retriableKafkaError } from './kafka.ts';

const { KafkaJSNonRetriableError, KafkaJSNumberOfRetriesExceeded, KafkaJSProtocolError } = kafkajs;

test('group calls are retried while the coordinator is being elected, not when the group is busy', () => {
  // kafkajs builds protocol errors from its table of codes (16: NOT_COORDINATOR, retriable).
  const notCoordinator = new KafkaJSProtocolError(
    Object.assign(new Error('This is not the correct coordinator for this group'), {
      type: 'NOT_COORDINATOR',
      code: 16,
      retriable: true,
    }),
  );
  assert.equal(retriableKafkaError(notCoordinator), true);
  assert.equal(
    retriableKafkaError(
      new KafkaJSNumberOfRetriesExceeded(notCoordinator, { retryCount: 5, retryTime: 300 }),
    ),
    true,
    "kafkajs's own retries ran out on a retriable error",
  );
  const busy = new KafkaJSNonRetriableError('The consumer group must have no running instances');
  assert.equal(retriableKafkaError(busy), false);
  assert.equal(
    retriableKafkaError(new KafkaJSNumberOfRetriesExceeded(busy, { retryCount: 5, retryTime: 300 })),
    false,
  );
  assert.equal(retriableKafkaError(new Error('plain')), false);
  assert.equal(retriableKafkaError(null), false);
});
