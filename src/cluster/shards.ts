/**
 * User-affine shards on Kafka's own group membership (the way Kafka Streams' interactive
 * queries find a key's owner): every instance joins the one consumer group KAFKA_GROUP_ID on
 * the transactions topic; the partitions assigned to it are the users it owns (partitionOf).
 *
 * - Owner addresses travel in the group protocol: a custom assigner puts this instance's HTTP
 *   address and the partitions it owns now in its subscription's userData (JSON). The leader
 *   assigns stickily: each member keeps what it owns (up to an even share), the rest go to the
 *   members with the fewest, so a join or a loss moves only the partitions it must;
 *   every instance reads all members' addresses and assignments with DescribeGroups after each
 *   rebalance (and every few seconds), which gives partition → owner address.
 * - A gained partition is rebuilt before its users are served: the windows feed re-reads the
 *   co-partitioned changelog (transactions.scored, user-events p mod its count, and the input
 *   unless it is scored here) from now − (24 h + lateness), with a consumer of its own;
 *   meanwhile requests for those users get 503 NOT_READY with Retry-After (a forwarding
 *   instance retries for a while) and input scoring of the partition waits. The changelog holds
 *   every answer a dead owner gave: with shards, answers wait for the broker's ack (KafkaSink
 *   ackBeforeAnswer). A lost partition's users are dropped from the windows.
 * - kafkajs implements the eager protocol only: every rebalance revokes all partitions for a
 *   moment (no cooperative rebalancing); ownership of unmoved partitions is kept across it.
 */
import kafkajs, { type Admin, type Assigner, type Consumer, type Kafka, type PartitionAssigner } from 'kafkajs';
import type { Logger } from '../core/log.js';
import { partitionOf } from './partition.js';

const { AssignerProtocol } = kafkajs;
const ASSIGNER = 'scoregate-owner';
const REFRESH_MS = 3000;
/** A failed rebuild is tried again after 1 s, then twice as long each time, up to 30 s. */
const REBUILD_RETRY_MS = 1000;
const REBUILD_RETRY_MAX_MS = 30_000;

/** What a member says of itself in its subscription's userData. */
interface MemberData {
  url: string;
  owned: number[];
}

export function memberData(userData: Buffer): MemberData {
  try {
    const d = JSON.parse(userData.toString('utf8')) as Partial<MemberData>;
    return { url: typeof d.url === 'string' ? d.url : '', owned: Array.isArray(d.owned) ? d.owned.filter((p) => Number.isInteger(p)) : [] };
  } catch {
    return { url: '', owned: [] };
  }
}

/**
 * Sticky, even assignment of `partitions` to `members` (sorted ids, each with what it owns now):
 * a member keeps its partitions up to its share (⌈n/m⌉ for the first n mod m members by id,
 * ⌊n/m⌋ for the others), and the partitions left go to the members furthest below their share.
 */
export function stickyAssign(partitions: readonly number[], members: readonly { id: string; owned: readonly number[] }[]): Map<string, number[]> {
  const ids = members.map((m) => m.id).sort();
  const n = partitions.length;
  const share = new Map(ids.map((id, i) => [id, Math.floor(n / ids.length) + (i < n % ids.length ? 1 : 0)]));
  const out = new Map<string, number[]>(ids.map((id) => [id, []]));
  const free = new Set(partitions);
  // Members with more partitions today keep theirs first (fewer moves when shares shrink).
  for (const m of [...members].sort((a, b) => b.owned.length - a.owned.length || (a.id < b.id ? -1 : 1))) {
    const mine = out.get(m.id)!;
    for (const p of [...m.owned].sort((a, b) => a - b)) {
      if (mine.length >= share.get(m.id)!) break;
      if (free.delete(p)) mine.push(p);
    }
  }
  for (const p of [...free].sort((a, b) => a - b)) {
    const id = ids.reduce((best, id) => (share.get(id)! - out.get(id)!.length > share.get(best)! - out.get(best)!.length ? id : best), ids[0]!);
    out.get(id)!.push(p);
  }
  for (const a of out.values()) a.sort((x, y) => x - y);
  return out;
}

