/**
 * Card numbers never at rest, end to end: a corpus of PANs in every shape (spaced, dashed,
 * mixed, in metadata values, in metadata keys, in merchantId, in invalid requests and in text
 * that is not JSON), CVVs under many key spellings, IBANs and e-mails, pushed over HTTP (single
 * and batch) and the WebSocket into the real gateway; then every byte it wrote — the scored and
 * dead-letter files, its logs, the user-window endpoint, the error answers — is searched for any
 * of them, as written and with separators removed: zero hits.
 * (The same over Kafka — topics and spool segments — is in src/kafka/backbone.test.ts.)
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postJson, startGateway, validTx, type RunningGateway } from '../../test/support/gateway.js';
import { CVV_KEYS, EMAILS, IBANS, leaks, PANS, shapes } from '../../test/support/privacy-corpus.js';
import { openClient } from '../../test/support/ws.js';

const ADMIN = 'leak-admin';
let gw: RunningGateway;
const answers: string[] = [];
const users: string[] = [];
const CVV = '9371';

beforeAll(async () => {
  gw = await startGateway({ ADMIN_TOKEN: ADMIN, LOG_LEVEL: 'debug' });
});
afterAll(async () => {
  await gw.stop();
});

/** Every file under `dir`, concatenated. */
function allBytes(dir: string): string {
  let out = '';
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    out += statSync(p).isDirectory() ? allBytes(p) : readFileSync(p, 'latin1');
  }
  return out;
}

const originals = [...PANS.flatMap((p) => shapes(p)), ...IBANS, ...EMAILS];

describe('card data and PII never written', () => {
  it('over HTTP, batch and WebSocket, valid and invalid, nothing written carries them', async () => {
    let n = 0;
    const sends: Promise<void>[] = [];
    for (const pan of PANS) {
      for (const shape of shapes(pan)) {
        const i = n++;
        const user = `leak-user-${i}`;
        users.push(user);
        const cvvKey = CVV_KEYS[i % CVV_KEYS.length]!;
        const tx = validTx({
          userId: user,
          merchantId: i % 3 === 0 ? `m-${shape}` : 'm-1',
          metadata: { card: shape, [cvvKey]: CVV, note: `paid with ${shape} exp 12/29`, [`k-${shape}`]: 'x', iban: IBANS[i % IBANS.length]!, email: EMAILS[i % EMAILS.length]! },
        });
        const post = async (): Promise<void> => {
          const ok = await postJson(`${gw.url}/v1/score`, tx);
          expect(ok.status).toBe(200);
          answers.push(ok.text);
          // Invalid: a dead letter keeps the raw payload (masked).
          const bad = await postJson(`${gw.url}/v1/score`, { ...tx, transactionId: `bad-${i}`, amount: '-1' });
          expect(bad.status).toBe(400);
          answers.push(bad.text);
          // Not JSON at all, the card number in the text.
          const text = await postJson(`${gw.url}/v1/score`, `{"card": "${shape}", "cvv": "${CVV}", oops`);
          expect(text.status).toBe(400);
          answers.push(text.text);
          // A metadata value of the wrong type under a key that is a card number: the error names the field.
          const typed = await postJson(`${gw.url}/v1/score`, { ...tx, transactionId: `typed-${i}`, metadata: { [shape]: 5 } });
          expect(typed.status).toBe(400);
          answers.push(typed.text);
        };
        sends.push(post());
      }
    }
    await Promise.all(sends);
    const batch = await postJson(`${gw.url}/v1/score/batch`, PANS.map((p, i) => validTx({ userId: `leak-batch-${i}`, metadata: { pan: p, cvc: CVV } })));
    expect(batch.status).toBe(200);
    answers.push(batch.text);
    const c = await openClient(gw.port);
    PANS.forEach((p, i) => c.ws.send(JSON.stringify({ id: i, transaction: validTx({ userId: `leak-ws-${i}`, merchantId: p, metadata: { cvv2: CVV, card: shapes(p)[1]! } }) })));
    c.ws.send(`{"id": 99, "transaction": {"card": "${PANS[0]}"`); // not JSON
    const replies = await c.waitFor(PANS.length + 1);
    answers.push(...replies.map((r) => JSON.stringify(r)));
    c.ws.close();

    const windows: string[] = [];
    for (const u of users.slice(0, 12)) {
      const r = await fetch(`${gw.url}/v1/users/${u}/window`, { headers: { authorization: `Bearer ${ADMIN}` } });
      windows.push(await r.text());
    }
    await gw.stop(); // flushes the sinks
    const written = allBytes(gw.dataDir);
    expect(written.length).toBeGreaterThan(10_000);
    const logs = gw.logs.join('\n');
    expect(leaks(written, originals)).toEqual([]);
    expect(leaks(logs, originals)).toEqual([]);
    expect(leaks(windows.join('\n'), originals)).toEqual([]);
    expect(leaks(answers.join('\n'), originals)).toEqual([]);
    // The CVV is not kept at all: never as a value of its own (a digit run that merely contains
    // it, inside a score or a timestamp, is not it).
    const standalone = new RegExp(`(^|[^\\d.])${CVV}(?!\\d)`);
    for (const [what, text] of [['files', written], ['logs', logs], ['answers', answers.join('\n')]] as const) {
      expect(standalone.exec(text)?.[0], what).toBeUndefined();
    }
    // And what is kept is still useful: BIN + last four, with the classification in the event.
    const scored = readFileSync(join(gw.dataDir, 'scored.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { transaction: { metadata: Record<string, string> }; classification: { tags: string[]; fields: { path: string; action: string }[] } });
    const first = scored.find((e) => e.transaction.metadata['card']?.startsWith('411111'))!;
    expect(first.transaction.metadata['card']).toMatch(/^411111\D+1111$/);
    expect(first.classification.tags).toContain('PCI-DSS');
    expect(first.classification.fields.some((f) => f.action === 'removed')).toBe(true); // the CVV
  });
});
