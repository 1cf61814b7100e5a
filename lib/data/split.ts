/**
 * Seeded, stratified splits: each class's items are shuffled (Fisher-Yates with an `Rng`, classes
 * in ascending order, items in ascending index order before the shuffle) and cut into consecutive
 * parts of fixed per-class sizes. The same labels and seed always give the same split, and a
 * smaller per-class size takes a prefix of the same shuffled order, so capped subsets are nested.
 */
import { Rng } from '../random';
import { assertInt } from '../validate';

/**
 * Shuffled item indices of each class: `result[k]` lists the items with label k in the seeded
 * order.
 */
export function shuffledByClass(labels: ArrayLike<number>, numClasses: number, rng: Rng): number[][] {
  const byClass: number[][] = Array.from({ length: numClasses }, () => []);
  for (let i = 0; i < labels.length; i++) byClass[labels[i]].push(i);
  for (const list of byClass) rng.shuffle(list);
  return byClass;
}

/**
 * Split each class into consecutive parts of `perClass[p]` items (null: all remaining items; at
 * most one null, anywhere), then keep at most `caps[p]` items per class of part p (the first ones
 * in the shuffled order; undefined: no cap). Returns, for each part, its item indices sorted
 * ascending.
 * @throws if a class has fewer items than the fixed parts need.
 */
export function stratifiedSplit(
  labels: ArrayLike<number>,
  numClasses: number,
  perClass: readonly (number | null)[],
  seed: number,
  caps: readonly (number | undefined)[] = [],
): number[][] {
  const where = 'stratifiedSplit';
  assertInt(where, 'numClasses', numClasses, 1);
  if (perClass.filter((n) => n === null).length > 1) throw new Error(`${where}: perClass may hold at most one null (the remainder), got ${JSON.stringify(perClass)}`);
  perClass.forEach((n, p) => n !== null && assertInt(where, `perClass[${p}]`, n, 0));
  caps.forEach((n, p) => n !== undefined && assertInt(where, `caps[${p}]`, n, 0));
  const fixed = perClass.reduce<number>((s, n) => s + (n ?? 0), 0);
  const parts: number[][] = perClass.map(() => []);
  const byClass = shuffledByClass(labels, numClasses, new Rng(seed));
  byClass.forEach((list, k) => {
    if (list.length < fixed) {
      throw new Error(`${where}: class ${k} has ${list.length} items, fewer than the ${fixed} per class that parts ${JSON.stringify(perClass)} need`);
    }
    const rest = list.length - fixed;
    let start = 0;
    perClass.forEach((n, p) => {
      const count = n ?? rest;
      const kept = Math.min(count, caps[p] ?? count);
      for (let j = start; j < start + kept; j++) parts[p].push(list[j]);
      start += count;
    });
  });
  for (const part of parts) part.sort((a, b) => a - b);
  return parts;
}
