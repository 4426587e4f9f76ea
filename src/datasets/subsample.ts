/**
 * Deterministic subsampling (the machine has 2 cores: evaluations use subsets, and the seed makes
 * them repeatable). Stratified: each category keeps the same fraction, so a 10 % subsample of
 * CIFAR-10's test set still has 9 anomalous classes in proportion.
 */
import type { DatasetItem } from './types.js';

/** mulberry32: small, fast, good enough for shuffling. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function shuffle<T>(items: readonly T[], seed: number): T[] {
  const out = [...items];
  const rand = seededRandom(seed);
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

/**
 * At most `limit` items, the same fraction from every category, in their original order.
 * No limit (undefined) or a limit >= length returns the items unchanged.
 */
export function stratifiedSubsample(
  items: readonly DatasetItem[],
  limit: number | undefined,
  seed: number,
): DatasetItem[] {
  if (limit === undefined || limit >= items.length) return [...items];
  const groups = new Map<string, number[]>();
  items.forEach((item, i) => {
    const key = `${item.label ?? ''}/${item.category ?? ''}`;
    if (!groups.has(key)) groups.set(key, []);
    groups.get(key)!.push(i);
  });
  const keep: number[] = [];
  const fraction = limit / items.length;
  let k = 0;
  for (const indices of groups.values()) {
    const take = Math.max(1, Math.round(indices.length * fraction));
    keep.push(...shuffle(indices, seed + k++).slice(0, take));
  }
  keep.sort((a, b) => a - b);
  return keep.slice(0, Math.max(limit, 1)).map((i) => items[i]);
}
