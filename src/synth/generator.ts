/**
 * Synthetic card transactions with labelled fraud, for training the shipped model and for
 * load tests. Legitimate users buy at their usual merchants, at their usual hours, around their
 * usual amount; fraud comes in the patterns a card fraud team sees:
 *   velocity  — a burst of purchases minutes apart at merchants new to the user;
 *   spike     — one or two purchases many times the user's usual amount;
 *   odd_hour  — purchases in the small hours of the user's local night at new merchants;
 *   card_test — a few tiny amounts in quick succession, then a large one.
 * Legitimate traffic has its own noise (occasional big purchases, new merchants, late nights)
 * so the model has to combine signals rather than read one.
 */
import { Random } from './random.js';

export interface SynthTransaction {
  transactionId: string;
  userId: string;
  amount: string;
  currency: string;
  timestamp: number;
  metadata: Record<string, string>;
  merchantId: string;
  channel: string;
  /** 1 for fraud, 0 for legitimate. Not part of the API: the gateway ignores unknown fields. */
  label: 0 | 1;
  pattern: string;
}

export interface SynthOptions {
  users: number;
  days: number;
  seed: number;
  /** Epoch ms where the stream starts. */
  startMs: number;
  /** Share of users with a fraud episode. */
  fraudUserShare: number;
}

export const SYNTH_DEFAULTS: SynthOptions = {
  users: 4000,
  days: 4,
  seed: 7,
  startMs: Date.UTC(2026, 0, 5),
  fraudUserShare: 0.08,
};

const CURRENCIES = ['EUR', 'EUR', 'EUR', 'USD', 'GBP', 'CHF'];
const CHANNELS = ['pos', 'web', 'mobile'];
const GLOBAL_MERCHANTS = 5000;
const HOUR = 3_600_000;
const MIN = 60_000;
const DAY = 86_400_000;

interface Profile {
  id: string;
  typical: number;
  perDay: number;
  tzHours: number;
  merchants: string[];
  currency: string;
  channel: string;
}

type Raw = Omit<SynthTransaction, 'transactionId'>;

function cents(x: number): string {
  return Math.max(0.01, Math.round(x * 100) / 100).toFixed(2);
}

/** Probability weight of a purchase at local hour h: low at night, peaks at noon and evening. */
function hourWeight(h: number): number {
  if (h < 6) return 0.04;
  if (h < 8) return 0.3;
  if (h < 12) return 0.8;
  if (h < 14) return 1;
  if (h < 18) return 0.8;
  if (h < 22) return 1;
  return 0.35;
}

function makeProfile(r: Random, i: number): Profile {
  const favourites = r.int(3, 10);
  const merchants: string[] = [];
  for (let k = 0; k < favourites; k++) merchants.push(`m-${r.int(0, GLOBAL_MERCHANTS - 1)}`);
  return {
    id: `u-${i}`,
    typical: r.lognormal(3.4, 0.8),
    perDay: r.lognormal(0.9, 0.6),
    tzHours: r.pick([-5, 0, 1, 1, 1, 2, 8]),
    merchants,
    currency: r.pick(CURRENCIES),
    channel: r.pick(CHANNELS),
  };
}

function localHour(ts: number, tz: number): number {
  return (((Math.floor(ts / HOUR) + tz) % 24) + 24) % 24;
}

function newMerchant(r: Random, p: Profile): string {
  let m: string;
  do m = `m-${r.int(0, GLOBAL_MERCHANTS - 1)}`;
  while (p.merchants.includes(m));
  return m;
}

