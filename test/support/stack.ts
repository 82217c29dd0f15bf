// Connection settings of the real local stack (deploy/local/stack.sh), for tests and tools.
// Read from SLUICE_* variables when set (npm test exports them); otherwise asked from `stack.sh env`,
// so a single test file can also be run on its own with `node --test <file>`.
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
export const stackScript = `${repoRoot}deploy/local/stack.sh`;

export interface StackSettings {
  kafkaBrokers: string[];
  kafkaTopic: string;
  redisUrl: string;
  zkConnect: string;
  esUrl: string;
  esMajor: 8 | 9;
  esCompatUrl: string;
  esCompatMajor: 8 | 9;
  metaMysqlUrl: string;
  sourceMysqlUrl: string;
  /** The Redis that holds the streams of the Redis Stream transport (AOF, fsync always). */
  streamRedisUrl: string;
  /** host:port of the TCP-mode Canal, and its destination. */
  canalTcpAddress: string;
  canalTcpDestination: string;
  /** host:port of every node of the Redis Cluster (`stack.sh up redis-cluster`: 3 masters, 3 replicas). */
  redisClusterNodes: string[];
}

function stackEnv(): Record<string, string> {
  const vars: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (key.startsWith('SLUICE_') && value !== undefined) vars[key] = value;
  }
  if (vars.SLUICE_KAFKA_BROKERS !== undefined) return vars;
  const text = execFileSync('bash', [stackScript, 'env'], { encoding: 'utf8' });
  for (const line of text.split('\n')) {
    const match = /^export (SLUICE_[A-Z0-9_]+)=(.*)$/.exec(line);
    if (match?.[1] !== undefined && match[2] !== undefined) vars[match[1]] = match[2];
  }
  return vars;
}

function required(vars: Record<string, string>, key: string): string {
  const value = vars[key];
  if (value === undefined || value === '') {
    throw new Error(`${key} is not set: start the stack with deploy/local/stack.sh up`);
  }
  return value;
}

function major(value: string, key: string): 8 | 9 {
  if (value === '8' || value === '9') return Number(value) as 8 | 9;
  throw new Error(`${key} must be 8 or 9, got '${value}'`);
}

let cached: StackSettings | undefined;

export function stack(): StackSettings {
  if (cached) return cached;
  const vars = stackEnv();
  cached = {
    kafkaBrokers: required(vars, 'SLUICE_KAFKA_BROKERS').split(','),
    kafkaTopic: required(vars, 'SLUICE_KAFKA_TOPICS').split(',')[0] ?? '',
    redisUrl: required(vars, 'SLUICE_REDIS_URL'),
    zkConnect: required(vars, 'SLUICE_ZK_CONNECT'),
    esUrl: required(vars, 'SLUICE_ES_URL'),
    esMajor: major(required(vars, 'SLUICE_ES_MAJOR'), 'SLUICE_ES_MAJOR'),
    esCompatUrl: required(vars, 'SLUICE_STACK_ES_COMPAT_URL'),
    esCompatMajor: major(required(vars, 'SLUICE_STACK_ES_COMPAT_MAJOR'), 'SLUICE_STACK_ES_COMPAT_MAJOR'),
    metaMysqlUrl: required(vars, 'SLUICE_META_MYSQL_URL'),
    sourceMysqlUrl: required(vars, 'SLUICE_SOURCE_MYSQL_URL'),
    streamRedisUrl: required(vars, 'SLUICE_STACK_STREAM_REDIS_URL'),
    canalTcpAddress: required(vars, 'SLUICE_STACK_CANAL_TCP_ADDRESS'),
    canalTcpDestination: required(vars, 'SLUICE_STACK_CANAL_TCP_DESTINATION'),
    redisClusterNodes: required(vars, 'SLUICE_STACK_REDIS_CLUSTER_NODES').split(','),
  };
  return cached;
}

/** The stack's connection settings as Sluice reads them (SLUICE_*), for a service or a `sluice` command. */
export function stackConnectionEnv(): Record<string, string> {
  const s = stack();
  return {
    SLUICE_KAFKA_BROKERS: s.kafkaBrokers.join(','),
    SLUICE_REDIS_URL: s.redisUrl,
    SLUICE_ES_URL: s.esUrl,
    SLUICE_META_MYSQL_URL: s.metaMysqlUrl,
  };
}
