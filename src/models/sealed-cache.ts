/**
 * The model cache encrypted at rest (SINK_KEYRING_FILE): a model version downloaded from MLflow
 * is written to MODEL_CACHE_DIR as ONE AES-256-GCM sealed archive (`<name>-v<version>.sealed`,
 * src/sink/cipher.ts), never as files in clear. The download itself lands in memory-backed
 * storage (/dev/shm), and so does the unsealed copy the model loads from: onnxruntime, the
 * MLmodel reader and the golden set read ordinary files, and those files never reach the disk.
 * A tampered or truncated archive fails its tag and the version is refused with the reason.
 *
 * Archive (inside the seal): u32 header length | header JSON {files: [{path, size}]} | the files'
 * bytes in header order.
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, relative, sep } from 'node:path';
import type { RecordCipher } from '../sink/cipher.js';

/** Memory-backed storage for model files in clear: /dev/shm where it exists, else the temp dir. */
export function memoryDir(): string {
  return existsSync('/dev/shm') ? '/dev/shm' : tmpdir();
}

async function listFiles(root: string, dir = root): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await listFiles(root, p)));
    else if (e.isFile()) out.push(relative(root, p).split(sep).join('/'));
  }
  return out.sort();
}

/** Seals every file under `dir` into `archive` (written atomically: a temp name, then renamed). */
export async function sealDirectory(dir: string, archive: string, cipher: RecordCipher): Promise<void> {
  const files = await listFiles(dir);
  const datas = await Promise.all(files.map((f) => readFile(join(dir, f))));
  const header = Buffer.from(JSON.stringify({ files: files.map((path, i) => ({ path, size: datas[i]!.length })) }));
  const len = Buffer.alloc(4);
  len.writeUInt32BE(header.length, 0);
  const sealed = cipher.seal(Buffer.concat([len, header, ...datas]));
  await mkdir(dirname(archive), { recursive: true });
  const tmp = `${archive}.tmp-${randomBytes(4).toString('hex')}`;
  await writeFile(tmp, sealed, { mode: 0o600 });
  const { rename } = await import('node:fs/promises');
  await rename(tmp, archive);
}

/**
 * Opens `archive` into a fresh directory in memory-backed storage (mode 0700) and returns it.
 * Throws (CipherError: tag mismatch, unknown key, truncated; or a bad layout) — never garbage.
 */
export async function openSealedDirectory(archive: string, cipher: RecordCipher): Promise<string> {
  const plain = cipher.open(await readFile(archive));
  if (plain.length < 4) throw new Error(`${archive}: sealed model archive has no header`);
  const hlen = plain.readUInt32BE(0);
  const header = JSON.parse(plain.subarray(4, 4 + hlen).toString('utf8')) as { files: { path: string; size: number }[] };
  const root = await mkdtemp(join(memoryDir(), 'scoregate-model-'));
  let off = 4 + hlen;
  for (const f of header.files) {
    if (f.path.startsWith('/') || f.path.split('/').includes('..')) throw new Error(`${archive}: bad path in sealed model archive`);
    const p = join(root, f.path);
    await mkdir(dirname(p), { recursive: true, mode: 0o700 });
    await writeFile(p, plain.subarray(off, off + f.size), { mode: 0o600 });
    off += f.size;
  }
  if (off !== plain.length) throw new Error(`${archive}: sealed model archive layout does not add up`);
  return root;
}

/** Where the model directory is inside an opened archive (the one holding MLmodel). */
export async function findModelRoot(root: string): Promise<string> {
  if (existsSync(join(root, 'MLmodel'))) return root;
  for (const e of await readdir(root, { withFileTypes: true })) {
    if (e.isDirectory()) {
      const found = await findModelRoot(join(root, e.name)).catch(() => null);
      if (found !== null) return found;
    }
  }
  throw new Error(`no MLmodel under ${root}`);
}

/** Removes an opened (clear) copy. */
export async function closeOpened(dir: string): Promise<void> {
  if ((await stat(dir).catch(() => null)) !== null) await rm(dir, { recursive: true, force: true });
}
