/**
 * Files named by settings (CA bundles, password files), read once at start: a file that cannot
 * be read, or is not what the setting says, is a ConfigError naming the setting.
 */
import { readFileSync } from 'node:fs';
import { ConfigError } from './config.js';

/** A file's contents, or a ConfigError naming the setting. */
export function readSettingFile(setting: string, file: string): Buffer {
  try {
    return readFileSync(file);
  } catch (err) {
    throw new ConfigError(setting, `cannot be read (${file}): ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
}

/** A PEM CA bundle (at least one certificate), or a ConfigError naming the setting. */
export function readCaFile(setting: string, file: string): Buffer {
  const pem = readSettingFile(setting, file);
  if (!pem.includes('-----BEGIN CERTIFICATE-----')) throw new ConfigError(setting, `holds no PEM certificate (${file})`);
  return pem;
}
