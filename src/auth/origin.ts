/**
 * The WebSocket `Origin` allowlist (WS_ALLOWED_ORIGINS). Browsers send `Origin` on every
 * WebSocket upgrade and let any page open a socket to any host, carrying the user's cookies:
 * checking it stops another site's page from talking to the gateway through a user's browser.
 * A request without `Origin` is not from a browser (curl, services, the ws client) and passes;
 * credentials still apply to it.
 */
export class OriginPolicy {
  private constructor(
    private readonly any: boolean,
    private readonly allowed: ReadonlySet<string>,
  ) {}

  /** From `https://a.example, https://b.example:8443` or `*`; throws on an entry that is not an origin. */
  static parse(setting: string): OriginPolicy {
    const entries = setting.split(',').map((e) => e.trim()).filter((e) => e !== '');
    if (entries.includes('*')) return new OriginPolicy(true, new Set());
    const allowed = new Set<string>();
    for (const e of entries) {
      let url: URL;
      try {
        url = new URL(e);
      } catch {
        throw new Error(`${JSON.stringify(e)} is not an origin (scheme://host[:port])`);
      }
      if (url.origin === 'null' || url.pathname !== '/' || url.search !== '' || url.hash !== '' || url.username !== '' || e.endsWith('/')) {
        throw new Error(`${JSON.stringify(e)} is not an origin (scheme://host[:port], no path)`);
      }
      // URL.origin is the form browsers send: lower-case scheme and host, default port dropped.
      allowed.add(url.origin);
    }
    return new OriginPolicy(false, allowed);
  }

  /** `origin` is the header's value, '' when absent. */
  allows(origin: string): boolean {
    if (origin === '') return true;
    return this.any || this.allowed.has(origin.toLowerCase());
  }
}
