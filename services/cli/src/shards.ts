// `sluice shards`: shard → owner, members, epoch, and per-shard pending depth and age, read from
// ZooKeeper and Redis. The same data is at /sluice/<cluster>/members and /sluice/<cluster>/assignment
// for any ZooKeeper client (see the README).

import { requiredSetting } from '@sluice/config';
import { clusterPaths, decodeAssignment, listMembers } from '@sluice/coord';
import { shardLabel } from '@sluice/core';
import { bufferOn, CloseList, openBufferRedis, zkSession } from '@sluice/wiring';
import type { Command } from 'commander';
import { cliLogger, settingsOf } from './context.ts';

export interface ShardsReport {
  cluster: string;
  epoch: number;
  leader: string | null;
  members: Array<{
    node: string;
    id: string;
    host: string;
    pid: number;
    ageSeconds: number;
    httpPort?: number;
    shards: number[];
  }>;
  shards: Array<{
    shard: number;
    owner: string | null;
    pending: number;
    delayed: number;
    oldestAgeSeconds: number | null;
  }>;
}

export async function shardsReport(command: Command): Promise<ShardsReport> {
  const settings = settingsOf(command);
  const zkConnect = requiredSetting(settings, 'zkConnect', 'shards');
  const opened = new CloseList();
  try {
    const zk = zkSession({ ...settings, zkConnect }, cliLogger());
    await zk.connect();
    opened.onStop('zookeeper', () => zk.close());
    const buffer = bufferOn(await openBufferRedis(settings, opened, { name: 'cli' }), settings);
    const paths = clusterPaths(settings.cluster);
    const members = (await zk.exists(paths.members)) ? await listMembers(zk, paths) : [];
    const node = await zk.exists(paths.assignment);
    const assignment = decodeAssignment(
      node ? (await zk.getData(paths.assignment)).data : undefined,
      settings.shards,
    );
    const stats = await buffer.stats();
    const now = Date.now();
    return {
      cluster: settings.cluster,
      epoch: assignment.epoch,
      leader: members[0]?.info.id ?? null,
      members: members.map((m) => ({
        node: m.node,
        id: m.info.id,
        host: m.info.host,
        pid: m.info.pid,
        ageSeconds: Math.round((now - m.info.startTime) / 1000),
        ...(m.info.httpPort ? { httpPort: m.info.httpPort } : {}),
        shards: assignment.owners.flatMap((owner, shard) => (owner === m.info.id ? [shard] : [])),
      })),
      shards: stats.map((s) => ({
        shard: s.shard,
        owner: assignment.owners[s.shard] || null,
        pending: s.pending,
        delayed: s.delayed,
        oldestAgeSeconds:
          s.oldestBufferedAt === null ? null : Math.round((now - s.oldestBufferedAt) / 100) / 10,
      })),
    };
  } finally {
    await opened.close();
  }
}

function render(r: ShardsReport): string {
  const lines = [
    `cluster ${r.cluster}  epoch ${r.epoch}  leader ${r.leader ?? '(none)'}  members ${r.members.length}`,
    '',
  ];
  lines.push('MEMBER              ID                          HOST            PID      AGE    SHARDS');
  for (const m of r.members) {
    lines.push(
      `${m.node.padEnd(19)} ${m.id.padEnd(27)} ${m.host.padEnd(15)} ${String(m.pid).padEnd(8)} ${`${m.ageSeconds}s`.padEnd(6)} ${m.shards.map(shardLabel).join(',')}`,
    );
  }
  lines.push('', 'SHARD  OWNER                        PENDING   RETRYING  OLDEST');
  for (const s of r.shards) {
    const oldest = s.oldestAgeSeconds === null ? '-' : `${s.oldestAgeSeconds}s`;
    lines.push(
      `${shardLabel(s.shard).padEnd(6)} ${(s.owner ?? '(unowned)').padEnd(28)} ${String(s.pending).padEnd(9)} ${String(s.delayed).padEnd(9)} ${oldest}`,
    );
  }
  return lines.join('\n');
}

export function registerShardsCommand(program: Command): void {
  program
    .command('shards')
    .description('shard → owner, members, epoch, and per-shard pending depth and age (ZooKeeper + Redis)')
    .option('--json', 'machine-readable output')
    .option('--watch [seconds]', 'refresh every few seconds until interrupted')
    .action(async (options: { json?: boolean; watch?: string | boolean }, command: Command) => {
      const show = async () => {
        const report = await shardsReport(command);
        return options.json ? JSON.stringify(report, null, 2) : render(report);
      };
      if (!options.watch) {
        process.stdout.write(`${await show()}\n`);
        return;
      }
      const seconds = typeof options.watch === 'string' ? Number(options.watch) : 2;
      for (;;) {
        const text = await show();
        process.stdout.write(`\x1b[2J\x1b[H${new Date().toISOString()}\n${text}\n`);
        await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
      }
    });
}
