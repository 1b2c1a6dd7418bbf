import { describe, expect, it } from 'vitest';
import { bearerToken, upgradeCredential, WS_PROTOCOL } from './credentials.js';
import { OriginPolicy } from './origin.js';

describe('Origin allowlist', () => {
  it('allows only the listed origins, as browsers serialise them', () => {
    const p = OriginPolicy.parse('https://app.example.com, http://localhost:3000, https://Admin.Example.com:443');
    expect(p.allows('https://app.example.com')).toBe(true);
    expect(p.allows('http://localhost:3000')).toBe(true);
    expect(p.allows('https://admin.example.com')).toBe(true); // default port dropped, host lower-cased
    expect(p.allows('https://APP.example.com')).toBe(true);
    expect(p.allows('https://evil.example.com')).toBe(false);
    expect(p.allows('http://app.example.com')).toBe(false); // scheme matters
    expect(p.allows('https://app.example.com:8443')).toBe(false); // port matters
    expect(p.allows('https://app.example.com.evil.io')).toBe(false);
    expect(p.allows('null')).toBe(false);
  });

  it('lets requests without Origin through (not a browser), refuses every browser origin when empty, any with *', () => {
    const none = OriginPolicy.parse('');
    expect(none.allows('')).toBe(true);
    expect(none.allows('https://app.example.com')).toBe(false);
    const any = OriginPolicy.parse('*');
    expect(any.allows('https://whatever.example')).toBe(true);
  });

  it.each(['app.example.com', 'https://app.example.com/path', 'https://app.example.com/', 'not a url'])('refuses %j as an entry', (e) => {
    expect(() => OriginPolicy.parse(e)).toThrow(/is not an origin/);
  });
});

describe('credentials in headers', () => {
  it('takes the token of a Bearer header, scheme in any case', () => {
    expect(bearerToken('Bearer abc.def')).toBe('abc.def');
    expect(bearerToken('bearer abc')).toBe('abc');
    expect(bearerToken('Basic dXNlcjpwYXNz')).toBe('');
    expect(bearerToken('Bearer ')).toBe('');
    expect(bearerToken('')).toBe('');
  });

  it('reads a WebSocket token from the bearer.<token> subprotocol and answers scoregate.v1 only', () => {
    expect(upgradeCredential('', `${WS_PROTOCOL}, bearer.eyJ.a.b`)).toEqual({ token: 'eyJ.a.b', protocol: WS_PROTOCOL });
    expect(upgradeCredential('', 'bearer.sk_x')).toEqual({ token: 'sk_x', protocol: '' });
    expect(upgradeCredential('Bearer from-header', `bearer.from-protocol,${WS_PROTOCOL}`)).toEqual({ token: 'from-header', protocol: WS_PROTOCOL });
    expect(upgradeCredential('', '')).toEqual({ token: '', protocol: '' });
  });
});
