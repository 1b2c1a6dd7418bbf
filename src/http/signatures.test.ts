import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { DeliveryLog, databricksSignature, mlflowSignature, safeEqual, timestampMs, verifyDatabricks, verifyMlflow } from './signatures.js';

const body = Buffer.from('{"entity":"model_version_alias","action":"created","data":{"name":"fraud-detector","alias":"champion","version":"3"}}');

describe('MLflow webhook signatures', () => {
  it('is v1, + base64 HMAC-SHA256 of "deliveryId.timestamp.body"', () => {
    const want = 'v1,' + createHmac('sha256', 's3cret').update(`d-1.1767225600.${body.toString()}`).digest('base64');
    expect(mlflowSignature('s3cret', 'd-1', '1767225600', body)).toBe(want);
    expect(verifyMlflow('s3cret', want, 'd-1', '1767225600', body)).toBe(true);
  });

  it('refuses a forged or mismatched signature', () => {
    const good = mlflowSignature('s3cret', 'd-1', '1767225600', body);
    expect(verifyMlflow('other', good, 'd-1', '1767225600', body)).toBe(false);
    expect(verifyMlflow('s3cret', good, 'd-2', '1767225600', body)).toBe(false);
    expect(verifyMlflow('s3cret', good, 'd-1', '1767225601', body)).toBe(false);
    expect(verifyMlflow('s3cret', good, 'd-1', '1767225600', Buffer.concat([body, Buffer.from(' ')]))).toBe(false);
    expect(verifyMlflow('s3cret', good.replace('v1,', 'v0,'), 'd-1', '1767225600', body)).toBe(false);
    expect(verifyMlflow('', good, 'd-1', '1767225600', body)).toBe(false);
    expect(verifyMlflow('s3cret', '', 'd-1', '1767225600', body)).toBe(false);
  });
});

describe('Databricks webhook signatures', () => {
  // The payload shape Databricks documents for registry webhooks.
  const payload = Buffer.from(
    JSON.stringify({
      event: 'MODEL_VERSION_TRANSITIONED_TO_PRODUCTION',
      webhook_id: 'c5596721253c4b429368cf6f4341b88a',
      event_timestamp: 1767225600000,
      model_name: 'fraud-detector',
      version: '8',
      to_stage: 'Production',
      from_stage: 'Staging',
      text: 'Registered model fraud-detector version 8 transitioned from Staging to Production.',
    }),
  );
  it('is hex HMAC-SHA256 of the body', () => {
    const want = createHmac('sha256', 'dbx').update(payload).digest('hex');
    expect(databricksSignature('dbx', payload)).toBe(want);
    expect(verifyDatabricks('dbx', want, payload)).toBe(true);
    expect(verifyDatabricks('dbx', want.toUpperCase(), payload)).toBe(true);
  });
  it('refuses a forged one', () => {
    expect(verifyDatabricks('dbx', '00'.repeat(32), payload)).toBe(false);
    expect(verifyDatabricks('dbx', databricksSignature('nope', payload), payload)).toBe(false);
  });
});

describe('helpers', () => {
  it('compares in constant time and treats lengths as unequal', () => {
    expect(safeEqual('abc', 'abc')).toBe(true);
    expect(safeEqual('abc', 'abd')).toBe(false);
    expect(safeEqual('abc', 'abcd')).toBe(false);
  });
  it('reads seconds or milliseconds', () => {
    expect(timestampMs('1767225600')).toBe(1767225600000);
    expect(timestampMs(1767225600000)).toBe(1767225600000);
    expect(timestampMs('nonsense')).toBeNaN();
  });
  it('remembers delivery ids, bounded', () => {
    const log = new DeliveryLog(2);
    expect(log.add('a')).toBe(true);
    expect(log.add('a')).toBe(false);
    log.add('b');
    log.add('c');
    expect(log.add('a')).toBe(true);
  });
});
