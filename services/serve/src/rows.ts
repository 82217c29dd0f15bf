// What `sluice serve` answers: a row by its table and id, read through the row cache. The id is the
// encoded primary key (core/pk.ts: the document _id, as `sluice check` prints it; `7~SKU%3A1` for a
// key of two columns), the row is the document Sluice indexes for it (typed by its MySQL types and
// projected by the mapping: the same conversion as ingest and the checker), so what an application
// reads here and what it finds in Elasticsearch are the same thing.
//
// Only tables the mapping indexes are served: ingest invalidates only the rows it buffers, so a row
// of another table would stay cached, unchanged, until its TTL.
import type { RowRef } from '@sluice/cache';
import { readRowsByIds, type TableShape, tableShape } from '@sluice/checker';
import { decodePk, type Mapping, type Row, splitTableKey } from '@sluice/core';
import type { Pool } from 'mysql2/promise';

/** A request that cannot be answered as asked (400) or names nothing served here (404). */
export class RowRequestError extends Error {
  override readonly name = 'RowRequestError';
  readonly status: 400 | 404;

  constructor(status: 400 | 404, message: string) {
    super(message);
    this.status = status;
  }
}

export interface RowRequest {
  database: string;
  table: string;
  /** "db.table" (core/shard.ts tableKey). */
  tableKey: string;
  id: string;
}

/** `/rows/<db>/<table>/<id>` → the row named; database and table are URL-encoded, the id is as encoded. */
export function parseRowPath(path: string): RowRequest {
  const parts = path.split('/');
  if (parts.length !== 5 || parts[1] !== 'rows' || parts.slice(2).some((p) => p === ''))
    throw new RowRequestError(
      400,
      'ask for /rows/<database>/<table>/<id> (the id as Sluice encodes the primary key)',
    );
  const [database, table] = [parts[2], parts[3]].map((p) => {
    try {
      return decodeURIComponent(p as string);
    } catch {
      throw new RowRequestError(400, `'${p}' is not URL-encoded text`);
    }
  }) as [string, string];
  const id = parts[4] as string;
  let values: string[] | undefined;
  try {
    values = decodePk(id);
  } catch (error) {
    throw new RowRequestError(400, `'${id}' is not an encoded primary key: ${(error as Error).message}`);
  }
  if (values === undefined)
    throw new RowRequestError(400, 'a hashed id (a key longer than 512 bytes) cannot be looked up');
  return { database, table, tableKey: `${database}.${table}`, id };
}

/** Reads rows from the source MySQL as documents, the table's columns and key read once per table. */
export class SourceRowReader {
  private readonly pool: Pool;
  private readonly mapping: Mapping;
  /** Per table: its shape, and the table guard it was read under. */
  private readonly shapes = new Map<string, { guard: string; shape: Promise<TableShape> }>();

  constructor(pool: Pool, mapping: Mapping) {
    this.pool = pool;
    this.mapping = mapping;
  }

  /** Refuses (RowRequestError) a request for a table not served, or an id of the wrong arity. */
  async check(request: RowRequest): Promise<void> {
    const route = this.mapping.route(request.database, request.table);
    if (route.action !== 'index')
      throw new RowRequestError(404, `${request.tableKey} is not indexed by the mapping`);
    const shape = await this.shapeOf(request.database, request.table, undefined);
    if ((decodePk(request.id) as string[]).length !== shape.pk.length)
      throw new RowRequestError(400, `${request.tableKey} has a primary key of ${shape.pk.length} column(s)`);
  }

  /**
   * The cache's loader: the row of a checked request as its document; null, no such row. The
   * table's shape is read again when the table guard differs from the one it was read under, so a
   * load after a DDL statement's invalidation never uses the columns from before it.
   */
  async load(ref: RowRef, seen: { tableGuard: string }): Promise<Row | null> {
    const { database, table } = splitTableKey(ref.table);
    const route = this.mapping.route(database, table);
    if (route.action !== 'index')
      throw new RowRequestError(404, `${ref.table} is not indexed by the mapping`);
    const shape = await this.shapeOf(database, table, seen.tableGuard);
    const { rows } = await readRowsByIds(this.pool, shape, route.mapping, [ref.pk]);
    return rows[0]?.doc ?? null;
  }

  /** The table's shape; read again if it was read under another table guard (undefined: any will do). */
  private shapeOf(database: string, table: string, guard: string | undefined): Promise<TableShape> {
    const key = `${database}.${table}`;
    const known = this.shapes.get(key);
    if (known && (guard === undefined || known.guard === guard)) return known.shape;
    const shape = tableShape(this.pool, database, table).catch((error: Error) => {
      if (this.shapes.get(key)?.shape === shape) this.shapes.delete(key);
      if (/does not exist|has no primary key/.test(error.message))
        throw new RowRequestError(404, error.message);
      throw error;
    });
    this.shapes.set(key, { guard: guard ?? known?.guard ?? '', shape });
    return shape;
  }
}
