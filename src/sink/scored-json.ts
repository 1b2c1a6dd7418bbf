/**
 * The scored event as the file sink writes it: the same text as
 * `JSON.stringify({ ...ev, lineage: lineageRecord(ev) })`, built from pieces made once.
 *
 * The profile of the saturation run (wrk, 50 connections, file sink) had that JSON.stringify
 * as the largest JavaScript cost after inference and the socket write (11% of the busy
 * thread): three quarters of a ~3 KB line is the same for every event — the classification's
 * frozen field entries, the lineage's processors and rule lists, the feature contract — and
 * was printed anew each time. Here a frozen object's text is kept (WeakMap: it goes with the
 * object), the lineage is written from a template, and only what varies is stringified.
 * sink/scored-json.test.ts holds it to JSON.stringify's text byte for byte.
 */
import { LoggedFeatures } from '../features/logged.js';
import type { Classification } from '../privacy/index.js';
import type { ScoredEvent } from './events.js';
import { lineageJson } from './lineage.js';

const frozenText = new WeakMap<object, string>();

/** JSON of a value, kept when the value is a frozen object (it cannot change). */
function cached(v: object): string {
  let s = frozenText.get(v);
  if (s === undefined) {
    s = JSON.stringify(v);
    if (Object.isFrozen(v)) frozenText.set(v, s);
  }
  return s;
}

function classificationJson(c: Classification): string {
  let fields = '';
  const fs = c.fields;
  for (let i = 0; i < fs.length; i++) fields += (i === 0 ? '' : ',') + cached(fs[i]!);
  return `{"sensitivity":${JSON.stringify(c.sensitivity)},"tags":${cached(c.tags)},"fields":[${fields}]}`;
}

function featuresJson(f: LoggedFeatures): string {
  // JSON.stringify's number-array path beat a loop of String(v) + concatenation (measured:
  // the doubles' printing dominates, and it does it without building a rope).
  return `{"contract":${JSON.stringify(f.contract)},"values":${JSON.stringify(Array.from(f.values))}}`;
}

/** Whether a classification has the shape classificationJson prints (keys in that order, nothing more). */
function plainClassification(c: object): c is Classification {
  const k = Object.keys(c);
  return k.length === 3 && k[0] === 'sensitivity' && k[1] === 'tags' && k[2] === 'fields';
}

const KEYS = new Map<string, string>();
function key(k: string): string {
  let s = KEYS.get(k);
  if (s === undefined) KEYS.set(k, (s = JSON.stringify(k) + ':'));
  return s;
}

/** One scored event's line for the file sink (without the newline). */
export function scoredJson(ev: ScoredEvent): string {
  let out = '{';
  let first = true;
  const rec = ev as unknown as Record<string, unknown>;
  // The event's own key order, as the spread kept it; `lineage` in its place, as the record.
  for (const k of Object.keys(rec)) {
    const v = rec[k];
    let j: string | undefined;
    if (k === 'lineage') j = lineageJson(ev);
    else if (k === 'features' && v instanceof LoggedFeatures) j = featuresJson(v);
    else if (k === 'classification' && v !== null && typeof v === 'object' && plainClassification(v)) j = classificationJson(v);
    else if (typeof v === 'number') j = Number.isFinite(v) ? String(v) : 'null';
    else if (v === null) j = 'null';
    // The model reference is the pool's frozen object, the same for every event it scores.
    else if (typeof v === 'object' && Object.isFrozen(v)) j = cached(v);
    else j = JSON.stringify(v);
    if (j === undefined) continue; // undefined and functions are left out, as JSON.stringify does
    out += (first ? '' : ',') + key(k) + j;
    first = false;
  }
  if (!('lineage' in rec)) out += (first ? '' : ',') + key('lineage') + lineageJson(ev); // the spread appends it
  return out + '}';
}
