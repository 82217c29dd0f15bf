// A ZooKeeper session for Sluice: promises with timeouts over node-zookeeper-client, a new client
// when the session expires (an expired client is unusable), and a freshness clock for self-fencing.
// node-zookeeper-client reports an expiry only after it reconnects, so the session counts as stale
// once no request has succeeded for two thirds of the session timeout (a probe runs every quarter):
// a partitioned or frozen process stops acting on its own clock, before the server expires it.
import { createHash } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { DependencyError } from '@sluice/core';
import zookeeper from 'node-zookeeper-client';
import type { Logger } from 'pino';

export type Stat = zookeeper.Stat;
export const CreateMode = zookeeper.CreateMode;
export const ZkException = zookeeper.Exception;

export interface ZkOptions {
  connect: string;
  sessionTimeoutMs: number;
  logger: Logger;
  /** Digest credentials "user:password": added to the session; nodes created at or below `aclRoot` get a digest ACL. */
  digest?: string;
  /** Where the digest ACL starts (the cluster root); parents above it stay open to other clusters. */
  aclRoot?: string;
}

type Callback<T> = (error: Error | zookeeper.Exception | null, value: T) => void;

export function isZkError(error: unknown, code: number): boolean {
  return (
    typeof error === 'object' &&
    error !== null &&
    'getCode' in error &&
    (error as zookeeper.Exception).getCode() === code
  );
}

export class ZkSession extends EventEmitter {
  private readonly options: ZkOptions;
  private client: zookeeper.Client | undefined;
  private lastOk = 0;
  private connected = false;
  private closed = false;
  private probe: NodeJS.Timeout | undefined;
  private acl: zookeeper.ACL[] | undefined;

  constructor(options: ZkOptions) {
    super();
    this.options = options;
    if (options.digest) {
      const [user] = options.digest.split(':');
      // The digest ACL id is base64(sha1("user:password")), as ZooKeeper's DigestAuthenticationProvider computes it.
      const hashed = `${user}:${createSha1Base64(options.digest)}`;
      this.acl = [new zookeeper.ACL(zookeeper.Permission.ALL, new zookeeper.Id('digest', hashed))];
    }
  }

