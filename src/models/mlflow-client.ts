/**
 * A small client of the MLflow tracking server's REST API (model registry + artifact proxy),
 * on global fetch. Enough to follow a registered model: resolve an alias or a version and
 * download the version's whole model directory through the server's artifact proxy
 * (`mlflow server --serve-artifacts`).
 *
 * Where a version's files live (GET model-versions/get-download-uri, MLflow 3.x):
 *   - logged with `mlflow.<flavor>.log_model` (MLflow 3 "logged model", source `models:/m-…`):
 *     the server resolves it to `mlflow-artifacts:/<exp>/models/<model id>/artifacts`;
 *   - created from a run path (source `runs:/<run id>/<path>`): returned as is;
 *   - anything else: the source itself (`mlflow-artifacts:`, `models:/<name>/<version>`,
 *     a local path or `file:` URI when the server stores artifacts on its own disk).
 */
import { createWriteStream } from 'node:fs';
import { cp, mkdir, readdir, stat } from 'node:fs/promises';
import { join, posix, resolve, sep } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { fileURLToPath } from 'node:url';
import { Agent, fetch, type Dispatcher, type Response } from 'undici';

export interface ModelVersionInfo {
  name: string;
  version: string;
  /** The source the version was registered from (`models:/m-…`, `runs:/…`, a URI or path). */
  source: string;
  runId: string | null;
  /** PENDING_REGISTRATION, FAILED_REGISTRATION or READY. */
  status: string;
}

export interface MlflowClientOptions {
  /** Sent as `Authorization: Bearer <token>` (Databricks: a personal access or service principal token). */
  token?: string;
  /** Sent as `Authorization: Basic …` (`mlflow server --app-name basic-auth`); not with token. */
  basic?: { username: string; password: string };
  /** PEM CA bundle an https server's certificate must chain to; absent: the system's CAs. */
  ca?: Buffer;
  /** Per request (a file download counts as one request); default 30 s. */
  timeoutMs?: number;
}

export class MlflowError extends Error {
  constructor(
    message: string,
    /** HTTP status, when the server answered. */
    readonly status?: number,
    /** MLflow's error_code (RESOURCE_DOES_NOT_EXIST, INVALID_PARAMETER_VALUE, …), when given. */
    readonly errorCode?: string,
  ) {
    super(message);
    this.name = 'MlflowError';
  }
}

/** One entry of GET /api/2.0/mlflow-artifacts/artifacts?path=… (path is a base name). */
interface ArtifactEntry {
  path?: string;
  is_dir?: boolean;
  file_size?: string | number;
}

/** Where a version's files are: a path under the artifact proxy's root, or a local directory. */
type Location = { kind: 'proxy'; path: string } | { kind: 'local'; dir: string };

function asRecord(v: unknown): Record<string, unknown> | undefined {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : typeof v === 'number' ? String(v) : undefined;
}

/** Encodes each segment of a relative '/'-separated path for use in a URL path. */
function encodePath(p: string): string {
  return p.split('/').filter((s) => s !== '').map(encodeURIComponent).join('/');
}

export class MlflowClient {
  private readonly base: string;
  private readonly headers: Record<string, string>;
  private readonly timeoutMs: number;
  private readonly dispatcher: Dispatcher | undefined;

  constructor(trackingUri: string, opts: MlflowClientOptions = {}) {
    this.base = trackingUri.replace(/\/+$/, '');
    this.headers = opts.token
      ? { authorization: `Bearer ${opts.token}` }
      : opts.basic
        ? { authorization: `Basic ${Buffer.from(`${opts.basic.username}:${opts.basic.password}`).toString('base64')}` }
        : {};
    this.timeoutMs = opts.timeoutMs ?? 30_000;
    this.dispatcher = opts.ca === undefined ? undefined : new Agent({ connect: { ca: opts.ca } });
  }

  /** GET /api/2.0/mlflow/registered-models/alias: the version `alias` points at. */
  async getVersionByAlias(name: string, alias: string): Promise<ModelVersionInfo> {
    const what = `model ${name}@${alias}`;
    const body = await this.getJson('/api/2.0/mlflow/registered-models/alias', { name, alias }, what);
    return this.toVersion(body, what);
  }

  /** GET /api/2.0/mlflow/model-versions/get. */
  async getVersion(name: string, version: string): Promise<ModelVersionInfo> {
    const what = `model ${name} version ${version}`;
    const body = await this.getJson('/api/2.0/mlflow/model-versions/get', { name, version }, what);
    return this.toVersion(body, what);
  }

  /** GET /api/2.0/mlflow/registered-models/get: the registered model's tags (key → value). */
  async getRegisteredModelTags(name: string): Promise<Record<string, string>> {
    const body = await this.getJson('/api/2.0/mlflow/registered-models/get', { name }, `registered model ${name}`);
    const tags = asRecord(body['registered_model'])?.['tags'];
    const out: Record<string, string> = {};
    if (Array.isArray(tags)) for (const t of tags as { key?: unknown; value?: unknown }[]) if (typeof t?.key === 'string') out[t.key] = str(t.value) ?? '';
    return out;
  }

