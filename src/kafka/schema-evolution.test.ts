/**
 * transactions.scored evolves BACKWARD-compatibly: the fields issue 13 added (sourceSystem,
 * featureContract, features) are nullable with null defaults, so the new schema reads events
 * written before them; the FeatureVector record names the feature contract's columns in order.
 */
import avro from 'avsc';
import { describe, expect, it } from 'vitest';
import { FEATURE_NAMES } from '../features/contract.js';
import { readSchema } from './avro.js';

const ADDED = ['sourceSystem', 'featureContract', 'features'];

describe('transactions.scored schema evolution', () => {
  const schema = JSON.parse(readSchema('transactions.scored')) as { fields: { name: string; type: unknown; default?: unknown }[] };

  it('the added fields are unions with null first and default null', () => {
    for (const name of ADDED) {
      const f = schema.fields.find((x) => x.name === name)!;
      expect(Array.isArray(f.type) && f.type[0] === 'null').toBe(true);
      expect(f.default).toBeNull();
    }
  });

  it('the new schema reads a record written with the schema before them (BACKWARD)', () => {
    const before = { ...schema, fields: schema.fields.filter((f) => !ADDED.includes(f.name)) };
    const oldType = avro.Type.forSchema(before as avro.Schema);
    const newType = avro.Type.forSchema(schema as avro.Schema);
    const old = oldType.random() as unknown as Record<string, unknown>;
    const read = newType.fromBuffer(oldType.toBuffer(old), newType.createResolver(oldType)) as Record<string, unknown>;
    expect(read['features']).toBeNull();
    expect(read['transactionId']).toBe(old['transactionId']);
  });

  it('FeatureVector holds the contract’s names in the contract’s order, as float32', () => {
    const f = schema.fields.find((x) => x.name === 'features')!;
    const rec = (f.type as [string, { fields: { name: string; type: string }[] }])[1];
    expect(rec.fields.map((x) => x.name)).toEqual(FEATURE_NAMES);
    expect(new Set(rec.fields.map((x) => x.type))).toEqual(new Set(['float']));
  });
});
