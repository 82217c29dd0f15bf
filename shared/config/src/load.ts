// The options pipeline: defaults ← YAML file ← SLUICE_* environment ← explicit overrides, each value
// validated by its setting's schema, then cross-field checks. Any problem stops the start with a
// ConfigError that names the setting (environment variable and file key) and the offending value.
import { readFileSync } from 'node:fs';
import { ConfigError } from '@sluice/core';
import { parse as parseYaml } from 'yaml';
import {
  SETTINGS,
  type SettingName,
  type SettingSpec,
  type SettingValues,
  settingLabel,
} from './settings.ts';

export interface LoadOptions {
  env?: NodeJS.ProcessEnv;
  /** A YAML file (the --config option). */
  configFile?: string;
  /** Values that win over everything (command-line flags, tests). */
  overrides?: Partial<Record<SettingName, unknown>>;
  /** Service-specific defaults (e.g. the HTTP port). */
  defaults?: Partial<Record<SettingName, unknown>>;
}

function readYaml(file: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new ConfigError('--config', `cannot read ${file}: ${(error as Error).message}`);
  }
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (error) {
    throw new ConfigError('--config', `${file} is not valid YAML: ${(error as Error).message}`);
  }
  if (doc === null || doc === undefined) return {};
  if (typeof doc !== 'object' || Array.isArray(doc))
    throw new ConfigError('--config', `${file} must hold a mapping`);
  return doc as Record<string, unknown>;
}

function lookup(doc: Record<string, unknown>, dotted: string): unknown {
  let node: unknown = doc;
  for (const part of dotted.split('.')) {
    if (typeof node !== 'object' || node === null || !Object.hasOwn(node, part)) return undefined;
    node = (node as Record<string, unknown>)[part];
  }
  return node;
}

function knownKeys(): Set<string> {
  return new Set(Object.values(SETTINGS).map((spec) => spec.key));
}

/** Reports file keys that are not settings (a typo would otherwise be ignored silently). */
function checkUnknownKeys(doc: Record<string, unknown>, prefix = '', known = knownKeys()): void {
  for (const [key, value] of Object.entries(doc)) {
    const path = prefix ? `${prefix}.${key}` : key;
    if (known.has(path)) continue;
    const isSection = [...known].some((k) => k.startsWith(`${path}.`));
    if (isSection && typeof value === 'object' && value !== null && !Array.isArray(value)) {
      checkUnknownKeys(value as Record<string, unknown>, path, known);
    } else {
      throw new ConfigError(path, 'unknown key in the configuration file');
    }
  }
}

function describeValue(spec: SettingSpec<unknown>, value: unknown): string {
  if (spec.secret) return '(secret)';
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  return `'${String(text).slice(0, 80)}'`;
}

function secretFromFile(spec: SettingSpec<unknown>, env: NodeJS.ProcessEnv): string | undefined {
  const file = env[`${spec.env}_FILE`];
  if (!spec.secret || file === undefined || file === '') return undefined;
  try {
    return readFileSync(file, 'utf8').trim();
  } catch (error) {
    throw new ConfigError(`${spec.env}_FILE`, `cannot read ${file}: ${(error as Error).message}`);
  }
}

export function loadSettings(options: LoadOptions = {}): SettingValues {
  const env = options.env ?? process.env;
  const doc = options.configFile ? readYaml(options.configFile) : {};
  checkUnknownKeys(doc);
  const values: Record<string, unknown> = {};

  for (const [name, spec] of Object.entries(SETTINGS) as Array<[SettingName, SettingSpec<unknown>]>) {
    const label = settingLabel(name);
    const raw =
      options.overrides?.[name] ??
      secretFromFile(spec, env) ??
      (env[spec.env] !== undefined && env[spec.env] !== '' ? env[spec.env] : undefined) ??
      lookup(doc, spec.key) ??
      options.defaults?.[name] ??
      spec.default;
    if (raw === undefined) {
      if (spec.schema.safeParse(undefined).success) {
        values[name] = undefined;
        continue;
      }
      throw new ConfigError(label, 'is required and not set');
    }
    const parsed = spec.schema.safeParse(raw);
    if (!parsed.success) {
      const why = parsed.error.issues.map((issue) => issue.message).join('; ');
      throw new ConfigError(label, `${why} (got ${describeValue(spec, raw)})`);
    }
    values[name] = parsed.data;
  }

  const settings = values as SettingValues;
  for (const check of CROSS_CHECKS) {
    const problem = check(settings);
    if (problem) throw new ConfigError(settingLabel(problem.setting), problem.message);
  }
  return settings;
}

/**
 * The rules between settings, in one place, checked once each setting is valid on its own. Each
 * names the setting to change; every process refuses a contradictory configuration at start.
 */
const CROSS_CHECKS: Array<(s: SettingValues) => { setting: SettingName; message: string } | undefined> = [
  (s) =>
    s.lowWatermark >= s.highWatermark
      ? {
          setting: 'lowWatermark',
          message: `must be below ${SETTINGS.highWatermark.env} (${s.lowWatermark} >= ${s.highWatermark})`,
        }
      : undefined,
  (s) =>
    s.kafkaSaslMechanism !== 'none' && (!s.kafkaSaslUsername || !s.kafkaSaslPassword)
      ? {
          setting: 'kafkaSaslMechanism',
          message: `needs ${SETTINGS.kafkaSaslUsername.env} and ${SETTINGS.kafkaSaslPassword.env}`,
        }
      : undefined,
  (s) =>
    s.zkConnect && s.staticShards !== undefined
      ? {
          setting: 'staticShards',
          message: `is for workers without ZooKeeper; ${SETTINGS.zkConnect.env} is set too`,
        }
      : undefined,
];

/** The settings as they can be shown: secrets hidden, passwords in URLs masked. */
export function describeSettings(settings: SettingValues): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, spec] of Object.entries(SETTINGS) as Array<[SettingName, SettingSpec<unknown>]>) {
    const value = settings[name];
    out[spec.key] = spec.secret && value !== undefined ? redactUrl(String(value)) : value;
  }
  return out;
}

/** Masks the password of a URL, or the whole value when it is not a URL. */
export function redactUrl(text: string): string {
  try {
    const parsed = new URL(text);
    // Only a real URL with a host is shown ("user:password" parses as a URL of scheme "user:").
    if (!parsed.host) return '***';
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return '***';
  }
}
