// Sluice's indices are aliases. The name a mapping gives (`shop-orders`) is an alias with one physical
// index behind it (`shop-orders-sluice-1`, then `-sluice-2` after a reindex), so a table's index can be
// rebuilt into a new physical index and swapped in atomically (sluice reindex) while searches and
// writes keep using the one name. An index created before aliases (a concrete index under the name
// itself) keeps working as it is and becomes an alias on its first reindex.
import type { EsApi } from './client.ts';

const MARK = '-sluice-';

/** The n-th physical index behind an alias. */
export function physicalIndexName(alias: string, n: number): string {
  return `${alias}${MARK}${n}`;
}

/** The number of a physical index behind `alias`, or undefined when the name is not one of its. */
export function physicalNumber(alias: string, index: string): number | undefined {
  if (!index.startsWith(alias + MARK)) return undefined;
  const rest = index.slice(alias.length + MARK.length);
  return /^[1-9]\d*$/.test(rest) ? Number(rest) : undefined;
}

/** The patterns of an alias's index template: the name itself (a legacy index) and its physical indices. */
export function indexPatterns(alias: string): string[] {
  return [alias, `${alias}${MARK}*`];
}

/** What a name is in Elasticsearch now. */
export type IndexTarget =
  | { kind: 'missing' }
  /** A concrete index under the name (created before aliases, or by someone else). */
  | { kind: 'index' }
  | { kind: 'alias'; indices: string[]; writeIndex: string | undefined };

export async function resolveIndex(es: EsApi, name: string): Promise<IndexTarget> {
  const path = encodeURIComponent(name);
  const aliases = await es.request<
    Record<string, { aliases?: Record<string, { is_write_index?: boolean }> }>
  >({ method: 'GET', path: `/_alias/${path}` }, { ignore: [404] });
  if (aliases.statusCode === 200) {
    const indices = Object.keys(aliases.body).sort();
    if (indices.length > 0) {
      const write =
        indices.find((i) => aliases.body[i]?.aliases?.[name]?.is_write_index === true) ??
        (indices.length === 1 ? indices[0] : undefined);
      return { kind: 'alias', indices, writeIndex: write };
    }
  }
  const head = await es.request({ method: 'HEAD', path: `/${path}` }, { ignore: [404] });
  return head.statusCode === 200 ? { kind: 'index' } : { kind: 'missing' };
}

/**
 * Makes sure something answers to `name`: when nothing does, its first physical index is created
 * with the alias (and with `body`'s settings and mappings on top of its template). An existing alias
 * or concrete index is left as it is. Safe when several processes race: the losers find it created.
 */
export async function ensureAliasedIndex(
  es: EsApi,
  name: string,
  body: Record<string, unknown> = {},
): Promise<'created' | 'exists'> {
  const head = await es.request({ method: 'HEAD', path: `/${encodeURIComponent(name)}` }, { ignore: [404] });
  if (head.statusCode === 200) return 'exists';
  const created = await es.request<{ error?: { type?: string } }>(
    {
      method: 'PUT',
      path: `/${encodeURIComponent(physicalIndexName(name, 1))}`,
      body: { ...body, aliases: { [name]: { is_write_index: true } } },
    },
    { ignore: [400] },
  );
  if (created.statusCode !== 400) return 'created';
  const type = created.body.error?.type;
  // Someone else made the physical index, or a concrete index of the name, meanwhile.
  if (type === 'resource_already_exists_exception' || type === 'invalid_alias_name_exception')
    return 'exists';
  throw new Error(`creating index ${name} failed: ${JSON.stringify(created.body.error)}`);
}

/**
 * The one atomic request of a reindex's swap: `alias` moves to `to`, and what it named before only
 * loses the alias (searches already running on it finish; the caller deletes it afterwards). A legacy
 * index — a concrete index under the alias's own name — is deleted in the same request: the alias
 * takes its name, and the two cannot exist at once.
 */
export function swapActions(
  alias: string,
  to: string,
  from: { kind: 'missing' } | { kind: 'index' } | { kind: 'alias'; indices: readonly string[] },
): Array<Record<string, Record<string, unknown>>> {
  const actions: Array<Record<string, Record<string, unknown>>> = [
    { add: { index: to, alias, is_write_index: true } },
  ];
  if (from.kind === 'index') actions.push({ remove_index: { index: alias } });
  if (from.kind === 'alias') {
    for (const index of from.indices) if (index !== to) actions.push({ remove: { index, alias } });
  }
  return actions;
}

/** What a swap leaves to delete: the alias's former indices that are Sluice's own (never a user's). */
export function formerIndices(
  alias: string,
  to: string,
  from: { kind: 'missing' } | { kind: 'index' } | { kind: 'alias'; indices: readonly string[] },
): string[] {
  return from.kind === 'alias'
    ? from.indices.filter((index) => index !== to && physicalNumber(alias, index) !== undefined)
    : [];
}