  /** Connects (a new session); rejects with a DependencyError after the session timeout. */
  async connect(): Promise<void> {
    const client = zookeeper.createClient(this.options.connect, {
      sessionTimeout: this.options.sessionTimeoutMs,
      spinDelay: 500,
      retries: 0,
    });
    if (this.options.digest) client.addAuthInfo('digest', Buffer.from(this.options.digest));
    this.client = client;
    client.on('state', (state) => this.onState(client, state));
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        client.close();
        reject(
          new DependencyError(
            'ZooKeeper',
            this.options.connect,
            new Error(`no session within ${this.options.sessionTimeoutMs} ms`),
          ),
        );
      }, this.options.sessionTimeoutMs);
      client.once('connected', () => {
        clearTimeout(timer);
        resolve();
      });
      client.connect();
    });
    this.connected = true;
    this.lastOk = Date.now();
    if (!this.probe) {
      this.probe = setInterval(
        () => void this.ping(),
        Math.max(250, Math.floor(this.options.sessionTimeoutMs / 4)),
      );
      this.probe.unref();
    }
  }

  private onState(client: zookeeper.Client, state: zookeeper.State): void {
    if (client !== this.client || this.closed) return;
    const name = state.name;
    if (name === 'SYNC_CONNECTED' || name === 'CONNECTED_READ_ONLY') {
      this.connected = true;
      this.lastOk = Date.now();
      this.emit('connected');
    } else if (name === 'DISCONNECTED') {
      this.connected = false;
      this.options.logger.warn('ZooKeeper disconnected');
      this.emit('disconnected');
    } else if (name === 'EXPIRED') {
      this.connected = false;
      this.options.logger.warn('ZooKeeper session expired: opening a new session');
      this.emit('expired');
      client.close();
      void this.reopen();
    }
  }

  private async reopen(): Promise<void> {
    for (let attempt = 1; !this.closed; attempt++) {
      try {
        await this.connect();
        this.emit('session', this.sessionId());
        return;
      } catch (error) {
        this.options.logger.warn({ err: error, attempt }, 'ZooKeeper: new session failed, retrying');
        await new Promise((resolve) => setTimeout(resolve, Math.min(5000, 500 * attempt)));
      }
    }
  }

  private async ping(): Promise<void> {
    if (!this.connected) return;
    try {
      await this.exists('/');
    } catch {
      // freshness simply stops advancing
    }
  }

  /** Whether a request succeeded recently enough that the session is surely still alive. */
  isFresh(now = Date.now()): boolean {
    return this.connected && now - this.lastOk < (this.options.sessionTimeoutMs * 2) / 3;
  }

  sessionId(): string {
    return this.client?.getSessionId().toString('hex') ?? '';
  }

  private call<T>(what: string, fn: (client: zookeeper.Client, cb: Callback<T>) => void): Promise<T> {
    const client = this.client;
    if (!client || this.closed) return Promise.reject(new Error(`ZooKeeper ${what}: no session`));
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`ZooKeeper ${what} timed out after ${this.options.sessionTimeoutMs} ms`)),
        this.options.sessionTimeoutMs,
      );
      fn(client, (error, value) => {
        clearTimeout(timer);
        if (error) reject(error);
        else {
          this.lastOk = Date.now();
          resolve(value);
        }
      });
    });
  }

  create(path: string, data: Buffer, mode: number): Promise<string> {
    return this.call('create', (c, cb) => {
      const secured =
        this.acl &&
        (!this.options.aclRoot ||
          path === this.options.aclRoot ||
          path.startsWith(`${this.options.aclRoot}/`));
      if (secured && this.acl) c.create(path, data, this.acl, mode, cb);
      else c.create(path, data, mode, cb);
    });
  }

  async mkdirp(path: string): Promise<void> {
    let at = '';
    for (const part of path.split('/').filter(Boolean)) {
      at += `/${part}`;
      try {
        await this.create(at, Buffer.alloc(0), CreateMode.PERSISTENT);
      } catch (error) {
        if (!isZkError(error, ZkException.NODE_EXISTS)) throw error;
      }
    }
  }

  getData(
    path: string,
    watcher?: (event: zookeeper.Event) => void,
  ): Promise<{ data: Buffer | undefined; stat: Stat }> {
    return this.call('getData', (c, cb: Callback<{ data: Buffer | undefined; stat: Stat }>) => {
      const done = (error: Error | zookeeper.Exception | null, data: Buffer, stat: Stat) =>
        cb(error, { data, stat });
      if (watcher) c.getData(path, watcher, done);
      else c.getData(path, done);
    });
  }

  setData(path: string, data: Buffer, version: number): Promise<Stat> {
    return this.call('setData', (c, cb) => c.setData(path, data, version, cb));
  }

  getChildren(path: string, watcher?: (event: zookeeper.Event) => void): Promise<string[]> {
    return this.call('getChildren', (c, cb: Callback<string[]>) => {
      const done = (error: Error | zookeeper.Exception | null, children: string[]) => cb(error, children);
      if (watcher) c.getChildren(path, watcher, done);
      else c.getChildren(path, done);
    });
  }

  exists(path: string): Promise<Stat | null> {
    return this.call('exists', (c, cb: Callback<Stat | null>) =>
      c.exists(path, (error, stat) => cb(error, stat ?? null)),
    );
  }

  remove(path: string, version = -1): Promise<void> {
    return this.call('remove', (c, cb: Callback<void>) =>
      c.remove(path, version, (error) => cb(error, undefined)),
    );
  }

  /** Ends the session: its ephemeral nodes disappear at once. */
  close(): void {
    this.closed = true;
    this.connected = false;
    if (this.probe) clearInterval(this.probe);
    this.client?.close();
  }
}

function createSha1Base64(text: string): string {
  return createHash('sha1').update(text).digest('base64');
}
