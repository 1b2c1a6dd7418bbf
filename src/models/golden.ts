/**
 * The golden set every candidate model must score before it may serve: feature rows from the
 * shipped held-out file (real traffic shapes, edge values included). A candidate passes when
 * every score is a finite number in [0, 1].
 *
 * The rows are models/parity/heldout.csv, which the build copies to dist/models/parity/ (scripts/
 * build-assets.mjs): the same path relative to this module in the repository (src/models/) and in
 * the build output (dist/src/models/), so a built gateway reads its own copy.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { FEATURE_COUNT } from '../features/contract.js';

export const GOLDEN_ROWS = 256;

export const GOLDEN_FILE = fileURLToPath(new URL('../../models/parity/heldout.csv', import.meta.url));

export function loadGoldenRows(path = GOLDEN_FILE, n = GOLDEN_ROWS): { rows: Float32Array; n: number } {
  const lines = readFileSync(path, 'utf8').trim().split('\n').slice(1, n + 1);
  const rows = new Float32Array(lines.length * FEATURE_COUNT);
  lines.forEach((line, r) => {
    const cells = line.split(',');
    for (let f = 0; f < FEATURE_COUNT; f++) rows[r * FEATURE_COUNT + f] = Number(cells[2 + f]);
  });
  return { rows, n: lines.length };
}

/** Null when every score is finite and in [0, 1], else a sentence saying which is not. */
export function checkGoldenScores(scores: Float32Array): string | null {
  for (let i = 0; i < scores.length; i++) {
    const s = scores[i]!;
    if (!Number.isFinite(s) || s < 0 || s > 1) return `golden row ${i} scored ${s}, not a probability in [0, 1]`;
  }
  return null;
}
