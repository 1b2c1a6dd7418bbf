/**
 * The ownership fence as Shards keeps it from the group member's events (shards.ts): a user is
 * scored here only while the group says this instance owns it. Pure logic: the consumer is an
 * event emitter with kafkajs' event names; the real thing is proved by shards.test.ts (a
 * stalled owner, SIGSTOPped past its session, answers nothing from stale windows).
 */
import { EventEmitter } from 'node:events';
import type { Consumer, Kafka } from 'kafkajs';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Logger } from '../core/log.js';
import { partitionOf } from './partition.js';
import { Shards } from './shards.js';

const SESSION_MS = 10_000;
const PARTITIONS = 4;
const EVENTS = { REBALANCING: 'rebalancing', CRASH: 'crash', HEARTBEAT: 'heartbeat', GROUP_JOIN: 'group_join', REQUEST: 'request' };

/** A user of partition `p`. */
function userOf(p: number): string {
  for (let i = 0; ; i++) if (partitionOf(`user-${i}`, PARTITIONS) === p) return `user-${i}`;
}

let now = 0;
afterEach(() => {
  vi.restoreAllMocks();
});

async function member(): Promise<{ s: Shards; consumer: EventEmitter; rebuilt: number[][]; dropped: number[]; warnings: string[] }> {
  now = 1_000_000;
  vi.spyOn(performance, 'now').mockImplementation(() => now);
  vi.spyOn(Date, 'now').mockImplementation(() => now);
  const rebuilt: number[][] = [];
  const dropped: number[] = [];
  const warnings: string[] = [];
  const log = new Logger('error');
  vi.spyOn(log, 'warn').mockImplementation((msg: string) => void warnings.push(msg));
  const admin = { connect: async () => undefined, disconnect: async () => undefined, describeGroups: async () => ({ groups: [] }) };
  const s = new Shards({ admin: () => admin } as unknown as Kafka, {
    inputTopic: 't',
    inputPartitions: PARTITIONS,
    groupId: 'g',
    sessionTimeoutMs: SESSION_MS,
    advertisedUrl: () => 'http://me',
    rebuild: async (p) => void rebuilt.push(p),
    drop: (lost) => {
      for (let p = 0; p < PARTITIONS; p++) if (lost(userOf(p))) dropped.push(p);
      return 0;
    },
  }, log);
  const consumer = Object.assign(new EventEmitter(), { events: EVENTS });
  await s.attach(consumer as unknown as Consumer);
  await s.stop(); // the owner refresh timer: not needed here
  return { s, consumer, rebuilt, dropped, warnings };
}

const join = (c: EventEmitter, memberId: string, parts: number[]): boolean => c.emit(EVENTS.GROUP_JOIN, { payload: { memberId, memberAssignment: { t: parts } } });

describe('the ownership fence', () => {
  it('holds for half the session after the last heartbeat answered; a heartbeat answered again lifts it, windows kept', async () => {
    const { s, consumer, dropped, warnings } = await member();
    join(consumer, 'm1', [0, 1]);
    expect(s.route(userOf(0))).toEqual({ kind: 'local' });
    now += SESSION_MS / 2 - 1;
    expect(s.route(userOf(0))).toEqual({ kind: 'local' });
    now += 1;
    expect(s.route(userOf(0))).toEqual({ kind: 'fenced' });
    expect(s.route(userOf(1))).toEqual({ kind: 'fenced' });
    expect(warnings).toEqual(['ownership fenced']);
    consumer.emit(EVENTS.HEARTBEAT, { payload: {} });
    expect(s.route(userOf(0))).toEqual({ kind: 'local' });
    expect(dropped).toEqual([]);
  });

  it('counts the lease from when the heartbeat left: an answer read after a stall (sent before it) does not lift the fence', async () => {
    const { s, consumer } = await member();
    join(consumer, 'm1', [0]);
    const sentAt = now;
    now += 2 * SESSION_MS; // stopped with the heartbeat in flight; its answer is read on waking
    consumer.emit(EVENTS.REQUEST, { payload: { apiName: 'Heartbeat', sentAt } });
    consumer.emit(EVENTS.HEARTBEAT, { payload: {} });
    expect(s.route(userOf(0))).toEqual({ kind: 'fenced' });
    // The next one, sent after waking, does (the group did not move on: same generation).
    consumer.emit(EVENTS.REQUEST, { payload: { apiName: 'Heartbeat', sentAt: now } });
    consumer.emit(EVENTS.HEARTBEAT, { payload: {} });
    expect(s.route(userOf(0))).toEqual({ kind: 'local' });
  });

  it('holds from REBALANCING (the eager protocol revokes everything) until the next assignment; unmoved partitions keep their windows', async () => {
    const { s, consumer, rebuilt, dropped } = await member();
    join(consumer, 'm1', [0, 1]);
    consumer.emit(EVENTS.REBALANCING, { payload: {} });
    consumer.emit(EVENTS.HEARTBEAT, { payload: {} }); // not while rebalancing
    expect(s.route(userOf(0))).toEqual({ kind: 'fenced' });
    join(consumer, 'm1', [0, 2]);
    expect(s.route(userOf(0))).toEqual({ kind: 'local' });
    expect(s.route(userOf(2))).toEqual({ kind: 'rebuilding' });
    expect(rebuilt).toEqual([[2]]);
    expect(dropped).toEqual([1]);
  });

  it('an assignment under a new member id (the group went on without this instance) drops and rebuilds every partition, the kept ones too', async () => {
    const { s, consumer, rebuilt, dropped } = await member();
    join(consumer, 'm1', [0, 1]);
    now += SESSION_MS;
    expect(s.route(userOf(0))).toEqual({ kind: 'fenced' });
    join(consumer, 'm2', [0, 3]);
    expect(dropped).toEqual([0, 1]);
    expect(rebuilt).toEqual([[0, 3]]);
    expect(s.route(userOf(0))).toEqual({ kind: 'rebuilding' });
    await s.ready(0);
    expect(s.route(userOf(0))).toEqual({ kind: 'local' });
  });

  it('a crashed group member fences until it has joined again', async () => {
    const { s, consumer } = await member();
    join(consumer, 'm1', [0]);
    consumer.emit(EVENTS.CRASH, { payload: { error: new Error('boom') } });
    expect(s.route(userOf(0))).toEqual({ kind: 'fenced' });
    join(consumer, 'm1', [0]);
    expect(s.route(userOf(0))).toEqual({ kind: 'local' });
  });
});