  /**
   * Downloads every file of the version's artifact directory into `destDir` (created if
   * missing; existing files are overwritten) and returns the directory holding `MLmodel`
   * (destDir itself for a normal model version).
   */
  async downloadModel(name: string, version: string, destDir: string): Promise<string> {
    const what = `model ${name} version ${version}`;
    const body = await this.getJson('/api/2.0/mlflow/model-versions/get-download-uri', { name, version }, what);
    const uri = str(body['artifact_uri']);
    if (!uri) throw new MlflowError(`${what}: the server returned no download URI`);
    const root = resolve(destDir);
    await mkdir(root, { recursive: true });
    const loc = await this.locate(uri, what, 0);
    if (loc.kind === 'local') {
      // Only when the server keeps artifacts on a disk this process can read (same host).
      try {
        await cp(loc.dir, root, { recursive: true });
      } catch (err) {
        throw new MlflowError(`${what}: artifacts are at ${loc.dir} (not served by the artifact proxy) and cannot be copied here: ${(err as Error).message}`);
      }
    } else {
      const count = await this.downloadTree(loc.path, root, '', what);
      if (count === 0) throw new MlflowError(`${what}: no files at ${uri}`);
    }
    const modelDir = await findMlmodel(root, 3);
    if (modelDir === null) throw new MlflowError(`${what}: the downloaded artifacts (${uri}) contain no MLmodel file`);
    return modelDir;
  }

  // ---- internals ------------------------------------------------------------

  /** Turns an artifact URI into a proxy path or a local directory, following runs:/ and models:/. */
  private async locate(uri: string, what: string, depth: number): Promise<Location> {
    if (depth > 4) throw new MlflowError(`${what}: too many indirections resolving ${uri}`);
    if (uri.startsWith('/')) return { kind: 'local', dir: uri };
    const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(uri)?.[1]?.toLowerCase();
    if (scheme === 'file') return { kind: 'local', dir: fileURLToPath(uri) };
    if (scheme === 'mlflow-artifacts') {
      // mlflow-artifacts:/<path> or mlflow-artifacts://<host:port>/<path>: the path is under the proxy's root.
      const path = new URL(uri).pathname.split('/').map(decodeURIComponent).filter((s) => s !== '').join('/');
      return { kind: 'proxy', path };
    }
    if (scheme === 'runs') {
      const m = /^runs:\/([^/]+)\/?(.*)$/.exec(uri);
      if (!m?.[1]) throw new MlflowError(`${what}: malformed run URI ${uri}`);
      const run = asRecord(asRecord((await this.getJson('/api/2.0/mlflow/runs/get', { run_id: m[1] }, `${what} (run ${m[1]})`))['run'])?.['info']);
      const runRoot = str(run?.['artifact_uri']);
      if (!runRoot) throw new MlflowError(`${what}: run ${m[1]} has no artifact URI`);
      return this.sub(await this.locate(runRoot, what, depth + 1), m[2] ?? '');
    }
    if (scheme === 'models') {
      const ref = uri.replace(/^models:\/+/, '');
      if (/^m-[0-9a-f]+$/i.test(ref)) {
        // An MLflow 3 logged model id.
        const lm = await this.getJson(`/api/2.0/mlflow/logged-models/${encodeURIComponent(ref)}`, {}, `${what} (logged model ${ref})`);
        const lmUri = str(asRecord(asRecord(lm['model'])?.['info'])?.['artifact_uri']);
        if (!lmUri) throw new MlflowError(`${what}: logged model ${ref} has no artifact URI`);
        return this.locate(lmUri, what, depth + 1);
      }
      // models:/<name>/<version> or models:/<name>@<alias> (a version copied from another).
      const at = /^(.+)@([^/@]+)$/.exec(ref);
      const slash = /^(.+)\/([^/]+)$/.exec(ref);
      const [mName, mVersion] = at?.[1] && at[2] ? [at[1], (await this.getVersionByAlias(at[1], at[2])).version] : [slash?.[1], slash?.[2]];
      if (!mName || !mVersion) throw new MlflowError(`${what}: unsupported model URI ${uri}`);
      const dl = await this.getJson('/api/2.0/mlflow/model-versions/get-download-uri', { name: mName, version: mVersion }, `model ${mName} version ${mVersion}`);
      const next = str(dl['artifact_uri']);
      if (!next) throw new MlflowError(`${what}: model ${mName} version ${mVersion} has no download URI`);
      return this.locate(next, what, depth + 1);
    }
    throw new MlflowError(`${what}: artifacts at ${uri} cannot be downloaded through the tracking server (start it with --serve-artifacts)`);
  }

  private sub(loc: Location, rel: string): Location {
    const clean = rel.split('/').filter((s) => s !== '' && s !== '.').join('/');
    if (clean.split('/').includes('..')) throw new MlflowError(`artifact path ${rel} leaves its root`);
    if (clean === '') return loc;
    return loc.kind === 'proxy' ? { kind: 'proxy', path: loc.path ? `${loc.path}/${clean}` : clean } : { kind: 'local', dir: join(loc.dir, clean) };
  }

