// ZooKeeper: a session of this cluster.
import type { SettingValues } from '@sluice/config';
import { clusterPaths, ZkSession } from '@sluice/coord';
import type { Logger } from '@sluice/runtime';

/** A ZooKeeper session of this cluster (with its ACL root when a digest is set); not yet connected. */
export function zkSession(settings: SettingValues & { zkConnect: string }, logger: Logger): ZkSession {
  return new ZkSession({
    connect: settings.zkConnect,
    sessionTimeoutMs: settings.zkSessionTimeoutMs,
    ...(settings.zkDigest ? { digest: settings.zkDigest, aclRoot: clusterPaths(settings.cluster).root } : {}),
    logger: logger.child({ component: 'zookeeper' }),
  });
}
