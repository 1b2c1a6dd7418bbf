/**
 * The status page: GET /ui (and its files under /ui/), and GET /v1/status, the JSON it polls.
 *
 * The files are read once, when the routes are attached, from beside this module in the build
 * output (the build copies src/ui's html, css, js and svg there), and served from memory.
 * Assets are named in the page with a content hash (`?v=`) and cached for a year; the page
 * itself is revalidated by ETag, so a new build shows at once.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { HttpResponse, TemplatedApp } from 'uWebSockets.js';
import { settle, type AccessControl } from '../auth/access.js';
import { ScoregateError } from '../core/errors.js';
import { Exchange } from '../http/respond.js';
import { statusSnapshot, type StatusSource } from './snapshot.js';

export interface StatusView extends StatusSource {
  /** With AUTH_METRICS=protected, /v1/status asks for the metrics role as /metrics does. */
  access: AccessControl;
}

const TYPES: Record<string, string> = {
  html: 'text/html; charset=utf-8',
  css: 'text/css; charset=utf-8',
  js: 'text/javascript; charset=utf-8',
  svg: 'image/svg+xml',
};

/** The page and what it loads: nothing outside this gateway. */
const PAGE = 'index.html';
// In dependency order: a file's references to the ones before it get their hash (status.js imports stats.js).
const ASSETS = ['favicon.svg', 'status.css', 'stats.js', 'status.js'];
const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

interface Asset {
  body: Buffer;
  type: string;
  etag: string;
  cacheControl: string;
}

function hash(b: Buffer): string {
  return createHash('sha256').update(b).digest('hex').slice(0, 16);
}

/** Reads the page and its assets from `dir`; throws naming the missing file. */
export function loadAssets(dir: string): Map<string, Asset> {
  const assets = new Map<string, Asset>();
  const read = (file: string): Buffer => {
    try {
      return readFileSync(join(dir, file));
    } catch (err) {
      throw new Error(`status page file ${join(dir, file)} is missing (is the build's copy step run?): ${String(err)}`);
    }
  };
  let page = read(PAGE).toString('utf8');
  const hashes: [string, string][] = [];
  for (const file of ASSETS) {
    let body = read(file);
    if (file.endsWith('.js')) {
      let text = body.toString('utf8');
      for (const [dep, h] of hashes) text = text.replaceAll(`'./${dep}'`, `'./${dep}?v=${h}'`);
      body = Buffer.from(text, 'utf8');
    }
    const h = hash(body);
    hashes.push([file, h]);
    assets.set(file, { body, type: TYPES[file.slice(file.lastIndexOf('.') + 1)]!, etag: `"${h}"`, cacheControl: 'public, max-age=31536000, immutable' });
    page = page.replaceAll(`"/ui/${file}"`, `"/ui/${file}?v=${h}"`);
  }
  const body = Buffer.from(page, 'utf8');
  assets.set(PAGE, { body, type: TYPES['html']!, etag: `"${hash(body)}"`, cacheControl: 'no-cache' });
  return assets;
}

function serve(res: HttpResponse, asset: Asset, ifNoneMatch: string): void {
  res.cork(() => {
    res.writeStatus(ifNoneMatch === asset.etag ? '304 Not Modified' : '200 OK');
    res.writeHeader('content-type', asset.type);
    res.writeHeader('cache-control', asset.cacheControl);
    res.writeHeader('etag', asset.etag);
    res.writeHeader('x-content-type-options', 'nosniff');
    if (asset.type === TYPES['html']) res.writeHeader('content-security-policy', CSP);
    if (ifNoneMatch === asset.etag) res.endWithoutBody();
    else res.end(asset.body);
  });
}

export function attachStatusPage(app: TemplatedApp, view: StatusView, dir = dirname(fileURLToPath(import.meta.url))): void {
  const assets = loadAssets(dir);
  const page = assets.get(PAGE)!;
  app.get('/ui', (res, req) => serve(res, page, req.getHeader('if-none-match')));
  app.get('/ui/', (res, req) => serve(res, page, req.getHeader('if-none-match')));
  app.get('/ui/:file', (res, req) => {
    const a = assets.get(req.getParameter(0) ?? '');
    if (a === undefined) return new Exchange(res).sendError(new ScoregateError('NOT_FOUND', `no file ${JSON.stringify((req.getParameter(0) ?? '').slice(0, 100))} in /ui`));
    serve(res, a, req.getHeader('if-none-match'));
  });
  // The same figures as /metrics, so the same access: open, or the metrics role (AUTH_METRICS).
  app.get('/v1/status', (res, req) => {
    const ex = new Exchange(res);
    res.onAborted(() => {
      ex.aborted = true;
    });
    const collect = (): void => {
      statusSnapshot(view).then(
        (s) => ex.send(200, JSON.stringify(s), false, 'application/json', 'cache-control', 'no-store'),
        () => ex.sendError(new ScoregateError('INTERNAL', 'status could not be collected')),
      );
    };
    if (!view.access.auth.protectsMetrics) return collect();
    settle(view.access.check(req.getHeader('authorization'), 'metrics'), collect, (e) => ex.sendError(e));
  });
}
