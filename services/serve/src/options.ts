// The read service's options step: public settings → what `sluice serve` runs with.
import { requiredSetting, type SettingValues } from '@sluice/config';

export const SERVE_HTTP_PORT = 9404;

export interface ServeOptions {
  sourceMysqlUrl: string;
  http: { host: string; port: number };
  cache: { l1Max: number; l1TtlMs: number; l2TtlMs: number; negativeTtlMs: number };
  forceExitMs: number;
}

export function compileServeOptions(settings: SettingValues): ServeOptions {
  return {
    sourceMysqlUrl: requiredSetting(settings, 'sourceMysqlUrl', 'sluice serve'),
    http: { host: settings.httpHost, port: settings.httpPort ?? SERVE_HTTP_PORT },
    cache: {
      l1Max: settings.cacheL1Max,
      l1TtlMs: settings.cacheL1TtlMs,
      l2TtlMs: settings.cacheL2TtlMs,
      negativeTtlMs: settings.cacheNegativeTtlMs,
    },
    forceExitMs: settings.drainTimeoutMs + 5000,
  };
}
