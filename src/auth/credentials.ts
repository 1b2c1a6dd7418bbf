/**
 * Where a request's credential is: `Authorization: Bearer <token>` on HTTP and on the
 * WebSocket upgrade; for browsers, which cannot set headers on a WebSocket, a subprotocol:
 *
 *   new WebSocket(url, ['scoregate.v1', 'bearer.' + token])
 *
 * The token (an API key or a JWT: both are made of characters a subprotocol may hold) rides
 * in `Sec-WebSocket-Protocol`; the gateway answers with `scoregate.v1` only, never echoing the
 * token (a browser fails a handshake whose answer names no protocol it offered, so browsers
 * must offer `scoregate.v1` too). The header wins when both are present.
 */
export const WS_PROTOCOL = 'scoregate.v1';
export const BEARER_PROTOCOL_PREFIX = 'bearer.';

/** The token of `Bearer <token>` (scheme case-insensitive), or '' when there is none. */
export function bearerToken(authorization: string): string {
  // startsWith before a regex or a lower-cased copy: the usual spelling costs no allocation
  // beyond the token itself; other casings (RFC 9110: the scheme is case-insensitive) pay one.
  if (authorization.length < 8) return '';
  if (!authorization.startsWith('Bearer ') && authorization.slice(0, 7).toLowerCase() !== 'bearer ') return '';
  return authorization.slice(7).trim();
}

export interface UpgradeCredential {
  /** The credential, '' when none was presented. */
  token: string;
  /** The subprotocol to answer with: `scoregate.v1` when offered, else ''. */
  protocol: string;
}

/** The credential of a WebSocket upgrade from its `Authorization` and `Sec-WebSocket-Protocol` headers. */
export function upgradeCredential(authorization: string, protocols: string): UpgradeCredential {
  let token = bearerToken(authorization);
  let protocol = '';
  for (const raw of protocols.split(',')) {
    const p = raw.trim();
    if (p === WS_PROTOCOL) protocol = WS_PROTOCOL;
    else if (token === '' && p.startsWith(BEARER_PROTOCOL_PREFIX)) token = p.slice(BEARER_PROTOCOL_PREFIX.length);
  }
  return { token, protocol };
}
