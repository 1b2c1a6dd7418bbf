/**
 * The seed's FinancialTransaction as an Avro schema (the input topic's records), for tests and
 * benchmarks that produce transactions the way a payment service would.
 */
const SEED_FIELDS = [
  { name: 'transactionId', type: 'string' },
  { name: 'userId', type: 'string' },
  { name: 'amount', type: { type: 'bytes', logicalType: 'decimal', precision: 18, scale: 2 } },
  { name: 'currency', type: 'string' },
  { name: 'timestamp', type: { type: 'long', logicalType: 'timestamp-millis' } },
  { name: 'metadata', type: { type: 'map', values: 'string' }, default: {} },
] as const;

/** Exactly the seed's record. */
export const SEED_TRANSACTION_SCHEMA = { type: 'record', name: 'FinancialTransaction', namespace: 'com.fintech.events', fields: SEED_FIELDS } as const;

/** The seed's record with the optional merchantId and channel the API takes. */
export const API_TRANSACTION_SCHEMA = {
  ...SEED_TRANSACTION_SCHEMA,
  fields: [...SEED_FIELDS, { name: 'merchantId', type: ['null', 'string'], default: null }, { name: 'channel', type: ['null', 'string'], default: null }],
} as const;
