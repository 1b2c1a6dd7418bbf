/**
 * A tree ensemble as flat typed arrays, read at model load time from the ONNX TreeEnsemble
 * node (ai.onnx.ml TreeEnsembleClassifier with one score and a logistic post-transform — a
 * binary GBDT such as LightGBM's export — or TreeEnsembleRegressor with none) and the
 * per-node training counts the pipeline ships beside it (`tree_counts.json`): TreeSHAP weighs
 * each branch by the share of training rows that went down it, and the ONNX export keeps no
 * cover of its own.
 *
 * Node i of the arrays is node i of the ONNX attributes, so children are plain indices.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { readOnnxNodes, type OnnxAttribute, type OnnxNode } from './onnx-reader.js';

export const enum Mode {
  Leaf = 0,
  Leq = 1,
  Lt = 2,
  Gte = 3,
  Gt = 4,
  Eq = 5,
  Neq = 6,
}

const MODES: Record<string, Mode> = {
  LEAF: Mode.Leaf,
  BRANCH_LEQ: Mode.Leq,
  BRANCH_LT: Mode.Lt,
  BRANCH_GTE: Mode.Gte,
  BRANCH_GT: Mode.Gt,
  BRANCH_EQ: Mode.Eq,
  BRANCH_NEQ: Mode.Neq,
};

export const TREE_COUNTS_FILE = 'tree_counts.json';

/** Why a model cannot be explained (a missing artifact, an unsupported graph). */
export class ExplainUnavailable extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ExplainUnavailable';
  }
}

export interface TreeEnsemble {
  readonly featureCount: number;
  readonly nodeCount: number;
  readonly roots: Int32Array;
  readonly feature: Int32Array;
  /** Thresholds as the float32 values ONNX Runtime compares with. */
  readonly threshold: Float32Array;
  readonly mode: Uint8Array;
  readonly yes: Int32Array;
  readonly no: Int32Array;
  /** 1 when a NaN feature value takes the true branch. */
  readonly missingYes: Uint8Array;
  /** Leaf weight (the sum of the ONNX weights on that leaf), 0 for branches. */
  readonly value: Float64Array;
  /** Training rows that reached the node. */
  readonly cover: Float64Array;
  /** Added to the summed leaves (ONNX base_values). */
  readonly base: number;
  /** Longest root-to-leaf path, in splits. */
  readonly maxDepth: number;
  /** 'logistic': probability = sigmoid(margin); 'none': the output is the margin. */
  readonly link: 'logistic' | 'none';
}

function attr(node: OnnxNode, name: string): OnnxAttribute | undefined {
  return node.attributes.get(name);
}

function need(node: OnnxNode, name: string): OnnxAttribute {
  const a = attr(node, name);
  if (a === undefined) throw new ExplainUnavailable(`${node.opType} has no ${name} attribute`);
  if (a.hasTensor) throw new ExplainUnavailable(`${node.opType}'s ${name} is a tensor attribute, not read here`);
  return a;
}

