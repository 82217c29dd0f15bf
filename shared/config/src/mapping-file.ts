// Reads the index mapping file (YAML or JSON) named by SLUICE_MAPPING_FILE.
import { readFileSync } from 'node:fs';
import { ConfigError, Mapping } from '@sluice/core';
import { parse as parseYaml } from 'yaml';

export function loadMapping(file: string | undefined, indexPrefix: string): Mapping {
  if (file === undefined || file === '') return new Mapping({}, indexPrefix);
  let doc: unknown;
  try {
    doc = parseYaml(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new ConfigError(
      'SLUICE_MAPPING_FILE (mapping_file)',
      `cannot read ${file}: ${(error as Error).message}`,
    );
  }
  try {
    return new Mapping(doc ?? {}, indexPrefix);
  } catch (error) {
    throw new ConfigError('SLUICE_MAPPING_FILE (mapping_file)', `${file}: ${(error as Error).message}`);
  }
}
