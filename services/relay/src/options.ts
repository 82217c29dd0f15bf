// The relay's options step: public settings → the relay's own fully required options.
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { requiredSetting, type SettingValues } from '@sluice/config';
import { type Durability, relayLeaseKey } from '@sluice/source';
import type { RelayOptions } from './relay.ts';

export const RELAY_HTTP_PORT = 9403;

export interface RelayServiceOptions {
  relay: RelayOptions;
  durability: Durability;
  maxLength: number;
  /** How often each stream is trimmed and its unacknowledged entries counted. */
  trimMs: number;
  /** How often the stream Redis's durability is checked again (it may be reconfigured live). */
  durabilityCheckMs: number;
  http: { host: string; port: number };
  forceExitMs: number;
}

export function compileRelayOptions(settings: SettingValues): RelayServiceOptions {
  const address = requiredSetting(settings, 'canalAddress', 'sluice relay');
  const layout = {
    prefix: settings.redisPrefix,
    cluster: settings.cluster,
    partitions: settings.streamPartitions,
  };
  return {
    relay: {
      canal: {
        address,
        destination: settings.canalDestination,
        clientId: settings.canalClientId,
        username: settings.canalUser,
        password: settings.canalPassword,
        filter: settings.canalFilter,
        fetchSize: settings.canalBatchSize,
        getTimeoutMs: settings.canalGetTimeoutMs,
      },
      layout,
      source: settings.canalDestination,
      lease: {
        key: relayLeaseKey(layout, settings.canalDestination),
        holder: `${hostname()}-${process.pid}-${randomUUID().slice(0, 8)}`,
        ttlMs: 10_000,
      },
      waitReplicas: settings.relayWaitReplicas,
      waitTimeoutMs: 5000,
      retryMaxMs: settings.retryBackoffMaxMs,
    },
    durability: settings.relayDurability,
    maxLength: settings.streamMaxLength,
    trimMs: 1000,
    durabilityCheckMs: 10_000,
    http: { host: settings.httpHost, port: settings.httpPort ?? RELAY_HTTP_PORT },
    forceExitMs: settings.drainTimeoutMs + 5000,
  };
}
