/**
 * The listener's TLS: with TLS_CERT_FILE and TLS_KEY_FILE the gateway is a uWS SSLApp and
 * serves HTTPS and WSS only (one port, no plain HTTP beside it).
 *
 * No mutual TLS: uWS's `ca_file_name` makes uSockets ask for a client certificate, but its
 * verify callback accepts every certificate, and none at all (tried: a client without one was
 * answered), and uWS.js gives a handler no way to read the verdict. Client certificates belong
 * to a proxy in front until it does; callers authenticate with API keys or JWTs (src/auth/).
 *
 * uSockets reads the files itself when the app is made and throws a bare "App construction
 * failed" if one is wrong, so each file is read here first: a missing file or one that is not
 * PEM stops the gateway with a ConfigError naming the setting.
 *
 * The certificate is read once, at start: a renewed certificate needs a restart (uWS's
 * addServerName makes a new SNI context with its own, empty, router, so it cannot swap the
 * default context under the routes).
 */
import { readFileSync } from 'node:fs';
import uWS, { type AppOptions, type TemplatedApp } from 'uWebSockets.js';
import { ConfigError, type Config } from '../core/config.js';

type TlsSettings = Pick<Config, 'tlsCertFile' | 'tlsKeyFile' | 'tlsKeyPassphrase'>;

/** A file that must exist and hold a PEM block of `label` (e.g. CERTIFICATE, PRIVATE KEY). */
function pemFile(setting: string, file: string, label: RegExp): string {
  let text: string;
  try {
    text = readFileSync(file, 'latin1');
  } catch (err) {
    throw new ConfigError(setting, `cannot be read (${file}): ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  if (!label.test(text)) throw new ConfigError(setting, `is not a PEM file of the expected kind (${file})`);
  return file;
}

/** The SSLApp options, or null for plain HTTP. Checks the files; throws ConfigError. */
export function serverTlsOptions(c: TlsSettings): AppOptions | null {
  if (c.tlsCertFile === '' && c.tlsKeyFile === '') return null;
  // loadConfig refuses one without the other; checked again for callers that build a Config by hand.
  if (c.tlsCertFile === '') throw new ConfigError('TLS_CERT_FILE', 'must be set when TLS_KEY_FILE is set');
  if (c.tlsKeyFile === '') throw new ConfigError('TLS_KEY_FILE', 'must be set when TLS_CERT_FILE is set');
  const options: AppOptions = {
    cert_file_name: pemFile('TLS_CERT_FILE', c.tlsCertFile, /-----BEGIN CERTIFICATE-----/),
    key_file_name: pemFile('TLS_KEY_FILE', c.tlsKeyFile, /-----BEGIN (?:[A-Z]+ )?PRIVATE KEY-----/),
  };
  // Without a passphrase OpenSSL would ask for one on the terminal.
  if (c.tlsKeyPassphrase === '' && /ENCRYPTED/.test(readFileSync(c.tlsKeyFile, 'latin1'))) throw new ConfigError('TLS_KEY_PASSPHRASE', `must be set: ${c.tlsKeyFile} is encrypted`);
  if (c.tlsKeyPassphrase !== '') options.passphrase = c.tlsKeyPassphrase;
  return options;
}

/** uWS.App() without TLS settings, uWS.SSLApp(options) with them. */
export function createApp(c: TlsSettings): TemplatedApp {
  const options = serverTlsOptions(c);
  if (options === null) return uWS.App();
  try {
    return uWS.SSLApp(options);
  } catch (err) {
    // The files are PEM but OpenSSL refused them: a key that does not match the certificate,
    // a wrong passphrase, an encrypted key without one.
    throw new ConfigError('TLS_KEY_FILE', `and TLS_CERT_FILE cannot make a TLS context (key not matching the certificate, or wrong TLS_KEY_PASSPHRASE?): ${String(err)}`);
  }
}

/** The scheme the listener answers on, for logs. */
export function schemeOf(c: TlsSettings): 'https' | 'http' {
  return c.tlsCertFile === '' ? 'http' : 'https';
}
