// One session with a Canal server over its TCP protocol, as `sluice relay` uses it:
//
//   open: TCP connect → server Handshake (version 1, a seed) → ClientAuth (user, the scrambled
//         password as hex text, idle timeouts) → Ack → Sub (destination, client id, filter) → Ack
//         → ClientRollback(0), so batches handed out before (to this client id, on any earlier
//         connection) and never acknowledged are served again from the first one;
//   get:  Get without auto-ack → Messages (batch id, raw Entry bytes; id -1 = nothing new), or an
//         Ack carrying an error;
//   ack:  ClientAck of the oldest batch not acknowledged yet (Canal refuses any other order); the
//         server answers nothing on success, so an error arrives in place of the next reply.
//
// The session is strictly one request at a time, as Canal's own client is. It does not reconnect
// by itself: any failure closes it, and the caller opens a new one (which rolls back, so nothing
// got and not acknowledged is lost). About the filter: a non-empty one replaces the destination's
// own filter inside the running server, and Canal filters while it parses, so events it parsed
// before a change of filter are not parsed again: keep it constant, or leave it empty.
import { createConnection, type Socket } from 'node:net';
import {
  ackError,
  decodePacket,
  encodePacket,
  FrameReader,
  frame,
  type Packet,
  PacketType,
  TimeUnit,
} from './protocol.ts';
import { scramblePassword } from './scramble.ts';

export interface CanalClientOptions {
  /** host:port of Canal's client server (canal.port, 11111 by default). */
  address: string;
  destination: string;
  /** Canal keeps one position per client id; the Kafka-mode starter uses 1001. */
  clientId?: string;
  username?: string;
  password?: string;
  /** Table filter of the subscription; '' keeps the destination's own (see the file comment). */
  filter?: string;
  /** Size of one batch: entries, or memunit blocks when the server's batch mode is MEMSIZE. */
  fetchSize?: number;
  /** How long the server waits for a full batch before returning what it has. */
  getTimeoutMs?: number;
  /** The server closes a connection without a request for this long. */
  idleTimeoutMs?: number;
  connectTimeoutMs?: number;
  /** Extra wait for a reply beyond the get timeout before the session is declared dead. */
  replyTimeoutMs?: number;
  /** Sees every packet (without its length prefix), for capturing fixtures and debugging. */
  onPacket?: (direction: 'in' | 'out', packet: Buffer) => void;
}

/** An error Canal's server reported (an Ack with a non-zero code). */
export class CanalServerError extends Error {
  readonly code: number;
  readonly during: string;

  constructor(code: number, message: string, during: string) {
    super(`Canal refused ${during}: ${message} (code ${code})`);
    this.name = 'CanalServerError';
    this.code = code;
    this.during = during;
  }
}

/** The connection broke, timed out, or the server said something the protocol does not allow. */
export class CanalConnectionError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'CanalConnectionError';
  }
}

export interface CanalBatch {
  /** Canal's batch id; -1 when nothing was waiting. */
  id: number;
  /** The batch's entries, as the Entry bytes Canal sent. */
  entries: Buffer[];
}

const DEFAULTS = {
  clientId: '1001',
  username: '',
  password: '',
  filter: '',
  fetchSize: 1000,
  getTimeoutMs: 200,
  idleTimeoutMs: 5 * 60_000,
  connectTimeoutMs: 10_000,
  replyTimeoutMs: 30_000,
};

type Settings = Required<Omit<CanalClientOptions, 'onPacket'>> & Pick<CanalClientOptions, 'onPacket'>;

function parseAddress(address: string): { host: string; port: number } {
  const at = address.lastIndexOf(':');
  const port = Number(address.slice(at + 1));
  if (at <= 0 || !Number.isInteger(port) || port <= 0 || port > 65535)
    throw new Error(`Canal address '${address}' is not host:port`);
  return { host: address.slice(0, at).replace(/^\[|\]$/g, ''), port };
}

export class CanalSession {
  private readonly reader = new FrameReader();
  private readonly arrived: Buffer[] = [];
  private waiter: { resolve: (packet: Buffer) => void; reject: (error: Error) => void } | undefined;
  private failure: Error | undefined;
  private busy = false;
  private readonly socket: Socket;
  private readonly options: Settings;
  /** Sees every packet (set from the options; may be changed at any time). */
  onPacket: CanalClientOptions['onPacket'];

  private constructor(socket: Socket, options: Settings) {
    this.socket = socket;
    this.options = options;
    this.onPacket = options.onPacket;
    socket.on('data', (chunk: Buffer) => {
      let packets: Buffer[];
      try {
        packets = this.reader.push(chunk);
      } catch (error) {
        this.fail(new CanalConnectionError((error as Error).message));
        return;
      }
      for (const packet of packets) {
        this.onPacket?.('in', packet);
        if (this.waiter) {
          const { resolve } = this.waiter;
          this.waiter = undefined;
          resolve(packet);
        } else this.arrived.push(packet);
      }
    });
    socket.on('error', (error) =>
      this.fail(new CanalConnectionError(`Canal connection: ${error.message}`, { cause: error })),
    );
    socket.on('close', () => this.fail(new CanalConnectionError('the Canal server closed the connection')));
  }