/** The sticky assigner, with the member's HTTP address and its partitions in its subscription userData. */
export function ownerAssigner(self: () => MemberData): PartitionAssigner {
  return ({ cluster }): Assigner => ({
    name: ASSIGNER,
    version: 1,
    async assign({ members, topics }) {
      const assignment = new Map<string, Record<string, number[]>>(members.map((m) => [m.memberId, {}]));
      for (const topic of topics) {
        const parts = cluster.findTopicPartitionMetadata(topic).map((m) => m.partitionId);
        const owned = members.map((m) => ({ id: m.memberId, owned: memberData(AssignerProtocol.MemberMetadata.decode(m.memberMetadata)?.userData ?? Buffer.alloc(0)).owned }));
        for (const [id, ps] of stickyAssign(parts, owned)) if (ps.length > 0) assignment.get(id)![topic] = ps;
      }
      return [...assignment].map(([memberId, a]) => ({ memberId, memberAssignment: AssignerProtocol.MemberAssignment.encode({ version: 1, assignment: a, userData: Buffer.alloc(0) }) }));
    },
    protocol({ topics }) {
      return { name: ASSIGNER, metadata: AssignerProtocol.MemberMetadata.encode({ version: 1, topics, userData: Buffer.from(JSON.stringify(self())) }) };
    },
  });
}

/**
 * Where a user's transaction is scored: here, nowhere for now (its windows are being rebuilt,
 * or this instance is fenced: see Shards.fenced), at the owner's address, or not known yet.
 */
export type Route = { kind: 'local' } | { kind: 'rebuilding' } | { kind: 'fenced' } | { kind: 'remote'; url: string } | { kind: 'unknown' };

export interface ShardOptions {
  inputTopic: string;
  inputPartitions: number;
  groupId: string;
  /** The group's session timeout: ownership is leased for half of it from the last heartbeat the coordinator answered. */
  sessionTimeoutMs: number;
  advertisedUrl: () => string;
  /** Rebuilds the windows of gained partitions; resolves when they are caught up (retried while owned when it rejects). */
  rebuild: (partitions: number[]) => Promise<void>;
  /** Drops the windows of users `lost` says (partitions moved away). */
  drop: (lost: (userId: string) => boolean) => number;
  /** Partitions moved away: the feed forgets what their rebuild read, and stops a rebuild left with none. */
  forget?: (partitions: number[]) => void;
}

export class Shards {
  /** Partitions assigned to this instance (its users). */
  readonly owned = new Set<number>();
  /** Owned partitions whose windows are being rebuilt. */
  readonly rebuilding = new Set<number>();
  private readonly rebuilt = new Map<number, Promise<void>>();
  /** partition → the owner's HTTP address (from DescribeGroups). */
  private owners = new Map<number, string>();
  private admin: Admin | null = null;
  private timer: NodeJS.Timeout | null = null;
  private firstAssignment: (() => void) | null = null;
  readonly assigned: Promise<void>;
  generation = 0;
  private stopped = false;
  /**
   * The fence (a zombie owner must not score). Ownership holds only while the group says so:
   * - from kafkajs' REBALANCING until the next GROUP_JOIN (the eager protocol revokes all);
   * - for half the session timeout after the last heartbeat the coordinator answered was sent
   *   (the lease). An instance stalled past its session (a long GC, a stopped VM, CPU starvation)
   *   has lost its partitions without hearing it: the others rebuilt and served those users,
   *   and its windows are stale. The coordinator gives a partition away only a whole session
   *   after the last heartbeat it heard, so the lease ends first.
   * A fenced instance answers its users 503 NOT_READY (a forwarding instance retries). A
   * heartbeat answered again proves the generation never moved on: the lease resumes. A
   * GROUP_JOIN under a new member id means the group went on without this instance: every
   * partition it is given is rebuilt, the ones it kept included.
   */
  private rebalancing = false;
  private heardAt = 0;
  private readonly leaseMs: number;
  private memberId: string | null = null;
  private fenceLogged = false;

  constructor(
    private readonly kafka: Kafka,
    private readonly opts: ShardOptions,
    private readonly log: Logger,
  ) {
    this.assigned = new Promise((r) => (this.firstAssignment = r));
    this.leaseMs = opts.sessionTimeoutMs / 2;
  }

