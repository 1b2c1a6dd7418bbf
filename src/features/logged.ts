/**
 * The feature vector a model actually scored, as logged with the scored event: the row in the
 * contract's order and the contract's version. The scorer copies its scratch row once per
 * answer (26 float32s, one small allocation); sinks serialise it off the request path.
 */
import { FEATURE_CONTRACT_VERSION, FEATURE_NAMES } from './contract.js';

export class LoggedFeatures {
  constructor(
    readonly values: Float32Array,
    readonly contract: string = FEATURE_CONTRACT_VERSION,
  ) {}

  /** JSON (file sink): a Float32Array would print as an object; each float32 widened to a double prints exactly. */
  toJSON(): { contract: string; values: number[] } {
    return { contract: this.contract, values: Array.from(this.values) };
  }

  /** The Avro FeatureVector record: one float field per contract name. */
  toRecord(): Record<string, number> {
    const out: Record<string, number> = {};
    for (let i = 0; i < FEATURE_NAMES.length; i++) out[FEATURE_NAMES[i]!] = this.values[i]!;
    return out;
  }
}
