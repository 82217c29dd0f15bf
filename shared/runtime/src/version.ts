// Sluice's version: the repository's root package.json, three folders above this file both in the
// sources and in the compiled tree an image runs (build/app keeps the layout).
import { readFileSync } from 'node:fs';

function readVersion(): string {
  try {
    const url = new URL('../../../package.json', import.meta.url);
    const { version } = JSON.parse(readFileSync(url, 'utf8')) as { version?: unknown };
    return typeof version === 'string' ? version : 'unknown';
  } catch {
    return 'unknown';
  }
}

export const SLUICE_VERSION: string = readVersion();