function legit(r: Random, p: Profile, o: SynthOptions, out: Raw[]): void {
  const n = Math.max(1, Math.round(p.perDay * o.days * r.uniform(0.7, 1.3)));
  for (let k = 0; k < n; k++) {
    let ts: number;
    do ts = o.startMs + Math.floor(r.next() * o.days * DAY);
    while (!r.chance(hourWeight(localHour(ts, p.tzHours))));
    let amount = p.typical * r.lognormal(0, 0.45);
    if (r.chance(0.03)) amount *= r.uniform(3, 8); // the occasional big purchase
    const merchant = r.chance(0.88) ? r.pick(p.merchants) : newMerchant(r, p);
    out.push(tx(p, ts, amount, merchant, p.channel, 0, 'legit'));
    // Legitimate bursts happen too: a couple of purchases minutes apart at the same place.
    if (r.chance(0.05)) out.push(tx(p, ts + r.int(1, 8) * MIN, p.typical * r.lognormal(-0.5, 0.4), merchant, p.channel, 0, 'legit'));
  }
}

function tx(p: Profile, ts: number, amount: number, merchantId: string, channel: string, label: 0 | 1, pattern: string): Raw {
  return { userId: p.id, amount: cents(amount), currency: p.currency, timestamp: ts, metadata: { country: `tz${p.tzHours}` }, merchantId, channel, label, pattern };
}

function fraud(r: Random, p: Profile, o: SynthOptions, out: Raw[]): void {
  // Episodes start after the first day so the user has a history to deviate from.
  const t0 = o.startMs + DAY + Math.floor(r.next() * (o.days - 1) * DAY);
  const kind = r.pick(['velocity', 'spike', 'odd_hour', 'card_test'] as const);
  const channel = r.pick(['web', 'mobile']);
  switch (kind) {
    case 'velocity': {
      const n = r.int(5, 14);
      let ts = t0;
      for (let k = 0; k < n; k++) {
        out.push(tx(p, ts, p.typical * r.uniform(0.8, 3), newMerchant(r, p), channel, 1, kind));
        ts += r.int(10, 120) * 1000;
      }
      break;
    }
    case 'spike': {
      const n = r.int(1, 2);
      for (let k = 0; k < n; k++) out.push(tx(p, t0 + k * r.int(1, 30) * MIN, p.typical * r.uniform(6, 30), r.chance(0.7) ? newMerchant(r, p) : r.pick(p.merchants), channel, 1, kind));
      break;
    }
    case 'odd_hour': {
      // Move t0 to 2–5 am local time on its day.
      const dayStart = t0 - (t0 % DAY) - p.tzHours * HOUR;
      const ts0 = dayStart + r.int(2, 4) * HOUR + r.int(0, 59) * MIN;
      const n = r.int(1, 3);
      for (let k = 0; k < n; k++) out.push(tx(p, ts0 + k * r.int(3, 25) * MIN, p.typical * r.uniform(1.5, 6), newMerchant(r, p), channel, 1, kind));
      break;
    }
    case 'card_test': {
      const n = r.int(3, 8);
      let ts = t0;
      const merchant = newMerchant(r, p);
      for (let k = 0; k < n; k++) {
        out.push(tx(p, ts, r.uniform(0.5, 2.99), r.chance(0.5) ? merchant : newMerchant(r, p), channel, 1, kind));
        ts += r.int(5, 60) * 1000;
      }
      out.push(tx(p, ts + r.int(1, 10) * MIN, p.typical * r.uniform(4, 15), newMerchant(r, p), channel, 1, kind));
      break;
    }
  }
}

/** The whole stream, sorted by event time, with ids assigned in that order. */
export function generate(options: Partial<SynthOptions> = {}): SynthTransaction[] {
  const o: SynthOptions = { ...SYNTH_DEFAULTS, ...options };
  const r = new Random(o.seed);
  const raws: Raw[] = [];
  for (let i = 0; i < o.users; i++) {
    const p = makeProfile(r, i);
    legit(r, p, o, raws);
    if (r.chance(o.fraudUserShare)) fraud(r, p, o, raws);
  }
  raws.sort((a, b) => a.timestamp - b.timestamp);
  return raws.map((x, i) => ({ transactionId: `tx-${o.seed}-${i}`, ...x }));
}
