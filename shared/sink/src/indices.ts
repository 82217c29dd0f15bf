// Index templates and indices. For every index Sluice writes, an index template of the same name
// (patterns: the name and its physical indices, aliases.ts) carries the settings Sluice relies on and
// the table's mappings; the index is created from it, as an alias with one physical index, before the
// first write. Ingest writes the full template with the mappings derived
// from the table (schema.ts) before the table's rows are buffered; the worker only puts a template
// where none exists (it knows no column types) and creates the index if it is missing, e.g. after it
// was deleted. Calls are remembered per process.
import { ensureAliasedIndex, indexPatterns } from './aliases.ts';
import type { EsApi } from './client.ts';

export interface IndexDefaults {
  /** index.gc_deletes: how long delete tombstones keep refusing older versions. */
  gcDeletes: string;
  replicas: number;
  shards: number;
  refreshInterval: string;
}

export interface IndexSpec {
  name: string;
  mappings?: Record<string, unknown> | undefined;
  settings?: Record<string, unknown> | undefined;
}

/** The settings of an index Sluice creates: its defaults, then the mapping file's own. */
export function indexSettings(spec: IndexSpec, defaults: IndexDefaults): Record<string, unknown> {
  return {
    'index.number_of_shards': defaults.shards,
    'index.number_of_replicas': defaults.replicas,
    'index.refresh_interval': defaults.refreshInterval,
    'index.gc_deletes': defaults.gcDeletes,
    ...spec.settings,
  };
}

export function templateBody(spec: IndexSpec, defaults: IndexDefaults): Record<string, unknown> {
  return {
    index_patterns: indexPatterns(spec.name),
    priority: 500,
    template: {
      settings: indexSettings(spec, defaults),
      ...(spec.mappings ? { mappings: spec.mappings } : {}),
    },
    _meta: { managed_by: 'sluice' },
  };
}

export class IndexManager {
  private readonly es: EsApi;
  private readonly defaults: IndexDefaults;
  private readonly ready = new Map<string, Promise<void>>();

  constructor(es: EsApi, defaults: IndexDefaults) {
    this.es = es;
    this.defaults = defaults;
  }

  /** Puts the template and creates the index if it does not exist (idempotent, concurrent-safe). */
  ensure(spec: IndexSpec): Promise<void> {
    let pending = this.ready.get(spec.name);
    if (!pending) {
      pending = this.create(spec).catch((error: unknown) => {
        this.ready.delete(spec.name);
        throw error;
      });
      this.ready.set(spec.name, pending);
    }
    return pending;
  }

  /** Forget what was created (after an index was deleted behind Sluice's back). */
  forget(name: string): void {
    this.ready.delete(name);
  }

  private async create(spec: IndexSpec): Promise<void> {
    const name = encodeURIComponent(spec.name);
    const template = await this.es.request<{ error?: { type?: string } }>(
      {
        method: 'PUT',
        path: `/_index_template/${name}`,
        querystring: { create: true },
        body: templateBody(spec, this.defaults),
      },
      { ignore: [400] },
    );
    if (template.statusCode === 400 && template.body.error?.type !== 'illegal_argument_exception') {
      throw new Error(`putting template ${spec.name} failed: ${JSON.stringify(template.body.error)}`);
    }
    // The settings go with the index too: a template put before aliases matches only the name itself.
    await ensureAliasedIndex(this.es, spec.name, { settings: indexSettings(spec, this.defaults) });
  }
}