  /** Lists `remote` (a proxy path) recursively and downloads each file under root/rel. */
  private async downloadTree(remote: string, root: string, rel: string, what: string): Promise<number> {
    const listing = await this.getJson('/api/2.0/mlflow-artifacts/artifacts', { path: remote }, `${what} (listing ${remote})`);
    const files = Array.isArray(listing['files']) ? (listing['files'] as ArtifactEntry[]) : [];
    let count = 0;
    for (const f of files) {
      const name = posix.basename(f.path ?? '');
      // The server sends base names; refuse anything that could climb out of destDir.
      if (name === '' || name === '.' || name === '..' || name.includes('\\')) throw new MlflowError(`${what}: refusing artifact name ${JSON.stringify(f.path)}`);
      const childRel = rel ? `${rel}/${name}` : name;
      const local = resolve(root, ...childRel.split('/'));
      if (!local.startsWith(root + sep)) throw new MlflowError(`${what}: artifact ${childRel} would be written outside ${root}`);
      if (f.is_dir === true) {
        await mkdir(local, { recursive: true });
        count += await this.downloadTree(`${remote}/${name}`, root, childRel, what);
      } else {
        await this.downloadFile(`${remote}/${name}`, local, f.file_size === undefined ? undefined : Number(f.file_size), `${what} (${childRel})`);
        count++;
      }
    }
    return count;
  }

  private async downloadFile(remote: string, local: string, size: number | undefined, what: string): Promise<void> {
    const res = await this.request(`/api/2.0/mlflow-artifacts/artifacts/${encodePath(remote)}`, {}, what);
    if (res.body === null) throw new MlflowError(`${what}: empty response`, res.status);
    await pipeline(Readable.fromWeb(res.body as WebReadableStream<Uint8Array>), createWriteStream(local));
    const got = (await stat(local)).size;
    if (size !== undefined && Number.isFinite(size) && got !== size) throw new MlflowError(`${what}: downloaded ${got} bytes, the listing says ${size}`);
  }

  private async getJson(path: string, query: Record<string, string>, what: string): Promise<Record<string, unknown>> {
    const res = await this.request(path, query, what);
    const text = await res.text();
    try {
      return asRecord(JSON.parse(text)) ?? {};
    } catch {
      throw new MlflowError(`${what}: ${path} answered HTTP ${res.status} with a body that is not JSON`, res.status);
    }
  }

  /** GET with auth and timeout; non-2xx becomes an MlflowError carrying MLflow's error_code/message. */
  private async request(path: string, query: Record<string, string>, what: string): Promise<Response> {
    const qs = new URLSearchParams(query).toString();
    const url = `${this.base}${path}${qs ? `?${qs}` : ''}`;
    let res: Response;
    try {
      res = await fetch(url, { headers: this.headers, signal: AbortSignal.timeout(this.timeoutMs), ...(this.dispatcher === undefined ? {} : { dispatcher: this.dispatcher }) });
    } catch (err) {
      const cause = (err as Error).name === 'TimeoutError' ? `no answer within ${this.timeoutMs} ms` : String((err as Error & { cause?: unknown }).cause ?? err);
      throw new MlflowError(`${what}: ${this.base} unreachable: ${cause}`);
    }
    if (res.ok) return res;
    const text = await res.text().catch(() => '');
    let code: string | undefined;
    let message = text.slice(0, 300);
    try {
      const e = asRecord(JSON.parse(text));
      code = str(e?.['error_code']);
      message = str(e?.['message']) ?? message;
    } catch {
      // not JSON (a proxy's error page): keep the text
    }
    throw new MlflowError(`${what}: HTTP ${res.status}${code ? ` ${code}` : ''} from ${path}: ${message}`, res.status, code);
  }

  private toVersion(body: Record<string, unknown>, what: string): ModelVersionInfo {
    const mv = asRecord(body['model_version']);
    const name = str(mv?.['name']);
    const version = str(mv?.['version']);
    if (mv === undefined || !name || !version) throw new MlflowError(`${what}: the server's answer has no model_version`);
    return { name, version, source: str(mv['source']) ?? '', runId: str(mv['run_id']) || null, status: str(mv['status']) ?? '' };
  }
}

/** The shallowest directory under `dir` (itself included) holding an MLmodel file, or null. */
async function findMlmodel(dir: string, depth: number): Promise<string | null> {
  let level = [dir];
  for (let d = 0; d <= depth && level.length > 0; d++) {
    const next: string[] = [];
    for (const p of level) {
      const entries = await readdir(p, { withFileTypes: true });
      if (entries.some((e) => e.isFile() && e.name === 'MLmodel')) return p;
      for (const e of entries) if (e.isDirectory()) next.push(join(p, e.name));
    }
    level = next.sort();
  }
  return null;
}