/** Builds the flat ensemble from a TreeEnsemble node and the per-node counts. */
export function ensembleFromNode(node: OnnxNode, counts: readonly number[], featureCount: number): TreeEnsemble {
  for (const a of node.attributes.values()) if (a.hasTensor) throw new ExplainUnavailable(`${node.opType}'s ${a.name} is a tensor attribute (opset 3 *_as_tensor), not read here`);
  const classifier = node.opType === 'TreeEnsembleClassifier';
  const prefix = classifier ? 'class' : 'target';
  const treeIds = need(node, 'nodes_treeids').ints;
  const nodeIds = need(node, 'nodes_nodeids').ints;
  const feats = need(node, 'nodes_featureids').ints;
  const values = need(node, 'nodes_values').floats;
  const modes = need(node, 'nodes_modes').strings;
  const trueIds = need(node, 'nodes_truenodeids').ints;
  const falseIds = need(node, 'nodes_falsenodeids').ints;
  const missing = attr(node, 'nodes_missing_value_tracks_true')?.ints ?? [];
  const wTree = need(node, `${prefix}_treeids`).ints;
  const wNode = need(node, `${prefix}_nodeids`).ints;
  const wIds = need(node, `${prefix}_ids`).ints;
  const weights = need(node, `${prefix}_weights`).floats;
  const post = attr(node, 'post_transform')?.s ?? 'NONE';
  const n = treeIds.length;
  if ([nodeIds, feats, values, modes, trueIds, falseIds].some((a) => a.length !== n)) throw new ExplainUnavailable('TreeEnsemble node attributes have different lengths');
  if (counts.length !== n) throw new ExplainUnavailable(`${TREE_COUNTS_FILE} has ${counts.length} counts for ${n} tree nodes`);
  // One score: every weight feeds the same output (a binary classifier's positive class, or a
  // single regression target). Multi-class models are not explained.
  if (new Set(wIds).size > 1) throw new ExplainUnavailable('the ensemble scores more than one class or target');
  let link: 'logistic' | 'none';
  if (classifier) {
    const labels = (attr(node, 'classlabels_int64s')?.ints.length ?? 0) + (attr(node, 'classlabels_strings')?.strings.length ?? 0);
    if (labels !== 2) throw new ExplainUnavailable(`a classifier with ${labels} class labels; only binary ones are explained`);
    if (post !== 'LOGISTIC') throw new ExplainUnavailable(`classifier post_transform ${post}; only LOGISTIC is explained`);
    link = 'logistic';
  } else {
    if (post !== 'NONE') throw new ExplainUnavailable(`regressor post_transform ${post}; only NONE is explained`);
    link = 'none';
  }
  const baseValues = attr(node, 'base_values')?.floats ?? [];
  if (baseValues.length > 1) throw new ExplainUnavailable('more than one base value');
  const index = new Map<number, number>();
  // Tree ids and node ids are small non-negative ints: one numeric key per (tree, node).
  const key = (t: number, id: number): number => t * 1_048_576 + id;
  for (let j = 0; j < n; j++) index.set(key(treeIds[j]!, nodeIds[j]!), j);
  const e = {
    featureCount,
    nodeCount: n,
    feature: new Int32Array(n),
    threshold: new Float32Array(n),
    mode: new Uint8Array(n),
    yes: new Int32Array(n).fill(-1),
    no: new Int32Array(n).fill(-1),
    missingYes: new Uint8Array(n),
    value: new Float64Array(n),
    cover: new Float64Array(n),
  };
  const isChild = new Uint8Array(n);
  for (let j = 0; j < n; j++) {
    const m = MODES[modes[j]!];
    if (m === undefined) throw new ExplainUnavailable(`unknown node mode ${modes[j]}`);
    e.mode[j] = m;
    e.cover[j] = counts[j]!;
    if (!(counts[j]! > 0)) throw new ExplainUnavailable(`${TREE_COUNTS_FILE}: node ${j} has count ${counts[j]}`);
    if (m === Mode.Leaf) continue;
    const f = feats[j]!;
    if (f < 0 || f >= featureCount) throw new ExplainUnavailable(`node ${j} splits on feature ${f}, outside the ${featureCount} features`);
    e.feature[j] = f;
    e.threshold[j] = values[j]!;
    e.missingYes[j] = missing[j] === 1 ? 1 : 0;
    const y = index.get(key(treeIds[j]!, trueIds[j]!));
    const no = index.get(key(treeIds[j]!, falseIds[j]!));
    if (y === undefined || no === undefined) throw new ExplainUnavailable(`node ${j} points at a child that does not exist`);
    e.yes[j] = y;
    e.no[j] = no;
    isChild[y] = 1;
    isChild[no] = 1;
  }
  for (let w = 0; w < weights.length; w++) {
    const j = index.get(key(wTree[w]!, wNode[w]!));
    if (j === undefined || e.mode[j] !== Mode.Leaf) throw new ExplainUnavailable(`a weight names tree ${wTree[w]} node ${wNode[w]}, which is not a leaf`);
    e.value[j]! += weights[w]!;
  }
  const roots: number[] = [];
  let tree = -1;
  for (let j = 0; j < n; j++) {
    if (isChild[j] === 1) continue;
    if (treeIds[j] === tree) throw new ExplainUnavailable(`tree ${tree} has more than one root`);
    tree = treeIds[j]!;
    roots.push(j);
  }
  // Depth by an explicit stack; also proves every tree is a tree (no cycles: each node once).
  let maxDepth = 0;
  const seen = new Uint8Array(n);
  const stack: number[] = [];
  for (const r of roots) {
    stack.push(r, 0);
    while (stack.length > 0) {
      const d = stack.pop()!;
      const j = stack.pop()!;
      if (seen[j] === 1) throw new ExplainUnavailable(`node ${j} is reached twice`);
      seen[j] = 1;
      if (e.mode[j] === Mode.Leaf) {
        if (d > maxDepth) maxDepth = d;
        continue;
      }
      stack.push(e.yes[j]!, d + 1, e.no[j]!, d + 1);
    }
  }
  if (seen.some((s) => s === 0)) throw new ExplainUnavailable('some tree nodes are not reachable from a root');
  return { ...e, roots: Int32Array.from(roots), base: baseValues[0] ?? 0, maxDepth, link };
}

/**
 * Reads the ensemble of `onnxPath` with the counts in `modelDir/tree_counts.json`. Throws
 * ExplainUnavailable saying why the model cannot be explained.
 */
export async function loadEnsemble(modelDir: string, onnxPath: string, featureCount: number): Promise<TreeEnsemble> {
  let countsText: string;
  try {
    countsText = await readFile(join(modelDir, TREE_COUNTS_FILE), 'utf8');
  } catch {
    throw new ExplainUnavailable(`the model directory has no ${TREE_COUNTS_FILE} (per-node training counts, written by the pipeline)`);
  }
  let counts: unknown;
  try {
    counts = (JSON.parse(countsText) as { counts?: unknown }).counts;
  } catch {
    throw new ExplainUnavailable(`${TREE_COUNTS_FILE} is not JSON`);
  }
  if (!Array.isArray(counts) || !counts.every((c) => typeof c === 'number')) throw new ExplainUnavailable(`${TREE_COUNTS_FILE} has no counts list`);
  const nodes = readOnnxNodes(await readFile(onnxPath)).filter((nd) => nd.domain === 'ai.onnx.ml' && (nd.opType === 'TreeEnsembleClassifier' || nd.opType === 'TreeEnsembleRegressor'));
  if (nodes.length !== 1) throw new ExplainUnavailable(`the ONNX graph has ${nodes.length} TreeEnsemble nodes; one is explained`);
  return ensembleFromNode(nodes[0]!, counts as number[], featureCount);
}