  /** False while this instance may not score the users it owns (see the fence above). */
  private leased(): boolean {
    if (!this.rebalancing && performance.now() - this.heardAt < this.leaseMs) return true;
    if (!this.fenceLogged) {
      this.fenceLogged = true;
      this.log.warn('ownership fenced', { reason: this.rebalancing ? 'rebalancing' : `no heartbeat answered for ${Math.round(performance.now() - this.heardAt)} ms (lease ${this.leaseMs} ms)`, owned: this.owned.size });
    }
    return false;
  }

  /**
   * The coordinator answered a heartbeat (or a join) that left at `sentAt` (wall clock): the
   * lease counts from when it was sent, not from when its answer was read. A process stopped
   * with a heartbeat in flight reads the answer when it wakes, a whole stall later; counted
   * from the reading, that answer renewed a lease the group had long taken back (the stalled-
   * owner test caught a zombie scoring so).
   */
  private heard(sentAt = Date.now()): void {
    const at = performance.now() - Math.max(0, Date.now() - sentAt);
    if (at > this.heardAt) this.heardAt = at;
    if (this.fenceLogged && !this.rebalancing && performance.now() - this.heardAt < this.leaseMs) {
      this.fenceLogged = false;
      this.log.info('ownership lease renewed', { owned: this.owned.size });
    }
  }

  /** The partition of a user on the co-partitioned topics. */
  partitionOf(userId: string): number {
    return partitionOf(userId, this.opts.inputPartitions);
  }

  owns(userId: string): boolean {
    return this.owned.has(this.partitionOf(userId));
  }

  isRebuilding(userId: string): boolean {
    return this.rebuildingPartition(userId) >= 0;
  }

  /** The user's partition when its windows are being rebuilt, else -1 (the feed asks per record: no hash while none is). */
  rebuildingPartition(userId: string): number {
    if (this.rebuilding.size === 0) return -1;
    const p = this.partitionOf(userId);
    return this.rebuilding.has(p) ? p : -1;
  }

  route(userId: string): Route {
    const p = this.partitionOf(userId);
    if (this.owned.has(p)) return this.rebuilding.has(p) ? { kind: 'rebuilding' } : this.leased() ? { kind: 'local' } : { kind: 'fenced' };
    const url = this.owners.get(p);
    return url === undefined || url === '' || url === this.opts.advertisedUrl() ? { kind: 'unknown' } : { kind: 'remote', url };
  }

  /** Resolves when partition `p`'s windows may serve (immediately unless it is being rebuilt). */
  ready(p: number): Promise<void> {
    return this.rebuilt.get(p) ?? Promise.resolve();
  }

  /** Consumer options for the group member (its assigner). */
  consumerConfig(): { groupId: string; partitionAssigners: PartitionAssigner[] } {
    return { groupId: this.opts.groupId, partitionAssigners: [ownerAssigner(() => ({ url: this.opts.advertisedUrl(), owned: [...this.owned] }))] };
  }

  /** Wires ownership to the consumer's group joins; call before consumer.run. */
  async attach(consumer: Consumer): Promise<void> {
    const admin = this.kafka.admin();
    await admin.connect();
    this.admin = admin;
    consumer.on(consumer.events.REBALANCING, () => {
      this.rebalancing = true;
    });
    consumer.on(consumer.events.CRASH, () => {
      this.rebalancing = true;
    });
    // When the last Heartbeat and SyncGroup requests left (kafkajs reports each request once
    // answered, before the code that awaited it goes on).
    let heartbeatSentAt = 0;
    let syncSentAt = 0;
    consumer.on(consumer.events.REQUEST, (e) => {
      if (e.payload.apiName === 'Heartbeat') heartbeatSentAt = e.payload.sentAt;
      else if (e.payload.apiName === 'SyncGroup') syncSentAt = e.payload.sentAt;
    });
    consumer.on(consumer.events.HEARTBEAT, () => this.heard(heartbeatSentAt || Date.now()));
    consumer.on(consumer.events.GROUP_JOIN, (e) => {
      const parts = e.payload.memberAssignment[this.opts.inputTopic] ?? [];
      // A new member id: the group went on without this instance (it was out past its session).
      const rejoined = this.memberId !== null && e.payload.memberId !== this.memberId;
      this.memberId = e.payload.memberId;
      this.assign(parts, rejoined, syncSentAt || Date.now());
    });
    this.timer = setInterval(() => void this.refreshOwners(), REFRESH_MS);
    this.timer.unref();
  }

