/**
 * The memory the settings allow, and the V8 heap limit derived from it.
 *
 * What grows with traffic is bounded in bytes by the settings: the windows by WINDOW_MAX_BYTES
 * (plus lru-cache's slot arrays, allocated for WINDOW_MAX_USERS at start), the seen
 * transactionIds by SEEN_IDS_MAX × SEEN_ID_BYTES, the remembered answers by
 * IDEMPOTENCY_MAX_ANSWERS × NOMINAL_ANSWER_BYTES (plus their slot arrays). Everything else on the
 * heap (code, modules, metrics, requests in flight) is a fixed allowance, measured. The old
 * generation's limit is the sum with room for garbage between collections; the resident set is
 * bounded by that, the young generation and the native part (node, uWS, onnxruntime and the
 * model, thread stacks), measured. README's configuration section states the formula.
 */
import type { Config } from './config.js';
import { lruSlotBytes } from './heap-bytes.js';
import { SEEN_ID_BYTES } from '../features/seen.js';
import { NOMINAL_ANSWER_BYTES } from '../idempotency/answers.js';

const MiB = 1_048_576;

/** Heap the gateway holds besides the budgets below: ~45 MiB measured at ready, with in-flight work. */
export const FIXED_HEAP_BYTES = 96 * MiB;
/** Room for garbage between old-generation collections, as a share of what is live at most. */
export const GARBAGE_SHARE = 0.25;
/** V8's young generation on Node 20 x64 (three 16 MiB semi-spaces), outside the old-space limit. */
export const YOUNG_GENERATION_BYTES = 48 * MiB;
/** Resident memory outside the V8 heap: node itself, uWS, onnxruntime with the model, stacks, malloc. */
export const NATIVE_BYTES = 160 * MiB;

export interface MemoryBudget {
  windowsBytes: number;
  windowSlotsBytes: number;
  seenIdsBytes: number;
  answersBytes: number;
  /** The old generation's limit (--max-old-space-size), MiB. */
  heapLimitMiB: number;
  /** Upper bound of the gateway process's resident set, bytes. */
  rssBoundBytes: number;
}

export function memoryBudget(c: Pick<Config, 'windowMaxBytes' | 'windowMaxUsers' | 'seenIdsMax' | 'idempotencyMaxAnswers'>): MemoryBudget {
  const windowsBytes = c.windowMaxBytes;
  const windowSlotsBytes = lruSlotBytes(c.windowMaxUsers, { sized: false, ttl: false });
  const seenIdsBytes = c.seenIdsMax * SEEN_ID_BYTES;
  const answersBytes = c.idempotencyMaxAnswers * NOMINAL_ANSWER_BYTES + lruSlotBytes(c.idempotencyMaxAnswers, { sized: true, ttl: true });
  const live = windowsBytes + windowSlotsBytes + seenIdsBytes + answersBytes + FIXED_HEAP_BYTES;
  const heapLimitMiB = Math.ceil((live * (1 + GARBAGE_SHARE)) / MiB);
  return {
    windowsBytes,
    windowSlotsBytes,
    seenIdsBytes,
    answersBytes,
    heapLimitMiB,
    rssBoundBytes: heapLimitMiB * MiB + YOUNG_GENERATION_BYTES + NATIVE_BYTES,
  };
}

/** Whether node was started with an explicit old-space limit (on the command line or NODE_OPTIONS). */
export function hasHeapLimitFlag(execArgv: readonly string[], nodeOptions: string | undefined): boolean {
  const flag = /^--max[-_]old[-_]space[-_]size(=|$)/;
  return execArgv.some((a) => flag.test(a)) || (nodeOptions ?? '').split(/\s+/).some((a) => flag.test(a));
}

/** The supervisor process (src/main.ts) that starts the gateway with its heap limit: a bare node, ~46 MiB measured. */
export const SUPERVISOR_RSS_BYTES = 64 * MiB;
