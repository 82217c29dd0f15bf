// What the worker's HTTP endpoint reports: liveness, readiness (with reasons) and /status. The
// endpoint starts before the worker joins its cluster (its port goes into the member record), so
// the cluster's parts are attached once they exist; until then the worker reports "not joined".
import type { ShardStats } from '@sluice/buffer';
import type { Coordinator } from '@sluice/coord';
import type { HealthSource, Lifecycle } from '@sluice/runtime';
import type { ShardManager } from './shard-manager.ts';

export interface JoinedCluster {
  manager: Pick<ShardManager, 'owned' | 'isFenced'>;
  coordinator?: Pick<Coordinator, 'isLeader' | 'current'>;
}

export interface WorkerStatusDeps {
  workerId: string;
  lifecycle: Pick<Lifecycle, 'state'>;
  flushing: () => number[];
  stats: (shards: number[]) => Promise<ShardStats[]>;
  /** Why dependencies make the worker unready (DependencyProbes.reasons); none when all answer. */
  dependencies: () => string[];
}

export class WorkerStatus implements HealthSource {
  private readonly deps: WorkerStatusDeps;
  private cluster: JoinedCluster | undefined;

  constructor(deps: WorkerStatusDeps) {
    this.deps = deps;
  }

  attach(cluster: JoinedCluster): void {
    this.cluster = cluster;
  }

  /** The shards owned now; none before joining. */
  owned(): number[] {
    return this.cluster?.manager.owned() ?? [];
  }

  live(): boolean {
    return this.deps.lifecycle.state !== 'failed';
  }

  ready(): { ready: boolean; reasons: string[] } {
    const { state } = this.deps.lifecycle;
    const reasons = state === 'running' ? [] : [`state ${state}`];
    if (!this.cluster) reasons.push('not joined to the cluster yet');
    else if (this.cluster.manager.isFenced()) reasons.push('self-fenced: membership not proven');
    reasons.push(...this.deps.dependencies());
    return { ready: reasons.length === 0, reasons };
  }

  async status(): Promise<unknown> {
    const owned = this.owned();
    return {
      service: 'worker',
      workerId: this.deps.workerId,
      state: this.deps.lifecycle.state,
      fenced: this.cluster?.manager.isFenced() ?? false,
      leader: this.cluster?.coordinator?.isLeader() ?? false,
      epoch: this.cluster?.coordinator?.current()?.epoch ?? null,
      owned,
      flushing: this.deps.flushing(),
      shards: await this.deps.stats(owned),
    };
  }
}
