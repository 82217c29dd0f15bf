// The cluster's membership and assignment as ZooKeeper holds them, read for the status page.
import { type ClusterPaths, decodeAssignment, listMembers, type ZkSession } from '@sluice/coord';
import type { ClusterSources, MemberLike } from './cluster.ts';

export function zookeeperSources(
  zk: ZkSession,
  paths: ClusterPaths,
  shards: number,
): Pick<ClusterSources, 'members' | 'assignment'> {
  return {
    members: async () => {
      if (!(await zk.exists(paths.members))) return [];
      const seen = new Set<string>();
      const members: MemberLike[] = [];
      // In sequence order (the leader first); a member re-registered by a new session appears once.
      for (const { info } of await listMembers(zk, paths)) {
        if (seen.has(info.id)) continue;
        seen.add(info.id);
        members.push(info);
      }
      return members;
    },
    assignment: async () => {
      const node = await zk.exists(paths.assignment);
      return decodeAssignment(node ? (await zk.getData(paths.assignment)).data : undefined, shards);
    },
  };
}
