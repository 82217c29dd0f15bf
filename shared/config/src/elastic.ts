// The Elasticsearch connection and index defaults every service builds from the settings.
import { esSecurity } from './security.ts';
import { requiredSetting, type SettingValues } from './settings.ts';

export function esConnection(settings: SettingValues) {
  return {
    ...esSecurity(settings),
    url: requiredSetting(settings, 'esUrl', 'Elasticsearch'),
    major: settings.esMajor,
    requestTimeoutMs: settings.esRequestTimeoutMs,
  };
}

/** Settings of every index Sluice creates (its template). */
export function esIndexDefaults(settings: SettingValues) {
  return { gcDeletes: settings.esGcDeletes, replicas: settings.esReplicas, shards: 1, refreshInterval: '1s' };
}
