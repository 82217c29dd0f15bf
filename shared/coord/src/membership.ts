// Worker membership: one EPHEMERAL_SEQUENTIAL node per worker under members/, holding who it is.
// The member with the lowest sequence number is the leader. A member id is stable for the life of
// the process, so re-registering after a session expiry keeps its shards (the assignment is sticky).
import type { ClusterPaths } from './paths.ts';
import { sequenceOf } from './paths.ts';
import { CreateMode, isZkError, ZkException, type ZkSession } from './zk.ts';

export interface MemberInfo {
  id: string;
  host: string;
  pid: number;
  startTime: number;
  version: string;
  httpPort?: number;
}

export interface Member {
  node: string;
  sequence: number;
  info: MemberInfo;
  /** Session that owns the node (hex). */
  owner: string;
}

export async function listMembers(
  zk: ZkSession,
  paths: ClusterPaths,
  watcher?: () => void,
): Promise<Member[]> {
  const nodes = await zk.getChildren(paths.members, watcher);
  const members: Member[] = [];
  for (const node of nodes) {
    try {
      const { data, stat } = await zk.getData(`${paths.members}/${node}`);
      members.push({
        node,
        sequence: sequenceOf(node),
        info: JSON.parse(data?.toString('utf8') ?? '{}') as MemberInfo,
        owner: stat.ephemeralOwner.toString('hex'),
      });
    } catch (error) {
      if (!isZkError(error, ZkException.NO_NODE)) throw error;
    }
  }
  return members.sort((a, b) => a.sequence - b.sequence);
}

/** Live member ids in leadership order; a member registered twice (old session) counts once. */
export function memberIds(members: readonly Member[]): string[] {
  const seen = new Set<string>();
  const ids: string[] = [];
  for (const m of members) {
    if (seen.has(m.info.id)) continue;
    seen.add(m.info.id);
    ids.push(m.info.id);
  }
  return ids;
}

/**
 * Registers this process; removes a node of its own left from an older session (its ephemeralOwner
 * is not the current session), which would otherwise linger until the server expires that session.
 */
export async function register(zk: ZkSession, paths: ClusterPaths, info: MemberInfo): Promise<string> {
  await zk.mkdirp(paths.members);
  const session = zk.sessionId();
  for (const member of await listMembers(zk, paths)) {
    if (member.info.id === info.id && member.owner !== session) {
      await zk.remove(`${paths.members}/${member.node}`).catch((error: unknown) => {
        if (!isZkError(error, ZkException.NO_NODE)) throw error;
      });
    }
  }
  const path = await zk.create(
    paths.memberPrefix,
    Buffer.from(JSON.stringify(info)),
    CreateMode.EPHEMERAL_SEQUENTIAL,
  );
  return path.slice(path.lastIndexOf('/') + 1);
}
