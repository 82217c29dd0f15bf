// Reads the index mapping file (YAML or JSON) named by SLUICE_MAPPING_FILE.
import { readFileSync } from 'node:fs';
import { ConfigError, Mapping } from '@sluice/core';
import { parse as parseYaml } from 'yaml';
import { settingLabel } from './settings.ts';

export function loadMapping(file: string | undefined, indexPrefix: string): Mapping {
  if (file === undefined || file === '') return new Mapping({}, indexPrefix);
  let doc: unknown;
  try {
    doc = parseYaml(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new ConfigError(settingLabel('mappingFile'), `cannot read ${file}: ${(error as Error).message}`);
  }
  try {
    return new Mapping(doc ?? {}, indexPrefix);
  } catch (error) {
    throw new ConfigError(settingLabel('mappingFile'), `${file}: ${(error as Error).message}`);
  }
}
