/** The shards' sticky assignment (shards.ts stickyAssign): even shares, and only the partitions that must move do. */
import { describe, expect, it } from 'vitest';
import { stickyAssign } from './shards.js';

const twelve = Array.from({ length: 12 }, (_, i) => i);
const moved = (before: Map<string, number[]>, after: Map<string, number[]>): number =>
  [...after].reduce((n, [id, ps]) => n + ps.filter((p) => !(before.get(id) ?? []).includes(p)).length, 0);

describe('sticky assignment of the transactions partitions', () => {
  it('first assignment: every partition once, shares differ by at most one', () => {
    const a = stickyAssign(twelve, [{ id: 'b', owned: [] }, { id: 'a', owned: [] }, { id: 'c', owned: [] }]);
    expect([...a.values()].flat().sort((x, y) => x - y)).toEqual(twelve);
    expect([...a.values()].map((p) => p.length)).toEqual([4, 4, 4]);
  });

  it('a fourth member joins: only its share moves (3 partitions), the others keep the rest', () => {
    const three = stickyAssign(twelve, ['a', 'b', 'c'].map((id) => ({ id, owned: [] })));
    const four = stickyAssign(twelve, [...['a', 'b', 'c'].map((id) => ({ id, owned: three.get(id)! })), { id: 'd', owned: [] }]);
    expect([...four.values()].flat().sort((x, y) => x - y)).toEqual(twelve);
    expect(four.get('d')).toHaveLength(3);
    expect(moved(three, four)).toBe(3);
  });

  it('a member leaves: only its partitions move, spread over the others', () => {
    const three = stickyAssign(twelve, ['a', 'b', 'c'].map((id) => ({ id, owned: [] })));
    const two = stickyAssign(twelve, ['a', 'c'].map((id) => ({ id, owned: three.get(id)! })));
    expect(moved(three, two)).toBe(4);
    expect([...two.values()].map((p) => p.length)).toEqual([6, 6]);
  });

  it('a member claiming partitions another also claims (a stale view) never gets one twice', () => {
    const a = stickyAssign(twelve, [{ id: 'a', owned: [0, 1, 2, 3, 4, 5] }, { id: 'b', owned: [0, 1, 2, 3, 4, 5] }]);
    expect([...a.values()].flat().sort((x, y) => x - y)).toEqual(twelve);
    expect(a.get('a')).toEqual([0, 1, 2, 3, 4, 5]);
  });
});
