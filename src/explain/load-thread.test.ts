/** The explainer loaded in its own thread (model swaps) is the one loaded on the event loop. */
import { mkdtempSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../core/config.js';
import { loadGoldenRows } from '../models/golden.js';
import { Explainer } from './explainer.js';

const MODEL_DIR = join(REPO_ROOT, 'models/fraud-detector');
const ONNX = join(MODEL_DIR, 'model.onnx');

describe('loading the explainer off the event loop', () => {
  it('gives the same ensemble and margins as loading on the event loop', async () => {
    const g = loadGoldenRows();
    const here = await Explainer.load(MODEL_DIR, ONNX);
    const { explainer, margins } = await Explainer.loadWithMargins(MODEL_DIR, ONNX, g.rows, g.n);
    const F = g.rows.length / g.n;
    for (let r = 0; r < g.n; r++) expect(margins[r]).toBe(here.shap.margin(g.rows, r * F));
    const a = here.explain(g.rows, 0);
    const b = explainer.explain(g.rows, 0);
    expect(b).toEqual(a);
  });

  it('refuses a model it cannot explain with the same reason', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'explain-'));
    copyFileSync(ONNX, join(dir, 'model.onnx')); // no tree_counts.json
    const g = loadGoldenRows();
    const here = await Explainer.load(dir, join(dir, 'model.onnx')).catch((e: Error) => e);
    const there = await Explainer.loadWithMargins(dir, join(dir, 'model.onnx'), g.rows, g.n).catch((e: Error) => e);
    expect(there).toBeInstanceOf(Error);
    expect((there as Error).name).toBe((here as Error).name);
    expect((there as Error).message).toBe((here as Error).message);
  });
});
