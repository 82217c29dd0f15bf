// The shard assignment (pure). Balanced: every member owns ⌊S/M⌋ or ⌈S/M⌉ shards. Sticky: a
// membership change moves only the shards it must (those of members that left, and the surplus of
// members above their new quota). Deterministic: the same inputs give the same owners.

export interface Assignment {
  /** Grows by one every time an owner changes. */
  epoch: number;
  shards: number;
  /** Member id owning each shard (index = shard). */
  owners: string[];
}

export function emptyAssignment(shards: number): Assignment {
  return { epoch: 0, shards, owners: Array.from({ length: shards }, () => '') };
}

/**
 * @param previous the assignment in force (owners that are not live members count as orphans)
 * @param members  live member ids in leadership order (lowest sequence first)
 */
export function computeAssignment(previous: Assignment, members: readonly string[]): Assignment {
  const shards = previous.shards;
  if (members.length === 0)
    return {
      ...previous,
      owners: Array.from({ length: shards }, () => ''),
      epoch: previous.owners.some(Boolean) ? previous.epoch + 1 : previous.epoch,
    };
  const live = new Set(members);
  const held = new Map<string, number[]>(members.map((m) => [m, []]));
  const pool: number[] = [];
  previous.owners.forEach((owner, shard) => {
    const list = held.get(owner);
    if (list && live.has(owner)) list.push(shard);
    else pool.push(shard);
  });

  // Quotas: the members already holding the most keep the larger quota (fewer moves).
  const base = Math.floor(shards / members.length);
  let larger = shards % members.length;
  const order = [...members].sort(
    (a, b) =>
      (held.get(b)?.length ?? 0) - (held.get(a)?.length ?? 0) || members.indexOf(a) - members.indexOf(b),
  );
  const quota = new Map<string, number>();
  for (const member of order) {
    quota.set(member, base + (larger > 0 ? 1 : 0));
    if (larger > 0) larger--;
  }

  // Members above quota give up their highest shards.
  for (const member of members) {
    const list = held.get(member) as number[];
    const cap = quota.get(member) as number;
    while (list.length > cap) pool.push(list.pop() as number);
  }
  pool.sort((a, b) => a - b);

  // Members below quota take from the pool, in member order.
  for (const member of members) {
    const list = held.get(member) as number[];
    const cap = quota.get(member) as number;
    while (list.length < cap && pool.length > 0) list.push(pool.shift() as number);
  }

  const owners = Array.from({ length: shards }, () => '');
  for (const [member, list] of held) for (const shard of list) owners[shard] = member;
  const changed = owners.some((owner, shard) => owner !== previous.owners[shard]);
  return { epoch: changed ? previous.epoch + 1 : previous.epoch, shards, owners };
}

/** Shards a member owns in an assignment. */
export function shardsOf(assignment: Assignment, member: string): number[] {
  const out: number[] = [];
  assignment.owners.forEach((owner, shard) => {
    if (owner === member) out.push(shard);
  });
  return out;
}

/** How many shards changed owner between two assignments. */
export function movedShards(before: Assignment, after: Assignment): number {
  return after.owners.filter((owner, shard) => owner !== before.owners[shard]).length;
}

export function encodeAssignment(assignment: Assignment, extra: Record<string, unknown> = {}): Buffer {
  return Buffer.from(
    JSON.stringify({
      ...extra,
      epoch: assignment.epoch,
      shards: assignment.shards,
      owners: assignment.owners,
    }),
  );
}

export function decodeAssignment(data: Buffer | undefined | null, shards: number): Assignment {
  if (!data || data.length === 0) return emptyAssignment(shards);
  const parsed = JSON.parse(data.toString('utf8')) as Partial<Assignment>;
  if (
    typeof parsed.epoch !== 'number' ||
    !Array.isArray(parsed.owners) ||
    typeof parsed.shards !== 'number'
  ) {
    throw new Error('the assignment node does not hold {epoch, shards, owners}');
  }
  if (parsed.shards !== shards) {
    throw new Error(
      `the cluster runs ${parsed.shards} shards, this process is configured for ${shards} (SLUICE_SHARDS)`,
    );
  }
  return { epoch: parsed.epoch, shards: parsed.shards, owners: parsed.owners.map(String) };
}
