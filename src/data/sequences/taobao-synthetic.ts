/**
 * A synthetic Taobao UserBehavior CSV (`gen --format taobao`) for measurements beyond the real data's head: items of
 * log-uniform (Zipf 1) popularity, each in one category; every user has a few preferred categories (themselves drawn
 * by popularity) from which most of its events come, so the next event is predictable from the history; event counts
 * vary from a handful to hundreds; each user's timestamps rise over nine days; behaviors are mostly pv. Lines are
 * written user by user, as the real file groups them. The same spec gives the same bytes.
 */
import { Rng } from '../../util/rng.ts';

export interface TaobaoSpec {
  users: number;
  items: number;
  categories: number;
  events: number;
  seed: number;
}

/** 2017-11-25 00:00 UTC, the first day of the real data, and its nine days. */
const firstSecond = 1_511_568_000, span = 9 * 86_400;
const preferredCategories = 3, preferredShare = 0.8;
/** pv, cart, fav, buy in about the real data's proportions. */
const behaviors = ['pv', 'cart', 'fav', 'buy'], behaviorCdf = [0.895, 0.95, 0.98, 1];

/** Rank in [0, n) of a log-uniform (Zipf 1) draw from u in [0, 1). */
const zipfRank = (u: number, n: number) => Math.min(n - 1, Math.floor(Math.exp(u * Math.log(n + 1))) - 1);

/** Each user's event count: log-normal weights (a long tail of heavy users, many short ones) scaled to the total. */
function eventCounts(spec: TaobaoSpec, rng: Rng): Int32Array {
  const weights = Float64Array.from({ length: spec.users }, () => Math.exp(1.1 * rng.normal()));
  const total = weights.reduce((a, b) => a + b, 0), counts = new Int32Array(spec.users);
  let given = 0;
  weights.forEach((w, u) => (given += counts[u] = Math.max(1, Math.floor((w / total) * spec.events))));
  for (let u = 0; given < spec.events; u = (u + 1) % spec.users, given++) counts[u]++;
  return counts;
}

/** The CSV text, yielded in pieces of about `pieceBytes`. */
export function* taobaoCsv(spec: TaobaoSpec, pieceBytes = 1 << 22): Generator<Buffer> {
  const rng = new Rng(spec.seed, 4242);
  // Items by popularity rank; an item's category is a seeded draw weighted by category popularity, and each
  // category lists its items in rank order (its hottest first). Raw ids are the ranks scattered.
  const categoryOf = Int32Array.from({ length: spec.items }, () => zipfRank(rng.next(), spec.categories));
  const members: number[][] = Array.from({ length: spec.categories }, () => []);
  categoryOf.forEach((c, item) => members[c].push(item));
  const scatter = (rank: number, n: number, salt: number) => ((rank * 1_000_003 + salt) % n) + 1;
  const counts = eventCounts(spec, rng);
  let text = '';
  for (let u = 0; u < spec.users; u++) {
    const preferred = Array.from({ length: preferredCategories }, () => {
      for (;;) {
        const c = zipfRank(rng.next(), spec.categories);
        if (members[c].length > 0) return c;
      }
    });
    const n = counts[u], step = span / (n + 1);
    let time = firstSecond + Math.floor(rng.next() * step);
    for (let e = 0; e < n; e++) {
      let item: number;
      if (rng.next() < preferredShare) {
        const list = members[preferred[rng.int(preferredCategories)]];
        item = list[zipfRank(rng.next(), list.length)];
      } else {
        item = zipfRank(rng.next(), spec.items);
      }
      const u2 = rng.next();
      const behavior = behaviors[behaviorCdf.findIndex((p) => u2 < p)];
      text += `${u + 1},${scatter(item, spec.items, 7)},${scatter(categoryOf[item], spec.categories, 3)},${behavior},${time}\n`;
      time += 1 + Math.floor(rng.next() * 2 * step);
    }
    if (text.length >= pieceBytes) {
      yield Buffer.from(text, 'latin1');
      text = '';
    }
  }
  if (text.length > 0) yield Buffer.from(text, 'latin1');
}
