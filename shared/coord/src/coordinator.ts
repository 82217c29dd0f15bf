// A worker's view of the cluster. It registers the worker, and while it is the leader (lowest live
// member) it keeps the assignment balanced and sticky, written with a version check so two leaders
// can never both win. Every member watches the assignment (one-shot watches, re-armed) and emits
// 'assignment' when the epoch changes. verify(shard) is the check a flush makes before each write.
//
// Events: 'assignment' (Assignment), 'rejoined' (after a new session registered again).
import { EventEmitter } from 'node:events';
import { errorMessage, FencedError } from '@sluice/core';
import type { Logger } from 'pino';
import {
  type Assignment,
  computeAssignment,
  decodeAssignment,
  emptyAssignment,
  encodeAssignment,
  shardsOf,
} from './assignment.ts';
import { listMembers, type Member, type MemberInfo, memberIds, register } from './membership.ts';
import type { ClusterPaths } from './paths.ts';
import { CreateMode, isZkError, ZkException, type ZkSession } from './zk.ts';

export interface CoordinatorOptions {
  zk: ZkSession;
  paths: ClusterPaths;
  info: MemberInfo;
  shards: number;
  logger: Logger;
  /** Runs each time this member becomes the leader (e.g. to make sure every shard has its scheduler). */
  onLeadership?: () => Promise<void>;
}

export class Coordinator extends EventEmitter {
  private readonly options: CoordinatorOptions;
  private node: string | undefined;
  private assignment: Assignment | undefined;
  private members: Member[] = [];
  private leader = false;
  private stopped = false;
  private membersBusy: Promise<void> = Promise.resolve();

  constructor(options: CoordinatorOptions) {
    super();
    this.options = options;
    options.zk.on('session', () => {
      void this.rejoin().catch((error: unknown) =>
        options.logger.error({ err: error }, 'could not rejoin the cluster'),
      );
    });
  }

  get id(): string {
    return this.options.info.id;
  }

  async start(): Promise<void> {
    await this.options.zk.mkdirp(this.options.paths.root);
    this.node = await register(this.options.zk, this.options.paths, this.options.info);
    this.options.logger.info({ member: this.node, id: this.id }, 'joined the cluster');
    await this.refreshMembers();
    await this.watchAssignment();
  }

  private async rejoin(): Promise<void> {
    if (this.stopped) return;
    this.leader = false;
    this.node = await register(this.options.zk, this.options.paths, this.options.info);
    this.options.logger.warn({ member: this.node }, 'rejoined the cluster with a new session');
    await this.refreshMembers();
    await this.watchAssignment();
    this.emit('rejoined');
  }

  /** Serialised: watch callbacks may fire while a refresh is running. */
  private refreshMembers(): Promise<void> {
    this.membersBusy = this.membersBusy
      .then(() => this.readMembers())
      .catch((error: unknown) => {
        this.options.logger.warn({ err: error }, 'reading the members failed; retrying');
        if (!this.stopped) setTimeout(() => void this.refreshMembers(), 500).unref();
      });
    return this.membersBusy;
  }

  private async readMembers(): Promise<void> {
    if (this.stopped) return;
    const watch = () => {
      void this.refreshMembers();
    };
    this.members = await listMembers(this.options.zk, this.options.paths, watch);
    const wasLeader = this.leader;
    this.leader = this.members[0]?.node === this.node;
    if (!this.leader) return;
    if (!wasLeader) {
      this.options.logger.info({ member: this.node }, 'this worker is the leader');
      await this.options.onLeadership?.();
    }
    await this.rebalance(memberIds(this.members));
  }

  /** Leader only: writes the next assignment if the membership changed it (version-checked). */
  private async rebalance(ids: string[]): Promise<void> {
    const { zk, paths, shards, logger } = this.options;
    for (let attempt = 1; attempt <= 10; attempt++) {
      let current: { data: Buffer | undefined; stat: { version: number } };
      try {
        current = await zk.getData(paths.assignment);
      } catch (error) {
        if (!isZkError(error, ZkException.NO_NODE)) throw error;
        await zk
          .create(paths.assignment, encodeAssignment(emptyAssignment(shards)), CreateMode.PERSISTENT)
          .catch((e: unknown) => {
            if (!isZkError(e, ZkException.NODE_EXISTS)) throw e;
          });
        continue;
      }
      const previous = decodeAssignment(current.data, shards);
      const next = computeAssignment(previous, ids);
      if (next.epoch === previous.epoch) return;
      try {
        await zk.setData(
          paths.assignment,
          encodeAssignment(next, { leader: this.id, members: ids, updatedAt: new Date().toISOString() }),
          current.stat.version,
        );
        logger.info({ epoch: next.epoch, members: ids.length }, 'assignment written');
        return;
      } catch (error) {
        if (!isZkError(error, ZkException.BAD_VERSION)) throw error;
      }
    }
    throw new Error('the assignment kept changing under the leader (10 version conflicts)');
  }

  private async watchAssignment(): Promise<void> {
    if (this.stopped) return;
    try {
      const { data } = await this.options.zk.getData(this.options.paths.assignment, () => {
        void this.watchAssignment();
      });
      const next = decodeAssignment(data, this.options.shards);
      if (!this.assignment || next.epoch !== this.assignment.epoch) {
        this.assignment = next;
        this.emit('assignment', next);
      }
    } catch (error) {
      // Not written yet by a leader, or a transient failure: look again shortly.
      if (!isZkError(error, ZkException.NO_NODE)) {
        this.options.logger.warn({ err: error }, 'reading the assignment failed; retrying');
      }
      setTimeout(() => void this.watchAssignment(), 500).unref();
    }
  }

  current(): Assignment | undefined {
    return this.assignment;
  }

  owned(): number[] {
    return this.assignment ? shardsOf(this.assignment, this.id) : [];
  }

  isLeader(): boolean {
    return this.leader;
  }

  /** False while the session cannot be proven alive (the worker self-fences). */
  isFresh(): boolean {
    return this.options.zk.isFresh();
  }

  /**
   * Before a write: the session is fresh (self-fencing) and the assignment as ZooKeeper holds it now
   * still gives the shard to this member. Throws a FencedError otherwise.
   */
  async verify(shard: number): Promise<void> {
    if (!this.options.zk.isFresh()) throw new FencedError('the ZooKeeper session is not known to be alive');
    let assignment: Assignment;
    try {
      const { data } = await this.options.zk.getData(this.options.paths.assignment);
      assignment = decodeAssignment(data, this.options.shards);
    } catch (error) {
      throw new FencedError(`cannot read the assignment: ${errorMessage(error)}`);
    }
    const owner = assignment.owners[shard];
    if (owner !== this.id)
      throw new FencedError(`shard ${shard} belongs to ${owner || 'nobody'} at epoch ${assignment.epoch}`);
  }

  /** Leaves the cluster: the member node goes with the session, and the leader reassigns at once. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.node) {
      await this.options.zk.remove(`${this.options.paths.members}/${this.node}`).catch(() => undefined);
    }
    this.options.zk.close();
  }
}