  /**
   * A new assignment: drop what was lost, rebuild what was gained. `rejoined`: this instance was
   * out of the group meanwhile, so others may have scored its users: all it owned is dropped
   * and all it is given is rebuilt.
   */
  assign(parts: number[], rejoined = false, syncSentAt = Date.now()): void {
    this.generation++;
    const next = new Set(parts);
    const lost = [...this.owned].filter((p) => rejoined || !next.has(p));
    const gained = parts.filter((p) => rejoined || !this.owned.has(p));
    for (const p of lost) {
      this.owned.delete(p);
      this.rebuilding.delete(p);
      this.rebuilt.delete(p);
    }
    const lostSet = new Set(lost);
    const dropped = lost.length === 0 ? 0 : this.opts.drop((u) => lostSet.has(this.partitionOf(u)));
    if (lost.length > 0) this.opts.forget?.(lost);
    // The first assignment is served by the feed's start-up replay (it reads what is owned).
    const first = this.firstAssignment !== null;
    for (const p of gained) this.owned.add(p);
    if (gained.length > 0 && !first) {
      for (const p of gained) this.rebuilding.add(p);
      // Which of `gained` this rebuild still serves: not those lost, or gained again, since.
      const mine = (): number[] => gained.filter((p) => this.rebuilt.get(p) === done);
      const done: Promise<void> = this.rebuildOwned(gained, mine);
      for (const p of gained) this.rebuilt.set(p, done);
    }
    this.rebalancing = false;
    this.heard(syncSentAt);
    this.log.info('partitions assigned', { owned: [...this.owned].sort((a, b) => a - b), gained, lost, usersDropped: dropped, ...(rejoined ? { rejoined } : {}) });
    if (first) {
      this.firstAssignment!();
      this.firstAssignment = null;
    }
    void this.refreshOwners();
  }

  /**
   * Rebuilds `parts` until it succeeds, retrying with backoff while this instance still owns
   * some of them (`mine`): their users get 503 NOT_READY until then. Resolves when rebuilt, or
   * when none is owned any more (nothing to wait for).
   */
  private async rebuildOwned(parts: number[], mine: () => number[]): Promise<void> {
    const t0 = performance.now();
    for (let attempt = 1; ; attempt++) {
      try {
        await this.opts.rebuild(parts);
      } catch (err) {
        parts = mine();
        if (parts.length === 0 || this.stopped) return;
        const ms = Math.min(REBUILD_RETRY_MAX_MS, REBUILD_RETRY_MS * 2 ** (attempt - 1));
        this.log.error('partition rebuild failed: retrying (those users get 503 NOT_READY meanwhile)', { partitions: parts, attempt, retryInMs: ms, error: String(err) });
        await new Promise((r) => setTimeout(r, ms).unref());
        parts = mine();
        if (parts.length === 0 || this.stopped) return;
        continue;
      }
      parts = mine();
      for (const p of parts) this.rebuilding.delete(p);
      this.log.info('partitions rebuilt', { partitions: parts, attempts: attempt, ms: Math.round(performance.now() - t0) });
      return;
    }
  }

  /** partition → owner address, from the group's members (their userData and assignments). */
  async refreshOwners(): Promise<void> {
    const admin = this.admin;
    if (admin === null) return;
    try {
      const d = await admin.describeGroups([this.opts.groupId]);
      const g = d.groups[0];
      if (g === undefined || g.protocol !== ASSIGNER) return;
      const owners = new Map<number, string>();
      for (const m of g.members) {
        const meta = AssignerProtocol.MemberMetadata.decode(m.memberMetadata);
        const asg = AssignerProtocol.MemberAssignment.decode(m.memberAssignment);
        if (meta === null || asg === null) continue;
        const url = memberData(meta.userData).url;
        for (const p of asg.assignment[this.opts.inputTopic] ?? []) owners.set(p, url);
      }
      if (owners.size > 0) this.owners = owners;
    } catch (err) {
      this.log.debug('group description failed', { error: String(err) });
    }
  }

  /** Owner addresses seen (for tests and status). */
  ownerMap(): Map<number, string> {
    return this.owners;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    const a = this.admin;
    this.admin = null;
    await a?.disconnect().catch(() => undefined);
  }
}