  /** Connects, authenticates, subscribes and rolls back what an earlier session left unacknowledged. */
  static async open(options: CanalClientOptions): Promise<CanalSession> {
    const settings = { ...DEFAULTS, ...options };
    const { host, port } = parseAddress(settings.address);
    const socket = await new Promise<Socket>((resolve, reject) => {
      const s = createConnection({ host, port, noDelay: true });
      const timer = setTimeout(() => {
        s.destroy();
        reject(
          new CanalConnectionError(
            `no connection to Canal at ${settings.address} within ${settings.connectTimeoutMs} ms`,
          ),
        );
      }, settings.connectTimeoutMs);
      s.once('connect', () => {
        clearTimeout(timer);
        resolve(s);
      });
      s.once('error', (error) => {
        clearTimeout(timer);
        reject(
          new CanalConnectionError(`cannot connect to Canal at ${settings.address}: ${error.message}`, {
            cause: error,
          }),
        );
      });
    });
    const session = new CanalSession(socket, settings);
    try {
      await session.handshake();
      return session;
    } catch (error) {
      session.close();
      throw error;
    }
  }

  private async handshake(): Promise<void> {
    const { options } = this;
    const hello = await this.read(options.connectTimeoutMs, 'the handshake');
    if (hello.type !== PacketType.HANDSHAKE)
      throw new CanalConnectionError(`expected Canal's handshake, got packet type ${hello.type}`);
    if (hello.version !== undefined && hello.version !== 1)
      throw new CanalConnectionError(`Canal protocol version ${hello.version} is not supported (1 is)`);
    const seed = hello.body.seeds as Buffer;
    const password = options.password === '' ? '' : scramblePassword(options.password, seed);
    this.write(PacketType.CLIENTAUTHENTICATION, {
      username: options.username,
      password: Buffer.from(password, 'utf8'),
      netReadTimeout: options.idleTimeoutMs,
      netWriteTimeout: options.idleTimeoutMs,
    });
    await this.expectAck(options.connectTimeoutMs, 'the authentication');
    this.write(PacketType.SUBSCRIPTION, {
      destination: options.destination,
      clientId: options.clientId,
      filter: options.filter,
    });
    await this.expectAck(options.connectTimeoutMs, `the subscription to ${options.destination}`);
    this.rollback(0);
  }

  /**
   * The next batch, not acknowledged: waits up to the get timeout for a full batch, then returns what
   * the server has (id -1 and no entries when nothing).
   */
  async get(): Promise<CanalBatch> {
    const { options } = this;
    this.write(PacketType.GET, {
      destination: options.destination,
      clientId: options.clientId,
      fetchSize: options.fetchSize,
      timeout: options.getTimeoutMs,
      unit: TimeUnit.MILLISECONDS,
      autoAck: false,
    });
    const reply = await this.read(options.getTimeoutMs + options.replyTimeoutMs, 'a batch');
    const error = ackError(reply);
    if (error)
      throw new CanalServerError(error.code, error.message, 'a get (or the acknowledgement before it)');
    if (reply.type !== PacketType.MESSAGES)
      throw new CanalConnectionError(`expected a batch from Canal, got packet type ${reply.type}`);
    const id = Number(reply.body.batchId);
    const entries = (reply.body.messages as Buffer[] | undefined) ?? [];
    return { id, entries: id === -1 ? [] : entries };
  }

  /** Acknowledges a batch (the oldest one not acknowledged). Canal answers only when it refuses. */
  ack(batchId: number): void {
    const { options } = this;
    this.write(PacketType.CLIENTACK, {
      destination: options.destination,
      clientId: options.clientId,
      batchId,
    });
  }

  /** Hands a batch back (0: every batch not acknowledged): the next gets serve it again. */
  rollback(batchId = 0): void {
    const { options } = this;
    this.write(PacketType.CLIENTROLLBACK, {
      destination: options.destination,
      clientId: options.clientId,
      batchId,
    });
  }

  /** Why the session ended, once it has. */
  get error(): Error | undefined {
    return this.failure;
  }

  close(): void {
    this.fail(new CanalConnectionError('the session was closed'));
  }

  private write(type: number, body: Record<string, unknown>): void {
    if (this.failure) throw this.failure;
    const packet = encodePacket(type, body);
    this.onPacket?.('out', packet);
    this.socket.write(frame(packet));
  }

  private async expectAck(timeoutMs: number, during: string): Promise<void> {
    const reply = await this.read(timeoutMs, during);
    if (reply.type !== PacketType.ACK)
      throw new CanalConnectionError(`expected an Ack for ${during}, got packet type ${reply.type}`);
    const error = ackError(reply);
    if (error) throw new CanalServerError(error.code, error.message, during);
  }

  private async read(timeoutMs: number, what: string): Promise<Packet> {
    if (this.busy) throw new Error('CanalSession: one request at a time');
    this.busy = true;
    try {
      const bytes = await this.nextPacket(timeoutMs, what);
      try {
        return decodePacket(bytes);
      } catch (error) {
        const failure = new CanalConnectionError(
          `undecodable packet from Canal: ${(error as Error).message}`,
        );
        this.fail(failure);
        throw failure;
      }
    } finally {
      this.busy = false;
    }
  }

  private nextPacket(timeoutMs: number, what: string): Promise<Buffer> {
    const ready = this.arrived.shift();
    if (ready) return Promise.resolve(ready);
    if (this.failure) return Promise.reject(this.failure);
    return new Promise<Buffer>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiter = undefined;
        const failure = new CanalConnectionError(`no answer from Canal for ${what} within ${timeoutMs} ms`);
        this.fail(failure);
        reject(failure);
      }, timeoutMs);
      this.waiter = {
        resolve: (packet) => {
          clearTimeout(timer);
          resolve(packet);
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      };
    });
  }

  private fail(error: Error): void {
    if (this.failure) return;
    this.failure = error;
    this.socket.destroy();
    const waiter = this.waiter;
    this.waiter = undefined;
    waiter?.reject(error);
  }
}
