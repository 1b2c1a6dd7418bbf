/**
 * Reads an MLflow model directory: its `MLmodel` file, the onnx flavor's model file, the
 * signature, which must list exactly the feature contract's columns in its order, and the
 * artifacts shipped beside them (the training baseline for drift, src/monitoring/baseline.ts).
 */
import { readFile, stat } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { FEATURE_NAMES } from '../features/contract.js';
import { readBaseline, type BaselineRead } from '../monitoring/baseline.js';

export interface ModelDescriptor {
  name: string;
  version: string;
  dir: string;
  onnxPath: string;
  /** The training baseline artifact, or why there is none (drift is off for this model). */
  baseline?: BaselineRead;
}

export class ModelLoadError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ModelLoadError';
  }
}

interface SignatureColumn {
  name?: unknown;
  type?: unknown;
}

/** Differences between a signature's column names and the contract, as readable sentences. */
export function compareToContract(columns: readonly string[]): string[] {
  const problems: string[] = [];
  const contract = new Set(FEATURE_NAMES);
  const given = new Set(columns);
  const missing = FEATURE_NAMES.filter((f) => !given.has(f));
  const unknown = columns.filter((c) => !contract.has(c));
  if (missing.length > 0) problems.push(`missing feature(s): ${missing.join(', ')}`);
  if (unknown.length > 0) problems.push(`unknown feature(s): ${unknown.join(', ')}`);
  if (problems.length === 0) {
    const firstOff = columns.findIndex((c, i) => c !== FEATURE_NAMES[i]);
    if (firstOff >= 0) problems.push(`features out of order: position ${firstOff} is ${columns[firstOff]}, the contract has ${FEATURE_NAMES[firstOff]}`);
  }
  return problems;
}

function asRecord(v: unknown): Record<string, unknown> | undefined {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
}

/** Reads and checks `dir/MLmodel`. Throws ModelLoadError naming what is wrong. */
export async function readModelDir(dir: string, fallbackVersion?: string): Promise<ModelDescriptor> {
  const abs = resolve(dir);
  let text: string;
  try {
    text = await readFile(join(abs, 'MLmodel'), 'utf8');
  } catch {
    throw new ModelLoadError(`${abs} is not an MLflow model directory: no MLmodel file`);
  }
  let doc: Record<string, unknown> | undefined;
  try {
    doc = asRecord(parseYaml(text));
  } catch (err) {
    throw new ModelLoadError(`${abs}/MLmodel is not valid YAML: ${(err as Error).message}`);
  }
  if (doc === undefined) throw new ModelLoadError(`${abs}/MLmodel is empty`);
  const onnx = asRecord(asRecord(doc['flavors'])?.['onnx']);
  if (onnx === undefined) throw new ModelLoadError(`${abs}/MLmodel has no onnx flavor`);
  const file = onnx['onnx_model'] ?? onnx['data'];
  if (typeof file !== 'string') throw new ModelLoadError(`${abs}/MLmodel's onnx flavor names no onnx_model file`);
  const onnxPath = join(abs, file);
  if (!onnxPath.startsWith(abs + '/')) throw new ModelLoadError(`${abs}/MLmodel's onnx_model points outside the model directory`);
  try {
    await stat(onnxPath);
  } catch {
    throw new ModelLoadError(`${abs}/MLmodel names ${file}, which does not exist`);
  }
  const sig = asRecord(doc['signature']);
  if (sig === undefined || typeof sig['inputs'] !== 'string') throw new ModelLoadError(`${abs}/MLmodel has no input signature`);
  let inputs: unknown;
  try {
    inputs = JSON.parse(sig['inputs']);
  } catch {
    throw new ModelLoadError(`${abs}/MLmodel's signature inputs are not valid JSON`);
  }
  if (!Array.isArray(inputs)) throw new ModelLoadError(`${abs}/MLmodel's signature inputs are not a list`);
  const columns = (inputs as SignatureColumn[]).map((c) => (typeof c.name === 'string' ? c.name : '<unnamed>'));
  const problems = compareToContract(columns);
  if (problems.length > 0) throw new ModelLoadError(`${abs}: signature does not match the feature contract: ${problems.join('; ')}`);
  const meta = asRecord(doc['metadata']);
  const name = typeof meta?.['model_name'] === 'string' ? meta['model_name'] : basename(abs);
  const metaVersion = meta?.['model_version'];
  const uuid = typeof doc['model_uuid'] === 'string' ? doc['model_uuid'].slice(0, 8) : 'unknown';
  const version = fallbackVersion ?? (typeof metaVersion === 'string' || typeof metaVersion === 'number' ? String(metaVersion) : uuid);
  return { name, version, dir: abs, onnxPath, baseline: await readBaseline(abs) };
}
