// Where a cluster lives in ZooKeeper (readable with any ZooKeeper client):
//   /sluice/<cluster>/members/member-<seq>   one EPHEMERAL_SEQUENTIAL node per worker, JSON MemberInfo
//   /sluice/<cluster>/assignment             JSON { epoch, shards, owners: [member id per shard], … }

export interface ClusterPaths {
  root: string;
  members: string;
  memberPrefix: string;
  assignment: string;
}

export function clusterPaths(cluster: string, base = '/sluice'): ClusterPaths {
  const root = `${base}/${cluster}`;
  return {
    root,
    members: `${root}/members`,
    memberPrefix: `${root}/members/member-`,
    assignment: `${root}/assignment`,
  };
}

/** The sequence number ZooKeeper appended to a sequential node's name. */
export function sequenceOf(node: string): number {
  const match = /(\d{10})$/.exec(node);
  if (!match?.[1]) throw new Error(`'${node}' is not a sequential node name`);
  return Number(match[1]);
}
