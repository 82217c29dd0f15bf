// Connection security from the settings: TLS certificates read from files and credentials, in the
// shapes the clients take. A certificate that cannot be read stops the start, naming the setting.
import { readFileSync } from 'node:fs';
import { ConfigError } from '@sluice/core';
import { type SettingName, type SettingValues, settingLabel } from './settings.ts';

function readPem(settings: SettingValues, name: SettingName): string | undefined {
  const file = settings[name];
  if (typeof file !== 'string' || file === '') return undefined;
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    throw new ConfigError(settingLabel(name), `cannot read ${file}: ${(error as Error).message}`);
  }
}

export interface KafkaSecurity {
  ssl?: boolean | { ca: string[] };
  sasl?: { mechanism: 'plain' | 'scram-sha-256' | 'scram-sha-512'; username: string; password: string };
}

export function kafkaSecurity(settings: SettingValues): KafkaSecurity {
  const out: KafkaSecurity = {};
  const ca = readPem(settings, 'kafkaCaFile');
  if (settings.kafkaSsl || ca) out.ssl = ca ? { ca: [ca] } : true;
  if (settings.kafkaSaslMechanism !== 'none') {
    // Both are there: loadSettings checks it (load.ts, CROSS_CHECKS).
    out.sasl = {
      mechanism: settings.kafkaSaslMechanism,
      username: settings.kafkaSaslUsername ?? '',
      password: settings.kafkaSaslPassword ?? '',
    };
  }
  return out;
}

export interface EsSecurity {
  auth?: { apiKey?: string; username?: string; password?: string };
  caCert?: string;
}

export function esSecurity(settings: SettingValues): EsSecurity {
  const out: EsSecurity = {};
  if (settings.esApiKey) out.auth = { apiKey: settings.esApiKey };
  else if (settings.esUsername)
    out.auth = { username: settings.esUsername, password: settings.esPassword ?? '' };
  const ca = readPem(settings, 'esCaFile');
  if (ca) out.caCert = ca;
  return out;
}

export function redisSecurity(settings: SettingValues): { caCert?: string } {
  const ca = readPem(settings, 'redisCaFile');
  return ca ? { caCert: ca } : {};
}

export function mysqlSecurity(settings: SettingValues): { ssl?: { ca: string } } {
  const ca = readPem(settings, 'metaMysqlCaFile');
  return ca ? { ssl: { ca } } : {};
}
